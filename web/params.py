"""The page's state, read from and written to the URL.

Every state of the search page lives in its query string, so a page can be shared, bookmarked
and reached with the back button. `read_state` turns request args into a `State` (never
raising on hostile input: bad numbers fall back to defaults with a notice, repeated filters
are deduplicated and capped), `State.request` turns it into the library's SearchRequest, and
`State.url` writes it back with one change (toggle a filter, change page, show more values).

URL parameters (the JSON API takes the same):

    q                 the query text
    actor place operation source year
                      filters, repeatable (values of one facet OR, facets AND); the plural
                      forms (actors, places, …) are accepted too
    page size sort exact
    facet_size        values per facet (API; the page uses `more`)
    more=FACET        show more values of that facet (repeatable)
    find_FACET=TEXT   only the values of FACET whose name contains TEXT (the no-JS facet search)

Any other parameter is passed to the library as a facet name, which ignores it with a notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import urlencode

from search.results import SORTS, SearchRequest

# URL parameter -> the library's facet name, in the order facets are shown.
FILTER_PARAMS = {"actor": "actors", "place": "places", "operation": "operations",
                 "source": "source", "year": "year"}
PARAM_OF = {facet: param for param, facet in FILTER_PARAMS.items()}
PLURALS = {"actors": "actor", "places": "place", "operations": "operation",
           "sources": "source", "years": "year"}
CONTROL = {"q", "page", "size", "sort", "exact", "facet_size", "more"}
FIND_PREFIX = "find_"

DEFAULT_PAGE_SIZE = 10
DEFAULT_FACET_SIZE = 10
MORE_FACET_SIZE = 100
MAX_UNKNOWN_PARAMS = 5
MAX_FIND_CHARS = 100
TRUE = {"1", "true", "on", "yes"}

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Control characters (NUL included) become spaces; the library normalises the rest."""
    return _CONTROL_CHARS.sub(" ", text)


