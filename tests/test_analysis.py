"""The analyzer, strings in and strings out."""

import pickle

import pytest

from search.analysis import analyze, fold, make_analyzer


@pytest.mark.parametrize("text, terms", [
    ("Offensive offensives OFFENSIVE", ["offens", "offens", "offens"]),
    ("Ḩasakah", ["hasakah"]),
    ("Ālbū Kamāl", ["albu", "kamal"]),
    ("Deir ez-Zor", ["deir", "ez", "zor"]),
    ("the SDF and the ISF", ["sdf", "isf"]),          # stop words dropped
    ("Syria's army", ["syria", "armi"]),               # possessive 's dropped (single letter)
    ("M4 road, 3 km", ["m4", "road", "3", "km"]),      # digits kept, even alone
    ("US forces", ["us", "forc"]),                     # "us" is not a stop word here
    ("militiamen fleeing", ["militiamen", "flee"]),
    ("", []),
])
def test_analyze(text, terms):
    assert analyze(text) == terms


def test_nfd_and_nfc_give_the_same_terms():
    import unicodedata

    word = "Ḩasakah Ālbū"
    assert analyze(unicodedata.normalize("NFD", word)) == analyze(unicodedata.normalize("NFC", word))


def test_fold():
    assert fold("Ḩasakah") == "hasakah"
    assert fold("ÉÈ") == "ee"


def test_analyzer_pickles_without_its_caches():
    analyzer = make_analyzer()
    list(analyzer("warm the caches"))
    restored = pickle.loads(pickle.dumps(analyzer))
    assert restored == analyzer
    assert [t.text for t in restored("Running militiamen")] == ["run", "militiamen"]


def test_spelling_mode_keeps_unstemmed_words():
    analyzer = make_analyzer()
    assert [t.text for t in analyzer("Running militiamen", no_morph=True)] == ["running", "militiamen"]
