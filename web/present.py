"""From the library's SearchResult to what the templates print.

Facet values, chips and page links are plain data with their URLs computed here (the way
Datasette's facets carry a toggle URL); templates only loop and print. Nothing here knows
Whoosh; everything reads the one SearchResult the JSON API returns unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from search.analysis import fold

from .params import FILTER_PARAMS, FIND_PREFIX, PARAM_OF, State

FACET_TITLES = {"actors": "Actors", "places": "Places", "operations": "Operations",
                "source": "Sources", "year": "Years"}
HIT_CHIPS = 6             # entity chips per kind on a result
OPEN_ALL_BELOW = 16       # nested facet lists this short start fully expanded
MAX_DEPTH = 12


@dataclass
class FacetItem:
    value: str
    label: str
    count: int
    selected: bool
    url: str
    type: str | None = None
    children: list["FacetItem"] = field(default_factory=list)
    open: bool = False

    @property
    def descendants(self) -> int:
        return sum(1 + c.descendants for c in self.children)

    def any_selected(self) -> bool:
        return self.selected or any(c.any_selected() for c in self.children)


@dataclass
class FacetBox:
    name: str
    param: str
    title: str
    items: list[FacetItem]
    total: int               # values with a count in this result (before cutting)
    shown: int
    more_url: str | None
    less_url: str | None
    find: str
    find_param: str
    find_hidden: list[tuple[str, str]]
    find_clear_url: str | None
    nested: bool


@dataclass
class Chip:
    facet: str
    title: str
    label: str
    url: str
    selected: bool = False


@dataclass
class PageLink:
    number: int | None       # None: a gap (…)
    url: str | None
    current: bool = False


def report_url(report_id: str, q: str = "") -> str:
    """/reports/<id>: every character but a few safe ones is escaped, "/" included, so a
    browser never normalises a `..` inside an id (the route's path converter takes it back)."""
    url = "/reports/" + quote(report_id, safe=":@!$'()*+,;=-_~")
    return url + ("?" + urlencode({"q": q}) if q else "")


def human_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        d = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return f"{d.day} {d.strftime('%b')} {d.year}"


def canonical_state(state: State, result) -> State:
    """The state with filter values as the library resolved them (aliases to ids, unknown
    values dropped), so toggles and chips match the facets' values."""
    filters: dict[str, list[str]] = {}
    for f in result.filters:
        filters.setdefault(PARAM_OF[f.facet], []).append(f.value)
    return replace(state, filters={p: tuple(v) for p, v in filters.items()})


def facet_boxes(result, state: State, settings, gazetteer=None) -> list[FacetBox]:
    boxes = []
    for name, values in result.facets.items():
        param = PARAM_OF.get(name)
        if param is None:
            continue
        limit = state.shown_facet_size(name, settings)
        find = state.find.get(name, "")
        if find:
            needle = fold(find)
            values = [v for v in values if needle in fold(v.label) or v.selected]
        kept = [v for v in values[:limit]]
        kept += [v for v in values[limit:] if v.selected]
        items = [FacetItem(v.value, v.label, v.count, v.selected,
                           state.toggle_url(param, v.value), v.type) for v in kept]
        nested = name == "places" and not find
        if nested:
            items = _tree(items, {v.value: v.parent for v in kept}, gazetteer, len(items))
        total = result.facet_totals.get(name, len(values))
        more = name in state.more
        find_param = FIND_PREFIX + name
        boxes.append(FacetBox(
            name=name, param=param, title=FACET_TITLES.get(name, name.title()), items=items,
            total=total, shown=len(kept),
            more_url=state.more_url(name, True) if (not more and not find and total > limit) else None,
            less_url=state.more_url(name, False) if more else None,
            find=find, find_param=find_param,
            find_hidden=state.hidden_fields(skip=(find_param,)),
            find_clear_url=state.url(find={k: v for k, v in state.find.items() if k != name})
            if find else None,
            nested=nested))
    return boxes


def _tree(items: list[FacetItem], parents: dict[str, str | None], gazetteer, shown: int):
    """Nest each place under its nearest ancestor that is also shown (governorate >
    district > sub-district > town); the rest stay at the top, in count order."""
    by_value = {i.value: i for i in items}
    assigned: dict[str, str] = {}
    roots = []
    for item in items:
        parent = _nearest_shown(item.value, parents, by_value, gazetteer)
        up = parent
        while up is not None and up != item.value:     # never make a cycle
            up = assigned.get(up)
        if parent is None or up == item.value:
            roots.append(item)
        else:
            assigned[item.value] = parent
            by_value[parent].children.append(item)

    def mark(node: FacetItem, depth: int):
        for c in node.children:
            mark(c, depth + 1)
        node.open = bool(node.children) and (
            shown < OPEN_ALL_BELOW or depth == 0
            or any(c.any_selected() for c in node.children))

    for r in roots:
        mark(r, 0)
    return roots


def _nearest_shown(value, parents, by_value, gazetteer) -> str | None:
    seen = {value}
    current = value
    for _ in range(MAX_DEPTH):
        parent = parents.get(current)
        if parent is None and gazetteer is not None:
            ent = gazetteer.get("places", current)
            parent = ent.parent if ent else None
        if parent is None or parent in seen:
            return None
        if parent in by_value:
            return parent
        seen.add(parent)
        current = parent
    return None


def active_chips(result, state: State) -> list[Chip]:
    chips = []
    for f in result.filters:
        param = PARAM_OF.get(f.facet)
        if param is None:
            continue
        chips.append(Chip(f.facet, FACET_TITLES.get(f.facet, f.facet), f.label,
                          state.with_filter(param, f.value, False).url(), True))
    return chips


def hit_chips(hit, state: State) -> list[Chip]:
    chips = []
    for facet in ("actors", "places", "operations"):
        param = PARAM_OF[facet]
        for ref in getattr(hit, facet)[:HIT_CHIPS]:
            selected = state.has(param, ref.value)
            chips.append(Chip(facet, FACET_TITLES[facet], ref.label,
                              state.add_url(param, ref.value), selected))
    return chips


def page_links(result, state: State, settings) -> list[PageLink]:
    last = min(result.pages, settings.max_page)
    if last <= 1:
        return []
    current = result.page
    wanted = {1, last, *range(max(1, current - 2), min(last, current + 2) + 1)}
    links: list[PageLink] = []
    previous = 0
    for n in sorted(wanted):
        if n - previous > 1:
            links.append(PageLink(None, None))
        links.append(PageLink(n, state.page_url(n), n == current))
        previous = n
    return links


def entity_url(kind: str, value: str) -> str:
    """The search page filtered by one entity (links in a report's text)."""
    param = PARAM_OF.get(kind)
    if param is None or param not in FILTER_PARAMS:
        return "/"
    return "/?" + urlencode({param: value})


def safe_link(url: str | None) -> str | None:
    """A report's own URL as a link only when it is http(s); anything else is shown as text."""
    if url and url.lower().startswith(("http://", "https://")) and not any(
            c in url for c in "\x00\r\n\t "):
        return url
    return None
