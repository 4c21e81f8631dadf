"""The library's front door: search, show a report, list entities, keep the index current.

An Engine holds settings, the gazetteer and the index store. Each call checks a Whoosh
searcher out of a small pool for its own exclusive use and returns it afterwards (searchers
are not thread-safe). A pooled searcher is reused only while the index generation it was
opened on is still the live one: every checkout reads the CURRENT pointer and the newest
table of contents, so reports indexed by another process are seen by the next call, and
searchers of an older generation are closed (an unclosed searcher pins a file handle per
segment). Opening a searcher costs a few milliseconds per segment file; reusing it is free.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import whoosh.index
from whoosh import query as wq
from whoosh.classify import Bo1Model
from whoosh.filedb.filestore import FileStorage

from . import facets as facetmod
from . import matchsets, scoring
from .errors import IndexDamaged, ReportNotFound, SearchError
from .highlight import MatchSpec, find_marks
from .index import DAMAGE_ERRORS, REBUILD_HINT, IndexStore, UpdateSummary, is_damage
from .ingest import display_title, scan
from .query import compile_query, entity_label, find_entities, label_of, run_search
from .querylang import parse
from .results import EntityRef, ReportView, SearchRequest, SearchResult, Segment
from .schema import ENTITY_KINDS, TEXT_FIELDS
from .settings import Settings


class Engine:
    def __init__(self, settings: Settings, gazetteer=None):
        self.settings = settings
        self.gazetteer = gazetteer
        self.store = IndexStore(settings.index_dir, lock_timeout=settings.lock_timeout,
                                limitmb=settings.writer_limitmb)
        self._pool_lock = threading.Lock()
        self._idle: list[tuple[tuple, object]] = []     # (generation key, searcher)
        self.max_idle = 16

    @classmethod
    def from_settings(cls, settings: Settings) -> "Engine":
        from .entities import Gazetteer

        return cls(settings, Gazetteer.load(settings.gazetteer_paths))

    # ------------------------------------------------------------------ reading

    def _generation(self) -> tuple:
        """(live generation folder, newest Whoosh TOC generation): cheap to read."""
        path = self.store.live_dir()
        try:
            gen = whoosh.index.TOC._latest_generation(FileStorage(str(path)), "MAIN")
        except OSError as exc:
            raise IndexDamaged(f"cannot read the index at {self.store.root}: {exc.strerror}; "
                               f"{REBUILD_HINT}") from exc
        return (str(path), gen)

    def _checkout(self):
        key = self._generation()
        stale = []
        found = None
        with self._pool_lock:
            keep = []
            for k, s in self._idle:
                if k != key:
                    stale.append(s)
                elif found is None:
                    found = s
                else:
                    keep.append((k, s))
            self._idle = keep
        for s in stale:
            s.close()
        if found is not None:
            return key, found
        ix = self.store.open(Path(key[0]))
        try:
            searcher = ix.searcher()
            # The generation folder travels with the searcher, so the facet cache is keyed by
            # the folder this searcher really reads, not by a second read of CURRENT.
            searcher.reports_folder = key[0]
            return key, searcher
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.store.root} is damaged; {REBUILD_HINT}") from exc

    def _checkin(self, key, searcher, ok: bool) -> None:
        if ok:
            try:
                current = self._generation()
            except SearchError:
                current = None
            if current == key:
                with self._pool_lock:
                    if len(self._idle) < self.max_idle:
                        self._idle.append((key, searcher))
                        return
        searcher.close()

    def close(self) -> None:
        """Close the pooled searchers (they are also closed when the index changes)."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for _, s in idle:
            s.close()

    @contextmanager
    def searcher(self) -> Iterator:
        key, searcher = self._checkout()
        ok = False
        try:
            yield searcher
            ok = True
        except SearchError:
            ok = True
            raise
        except Exception as exc:
            if not is_damage(exc):
                raise
            raise IndexDamaged(f"the index at {self.store.root} is damaged "
                               f"({type(exc).__name__}); {REBUILD_HINT}") from exc
        finally:
            self._checkin(key, searcher, ok)

    def _cache(self, searcher):
        key = (searcher.reports_folder, searcher.reader().generation(), searcher.doc_count_all())
        return facetmod.facet_cache(searcher, key)

    def search(self, request: SearchRequest) -> SearchResult:
        with self.searcher() as searcher:
            return run_search(request, searcher, self._cache(searcher), self.gazetteer,
                              self.settings)

    def count(self) -> int:
        return self.store.count()

    def report(self, report_id: str, q: str = "", related: int = 5) -> ReportView:
        """One report with its entity mentions as segments (linked by the page) and the
        words of `q` marked."""
        with self.searcher() as searcher:
            docnum = searcher.document_number(id=report_id)
            if docnum is None:
                raise ReportNotFound(f"no report with id {report_id!r}: search for it with "
                                     f"`reports search` to find its id")
            stored = searcher.stored_fields(docnum)
            spec = MatchSpec()
            if q.strip():
                parsed = parse(q, max_chars=self.settings.max_query_chars,
                               max_terms=self.settings.max_query_terms)
                find_entities(parsed, self.gazetteer)
                spec = compile_query(parsed, searcher, self.gazetteer, self.settings).spec
            mentions = stored.get("mentions") or []
            texts = [stored.get(f, "") for f in TEXT_FIELDS]
            segmented = [self._segments(texts[i], [m[1:] for m in mentions if m[0] == i], spec)
                         for i in range(3)]
            paragraphs = []
            if texts[1]:
                paragraphs.append(segmented[1])
            paragraphs.extend(_split_paragraphs(segmented[2]))
            refs = {k: [] for k in ENTITY_KINDS}
            seen = set()
            for _, _, _, kind, eid in mentions:
                if (kind, eid) not in seen and kind in refs:
                    seen.add((kind, eid))
                    refs[kind].append(EntityRef(eid, self._label(kind, eid)))
            rel = []
            for other in (self._related(searcher, docnum, texts, related) if related else []):
                hit = searcher.stored_fields(other)
                rel.append({"id": hit["id"],
                            "title": display_title(hit.get("title", ""), hit.get("lede", ""),
                                                   hit.get("body", "")),
                            "date": hit["date"].date().isoformat() if hit.get("date") else None})
            date = stored.get("date")
            title = texts[0] or display_title("", texts[1], texts[2])
            return ReportView(
                id=stored["id"], title=title, title_segments=segmented[0] or [Segment(title)],
                paragraphs=paragraphs, date=date.date().isoformat() if date else None,
                source=stored.get("source_name"), url=stored.get("url"),
                path=stored.get("path") or None, actors=refs["actors"], places=refs["places"],
                operations=refs["operations"], related=rel)

    def _related(self, searcher, docnum: int, texts, limit: int) -> list[int]:
        """Whoosh's more-like-this: the report's key terms (Bo1 model, as `Searcher.more_like`),
        ORed and ranked with Whoosh's BM25F over arrays (search/scoring.py) instead of
        Whoosh's matchers (13-31 ms a report page on Reuters-21578)."""
        text = texts[2] or texts[1] or texts[0]
        if not text:
            return []
        terms = searcher.key_terms_from_text("body", text, numterms=5, model=Bo1Model,
                                             normalize=True)
        if not terms:
            return []
        q = wq.Or([wq.Term("body", word, boost=weight) for word, weight in terms])
        cache = self._cache(searcher)
        found = matchsets.mask(searcher, q, cache.size, cache.live, cache.terms)
        found[docnum] = False
        score = scoring.scores(searcher, q, cache.size, cache.terms)
        return [d for d, _ in scoring.top(np.flatnonzero(found), score, limit)]

    def _label(self, kind: str, eid: str) -> str:
        ent = self.gazetteer.get(kind, eid) if self.gazetteer is not None else None
        return entity_label(ent) if ent else eid

    def _segments(self, text: str, mentions, spec: MatchSpec) -> list[Segment]:
        """Text cut into plain pieces and entity mentions (one segment each, marked whole when
        a query mark touches it, so a mention stays one link)."""
        marks = find_marks(text, spec, mentions) if not spec.empty else []
        spans = sorted((s, e, k, i) for s, e, k, i in mentions)
        segments: list[Segment] = []
        pos = 0

        def plain(a: int, b: int) -> None:
            cuts = [a, b]
            for s, e, _ in marks:
                if a < e and s < b:
                    cuts += [max(s, a), min(e, b)]
            points = sorted(set(cuts))
            for x, y in zip(points, points[1:]):
                marked = any(s <= x and y <= e for s, e, _ in marks)
                segments.append(Segment(text[x:y], mark=marked))

        for start, end, kind, eid in spans:
            if start < pos:
                continue          # overlapping mentions: the first one wins
            if start > pos:
                plain(pos, start)
            marked = any(s < end and start < e for s, e, _ in marks)
            segments.append(Segment(text[start:end], kind, eid, self._label(kind, eid), marked))
            pos = end
        if pos < len(text):
            plain(pos, len(text))
        return segments

    def entities(self, kind: str | None = None, limit: int = 1000) -> dict[str, list]:
        """Facet values over the whole index with counts (for `reports entities`)."""
        kinds = [kind] if kind else list(ENTITY_KINDS)
        with self.searcher() as searcher:
            cache = self._cache(searcher)
            out = {}
            for k in kinds:
                arrays = cache.facets[k]
                counts = arrays.count(cache.live)
                order = sorted(range(len(arrays.values)), key=lambda i: (-int(counts[i]), arrays.values[i]))
                rows = []
                for i in order[:limit]:
                    if not counts[i]:
                        continue
                    value = arrays.values[i]
                    ent = self.gazetteer.get(k, value) if self.gazetteer is not None else None
                    rows.append({"value": value, "label": label_of(k, value, cache, self.gazetteer),
                                 "count": int(counts[i]), "type": ent.type if ent else None})
                out[k] = rows
            return out

    def texts(self) -> Iterator[str]:
        """Every report's text (for `reports entities --unknown`)."""
        with self.searcher() as searcher:
            for stored in searcher.all_stored_fields():
                yield "\n\n".join(stored.get(f, "") for f in TEXT_FIELDS)

    # ------------------------------------------------------------------ writing

    def update(self, rebuild: bool = False, progress=None) -> UpdateSummary:
        """Make the index equal to the reports folder (incremental unless rebuild)."""
        found = scan_reports(self.settings)
        return self.store.update(found, self.gazetteer, progress=progress, rebuild=rebuild)


def scan_reports(settings: Settings):
    from .errors import ReportsMissing

    if not settings.reports_dir.is_dir():
        raise ReportsMissing(f"no reports folder at {settings.reports_dir}: create it or pass "
                             f"--reports DIR")
    return scan(settings.reports_dir, max_file_bytes=settings.max_file_bytes,
                max_archive_bytes=settings.max_archive_bytes)


def _split_paragraphs(segments: list[Segment]) -> list[list[Segment]]:
    """Split a segment list at blank lines (paragraph breaks inside plain segments)."""
    out: list[list[Segment]] = [[]]
    for seg in segments:
        if seg.kind is None and "\n\n" in seg.text:
            parts = seg.text.split("\n\n")
            for i, part in enumerate(parts):
                if i:
                    out.append([])
                if part:
                    out[-1].append(Segment(part, mark=seg.mark))
        else:
            out[-1].append(seg)
    return [p for p in out if p]
