"""The query layer: a SearchRequest in, a SearchResult out (see results.py).

Steps: parse the text (querylang, never raises) -> find entity names among the words
(gazetteer, alias-aware) -> compile to Whoosh queries -> match sets as numpy masks ->
disjunctive facet counts (facets.py) -> rank the page (BM25F, title > lede > body) ->
snippets for the page's hits only (highlight.py).

Ranking: reports containing every query group come first; when fewer than a page of reports
contain them all (typical for long natural-language queries), reports containing some of
them follow, ranked by BM25F, and a notice says so.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from . import facets as facetmod
from . import matchsets, scoring
from .analysis import analyze, fold, fold_words
from .ingest import display_title
from .errors import BadQuery
from .highlight import MatchSpec, plain_start, render, snippet, find_marks
from .querylang import (Clause, DateSpan, Entity, FieldValue, ParsedQuery, Phrase, Word,
                        normalise, parse)
from .results import (SORTS, AppliedFilter, EntityRef, Expansion, FacetValue, Hit,
                      SearchRequest, SearchResult)
from .schema import ENTITY_KINDS, MENTIONED, TEXT_FIELDS, source_key

# Small, ordered boosts: with Whoosh's per-field BM25 (each field saturates on its own), a short
# title already weighs more per match; larger boosts lowered nDCG@10 on CISI, Cranfield and MED
# (title 3.0: 0.327 / 0.343 / 0.715; title 1.2: 0.360 / 0.359 / 0.693; see README, Performance).
FIELD_BOOSTS = {"title": 1.2, "lede": 1.1, "body": 1.0}
ENTITY_BOOST = 2.0
# Queries with at least this many word groups are "natural language": when fewer than a page
# of reports contain every group, reports containing some of them follow. Shorter queries fall
# back to "some of the words" only when no report has them all.
LONG_QUERY_GROUPS = 4
FACET_LABELS = {"actors": "Actors", "places": "Places", "operations": "Operations",
                "source": "Sources", "year": "Years"}
FACET_ALIASES = {"actor": "actors", "place": "places", "operation": "operations",
                 "sources": "source", "years": "year", "date": "year"}


@dataclass
class Compiled:
    groups: list[wq.Query]
    negative: wq.Query | None
    spec: MatchSpec
    expansions: list[Expansion]
    entity_words: dict[tuple[str, str], str]
    words: list[str]                   # plain words, for "did you mean"


# --------------------------------------------------------------------------- compile


def text_query(text: str, fields=TEXT_FIELDS) -> tuple[wq.Query | None, list[str]]:
    terms = analyze(text)
    if not terms:
        return None, []
    if len(terms) == 1:
        q = wq.Or([wq.Term(f, terms[0], boost=FIELD_BOOSTS[f]) for f in fields])
    else:
        q = wq.Or([wq.Phrase(f, terms, boost=FIELD_BOOSTS[f]) for f in fields])
    return q, terms


def prefix_query(searcher, prefix: str, cap: int, notices: list[str]) -> wq.Query | None:
    prefix = fold(prefix)
    reader = searcher.reader()
    expansions: dict[str, int] = {}
    for f in TEXT_FIELDS:
        for n, term in enumerate(reader.expand_prefix(f, prefix)):
            if n >= cap * 4:
                break
            text = term.decode("utf-8") if isinstance(term, bytes) else term
            expansions[text] = expansions.get(text, 0) + reader.doc_frequency(f, text)
    if not expansions:
        return wq.NullQuery
    chosen = sorted(expansions, key=lambda t: -expansions[t])[:cap]
    if len(expansions) > cap:
        notices.append(f"{prefix}* matches {len(expansions)} words; the {cap} most frequent were used.")
    return wq.Or([wq.Term(f, t, boost=FIELD_BOOSTS[f]) for t in chosen for f in TEXT_FIELDS])


def find_entities(parsed: ParsedQuery, gazetteer) -> None:
    """Replace runs of plain words that name an entity with Entity items (in place)."""
    if gazetteer is None:
        return

    def plain(clause: Clause) -> bool:
        return isinstance(clause.item, Word) and not clause.item.exact and not clause.item.prefix

    groups = parsed.groups
    out: list[list[Clause]] = []
    i = 0
    while i < len(groups):
        if len(groups[i]) == 1 and plain(groups[i][0]):
            j = i
            while j < len(groups) and len(groups[j]) == 1 and plain(groups[j][0]):
                j += 1
            out.extend(_entity_run([g[0] for g in groups[i:j]], gazetteer))
            i = j
        else:
            out.append([_single_entity(c, gazetteer) if plain(c) else c for c in groups[i]])
            i += 1
    parsed.groups = out
    parsed.negatives = [_single_entity(c, gazetteer) if plain(c) else c for c in parsed.negatives]


def _entity_run(clauses: list[Clause], gazetteer) -> list[list[Clause]]:
    words = [c.item.text for c in clauses]
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    joined = " ".join(words)
    found: dict[int, tuple[int, object]] = {}
    for m in gazetteer.find_mentions(joined, query=True):
        if m.start in starts and (m.end == len(joined) or m.end + 1 in starts):
            first = starts.index(m.start)
            last = len(starts) - 1 if m.end == len(joined) else starts.index(m.end + 1) - 1
            found[first] = (last, m)
    result: list[list[Clause]] = []
    i = 0
    while i < len(clauses):
        if i in found:
            last, m = found[i]
            ent = gazetteer.get(m.kind, m.entity_id)
            label = ent.name if ent else m.entity_id
            result.append([Clause(Entity(m.kind, m.entity_id, label, " ".join(words[i:last + 1])))])
            i = last + 1
        else:
            result.append([clauses[i]])
            i += 1
    return result


def _single_entity(clause: Clause, gazetteer) -> Clause:
    word = clause.item.text
    for m in gazetteer.find_mentions(word, query=True):
        if m.start == 0 and m.end == len(word):
            ent = gazetteer.get(m.kind, m.entity_id)
            return Clause(Entity(m.kind, m.entity_id, ent.name if ent else m.entity_id, word),
                          clause.negated)
    return clause


def compile_query(parsed: ParsedQuery, searcher, gazetteer, settings) -> Compiled:
    terms: set[str] = set()
    prefixes: list[str] = []
    entities: set[tuple[str, str]] = set()
    expansions: list[Expansion] = []
    entity_words: dict[tuple[str, str], str] = {}
    words: list[str] = []
    notices = parsed.notices

    def one(clause: Clause, positive: bool) -> wq.Query | None:
        item = clause.item
        if isinstance(item, Word):
            if item.prefix:
                if positive:
                    prefixes.append(fold(item.text))
                return prefix_query(searcher, item.text, settings.prefix_max_expansion, notices)
            q, ts = text_query(item.text)
            if positive:
                terms.update(ts)
                words.append(item.text)
            return q
        if isinstance(item, Phrase):
            q, ts = text_query(item.text)
            if positive:
                terms.update(ts)
            return q
        if isinstance(item, Entity):
            if positive:
                entities.add((item.kind, item.id))
                entity_words[(item.kind, item.id)] = item.text
                if fold(item.text) != fold(item.label):
                    expansions.append(Expansion(item.text, item.kind, item.id, item.label))
            literal, ts = text_query(item.text)
            if positive:
                terms.update(ts)
            # Every mention of the entity, under any of its names, is one posting of this
            # term, so BM25 counts how often a report names it, whichever name it uses. The
            # words as typed still match too, so an index tagged with an older gazetteer
            # (or none) finds them.
            entity = wq.Term(MENTIONED[item.kind], item.id, boost=ENTITY_BOOST)
            return entity if literal is None else wq.Or([entity, literal])
        if isinstance(item, FieldValue):
            if item.field == "title":
                q, ts = text_query(item.value, fields=("title",))
                if positive:
                    terms.update(ts)
                return q
            if item.field == "source":
                return wq.Term("source", source_key(item.value))
            ent = gazetteer.resolve(item.field, item.value) if gazetteer is not None else None
            if ent is None:
                notices.append(f"No {item.field[:-1]} is known as {item.value!r}; it was searched as words.")
                q, ts = text_query(item.value)
                if positive:
                    terms.update(ts)
                return q
            if positive:
                entities.add((item.field, ent.id))
                entity_words[(item.field, ent.id)] = item.value
                if fold(item.value) != fold(ent.name):
                    expansions.append(Expansion(item.value, item.field, ent.id, ent.name))
            return wq.Term(item.field, ent.id)
        if isinstance(item, DateSpan):
            start = dt.datetime.combine(item.start, dt.time.min) if item.start else None
            end = dt.datetime.combine(item.end, dt.time.max) if item.end else None
            return wq.DateRange("date", start, end)
        return None

    groups: list[wq.Query] = []
    for group in parsed.groups:
        parts = [q for q in (one(c, True) for c in group) if q is not None]
        if parts:
            groups.append(parts[0] if len(parts) == 1 else wq.Or(parts))
    negs = [q for q in (one(c, False) for c in parsed.negatives) if q is not None]
    return Compiled(
        groups=groups,
        negative=(negs[0] if len(negs) == 1 else wq.Or(negs)) if negs else None,
        spec=MatchSpec(frozenset(terms), tuple(prefixes), frozenset(entities),
                       frozenset(w for text in words for w in fold_words(text))),
        expansions=expansions,
        entity_words=entity_words,
        words=words,
    )


# --------------------------------------------------------------------------- run


def check_request(request: SearchRequest, settings) -> tuple[SearchRequest, list[str]]:
    """Clamp paging and sizes to the settings' caps; reject an over-long query."""
    notices: list[str] = []
    q = normalise(request.q or "")
    if len(q) > settings.max_query_chars:
        raise BadQuery(f"The query is {len(q):,} characters long; the limit is "
                       f"{settings.max_query_chars:,}. Shorten the query.")
    page, size = request.page, request.page_size
    if size > settings.max_page_size:
        notices.append(f"Page size cut to {settings.max_page_size}.")
        size = settings.max_page_size
    size = max(1, size)
    if page > settings.max_page:
        notices.append(f"Only the first {settings.max_page} pages can be shown.")
        page = settings.max_page
    page = max(1, page)
    facet_size = min(max(1, request.facet_size), settings.max_facet_size)
    sort = request.sort if request.sort in SORTS else "relevance"
    if sort != request.sort:
        notices.append(f"Unknown sort {request.sort!r}; sorted by relevance. Sorts: {', '.join(SORTS)}.")
    return (SearchRequest(q=q, filters=request.filters, page=page, page_size=size, sort=sort,
                          exact=request.exact, facet_size=facet_size), notices)


