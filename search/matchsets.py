"""Match sets as numpy masks, from term postings read in bulk and cached per generation.

The query layer needs the *set* of matching documents (for facet counts over all matches, the
all-words/some-words decision and filters) besides the ranked top of the list. Whoosh yields
matching ids one Python call at a time through its matcher tree (about 30 ms a query on
Reuters-21578). Here a term's postings are read block by block into a numpy array once per
index generation (then cached), and And/Or are numpy operations. Phrases and date ranges,
which need positions or columns, are left to Whoosh.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

MAX_CACHED_IDS = 20_000_000      # ids held per generation across all cached terms


class TermCache:
    """A term's postings, (document numbers, weights), read once per index generation; also
    field lengths and phrase match sets."""

    def __init__(self, live: np.ndarray | None = None):
        self.postings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.held = 0
        self.lengths: dict[str, np.ndarray] = {}
        self.phrases: dict[tuple, np.ndarray] = {}
        self.live = live

    def get_postings(self, searcher, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        key = (fieldname, text)
        found = self.postings.get(key)
        if found is None:
            found = term_postings(searcher, fieldname, text)
            if self.held + len(found[0]) > MAX_CACHED_IDS:
                self.postings.clear()
                self.held = 0
            self.postings[key] = found
            self.held += len(found[0])
        return found

    def get(self, searcher, fieldname: str, text: str) -> np.ndarray:
        return self.get_postings(searcher, fieldname, text)[0]


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


def _leaf_postings(m) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(m, FilterMatcher):
        ids, weights = _leaf_postings(m.child)
        keep = np.isin(ids, np.fromiter(m._ids, dtype=np.int64), invert=m._exclude)
        return ids[keep], weights[keep]
    if isinstance(m, W3LeafMatcher):
        ids, weights = [], []
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            ids.append(np.asarray(m._ids[m._i:], dtype=np.int64))
            weights.append(np.asarray(m._weights[m._i:], dtype=np.float64))
            if m._lastblock:
                break
            m._next_block()
        if not ids:
            return _EMPTY
        return np.concatenate(ids), np.concatenate(weights)
    ids, weights = [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def term_postings(searcher, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Global document numbers and weights (term frequencies) of the live documents
    containing the term."""
    subs = searcher.subsearchers or [(searcher, 0)]
    ids, weights = [], []
    for sub, offset in subs:
        try:
            m = sub.reader().postings(fieldname, text)
        except TermNotFound:
            continue
        i, w = _leaf_postings(m)
        ids.append(i + offset)
        weights.append(w)
    if not ids:
        return _EMPTY
    return np.concatenate(ids), np.concatenate(weights)


def term_docs(searcher, fieldname: str, text: str) -> np.ndarray:
    return term_postings(searcher, fieldname, text)[0]


def mask(searcher, q: wq.Query, size: int, live: np.ndarray, cache: TermCache) -> np.ndarray:
    """Boolean mask of the documents matching `q` (deleted documents excluded)."""
    if isinstance(q, wq.Term):
        out = np.zeros(size, dtype=bool)
        text = q.text.decode("utf-8") if isinstance(q.text, bytes) else q.text
        out[cache.get(searcher, q.fieldname, text)] = True
        return out
    if isinstance(q, wq.Or):
        out = np.zeros(size, dtype=bool)
        for sub in q.subqueries:
            out |= mask(searcher, sub, size, live, cache)
        return out
    if isinstance(q, wq.And):
        out = live.copy()
        for sub in q.subqueries:
            out &= mask(searcher, sub, size, live, cache)
            if not out.any():
                break
        return out
    if isinstance(q, wq.Every):
        return live.copy()
    if isinstance(q, wq.Phrase):
        key = (q.fieldname, tuple(q.words), q.slop)
        found = cache.phrases.get(key)
        if found is None:
            # Only documents holding every word can hold the phrase; Whoosh checks positions.
            found = live.copy()
            for word in q.words:
                found &= mask(searcher, wq.Term(q.fieldname, word), size, live, cache)
            if found.any():
                found &= _whoosh_mask(searcher, q, size)
            if len(cache.phrases) > 2000:
                cache.phrases.clear()
            cache.phrases[key] = found
        return found.copy()
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return np.zeros(size, dtype=bool)
    return _whoosh_mask(searcher, q, size) & live


def _whoosh_mask(searcher, q, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=bool)
    out[np.fromiter(searcher.docs_for_query(q), dtype=np.int64)] = True
    return out
