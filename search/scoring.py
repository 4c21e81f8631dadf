"""Whoosh's BM25F, computed over numpy arrays.

Whoosh ranks by walking a tree of matchers one posting at a time (about 5-25 ms a query on
Reuters-21578). For queries made of terms and phrases combined with And/Or (words, phrases,
entity names, prefix expansions, field:value), the score Whoosh gives a document is a sum over the query's
term leaves of

    boost × idf × tf × (K1 + 1) / (tf + K1 × (1 − B + B × fl / avgfl))

with Whoosh's own idf (`log(N / (df + 1)) + 1`), average field length and byte-encoded field
lengths; a non-scorable field scores its posting weight × boost. This module computes that sum
from postings read in bulk (matchsets.TermCache), so the ranking is Whoosh's ranking, only
faster: tests/test_scoring.py checks scores and order against `searcher.search` itself.
Phrases are scored as Whoosh scores them (the sum of their words' scores) where the phrase
matches; queries with ranges or wildcards return None here and are ranked by Whoosh.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

from .whoosh_fixes import _BYTE_TO_LENGTH, _length_bytes

_LENGTH_TABLE = np.array(_BYTE_TO_LENGTH, dtype=np.float64)


def _supported(q) -> bool:
    if isinstance(q, (wq.Term, wq.Phrase)):
        return True
    if type(q) in (wq.And, wq.Or):
        return all(_supported(sub) for sub in q.subqueries)
    return False


def field_lengths(searcher, fieldname: str, size: int, cache) -> np.ndarray:
    lengths = cache.lengths.get(fieldname)
    if lengths is None:
        lengths = np.ones(size, dtype=np.float64)
        for sub, offset in searcher.subsearchers or [(searcher, 0)]:
            raw = _length_bytes(sub.reader()._perdoc, fieldname)
            if raw:
                arr = np.frombuffer(raw, dtype=np.uint8)
                lengths[offset:offset + len(arr)] = _LENGTH_TABLE[arr]
        cache.lengths[fieldname] = lengths
    return lengths


def scores(searcher, q: wq.Query, size: int, cache) -> np.ndarray | None:
    """Whoosh's score of every document for `q` (0 where it does not match), or None when
    the query has parts this module does not score (ranges, wildcards)."""
    if not _supported(q):
        return None
    weighting = searcher.weighting
    if type(weighting).__name__ != "BM25F" or getattr(weighting, "_field_B", None):
        return None
    return _score(searcher, q, 1.0, size, cache, weighting.B, weighting.K1)


def _score(searcher, q, boost: float, size: int, cache, B: float, K1: float) -> np.ndarray:
    from .matchsets import mask

    if isinstance(q, wq.Term):
        return _term_score(searcher, q.fieldname, q.text, boost * q.boost, size, cache, B, K1)
    if isinstance(q, wq.Phrase):
        # Whoosh scores a phrase match as the sum of its words' scores, in the documents
        # where the words stand together.
        total = np.zeros(size, dtype=np.float64)
        for word in q.words:
            total += _term_score(searcher, q.fieldname, word, boost * q.boost, size, cache, B, K1)
        return total * mask(searcher, q, size, cache_live(cache, size), cache)
    total = np.zeros(size, dtype=np.float64)
    for sub in q.subqueries:
        total += _score(searcher, sub, boost * q.boost, size, cache, B, K1)
    if isinstance(q, wq.And):
        # An And scores only where every part matches (it may sit inside an Or).
        total *= mask(searcher, q, size, cache_live(cache, size), cache)
    return total


def cache_live(cache, size: int) -> np.ndarray:
    return cache.live if cache.live is not None else np.ones(size, dtype=bool)


def _term_score(searcher, fieldname, text, boost, size, cache, B, K1) -> np.ndarray:
    total = np.zeros(size, dtype=np.float64)
    schema = searcher.schema
    if fieldname not in schema:
        return total
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    ids, tf = cache.get_postings(searcher, fieldname, text)
    if not len(ids):
        return total
    if not schema[fieldname].scorable:
        total[ids] = tf * boost
        return total
    idf = searcher.idf(fieldname, text)
    avgfl = searcher.avg_field_length(fieldname) or 1
    fl = field_lengths(searcher, fieldname, size, cache)[ids]
    total[ids] = boost * (idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))))
    return total


def top(candidates: np.ndarray, score: np.ndarray, limit: int, tier: np.ndarray | None = None
        ) -> list[tuple[int, float]]:
    """The best `limit` of `candidates` (document numbers): higher tier first, then higher
    score, then lower document number (Whoosh's order for equal scores)."""
    if not len(candidates) or limit <= 0:
        return []
    s = score[candidates]
    keys = [candidates, -s] if tier is None else [candidates, -s, -tier[candidates]]
    if len(candidates) > limit * 4:
        # Cut to a superset of the top before the full sort.
        primary = s if tier is None else tier[candidates] * (s.max() + 1.0) + s
        keep = np.argpartition(-primary, limit - 1)[:limit]
        threshold = primary[keep].min()
        mask = primary >= threshold
        candidates, s = candidates[mask], s[mask]
        keys = [candidates, -s] if tier is None else [candidates, -s, -tier[candidates]]
    order = np.lexsort(keys)[:limit]
    return [(int(candidates[i]), float(s[i])) for i in order]
