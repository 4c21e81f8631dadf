"""The plain data the query layer returns. The web page, the JSON API and `reports search
--json` all render these objects; nothing here knows Whoosh, Flask or the terminal."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Sequence

SORTS = ("relevance", "newest", "oldest")


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    page: int = 1
    page_size: int = 10
    sort: str = "relevance"
    exact: bool = False          # no alias expansion anywhere in the query
    facet_size: int = 10


@dataclass(frozen=True)
class EntityRef:
    value: str
    label: str


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    title_html: str              # escaped, query words in <mark>
    snippet: str                 # escaped HTML with <mark>: the only HTML a page trusts
    date: str | None
    source: str | None
    url: str | None
    score: float
    actors: list[EntityRef]
    places: list[EntityRef]
    operations: list[EntityRef]
    why: list[str]               # e.g. "Daesh → ISIS: Isis, Islamic State"


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    type: str | None = None      # places: governorate, district, town, river, …
    parent: str | None = None


@dataclass(frozen=True)
class Expansion:
    text: str                    # what the user typed
    kind: str
    value: str
    label: str


@dataclass(frozen=True)
class AppliedFilter:
    facet: str
    value: str
    label: str


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    page_size: int
    pages: int
    sort: str
    mode: str                    # all | any | browse
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    facet_totals: dict[str, int]  # distinct values with a count, before cutting to facet_size
    filters: list[AppliedFilter]
    expansions: list[Expansion]
    suggestion: str | None
    notices: list[str]
    took_ms: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Segment:
    """A piece of report text: plain, or an entity mention (linked), maybe marked."""

    text: str
    kind: str | None = None
    value: str | None = None
    label: str | None = None
    mark: bool = False


@dataclass
class ReportView:
    id: str
    title: str
    title_segments: list[Segment]
    paragraphs: list[list[Segment]]   # lede first, then body paragraphs
    date: str | None
    source: str | None
    url: str | None
    path: str | None
    actors: list[EntityRef]
    places: list[EntityRef]
    operations: list[EntityRef]
    related: list[dict]

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["text"] = "\n\n".join("".join(s.text for s in p) for p in self.paragraphs)
        del d["paragraphs"], d["title_segments"]
        return d