def resolve_filters(filters, gazetteer, cache, settings, notices) -> dict[str, list[str]]:
    """Facet name -> canonical values. Aliases resolve; unknown names and values are dropped
    with a notice."""
    resolved: dict[str, list[str]] = {}
    count = 0
    for name, values in (filters or {}).items():
        facet = FACET_ALIASES.get(name, name)
        if facet not in facetmod.FACETS:
            notices.append(f"Unknown facet {name!r} ignored. Facets: {', '.join(facetmod.FACETS)}.")
            continue
        if isinstance(values, str):
            values = [values]
        for raw in values:
            raw = normalise(str(raw))
            if not raw:
                continue
            count += 1
            if count > settings.max_filters:
                notices.append(f"Only the first {settings.max_filters} filters were used.")
                return resolved
            value = _canonical(facet, raw, gazetteer, cache)
            if value is None:
                notices.append(f"No {FACET_LABELS[facet].lower()[:-1]} {raw!r} in this index; filter ignored.")
                continue
            bucket = resolved.setdefault(facet, [])
            if value not in bucket:
                bucket.append(value)
    return resolved


def _canonical(facet, raw, gazetteer, cache) -> str | None:
    arrays = cache.facets[facet]
    if facet == "source":
        key = source_key(raw)
        return key if key in arrays.index else None
    if facet == "year":
        return raw if raw in arrays.index else None
    if raw in arrays.index:
        return raw
    if gazetteer is not None:
        ent = gazetteer.resolve(facet, raw)
        if ent is not None and ent.id in arrays.index:
            return ent.id
    return None


