"""Snippets: marks, escaping, fragments."""

from search.analysis import analyze
from search.highlight import MatchSpec, find_marks, highlight_all, snippet


def spec(*words, **kw):
    return MatchSpec(terms=frozenset(t for w in words for t in analyze(w)),
                     words=frozenset(w.lower() for w in words), **kw)


def marked(text, s, mentions=()):
    return [text[a:b] for a, b, _ in find_marks(text, s, mentions)]


def test_stemmed_forms_are_marked_even_when_the_stem_is_not_a_prefix():
    text = "The armies were happy. An army is happier. Happiness!"   # happier stems to itself
    assert marked(text, spec("army", "happy")) == ["armies", "happy", "army", "Happiness"]


def test_non_ascii_text_is_tokenised_in_full():
    assert marked("Fighting near Ḩasakah and Hasakah.", spec("Hasakah")) == ["Ḩasakah", "Hasakah"]


def test_prefixes_and_entity_mentions():
    text = "Offensives began; Isis withdrew."
    s = MatchSpec(prefixes=("offens",), entities=frozenset({("actors", "isis")}))
    assert marked(text, s, [(18, 22, "actors", "isis")]) == ["Offensives", "Isis"]


def test_output_is_escaped_with_only_mark_tags_added():
    html = highlight_all('<script>alert("x")</script> Hajin & \'co\'', spec("Hajin"))
    assert html == ("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>Hajin</mark> "
                    "&amp; &#x27;co&#x27;")


def test_snippet_picks_fragments_around_matches():
    text = ("filler " * 60) + "the Hajin offensive " + ("filler " * 60) + "Hajin again " + ("x " * 200)
    out = snippet(text, spec("Hajin", "offensive"), fragments=2, width=80)
    assert out.startswith("…") and out.endswith("…")
    assert out.count("<mark>") == 3 and " … " in out
    assert snippet("nothing here", spec("Hajin")) is None
