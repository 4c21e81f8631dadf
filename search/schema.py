"""The index schema and the pure function from a report (plus its entities) to a document.

Fields:

| field                 | kind    | stored | what for                                           |
|-----------------------|---------|--------|----------------------------------------------------|
| id                    | ID      | yes    | stable report id; sortable column                  |
| hash                  | ID      | yes    | content hash, compared by incremental updates      |
| path, url             | ID/STORED | yes  | where the report came from                         |
| title, lede, body     | TEXT    | yes    | ranked search (title > lede > body), snippets      |
| date                  | DATETIME| yes    | sorting, date ranges, the years facet              |
| source                | ID      | no     | facet value (lowercased source name)               |
| source_name           | STORED  | yes    | source as written                                  |
| actors/places/operations | KEYWORD | yes | facets: canonical ids, mentioned + ancestors      |
| *_m                   | KEYWORD | no     | one canonical id per mention in the text (alias search; BM25 sees how often a report names the entity, under any name) |
| mentions              | STORED  | yes    | (field, start, end, kind, id) spans for marking    |
"""

from __future__ import annotations

import datetime as dt

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from . import whoosh_fixes  # noqa: F401  (patches Whoosh on import)
from .analysis import make_analyzer
from .ingest import Report

SCHEMA_VERSION = 4   # 2: no spelling field (suggestions come from the stemmed lexicon)
TEXT_FIELDS = ("title", "lede", "body")
ENTITY_KINDS = ("actors", "places", "operations")
MENTIONED = {kind: kind + "_m" for kind in ENTITY_KINDS}


class Postings(list):
    """A text field's postings computed ahead of time (by search/pipeline.py, possibly in
    another process): the (term bytes, frequency, weight, encoded positions) tuples that
    `TEXT.index()` would produce."""


class ReportText(TEXT):
    """TEXT that accepts pre-computed Postings, so analysis can run outside the writer."""

    def index(self, value, **kwargs):
        if isinstance(value, Postings):
            return iter(value)
        return super().index(value, **kwargs)


def make_schema() -> Schema:
    analyzer = make_analyzer()
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        hash=ID(stored=True, sortable=True),
        path=ID(stored=True),
        url=STORED(),
        title=ReportText(analyzer=analyzer, stored=True),
        lede=ReportText(analyzer=analyzer, stored=True),
        body=ReportText(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        source=ID(sortable=True),
        source_name=STORED(),
        mentions=STORED(),
        **{kind: KEYWORD(stored=True, commas=True, scorable=True) for kind in ENTITY_KINDS},
        **{MENTIONED[kind]: KEYWORD(commas=True, scorable=True) for kind in ENTITY_KINDS},
    )


def source_key(source: str | None) -> str | None:
    return " ".join(source.lower().split()) if source else None


def document(report: Report, gazetteer=None) -> dict:
    """The Whoosh document for a report. Pure: same report, same gazetteer, same document."""
    doc: dict = {
        "id": report.id,
        "hash": report.hash,
        "path": report.path or "",
        "title": report.title,
        "lede": report.lede,
        "body": report.body,
    }
    if report.url:
        doc["url"] = report.url
    if report.date:
        doc["date"] = dt.datetime.combine(report.date, dt.time())
    if report.source:
        doc["source"] = source_key(report.source)
        doc["source_name"] = report.source
    if gazetteer is not None:
        mentions = []
        found: dict[str, list[str]] = {kind: [] for kind in ENTITY_KINDS}
        for field_index, fieldname in enumerate(TEXT_FIELDS):
            for m in gazetteer.find_mentions(getattr(report, fieldname)):
                mentions.append((field_index, m.start, m.end, m.kind, m.entity_id))
                found[m.kind].append(m.entity_id)
        for kind in ENTITY_KINDS:
            if not found[kind]:
                continue
            expanded = set(found[kind])
            for eid in set(found[kind]):
                expanded.update(gazetteer.ancestors(kind, eid))
            doc[MENTIONED[kind]] = ",".join(found[kind])      # every mention: frequency counts
            doc[kind] = ",".join(sorted(expanded))
        if mentions:
            doc["mentions"] = mentions
    return doc
