"""Gazetteer data: sanity of the bundled files, user extension files, error messages."""
from __future__ import annotations

import collections

import pytest

from search.entities import (ACTOR_KINDS, KINDS, PLACE_TYPES, Gazetteer, GazetteerError,
                             default_gazetteer, fold)


@pytest.fixture(scope="module")
def gaz():
    return default_gazetteer()


def test_default_gazetteer_is_cached(gaz):
    assert default_gazetteer() is gaz


def test_counts(gaz):
    places = collections.Counter(p.type for p in gaz.entities("places"))
    assert len(gaz.entities("actors")) >= 60
    assert len(gaz.entities("operations")) >= 15
    assert places["governorate"] == 14
    assert places["district"] == 62
    assert places["sub-district"] == 272
    assert places["country"] >= 5 and places["river"] >= 4 and places["road"] >= 2


def test_all_fourteen_governorates_by_news_id(gaz):
    govs = {p.id for p in gaz.entities("places") if p.type == "governorate"}
    assert govs == {"aleppo", "damascus", "rif-dimashq", "homs", "hama", "latakia", "idlib",
                    "hasakah", "deir-ez-zor", "tartus", "raqqa", "daraa", "suwayda", "quneitra"}
    assert all(gaz.get("places", g).pcode.startswith("SY") for g in govs)


def test_every_parent_exists_and_has_the_same_kind(gaz):
    for kind in KINDS:
        for ent in gaz.entities(kind):
            assert ent.kind == kind
            if ent.parent is not None:
                assert gaz.get(kind, ent.parent) is not None, (kind, ent.id, ent.parent)
    for op in gaz.entities("operations"):
        assert gaz.get("actors", op.actor) is not None


def test_kinds_and_types_are_known(gaz):
    assert {a.type for a in gaz.entities("actors")} <= set(ACTOR_KINDS)
    assert {p.type for p in gaz.entities("places")} <= set(PLACE_TYPES)


def test_syrian_places_reach_syria_through_a_governorate(gaz):
    for place in gaz.entities("places"):
        chain = gaz.ancestors("places", place.id)
        if chain and chain[-1] == "syria" and place.type in ("district", "sub-district", "city", "town"):
            assert any(gaz.get("places", a).type == "governorate" for a in chain), place.id


def test_no_alias_names_two_actors_or_two_operations(gaz):
    """Actors and operations: one name, one entity. Places may share a name; the documented
    rule (docs/gazetteer.md, "one name, several places") picks one, and only GeoNames/OCHA
    records that are not curated are left to that rule."""
    assert [c for c in gaz.conflicts if c[0] != "places"] == []
    owners = collections.defaultdict(set)
    for kind in ("actors", "operations"):
        for ent in gaz.entities(kind):
            for alias in (ent.name, *ent.aliases):
                owners[(kind, fold(alias))].add(ent.id)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_same_named_units_collapse_to_the_populated_place(gaz):
    assert gaz.resolve("places", "Abu Kamal").id == "abu-kamal"
    assert gaz.resolve("places", "Aleppo").id == "aleppo-city"
    assert gaz.resolve("places", "Raqqa").id == "raqqa-city"
    assert "raqqa" in gaz.ancestors("places", "raqqa-city")
    assert {"abu-kamal-subdistrict", "abu-kamal-district"} <= set(gaz.ancestors("places", "abu-kamal"))


# -- user extension files ----------------------------------------------------------------------

def write(tmp_path, text, name="extra.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_adds_entities_and_aliases(tmp_path):
    path = write(tmp_path, '''
stop = ["Hajin Today"]

[[actors]]
id = "isis"
aliases = ["Tanzim al-Dawla"]

[[actors]]
id = "liwa-test"
name = "Liwa Test"
kind = "militia"
parent = "saa"
aliases = ["Test Brigade"]

[[places]]
id = "tell-fakhura"
name = "Tell Fakhura"
type = "village"
parent = "hajin-subdistrict"
lat = 34.7
lon = 40.8
''')
    gaz = Gazetteer.load(extra_paths=[path])
    assert {m.entity_id for m in gaz.find_mentions("Tanzim al-Dawla fighters")} == {"isis"}
    assert gaz.get("actors", "liwa-test").parent == "saa"
    ext = gaz.extract("The Test Brigade took Tell Fakhura, Hajin Today reported.")
    assert ext.mentioned["actors"] == ("liwa-test",)
    assert ext.mentioned["places"] == ("tell-fakhura",)
    assert "deir-ez-zor" in ext.expanded["places"] and "saa" in ext.expanded["actors"]
    assert default_gazetteer().get("actors", "liwa-test") is None


@pytest.mark.parametrize("text, line, fix", [
    ('[[actors]]\nid = "x-y"\nname = "X"\nkind = "gang"\n', 1, "use one of"),
    ('\n\n[[actors]]\nname = "No Id"\nkind = "militia"\n', 3, 'add id = "some-slug"'),
    ('[[places]]\nid = "new-place"\ntype = "village"\nparent = "syria"\n', 1, 'add name ='),
    ('[[places]]\nid = "p1"\nname = "P"\ntype = "village"\nparent = "atlantis"\n', 1, "unknown parent 'atlantis'"),
    ('[[actors]]\nid = "isis"\nname = "IS"\nkind = "militia"\n', 1, "already exists"),
    ('[[actors]]\nid = "a"\nname = "A"\nkind = "militia"\nalias = ["x"]\n', 1, "unknown field(s) alias"),
    ('[[actors]]\nid = "Bad Id"\nname = "A"\nkind = "militia"\n', 1, "is not a slug"),
    ('[[operations]]\nid = "op"\nname = "Op"\n', 1, "needs actor"),
    ('[[actors]]\nid = "a"\nname = "A\nkind = "militia"\n', 3, "invalid TOML"),
    ('[[actor]]\nid = "a"\n', 1, "unknown section 'actor'"),
])
def test_bad_entries_raise_with_file_line_and_fix(tmp_path, text, line, fix):
    path = write(tmp_path, text)
    with pytest.raises(GazetteerError) as err:
        Gazetteer.load(extra_paths=[path])
    message = str(err.value)
    assert f"{path}:{line}:" in message
    assert fix in message


def test_error_names_the_right_entry_line(tmp_path):
    path = write(tmp_path, '[[actors]]\nid = "ok-one"\nname = "Ok"\nkind = "militia"\n\n'
                           '[[actors]]\nid = "bad-one"\nname = "Bad"\nkind = "army"\n')
    with pytest.raises(GazetteerError, match=rf"{path}:6: actor 'bad-one' has kind 'army'"):
        Gazetteer.load(extra_paths=[path])


def test_missing_user_file(tmp_path):
    with pytest.raises(GazetteerError, match="cannot read gazetteer file"):
        Gazetteer.load(extra_paths=[tmp_path / "missing.toml"])
