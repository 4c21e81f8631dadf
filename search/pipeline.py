"""From scanned entries to documents ready for the Whoosh writer.

Loading a report, parsing it, finding its entities and analysing its text are pure and
CPU-bound, while the Whoosh writer is single-threaded. For a large batch, worker processes
do the former (including computing the postings of the text fields, see schema.Postings)
while the main process only feeds the writer: pipeline parallelism that keeps both cores of
a small machine busy. Small batches (a report dropped in this morning) run in-process, with
no worker start-up cost.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from itertools import islice
from typing import Iterable, Iterator

from .ingest import Entry, Skipped
from .schema import TEXT_FIELDS, Postings, document, make_schema

PARALLEL_MIN = 400      # entries; below this, a worker's start-up (~0.5 s) is not worth it
CHUNK = 32
WINDOW = 2000           # entries submitted to the workers at a time

_WORKER: dict = {}


def prepare(entry: Entry, gazetteer, schema) -> tuple[str, Skipped | None, dict | None]:
    report = entry.load()
    if isinstance(report, Skipped):
        return entry.id, report, None
    doc = document(report, gazetteer)
    for name in TEXT_FIELDS:
        text = doc.get(name)
        if text:
            doc[name] = Postings(schema[name].index(text))
            doc["_stored_" + name] = text
    return entry.id, None, doc


def _init(gazetteer) -> None:
    _WORKER["gazetteer"] = gazetteer
    _WORKER["schema"] = make_schema()


def _work(entry: Entry):
    return prepare(entry, _WORKER["gazetteer"], _WORKER["schema"])


def workers_for(count: int) -> int:
    """Worker processes for a batch: none for small batches, and none unless this process can
    fork safely (no other threads: forking a threaded process can deadlock, and Python 3.12+
    warns). Fork, not spawn, so callers need no `if __name__ == "__main__"` guard."""
    if count < PARALLEL_MIN or threading.active_count() > 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return max(1, min(4, os.cpu_count() or 1))


def prepared(entries: Iterable[Entry], count: int, gazetteer, schema
             ) -> Iterator[tuple[str, Skipped | None, dict | None]]:
    """(id, skipped or None, document or None) for each entry, in order."""
    workers = workers_for(count)
    if not workers:
        for entry in entries:
            yield prepare(entry, gazetteer, schema)
        return
    _init(gazetteer)            # inherited by the forked workers, never pickled
    ctx = multiprocessing.get_context("fork")
    # Pool.imap would queue the whole batch at once and let finished documents pile up in
    # memory when the workers outrun the writer (1.2 GB on 100k reports). Submit windows
    # instead, keeping at most two in flight.
    it = iter(entries)
    with ctx.Pool(workers) as pool:
        pending = pool.imap(_work, list(islice(it, WINDOW)), chunksize=CHUNK)
        while pending is not None:
            window = list(islice(it, WINDOW))
            following = pool.imap(_work, window, chunksize=CHUNK) if window else None
            yield from pending
            pending = following
