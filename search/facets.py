"""Facet counting from compact per-document arrays, cached per index generation.

Whoosh's `groupedby` scores and sorts every hit and was most of a plain search's time. Here,
once per index generation, each facet is turned into two parallel numpy arrays
(`docs[i]` has value `vals[i]`) from the term postings; counting the values of a result set
is then one `bincount` over the postings of the matched documents. Multi-valued facets
(actors, places, operations) count each document once per value (overlap-aware) and a
document without a value is simply absent, never a `None` bucket.

Counts are disjunctive, like Datasette and Algolia: values inside one facet combine with OR,
facets combine with AND, and the counts of a facet are computed with every filter applied
except its own, so a selected facet still shows its other values' counts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from whoosh.util.times import long_to_datetime

if TYPE_CHECKING:
    from .matchsets import TermCache

ENTITY_FACETS = ("actors", "places", "operations")
FACETS = ENTITY_FACETS + ("source", "year")


@dataclass
class FacetArrays:
    values: list[str]          # value index -> facet value
    docs: np.ndarray           # int32 document numbers, one per (document, value) pair
    vals: np.ndarray           # int32 value indexes, parallel to docs
    index: dict[str, int]

    def count(self, mask: np.ndarray) -> np.ndarray:
        hit = mask[self.docs]
        return np.bincount(self.vals[hit], minlength=len(self.values))

    def docs_with(self, values: list[str], size: int) -> np.ndarray:
        """Boolean mask of the documents having any of `values`."""
        wanted = np.zeros(len(self.values) + 1, dtype=bool)
        for v in values:
            i = self.index.get(v)
            if i is not None:
                wanted[i] = True
        mask = np.zeros(size, dtype=bool)
        mask[self.docs[wanted[self.vals]]] = True
        return mask


@dataclass
class FacetCache:
    size: int                  # doc_count_all of the reader (deleted documents included)
    live: np.ndarray           # boolean: not deleted
    dated: np.ndarray          # boolean: has a date
    dates: np.ndarray          # int64 raw date values (0 where undated), for sorting
    facets: dict[str, FacetArrays]
    source_labels: dict[str, str]
    terms: "TermCache" = None    # postings of query terms, read once per generation

    def __post_init__(self):
        if self.terms is None:
            from .matchsets import TermCache

            self.terms = TermCache(self.live)


MISSING_DATE = 2**63

_CACHE: "OrderedDict[tuple, FacetCache]" = OrderedDict()
_LOCK = threading.Lock()
_BUILD_LOCK = threading.Lock()
_CACHE_SIZE = 4


def facet_cache(searcher, key: tuple) -> FacetCache:
    """The arrays for the searcher's index generation, built once and then shared: after a
    commit, the requests in flight wait for one build instead of each building their own
    (which tripled the p95 latency of a server under load while reports were indexed)."""
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    with _BUILD_LOCK:
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            return cached
        built = _build(searcher)
        with _LOCK:
            _CACHE[key] = built
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return built


def clear() -> None:
    with _LOCK:
        _CACHE.clear()


def _from_postings(reader, fieldname: str) -> FacetArrays:
    values: list[str] = []
    docs: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for term in reader.lexicon(fieldname):
        value = term.decode("utf-8") if isinstance(term, bytes) else term
        ids = np.fromiter(reader.postings(fieldname, term).all_ids(), dtype=np.int32)
        if not len(ids):
            continue
        vals.append(np.full(len(ids), len(values), dtype=np.int32))
        docs.append(ids)
        values.append(value)
    return _arrays(values, docs, vals)


def _arrays(values, docs, vals) -> FacetArrays:
    return FacetArrays(
        values=values,
        docs=np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32),
        vals=np.concatenate(vals) if vals else np.zeros(0, dtype=np.int32),
        index={v: i for i, v in enumerate(values)},
    )


def _build(searcher) -> FacetCache:
    reader = searcher.reader()
    size = reader.doc_count_all()
    live = np.zeros(size, dtype=bool)
    live_ids = np.fromiter(reader.all_doc_ids(), dtype=np.int64)
    live[live_ids] = True
    facets = {name: _from_postings(reader, name) for name in ENTITY_FACETS}
    facets["source"] = _from_postings(reader, "source")
    # Years, from the sortable date column.
    years: dict[str, list[int]] = {}
    dated = np.zeros(size, dtype=bool)
    dates = np.zeros(size, dtype=np.int64)      # Whoosh's raw date values, for sorting
    # Read the date column segment by segment: Whoosh's multi-segment column reader leaves out
    # segments without the column (all their reports undated) and so misaligns document
    # numbers. Raw values: an undated document holds the column's "missing" sentinel
    # (2**64 - 1), which Whoosh's own translation turns into an OverflowError.
    for sub, offset in searcher.subsearchers or [(searcher, 0)]:
        segment = sub.reader()
        if not segment.has_column("date"):
            continue
        column = segment.column_reader("date", translate=False)
        for local in segment.all_doc_ids():
            raw = column[local]
            if raw is None or raw >= MISSING_DATE:
                continue
            try:
                year = long_to_datetime(raw).year
            except (OverflowError, ValueError):
                continue
            docnum = offset + local
            dated[docnum] = True
            dates[docnum] = raw
            years.setdefault(str(year), []).append(docnum)
    ordered = sorted(years)
    facets["year"] = _arrays(
        ordered,
        [np.array(years[y], dtype=np.int32) for y in ordered],
        [np.full(len(years[y]), i, dtype=np.int32) for i, y in enumerate(ordered)],
    )
    labels: dict[str, str] = {}
    for i, value in enumerate(facets["source"].values):
        first = facets["source"].docs[facets["source"].vals == i][:1]
        if len(first):
            stored = searcher.stored_fields(int(first[0]))
            labels[value] = stored.get("source_name") or value
    return FacetCache(size=size, live=live, dated=dated, dates=dates, facets=facets,
                      source_labels=labels)
