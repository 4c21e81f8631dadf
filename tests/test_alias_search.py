"""Alias-aware search on the five seeds: any name finds every report naming the entity,
snippets mark the name each report uses, and exact search stays possible."""

import tomllib

import pytest

from search.results import SearchRequest

from conftest import FIXTURES, ids

EXPECTED = tomllib.loads((FIXTURES / "seed_entities.toml").read_text(encoding="utf-8"))


def reports_with(kind, value):
    return sorted(rid for rid, table in EXPECTED.items() if value in table[kind])


def search(engine, q="", **kw):
    return engine.search(SearchRequest(q=q, **kw))


@pytest.mark.parametrize("query, kind, value", [
    ("Daesh", "actors", "isis"),
    ("ISIS", "actors", "isis"),
    ("Islamic State", "actors", "isis"),
    ("International Coalition", "actors", "us-coalition"),
    ("Inherent Resolve", "actors", "us-coalition"),
    ("Hasaka", "places", "hasakah-city"),
    ("Hasakah", "places", "hasakah-city"),
    ("Jazeera Storm", "operations", "roundup"),
    ("Cizire Storma", "operations", "roundup"),
    ("Operation Round Up", "operations", "roundup"),
    ("Al Bukamal", "places", "abu-kamal"),
    ("Abu Kamal", "places", "abu-kamal"),
    ("Syrian army", "actors", "saa"),
    ("SAA", "actors", "saa"),
    ("Quds Brigades", "actors", "liwa-al-quds"),
    ("Deterrence of Terrorism", "operations", "deterrence-of-terrorism"),
])
def test_any_alias_finds_exactly_the_reports_naming_the_entity(seeds, query, kind, value):
    expected = reports_with(kind, value)
    assert expected, "the fixture table names this entity"
    assert sorted(ids(search(seeds, query))) == expected


def test_snippets_mark_the_alias_each_report_uses(seeds):
    r = search(seeds, "Jazeera Storm")
    by_id = {h.id: h for h in r.hits}
    # 003 only ever says "operation Round Up": its snippet marks that, and says why it matched.
    hit = by_id["003_b158a94822b5be0b.txt"]
    assert "Round Up</mark>" in hit.snippet
    assert any(w.startswith("Jazeera Storm → Operation Roundup") for w in hit.why)
    assert [(e.text, e.value) for e in r.expansions] == [("Jazeera Storm", "roundup")]


def test_daesh_marks_isis(seeds):
    r = search(seeds, "Daesh")
    hit = next(h for h in r.hits if h.id == "001_fb1c7362f2f3e4c5.txt")
    assert "<mark>Isis</mark>" in hit.snippet or "<mark>Islamic State</mark>" in hit.snippet


@pytest.mark.parametrize("query, expected", [
    ('"Jazeera Storm"', ["001_fb1c7362f2f3e4c5.txt", "004_c878412ea6c698de.txt"]),
    ('"Al Bukamal"', ["002_1b63410c73f9c8ac.txt"]),
    ('"Hasaka"', ["000_bbe9cb8a663fe25f.txt"]),
])
def test_quoting_searches_only_that_spelling(seeds, query, expected):
    r = search(seeds, query)
    assert sorted(ids(r)) == expected and r.expansions == []


def test_exact_flag_turns_off_expansion(seeds):
    assert ids(search(seeds, "Hasaka", exact=True)) == ["000_bbe9cb8a663fe25f.txt"]


def test_field_syntax_and_filters_accept_any_alias(seeds):
    expected = reports_with("actors", "us-coalition")
    assert sorted(ids(search(seeds, 'actor:"International Coalition"'))) == expected
    assert sorted(ids(search(seeds, filters={"actors": ["Inherent Resolve"]}))) == expected
    assert sorted(ids(search(seeds, filters={"operations": ["Jazeera Storm"]}))) == \
        reports_with("operations", "roundup")
    r = search(seeds, filters={"places": ["Al Bukamal"]})
    assert [(f.facet, f.value) for f in r.filters] == [("places", "abu-kamal")]


