"""search/scoring.py computes Whoosh's BM25F over arrays: the same scores and the same order as
`searcher.search`, on an index of several segments with deleted documents."""


import numpy as np
import pytest
from whoosh import query as wq

from search import matchsets, scoring
from search.importer import import_table
from search.querylang import parse
from search.query import compile_query, find_entities

from conftest import CORPORA, make_engine

QUERIES = ["Aleppo", "Aleppo airstrikes", "rebels OR opposition", "Daesh Raqqa",
           "Syrian army Homs", "chemical weapons attack", "civilians killed Idlib children",
           "Russian warplanes", "coalition", "hospital", "SDF", "source:sana", "actor:ISIS",
           "place:Aleppo killed", "bomb*", "Deir Ezzor", "Turkey Kurdish",
           '"chemical weapons"', '"Islamic State" Raqqa', "al-Nusra", "Free Syrian Army fighters"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, gazetteer):
    """FA-KES in five commits, with 40 reports deleted: several segments and deletions."""
    base = tmp_path_factory.mktemp("scoring")
    reports = base / "reports"
    archive = import_table(CORPORA / "fakes" / "fakes.csv", reports).archive
    with open(archive, encoding="utf-8") as f:
        lines = f.read().splitlines()
    engine = make_engine(reports, base / "index", gazetteer)
    for n in range(1, 6):
        with open(archive, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[: len(lines) * n // 5]) + "\n")
        engine.update()
    with open(archive, "w", encoding="utf-8") as f:
        f.write("\n".join(lines[40:]) + "\n")
    engine.update()
    return engine


def compiled_query(engine, searcher, text):
    parsed = parse(text)
    find_entities(parsed, engine.gazetteer)
    c = compile_query(parsed, searcher, engine.gazetteer, engine.settings)
    q = c.groups[0] if len(c.groups) == 1 else wq.And(c.groups)
    return q.normalize()


def test_index_has_several_segments_and_deletions(engine):
    with engine.searcher() as s:
        assert s.subsearchers and len(s.subsearchers) >= 2
        assert s.doc_count_all() > s.doc_count()


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("shape", ["all", "any"])
def test_scores_and_order_equal_whoosh(engine, text, shape):
    with engine.searcher() as s:
        q = compiled_query(engine, s, text)
        if shape == "any" and isinstance(q, wq.And):
            q = wq.Or(q.subqueries).normalize()
        cache = engine._cache(s)
        ours = scoring.scores(s, q, cache.size, cache.terms)
        assert ours is not None, "a query of terms is scored in numpy"
        theirs = s.search(q, limit=None)
        assert len(theirs) > 0
        expected = {hit.docnum: hit.score for hit in theirs}
        # Scores are sums over the query's terms; the match set (an And needs every group)
        # comes from search/matchsets.py, as in run_search.
        matched = np.flatnonzero(matchsets.mask(s, q, cache.size, cache.live, cache.terms))
        got = {int(d): float(ours[d]) for d in matched}
        assert got.keys() == expected.keys()
        for d, score in expected.items():
            assert got[d] == pytest.approx(score, rel=1e-9, abs=1e-12)
        top = scoring.top(matched, ours, 10)
        assert [d for d, _ in top] == [hit.docnum for hit in theirs[:10]]


def test_ranges_are_left_to_whoosh(engine):
    with engine.searcher() as s:
        q = compiled_query(engine, s, "Aleppo date:2016")
        cache = engine._cache(s)
        assert scoring.scores(s, q, cache.size, cache.terms) is None


def test_tiers_put_reports_with_all_words_first():
    score = np.array([5.0, 1.0, 3.0, 9.0])
    tier = np.array([0, 1, 1, 0], dtype=np.int8)
    assert [d for d, _ in scoring.top(np.arange(4), score, 4, tier)] == [2, 1, 3, 0]
    assert [d for d, _ in scoring.top(np.arange(4), score, 2)] == [3, 0]


@pytest.mark.parametrize("position", [0, 7, 300, 700])
def test_related_reports_equal_whoosh_more_like(engine, position):
    with engine.searcher() as s:
        docnum = sorted(s.reader().all_doc_ids())[position]
        stored = s.stored_fields(docnum)
        texts = [stored.get(f, "") for f in ("title", "lede", "body")]
        theirs = [hit.docnum for hit in s.more_like(docnum, "body", text=texts[2], top=5)]
        assert theirs and engine._related(s, docnum, texts, 5) == theirs
