"""The pages: the search page (`/`) and a report (`/reports/<id>`).

Views parse, call the library once, and hand plain data to the templates (web/present.py
computes every URL); templates only loop and print.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from search.errors import BadQuery
from search.results import SORTS

from . import present, searching
from .app import get_engine, get_settings
from .params import State, clean, read_state, url_state

bp = Blueprint("views", __name__)

SORT_LABELS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first"}


@bp.get("/")
def search():
    settings = get_settings()
    try:
        state, result = searching.run(request.args)
    except BadQuery as exc:
        state, _ = read_state(request.args, settings)
        context = form_context(state)
        context["error"] = str(exc)
        return render_template("search.html", **context), 400
    links = present.canonical_state(url_state(state, result), result)
    engine = get_engine()
    first = (result.page - 1) * result.page_size + 1
    hits = [{"hit": h, "url": present.report_url(h.id, result.query),
             "chips": present.hit_chips(h, links)} for h in result.hits]
    context = form_context(links, sort=state.sort or "relevance")
    context.update(
        result=result,
        hits=hits,
        first=first,
        last=first + len(result.hits) - 1,
        browsing=result.mode == "browse" and not result.filters,
        facets=present.facet_boxes(result, links, settings, engine.gazetteer),
        chips=present.active_chips(result, links),
        clear_url=links.clear_filters_url(),
        pages=present.page_links(result, links, settings),
        prev_url=links.page_url(result.page - 1) if result.page > 1 else None,
        next_url=links.page_url(result.page + 1)
        if result.page < min(result.pages, settings.max_page) else None,
        suggestion_url=links.url(q=result.suggestion, page=1) if result.suggestion else None,
        exact_url=links.url(exact=True, page=1) if result.expansions else None,
        inexact_url=links.url(exact=False, page=1) if state.exact else None,
        api_url="/api/search" + ("?" + links.query_string() if links.query_string() else ""),
    )
    return render_template("search.html", **context)


def form_context(state: State, sort: str | None = None) -> dict:
    sort = sort or state.sort or "relevance"
    return {
        "state": state,
        "q": state.q,
        "sorts": [(s, SORT_LABELS[s], s == sort) for s in SORTS],
        "hidden": state.hidden_fields(skip=("q", "sort", "exact")),
        "result": None,
        "error": None,
    }


@bp.get("/reports/<path:report_id>")
def report(report_id: str):
    settings = get_settings()
    q = clean(request.args.get("q", ""))[:settings.max_query_chars]
    engine = get_engine()
    try:
        view = engine.report(report_id, q=q)
    except BadQuery:
        view = engine.report(report_id)
    entities = [(kind, present.FACET_TITLES[kind], getattr(view, kind))
                for kind in ("actors", "places", "operations")]
    return render_template(
        "report.html", view=view, q=q, entities=entities,
        link=present.safe_link(view.url),
        back_url=State(q=q).url() if q else None,
        related=[dict(r, url=present.report_url(r["id"], q)) for r in view.related])