def test_governorate_filter_finds_reports_about_its_towns(seeds):
    # Deir ez-Zor governorate: every seed names Deir Ezzor; Hajin reports are inside it too.
    r = search(seeds, "Hajin", filters={"places": ["deir-ez-zor"]})
    assert sorted(ids(r)) == reports_with("places", "hajin")


def test_the_flagship_question(seeds):
    """'every report where the SDF fought ISIS near Hajin': the four Hajin reports first."""
    r = search(seeds, "SDF fought ISIS near Hajin")
    assert sorted(ids(r)[:4]) == reports_with("places", "hajin")


def test_facet_counts_equal_a_brute_force_count(seeds):
    for q, filters in [("", {}), ("Hajin", {}), ("Daesh", {"actors": ["saa"]}),
                       ("escape", {"places": ["abu-kamal", "hasakah-city"]})]:
        r = search(seeds, q, filters=filters, facet_size=1000, page_size=100)
        matched = set(ids(r))
        with seeds.searcher() as s:
            stored = {d["id"]: d for d in s.all_stored_fields()}
        for kind in ("actors", "places", "operations"):
            selected = filters.get(kind)
            pool = set(ids(search(seeds, q, filters={k: v for k, v in filters.items() if k != kind},
                                  page_size=100)))
            brute = {}
            for rid in pool:
                for v in (stored[rid].get(kind) or "").split(","):
                    if v:
                        brute[v] = brute.get(v, 0) + 1
            got = {v.value: v.count for v in r.facets[kind] if v.count}
            assert got == brute, (q, kind)
            if selected:
                assert {v.value for v in r.facets[kind] if v.selected} == set(
                    f.value for f in r.filters if f.facet == kind)
        assert len(matched) == r.total


def test_hit_chips_are_the_mentioned_entities(seeds):
    hit = search(seeds, "Dashisha").hits[0]
    assert {e.value for e in hit.actors} == set(EXPECTED[hit.id]["actors"])
    assert {e.value for e in hit.places} == set(EXPECTED[hit.id]["places"])


def test_report_page_keeps_each_mention_one_link_with_marks(seeds):
    view = seeds.report("003_b158a94822b5be0b.txt", q="Jazeera Storm Dashisha")
    segments = [seg for para in view.paragraphs for seg in para]
    roundup = [seg for seg in segments if seg.value == "roundup"]
    assert roundup and all(seg.mark for seg in roundup)               # alias of the query entity
    assert all(seg.text.lower().endswith("round up") for seg in roundup)
    dashisha = [seg for seg in segments if seg.value == "dashisha"]
    assert dashisha and all(seg.mark and seg.text == "Dashisha" for seg in dashisha)
    # No mention is split into two adjacent links.
    for a, b in zip(segments, segments[1:]):
        assert not (a.value and a.value == b.value and a.kind == b.kind)
    text = "".join(seg.text for seg in segments)
    assert text.startswith("The SDF at Deir Ezzor have begun the final operation")


def test_hajin_finds_exactly_the_four_seed_reports_that_say_it(seeds):
    from conftest import SEEDS

    saying = sorted(p.name for p in SEEDS.glob("*.txt") if "Hajin" in p.read_text(encoding="utf-8"))
    assert len(saying) == 4
    assert sorted(ids(search(seeds, "Hajin"))) == saying
    assert sorted(ids(search(seeds, "hajin", exact=True))) == saying


def test_an_index_tagged_without_the_gazetteer_still_finds_the_words(tiny, gazetteer):
    """Entity names match their tag *or* the words typed: an index built with an older
    gazetteer (or none) still answers."""
    from search.engine import Engine

    engine = Engine(tiny.settings, gazetteer)
    assert sorted(ids(search(engine, "Hajin"))) == ["alpha.txt", "bravo.txt", "echo.txt"]
    assert ids(search(engine, "Islamic State")) == ["bravo.txt"]
