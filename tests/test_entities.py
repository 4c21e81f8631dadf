"""Entity extraction: the five seed reports, aliases strings-in/entities-out, case rules."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from search.entities import KINDS, Extraction, Mention, default_gazetteer

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EXPECTED = tomllib.loads((Path(__file__).parent / "fixtures" / "seed_entities.toml").read_text("utf-8"))
CHROME = {"skip to Main Content", "Back To Top"}


@pytest.fixture(scope="module")
def gaz():
    return default_gazetteer()


def seed_text(name: str) -> str:
    lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if line.strip() not in CHROME)


def ids(gaz, text, kind=None, query=False):
    return {m.entity_id for m in gaz.find_mentions(text, query=query) if kind in (None, m.kind)}


# -- seeds ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_mentions_exactly_the_table(gaz, name):
    ext = gaz.extract(seed_text(name))
    want = EXPECTED[name]
    for kind in KINDS:
        assert ext.mentioned[kind] == tuple(sorted(want[kind])), kind


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_expanded_places_hold_the_governorates(gaz, name):
    ext = gaz.extract(seed_text(name))
    assert set(EXPECTED[name]["expanded_places_include"]) <= set(ext.expanded["places"])
    assert "syria" in ext.expanded["places"]
    assert set(ext.mentioned["places"]) <= set(ext.expanded["places"])


def test_hajin_expands_to_district_governorate_country(gaz):
    ext = gaz.extract("Fighting continues in Hajin.")
    assert ext.mentioned["places"] == ("hajin",)
    assert set(ext.expanded["places"]) == {"hajin", "hajin-subdistrict", "abu-kamal-district",
                                           "deir-ez-zor", "syria"}


def test_ypg_expands_to_sdf(gaz):
    ext = gaz.extract("The YPG said on Monday.")
    assert ext.mentioned["actors"] == ("ypg",)
    assert ext.expanded["actors"] == ("sdf", "ypg")


def test_extract_takes_several_texts_and_empty_ones(gaz):
    ext = gaz.extract("SDF advance", "", "near Hajin")
    assert isinstance(ext, Extraction)
    assert ext.mentioned == {"actors": ("sdf",), "places": ("hajin",), "operations": ()}


# -- aliases: strings in, entities out ------------------------------------------------------

@pytest.mark.parametrize("text, kind, expected", [
    ("Daesh fighters", "actors", "isis"),
    ("ISIS fighters", "actors", "isis"),
    ("Isis fighters", "actors", "isis"),
    ("IS fighters", "actors", "isis"),
    ("ISIL fighters", "actors", "isis"),
    ("the Islamic State group", "actors", "isis"),
    ("Islamic State’s leaders", "actors", "isis"),
    ("Hasaka", "places", "hasakah-city"),
    ("Hasakah", "places", "hasakah-city"),
    ("Al-Hasakeh", "places", "hasakah-city"),
    ("Ḩasakah", "places", "hasakah-city"),
    ("Al Ḩasakah", "places", "hasakah-city"),
    ("Deir Ezzor", "places", "deir-ez-zor-city"),
    ("Deir ez-Zor", "places", "deir-ez-zor-city"),
    ("Deir-ez-Zor", "places", "deir-ez-zor-city"),
    ("Deir al-Zor", "places", "deir-ez-zor-city"),
    ("Dayr Az Zawr", "places", "deir-ez-zor-city"),
    ("Abu Kamal", "places", "abu-kamal"),
    ("Al Bukamal", "places", "abu-kamal"),
    ("Albu Kamal", "places", "abu-kamal"),
    ("Ālbū Kamāl", "places", "abu-kamal"),
    ("Jazeera Storm", "operations", "roundup"),
    ("Operation Round Up", "operations", "roundup"),
    ("Cizire Storma", "operations", "roundup"),
    ("International Coalition", "actors", "us-coalition"),
    ("Inherent Resolve", "actors", "us-coalition"),
    ("Operation Inherent Resolve", "operations", "inherent-resolve"),
    ("Syrian Arab Army", "actors", "saa"),
    ("the army of Damascus", "actors", "saa"),
    ("regime forces", "actors", "saa"),
    ("Kobane", "places", "kobani"),
    ("Ayn al-Arab", "places", "kobani"),
    ("Palmyra", "places", "palmyra"),
    ("Tadmur", "places", "palmyra"),
    ("Rural Damascus", "places", "rural-damascus-district"),
    ("Damascus countryside", "places", "rif-dimashq"),
    ("Idleb", "places", "idlib-city"),
    ("Idlib province", "places", "idlib"),
    ("Suweida", "places", "suwayda-city"),
    ("Sweida", "places", "suwayda-city"),
    ("Lattakia", "places", "latakia-city"),
    ("Tartous", "places", "tartus-city"),
    ("Deraa", "places", "daraa-city"),
    ("Mosul", "places", "mosul"),
    ("Anbar", "places", "anbar"),
    ("Euphrates Shield", "operations", "euphrates-shield"),
    ("Olive Branch", "operations", "olive-branch"),
    ("Peace Spring", "operations", "peace-spring"),
    ("Hezbollah", "actors", "hezbollah"),
    ("Hayat Tahrir al-Sham", "actors", "hts"),
    ("Jabhat al-Nusra", "actors", "nusra"),
])
def test_alias_resolves_in_text(gaz, text, kind, expected):
    assert ids(gaz, text, kind) == {expected}


def test_longest_match_first(gaz):
    assert ids(gaz, "Syrian Democratic Forces") == {"sdf"}
    assert ids(gaz, "Deir Ezzor city") == {"deir-ez-zor-city"}
    assert ids(gaz, "Middle Euphrates River Valley") == {"merv"}
    assert ids(gaz, "Deir", "places") == set()


def test_article_prefix_optional_and_joined(gaz):
    assert ids(gaz, "besieging Al-Safa", "places") == {"al-safa"}
    assert ids(gaz, "besieging Safa", "places") == {"al-safa"}
    assert ids(gaz, "in al-Mayadeen", "places") == {"mayadin"}
    m = gaz.find_mentions("clashes in al-Mayadeen today")[0]
    assert m.surface == "al-Mayadeen"
    # a remainder that is an English word is never matched without its article
    assert ids(gaz, "a Tall building", "places") == set()


def test_possessives_and_stripped_apostrophes(gaz):
    assert ids(gaz, "Syria's war") == {"syria"}
    assert ids(gaz, "Syria’s war") == {"syria"}
    assert ids(gaz, "Syrias war") == {"syria"}
    assert ids(gaz, "Assads regime") == {"syrian-government"}
    assert ids(gaz, "Assads forces") == {"saa"}
    assert ids(gaz, "Inherent Resolve’s operation") == {"us-coalition"}


def test_is_lowercase_is_not_isis_but_uppercase_is(gaz):
    assert ids(gaz, "This is what it is.", "actors") == set()
    assert ids(gaz, "fighting IS in the desert", "actors") == {"isis"}
    assert ids(gaz, "Is it over?", "actors") == set()
    assert ids(gaz, "US jets struck", "actors") == {"usa"}
    assert ids(gaz, "they told us", "actors") == set()


def test_proper_names_need_capitals_in_report_text(gaz):
    assert ids(gaz, "daesh attacked hajin") == set()
    assert ids(gaz, "Daesh attacked Hajin") == {"isis", "hajin"}


def test_query_mode_ignores_case_except_english_word_acronyms(gaz):
    assert ids(gaz, "isis", query=True) == {"isis"}
    assert ids(gaz, "daesh hajin", query=True) == {"isis", "hajin"}
    assert ids(gaz, "sdf", query=True) == {"sdf"}
    assert ids(gaz, "saa deir ezzor", query=True) == {"saa", "deir-ez-zor-city"}
    assert ids(gaz, "what is happening to us", query=True) == set()
    assert ids(gaz, "IS attacks", query=True) == {"isis"}


def test_country_name_is_state_actor_and_place_for_neighbours(gaz):
    found = {(m.kind, m.entity_id) for m in gaz.find_mentions("Turkey shelled the border.")}
    assert found == {("actors", "turkey"), ("places", "turkey")}
    assert {(m.kind, m.entity_id) for m in gaz.find_mentions("Russia struck Idlib.")} == {
        ("actors", "russia"), ("places", "idlib-city")}
    assert {(m.kind, m.entity_id) for m in gaz.find_mentions("The border with Iraq.")} == {
        ("places", "iraq")}


def test_stop_phrases_hide_the_name_inside(gaz):
    assert ids(gaz, "Al Jazeera reported from Aleppo") == {"aleppo-city"}
    assert ids(gaz, "the Lebanese TV channel Al-Mayadin said") == set()
    assert ids(gaz, "SANA reported") == set()


def test_names_do_not_span_sentence_punctuation(gaz):
    assert ids(gaz, "He went to Deir. Ezzor is not a place.", "places") == set()
    assert ids(gaz, "U.S. forces landed", "actors") == {"us-forces"}


def test_mentions_have_offsets_surface_and_text_order(gaz):
    text = "Isis loses 80 militiamen between Hasaka and Deir Ezzor."
    ms = gaz.find_mentions(text)
    assert all(isinstance(m, Mention) and text[m.start:m.end] == m.surface for m in ms)
    assert [(m.surface, m.entity_id) for m in ms] == [
        ("Isis", "isis"), ("Hasaka", "hasakah-city"), ("Deir Ezzor", "deir-ez-zor-city")]
    assert [m.start for m in ms] == sorted(m.start for m in ms)


# -- resolve, ancestors, lookups -------------------------------------------------------------

@pytest.mark.parametrize("kind, name, expected", [
    ("actors", "daesh", "isis"),
    ("actors", "ISIL", "isis"),
    ("actors", "isis", "isis"),
    ("actors", "Syrian army", "saa"),
    (None, "sdf", "sdf"),
    (None, "Jazeera Storm", "roundup"),
    (None, "hajin", "hajin"),
    ("places", "Deir ez-Zor", "deir-ez-zor-city"),
    ("places", "deir-ez-zor", "deir-ez-zor"),
    ("places", "Dayr Az Zawr", "deir-ez-zor-city"),
    ("places", "Ḩasakah", "hasakah-city"),
    ("places", "Al Bukamal", "abu-kamal"),
    (None, "Turkey", "turkey"),
    (None, "no such place anywhere", None),
])
def test_resolve(gaz, kind, name, expected):
    ent = gaz.resolve(kind, name)
    assert (ent.id if ent else None) == expected


def test_resolve_prefers_actors_then_operations_then_places(gaz):
    assert gaz.resolve(None, "Turkey").kind == "actors"
    assert gaz.resolve("places", "Turkey").kind == "places"


def test_ancestors_nearest_first(gaz):
    assert gaz.ancestors("places", "hajin") == ["hajin-subdistrict", "abu-kamal-district",
                                                "deir-ez-zor", "syria"]
    assert gaz.ancestors("actors", "tiger-forces") == ["saa", "syrian-government"]
    assert gaz.ancestors("actors", "ypg") == ["sdf"]
    assert gaz.ancestors("actors", "irgc") == ["iran"]
    assert gaz.ancestors("places", "syria") == []


def test_get_and_entity_fields(gaz):
    hajin = gaz.get("places", "hajin")
    assert hajin.kind == "places" and hajin.type == "town" and hajin.geonameid == 174506
    assert hajin.lat == pytest.approx(34.69, abs=0.1)
    gov = gaz.get("places", "deir-ez-zor")
    assert gov.type == "governorate" and gov.pcode == "SY09"
    op = gaz.get("operations", "roundup")
    assert op.actor == "sdf" and "Jazeera Storm" in op.aliases
    assert gaz.get("actors", "nope") is None


# -- unknown names ---------------------------------------------------------------------------

def test_unknown_names_on_a_tiny_text(gaz):
    text = ("The SDF entered Hajin on Monday. The Wadi Zamrani Brigade said Wadi Zamrani "
            "Brigade fighters held Jabal Shuwaykh. According to activists, Jabal Shuwaykh fell "
            "in March. Zamrani")
    assert gaz.unknown_names([text]) == [("Wadi Zamrani Brigade", 2), ("Jabal Shuwaykh", 2),
                                         ("Zamrani", 1)]


def test_module_imports_neither_whoosh_nor_flask():
    import subprocess
    code = ("import sys, search.entities; "
            "bad = [m for m in ('whoosh', 'flask') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
