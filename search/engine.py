"""The library's front door: search, show a report, list entities, keep the index current.

An Engine holds settings, the gazetteer and the index store. Each call opens its own Whoosh
searcher and closes it before returning (searchers are not thread-safe and an unclosed one
pins a file handle per segment), so an Engine can be shared by threads, and reports indexed
by another process are seen by the next call.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from . import facets as facetmod
from .errors import IndexDamaged, ReportNotFound, SearchError
from .highlight import MatchSpec, find_marks
from .index import DAMAGE_ERRORS, REBUILD_HINT, IndexStore, UpdateSummary
from .ingest import scan
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

    @classmethod
    def from_settings(cls, settings: Settings) -> "Engine":
        from .entities import Gazetteer

        return cls(settings, Gazetteer.load(settings.gazetteer_paths))

    # ------------------------------------------------------------------ reading

    @contextmanager
    def searcher(self) -> Iterator:
        ix = self.store.open()
        try:
            searcher = ix.searcher()
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.store.root} is damaged; {REBUILD_HINT}") from exc
        try:
            yield searcher
        except SearchError:
            raise
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.store.root} is damaged "
                               f"({type(exc).__name__}); {REBUILD_HINT}") from exc
        finally:
            searcher.close()

    def _cache(self, searcher):
        key = (str(self.store.live_dir().resolve()), searcher.reader().generation(),
               searcher.doc_count_all())
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
            if related:
                for hit in searcher.more_like(docnum, "body", text=texts[2] or texts[0],
                                              top=related):
                    rel.append({"id": hit["id"], "title": hit["title"],
                                "date": hit["date"].date().isoformat() if hit.get("date") else None})
            date = stored.get("date")
            return ReportView(
                id=stored["id"], title=texts[0], title_segments=segmented[0],
                paragraphs=paragraphs, date=date.date().isoformat() if date else None,
                source=stored.get("source_name"), url=stored.get("url"),
                path=stored.get("path") or None, actors=refs["actors"], places=refs["places"],
                operations=refs["operations"], related=rel)

    def _label(self, kind: str, eid: str) -> str:
        ent = self.gazetteer.get(kind, eid) if self.gazetteer is not None else None
        return entity_label(ent) if ent else eid

    def _segments(self, text: str, mentions, spec: MatchSpec) -> list[Segment]:
        marks = find_marks(text, spec, [(s, e, k, i) for s, e, k, i in mentions]) if not spec.empty else []
        cuts = {0, len(text)}
        for s, e, _, _ in mentions:
            cuts.update((s, e))
        for s, e, _ in marks:
            cuts.update((s, e))
        points = sorted(c for c in cuts if 0 <= c <= len(text))
        by_start = {s: (e, k, i) for s, e, k, i in mentions}
        segments: list[Segment] = []
        open_entity = None
        for a, b in zip(points, points[1:]):
            if a in by_start:
                open_entity = by_start[a]
            piece = text[a:b]
            marked = any(s <= a and b <= e for s, e, _ in marks)
            if open_entity and b <= open_entity[0]:
                _, kind, eid = open_entity
                segments.append(Segment(piece, kind, eid, self._label(kind, eid), marked))
            else:
                segments.append(Segment(piece, mark=marked))
            if open_entity and b >= open_entity[0]:
                open_entity = None
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