def _mask(searcher, q: wq.Query, size: int, cache) -> np.ndarray:
    return matchsets.mask(searcher, q, size, cache.live, cache.terms)


def _scored(searcher, q: wq.Query, cache) -> tuple[np.ndarray, np.ndarray]:
    """(match mask, score array) of a query: Whoosh's BM25F over arrays for queries of terms
    (search/scoring.py), else one Whoosh search that scores every match (phrases, ranges)."""
    size = cache.size
    score = scoring.scores(searcher, q, size, cache.terms)
    if score is not None:
        return _mask(searcher, q, size, cache), score
    score = np.zeros(size, dtype=np.float64)
    mask = np.zeros(size, dtype=bool)
    results = searcher.search(q, limit=None)
    for hit_score, docnum in results.top_n:
        mask[docnum] = True
        score[docnum] = hit_score
    return mask & cache.live, score


def run_search(request: SearchRequest, searcher, cache, gazetteer, settings) -> SearchResult:
    started = time.perf_counter()
    request, notices = check_request(request, settings)
    parsed = parse(request.q, max_chars=settings.max_query_chars,
                   max_terms=settings.max_query_terms,
                   prefix_min_chars=settings.prefix_min_chars)
    notices.extend(parsed.notices)
    parsed.notices = notices
    if not request.exact:
        find_entities(parsed, gazetteer)
    compiled = compile_query(parsed, searcher, gazetteer, settings)
    filters = resolve_filters(request.filters, gazetteer, cache, settings, notices)

    size = cache.size
    live = cache.live
    # Exclusions are applied as a mask, never with Whoosh's AndNot: its matcher fails to
    # exclude the first positive document when the negative's first document comes earlier
    # (tests/test_query.py::test_exclusion_of_the_first_document).
    allowed = live.copy()
    if compiled.negative is not None:
        allowed &= ~_mask(searcher, compiled.negative, size, cache)
    mode = "browse"
    if compiled.groups:
        mode = "all"
        all_q = compiled.groups[0] if len(compiled.groups) == 1 else wq.And(compiled.groups)
        # Not normalised: a word repeated in the query weighs more, as in BM25's query-term
        # frequency (Whoosh's parser would collapse it; pasted paragraphs rank better this way).
        query_mask, score = _scored(searcher, all_q, cache)
        query_mask &= allowed
    else:
        all_q = wq.Every()
        query_mask, score = allowed, None
        if request.q.strip() and not filters and compiled.negative is None:
            notices.append("Nothing searchable in the query; showing all reports.")

    selection = {f: cache.facets[f].docs_with(v, size) for f, v in filters.items()}
    filter_mask = np.ones(size, dtype=bool)
    for m in selection.values():
        filter_mask &= m

    any_q = None
    all_count = int((query_mask & filter_mask).sum())
    few = all_count == 0 or (len(compiled.groups) >= LONG_QUERY_GROUPS
                             and all_count < request.page_size)
    if mode == "all" and len(compiled.groups) > 1 and few:
        any_q = wq.Or(compiled.groups)
        any_mask, any_score = _scored(searcher, any_q, cache)
        any_mask &= allowed
        if int((any_mask & filter_mask).sum()) > all_count:
            mode = "any"
            notices.append("No report contains all the words; showing reports that contain some of them."
                           if all_count == 0 else
                           f"Only {all_count} report{' contains' if all_count == 1 else 's contain'} "
                           f"all the words; reports with some of them follow.")
            all_mask = query_mask
            query_mask, score = any_mask, any_score
        else:
            any_q = None

    final = query_mask & filter_mask
    total = int(final.sum())
    pages = max(1, math.ceil(total / request.page_size))
    page = min(request.page, pages)
    if page != request.page and total:
        notices.append(f"There are only {pages} pages; showing the last.")
    start, end = (page - 1) * request.page_size, page * request.page_size

    sort = request.sort if (mode != "browse" or request.sort != "relevance") else "newest"
    docnums: list[tuple[int, float]] = []
    if total and start < total:
        if sort in ("newest", "oldest"):
            # Dated reports in date order (ties by document number), then the undated ones
            # by relevance, all from the per-generation arrays.
            dated = np.flatnonzero(final & cache.dated)
            when = cache.dates[dated]
            order = np.lexsort((dated, -when if sort == "newest" else when))[:end]
            docnums = [(int(dated[i]), 0.0) for i in order]
            if len(docnums) < end:
                undated = np.flatnonzero(final & ~cache.dated)
                by_score = score if score is not None else np.zeros(size)
                docnums += scoring.top(undated, by_score, end - len(docnums))
            docnums = docnums[start:end]
        else:
            tier = (all_mask & filter_mask).astype(np.int8) if any_q is not None else None
            docnums = scoring.top(np.flatnonzero(final), score, end, tier)[start:end]

    hits = [make_hit(searcher, d, s, compiled, gazetteer) for d, s in docnums]

    facet_out: dict[str, list[FacetValue]] = {}
    facet_totals: dict[str, int] = {}
    for name in facetmod.FACETS:
        mask = query_mask.copy()
        for other, m in selection.items():
            if other != name:
                mask &= m
        counts = cache.facets[name].count(mask)
        facet_out[name], facet_totals[name] = facet_values(
            name, cache, counts, filters.get(name, []), gazetteer, request.facet_size)

    applied = [AppliedFilter(f, v, label_of(f, v, cache, gazetteer))
               for f, values in filters.items() for v in values]
    suggestion = None
    if total < 3 and compiled.words:
        suggestion = suggest(searcher, request.q, compiled.words)
    return SearchResult(
        query=parsed.text, total=total, page=page, page_size=request.page_size, pages=pages,
        sort=sort, mode=mode, hits=hits, facets=facet_out, facet_totals=facet_totals,
        filters=applied, expansions=compiled.expansions, suggestion=suggestion,
        notices=_unique(notices), took_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


ADMIN_LEVELS = frozenset({"governorate", "province", "district", "sub-district"})


def entity_label(ent) -> str:
    """Display name; administrative units say their level, since a governorate, its district,
    its sub-district and its main town often share one name (Deir ez-Zor, Abu Kamal)."""
    if ent.kind == "places" and ent.type in ADMIN_LEVELS:
        return f"{ent.name} ({ent.type})"
    return ent.name


def label_of(facet: str, value: str, cache, gazetteer) -> str:
    if facet == "source":
        return cache.source_labels.get(value, value)
    if facet == "year" or gazetteer is None:
        return value
    ent = gazetteer.get(facet, value)
    return entity_label(ent) if ent else value


def facet_values(name, cache, counts, selected, gazetteer, limit) -> tuple[list[FacetValue], int]:
    arrays = cache.facets[name]
    order = np.flatnonzero(counts)
    total = len(order)
    if name == "year":
        order = sorted(order.tolist(), key=lambda i: arrays.values[i], reverse=True)
    else:
        order = sorted(order.tolist(), key=lambda i: (-int(counts[i]), arrays.values[i]))
    chosen = order[:limit]
    chosen_values = {arrays.values[i] for i in chosen}
    for v in selected:   # a selected value is always shown, even with a count of 0
        if v not in chosen_values and v in arrays.index:
            chosen.append(arrays.index[v])
    out = []
    for i in chosen:
        value = arrays.values[i]
        ent = gazetteer.get(name, value) if (gazetteer is not None and name in ENTITY_KINDS) else None
        out.append(FacetValue(
            value=value, label=label_of(name, value, cache, gazetteer), count=int(counts[i]),
            selected=value in selected, type=ent.type if ent else None,
            parent=ent.parent if ent else None))
    return out, total


def make_hit(searcher, docnum: int, score: float, compiled: Compiled, gazetteer) -> Hit:
    stored = searcher.stored_fields(docnum)
    mentions = stored.get("mentions") or []
    by_field: dict[int, list] = {}
    for f, s, e, kind, eid in mentions:
        by_field.setdefault(f, []).append((s, e, kind, eid))
    title = stored.get("title", "")
    lede = stored.get("lede", "")
    body = stored.get("body", "")
    spec = compiled.spec
    text = snippet(body, spec, by_field.get(2, ()))
    if text is None:
        text = snippet(lede, spec, by_field.get(1, ()), fragments=1)
    if text is None:
        text = plain_start(lede or body)
    if title:
        title_html = render(title, find_marks(title, spec, by_field.get(0, ())))
    else:
        title = display_title("", lede, body)
        title_html = render(title, [])
    refs: dict[str, list[EntityRef]] = {k: [] for k in ENTITY_KINDS}
    seen = set()
    surfaces: dict[tuple[str, str], list[str]] = {}
    texts = (title, lede, body)
    for f, s, e, kind, eid in mentions:
        if (kind, eid) in spec.entities:
            found = surfaces.setdefault((kind, eid), [])
            surface = texts[f][s:e]
            if surface not in found:
                found.append(surface)
        if (kind, eid) in seen or kind not in refs:
            continue
        seen.add((kind, eid))
        ent = gazetteer.get(kind, eid) if gazetteer is not None else None
        refs[kind].append(EntityRef(eid, entity_label(ent) if ent else eid))
    why = []
    for key, typed in compiled.entity_words.items():
        ent = gazetteer.get(*key) if gazetteer is not None else None
        label = ent.name if ent else key[1]
        found = surfaces.get(key)
        if found and [fold(x) for x in found] != [fold(typed)]:
            why.append(f"{typed} → {label}: {', '.join(found)}")
    date = stored.get("date")
    return Hit(
        id=stored["id"], title=title, title_html=title_html, snippet=text,
        date=date.date().isoformat() if date else None,
        source=stored.get("source_name"), url=stored.get("url"),
        score=round(float(score), 4), actors=refs["actors"], places=refs["places"],
        operations=refs["operations"], why=why,
    )


def suggest(searcher, text: str, words: list[str]) -> str | None:
    """'Did you mean': replace each word unknown to the index with the closest real word.

    The index holds stems, so the closest *stem* within two edits is found in the body
    lexicon (Whoosh's corrector), then turned back into a real word by reading one report
    that contains it. No spelling field is indexed: it doubled the postings and cost 40 %
    of build time."""
    from .highlight import term_of, _WORD

    reader = searcher.reader()
    try:
        corrector = searcher.corrector("body")
    except Exception:
        return None
    changed = False
    out = text
    for word in words:
        w = fold(word)
        term = term_of(w)
        if not w.isalpha() or len(w) < 3 or term is None:
            continue
        if any(reader.doc_frequency(f, term) for f in TEXT_FIELDS):
            continue
        for candidate in corrector.suggest(term, limit=3, maxdist=2, prefix=1):
            surface = _surface(searcher, candidate, _WORD, term_of)
            if surface and surface != w:
                out = out.replace(word, surface, 1)
                changed = True
                break
    return out if changed else None


def _surface(searcher, stem: str, word_re, term_of) -> str | None:
    """A real word (lowercased) whose stem is `stem`, read from one report containing it."""
    for docnum in searcher.docs_for_query(wq.Term("body", stem)):
        body = searcher.stored_fields(docnum).get("body", "")
        for m in word_re.finditer(body):
            if term_of(m.group()) == stem:
                return fold(m.group())
        break
    return None