@dataclass(frozen=True)
class State:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # param -> values
    unknown: dict[str, tuple[str, ...]] = field(default_factory=dict)  # passed on, for a notice
    page: int = 1
    size: int | None = None
    sort: str | None = None
    exact: bool = False
    facet_size: int | None = None
    more: tuple[str, ...] = ()
    find: dict[str, str] = field(default_factory=dict)                # facet -> text

    # ------------------------------------------------------------------ to the library

    def request(self, settings) -> SearchRequest:
        filters: dict[str, list[str]] = {FILTER_PARAMS[p]: list(self.filters[p])
                                         for p in FILTER_PARAMS if self.filters.get(p)}
        for name, values in self.unknown.items():
            filters[name] = list(values)
        return SearchRequest(q=self.q, filters=filters, page=self.page,
                             page_size=self.size or DEFAULT_PAGE_SIZE,
                             sort=self.sort or "relevance", exact=self.exact,
                             facet_size=self.requested_facet_size(settings))

    def requested_facet_size(self, settings) -> int:
        size = self.facet_size or DEFAULT_FACET_SIZE
        if self.more:
            size = max(size, MORE_FACET_SIZE)
        if self.find:
            size = max(size, settings.max_facet_size)
        return min(size, settings.max_facet_size)

    def shown_facet_size(self, facet: str, settings) -> int:
        """How many values of `facet` the page shows (the request may fetch more for another)."""
        if facet in self.find:
            return settings.max_facet_size
        if facet in self.more:
            return min(MORE_FACET_SIZE, settings.max_facet_size)
        return min(self.facet_size or DEFAULT_FACET_SIZE, settings.max_facet_size)

    # ------------------------------------------------------------------ to the URL

    def pairs(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for param in FILTER_PARAMS:
            out.extend((param, v) for v in self.filters.get(param, ()))
        if self.sort:
            out.append(("sort", self.sort))
        if self.exact:
            out.append(("exact", "1"))
        if self.size:
            out.append(("size", str(self.size)))
        if self.facet_size:
            out.append(("facet_size", str(self.facet_size)))
        out.extend(("more", m) for m in self.more)
        out.extend((FIND_PREFIX + f, t) for f, t in self.find.items())
        if self.page > 1:
            out.append(("page", str(self.page)))
        return out

    def query_string(self) -> str:
        return urlencode(self.pairs())

    def url(self, path: str = "/", **changes) -> str:
        state = replace(self, **changes) if changes else self
        qs = state.query_string()
        return f"{path}?{qs}" if qs else path

    def has(self, param: str, value: str) -> bool:
        return value in self.filters.get(param, ())

    def with_filter(self, param: str, value: str, on: bool) -> "State":
        values = [v for v in self.filters.get(param, ()) if v != value]
        if on:
            values.append(value)
        filters = {p: tuple(values) if p == param else v for p, v in self.filters.items()}
        if param not in filters and values:
            filters[param] = tuple(values)
        filters = {p: v for p, v in filters.items() if v}
        return replace(self, filters=filters, page=1)

    @cached_property
    def _first_page_pairs(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.pairs() if k != "page"]

    def _filter_url(self, param: str, value: str, on: bool) -> str:
        """Like with_filter(...).url(), without building a State (a page has ~100 of these)."""
        pairs = [(k, v) for k, v in self._first_page_pairs if not (k == param and v == value)]
        if on:
            order = list(FILTER_PARAMS)
            rank = order.index(param)
            at = 1 if pairs and pairs[0][0] == "q" else 0
            for i, (k, _) in enumerate(pairs):
                if k in FILTER_PARAMS and order.index(k) <= rank:
                    at = i + 1
            pairs.insert(at, (param, value))
        qs = urlencode(pairs)
        return f"/?{qs}" if qs else "/"

    def toggle_url(self, param: str, value: str) -> str:
        return self._filter_url(param, value, not self.has(param, value))

    def add_url(self, param: str, value: str) -> str:
        return self._filter_url(param, value, True)

    def page_url(self, page: int) -> str:
        return self.url(page=page)

    def more_url(self, facet: str, on: bool) -> str:
        more = tuple(m for m in self.more if m != facet) + ((facet,) if on else ())
        return self.url(more=more)

    def clear_filters_url(self) -> str:
        return self.url(filters={}, find={}, more=(), page=1)

    def hidden_fields(self, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """Name/value pairs for a GET form that changes only the fields named in `skip`."""
        return [(k, v) for k, v in self.pairs() if k not in skip and k != "page"]


def _int(raw: str | None, name: str, notices: list[str]) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        notices.append(f"{name} {raw[:40]!r} is not a whole number; the default was used.")
        return None


def read_state(args, settings) -> tuple[State, list[str]]:
    """A State from request args (a MultiDict), with notices for what was changed or dropped."""
    notices: list[str] = []
    q = clean(args.get("q", ""))
    filters: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    find: dict[str, str] = {}
    count = 0
    cut = False
    for name in args.keys():
        values = [clean(v).strip() for v in args.getlist(name)]
        values = [v for v in dict.fromkeys(values) if v]
        if name in CONTROL:
            continue
        if name.startswith(FIND_PREFIX):
            facet = name[len(FIND_PREFIX):]
            param = PLURALS.get(facet, facet)
            if param in FILTER_PARAMS and values:
                find[FILTER_PARAMS[param]] = values[0][:MAX_FIND_CHARS]
            continue
        param = PLURALS.get(name, name)
        if param in FILTER_PARAMS:
            bucket = filters.setdefault(param, [])
            for v in values:
                if v in bucket:
                    continue
                if count >= settings.max_filters:
                    cut = True
                    break
                bucket.append(v)
                count += 1
        elif values:
            unknown[clean(name)[:40]] = values[:1]
    if cut:
        notices.append(f"Only the first {settings.max_filters} filters were used.")
    if len(unknown) > MAX_UNKNOWN_PARAMS:
        notices.append(f"{len(unknown) - MAX_UNKNOWN_PARAMS} more unknown parameters ignored.")
        unknown = dict(list(unknown.items())[:MAX_UNKNOWN_PARAMS])

    page = _int(args.get("page"), "Page", notices) or 1
    page = min(max(page, 1), settings.max_page + 1)   # the library says when it cuts
    size = _int(args.get("size"), "Page size", notices)
    if size is not None:
        size = min(max(size, 1), settings.max_page_size + 1)
    facet_size = _int(args.get("facet_size"), "Facet size", notices)
    if facet_size is not None:
        facet_size = min(max(facet_size, 1), settings.max_facet_size)
    sort = args.get("sort") or None
    if sort is not None:
        sort = clean(sort)[:40]
    more = tuple(dict.fromkeys(
        FILTER_PARAMS[PLURALS.get(m, m)] for m in args.getlist("more")
        if PLURALS.get(m, m) in FILTER_PARAMS))
    exact = args.get("exact", "").lower() in TRUE
    state = State(q=q, filters={p: tuple(v) for p, v in filters.items() if v},
                  unknown={k: tuple(v) for k, v in unknown.items()}, page=page, size=size,
                  sort=sort, exact=exact, facet_size=facet_size, more=more, find=find)
    return state, notices


def url_state(state: State, result) -> State:
    """The state written into links, as the library understood it: a rejected sort is
    dropped, unknown parameters are not repeated, page and page size are the clamped ones."""
    sort = state.sort if state.sort in SORTS and state.sort != "relevance" else None
    size = result.page_size if state.size and result.page_size != DEFAULT_PAGE_SIZE else None
    return replace(state, sort=sort, unknown={}, size=size, page=result.page)
