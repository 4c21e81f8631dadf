"""The index as it runs: fresh or incremental, one commit or many, killed, locked, damaged."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from search.errors import IndexBusy, IndexDamaged, IndexIncompatible, IndexMissing
from search.index import IndexStore
from search.ingest import scan
from search.results import SearchRequest
from search.schema import SCHEMA_VERSION

from conftest import ROOT, copy_reports, make_engine, TINY

# Whoosh leaves the files of a damaged index open when opening fails; they are closed by
# the garbage collector, which pytest reports as an unraisable ResourceWarning.
WHOOSH_LEAKS_ON_DAMAGE = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")


QUERIES = ["Hajin", "convoy Hajin", '"Islamic State"', "Hajin -Baghuz", "flood OR mortar",
           "", "date:2018", "mort*"]


def answers(engine):
    out = []
    for q in QUERIES:
        r = engine.search(SearchRequest(q=q, facet_size=50))
        out.append((q, r.total, [(h.id, h.snippet) for h in r.hits],
                    {k: [(v.value, v.count) for v in vals] for k, vals in r.facets.items()}))
    return out


def toc_files(engine):
    live = engine.store.live_dir()
    return sorted((p.name, p.stat().st_mtime_ns) for p in live.iterdir())


def write(folder, name, text):
    (folder / name).write_text(text, encoding="utf-8")


def test_no_change_writes_nothing(tiny):
    before = toc_files(tiny)
    summary = tiny.update()
    assert not summary.changed and summary.unchanged == 5
    assert toc_files(tiny) == before


def test_add_modify_delete_rename_keep_index_equal_to_folder(tiny, tiny_dir):
    write(tiny_dir, "foxtrot.txt", "Foxtrot: new report\n\nA new report about Raqqa.")
    (tiny_dir / "delta.txt").unlink()
    write(tiny_dir, "bravo.txt", "Bravo rewritten\n\nNothing about shells now.")
    os.rename(tiny_dir / "charlie.txt", tiny_dir / "charlie-renamed.txt")
    summary = tiny.update()
    assert (summary.added, summary.updated, summary.removed) == (2, 1, 2)
    assert set(tiny.store.manifest()) == set(scan(tiny_dir, max_file_bytes=10**6,
                                                  max_archive_bytes=10**7).entries)
    assert [h.id for h in tiny.search(SearchRequest(q="Raqqa")).hits] == ["foxtrot.txt"]
    assert tiny.search(SearchRequest(q="mortar")).total == 0
    assert tiny.search(SearchRequest(q="flood")).total == 0
    assert tiny.count() == 5


def test_fresh_incremental_and_many_commits_give_the_same_answers(tmp_path):
    full = make_engine(copy_reports(TINY, tmp_path / "a"), tmp_path / "ia")
    full.update()
    # Incremental, one report per commit (so several segments), with a change on the way.
    folder = tmp_path / "b"
    folder.mkdir()
    inc = make_engine(folder, tmp_path / "ib")
    names = sorted(p.name for p in TINY.iterdir() if p.suffix in (".txt", ".json"))
    write(folder, "alpha.txt", "A placeholder\n\nto be replaced")
    inc.update()
    for name in names:
        shutil.copy(TINY / name, folder / name)
        inc.update()
    assert len(list(inc.store.live_dir().glob("*.seg"))) >= 1
    assert answers(inc) == answers(full)
    rebuilt = make_engine(folder, tmp_path / "ib")
    rebuilt.update(rebuild=True)
    assert answers(rebuilt) == answers(full)


def test_duplicate_ids_in_one_batch_become_one_document(tmp_path):
    folder = tmp_path / "r"
    (folder / "imported").mkdir(parents=True)
    (folder / "imported" / "x.jsonl").write_text(
        '{"id": "1", "title": "First", "body": "alpha"}\n{"id": "1", "title": "Again", "body": "beta"}\n')
    engine = make_engine(folder, tmp_path / "i")
    engine.update()
    assert engine.count() == 1


@WHOOSH_LEAKS_ON_DAMAGE
def test_missing_damaged_and_incompatible_index_messages(tmp_path, tiny):
    empty = make_engine(tmp_path, tmp_path / "nothing")
    with pytest.raises(IndexMissing, match="run `reports index` first"):
        empty.search(SearchRequest(q="x"))
    live = tiny.store.live_dir()
    stamp = (live / "STAMP.json").read_text()
    (live / "STAMP.json").write_text(json.dumps({**json.loads(stamp), "schema": SCHEMA_VERSION - 1}))
    with pytest.raises(IndexIncompatible, match="reports index --rebuild"):
        tiny.search(SearchRequest(q="x"))
    (live / "STAMP.json").write_text(stamp)
    for toc in live.glob("*.toc"):
        toc.write_bytes(toc.read_bytes()[:40])
    with pytest.raises(IndexDamaged, match="reports index --rebuild"):
        tiny.search(SearchRequest(q="x"))
    tiny.update(rebuild=True)
    assert tiny.search(SearchRequest(q="Hajin")).total == 3


@WHOOSH_LEAKS_ON_DAMAGE
def test_garbled_segment_is_reported_as_damaged(tiny):
    for seg in tiny.store.live_dir().glob("*.seg"):
        data = bytearray(seg.read_bytes())
        data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
        seg.write_bytes(bytes(data[: len(data) * 3 // 4]))
    with pytest.raises(IndexDamaged, match="reports index --rebuild"):
        tiny.search(SearchRequest(q="Hajin"))


def test_second_writer_waits_then_gives_up(tiny):
    other = IndexStore(tiny.store.root, lock_timeout=0.3)
    with tiny.store.lock():
        started = time.monotonic()
        with pytest.raises(IndexBusy, match="another update is running"):
            with other.lock():
                pass
        assert time.monotonic() - started >= 0.3


def test_rebuild_switches_atomically_and_keeps_the_previous_generation(tiny):
    first = tiny.store.live_name()
    tiny.update(rebuild=True)
    second = tiny.store.live_name()
    assert first != second
    tiny.update(rebuild=True)
    names = {p.name for p in tiny.store.root.iterdir() if p.name.startswith("gen-")}
    assert names == {second, tiny.store.live_name()}


KILLER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from search.engine import Engine
    from search.settings import Settings
    engine = Engine(Settings(index_dir={index!r}, reports_dir={reports!r}), None)
    print("ready", flush=True)
    engine.update(rebuild={rebuild})
    print("done", flush=True)
""")


@pytest.mark.parametrize("rebuild", [False, True], ids=["update", "rebuild"])
def test_killed_update_leaves_the_before_or_after_set(tmp_path, rebuild):
    """SIGKILL an update at random moments: the index opens, holds exactly the old or the
    new set, and a clean re-run makes it equal to the folder."""
    import random

    rng = random.Random(7)
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(40):
        write(folder, f"old{i:03d}.txt", f"Old report {i}\n\nAbout Hajin and the convoy number {i}.")
    engine = make_engine(folder, tmp_path / "index")
    engine.update()
    before = set(engine.store.manifest())
    for i in range(40):
        write(folder, f"new{i:03d}.txt", f"New report {i}\n\n" + "Raqqa words " * 400)
    (folder / "old000.txt").unlink()
    after = set(scan(folder, max_file_bytes=10**7, max_archive_bytes=10**8).entries)
    script = KILLER.format(root=str(ROOT), index=str(tmp_path / "index"), reports=str(folder),
                           rebuild=rebuild)
    outcomes = set()
    for _ in range(6):
        with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True) as proc:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        got = set(engine.store.manifest())
        assert got in (before, after)
        outcomes.add("after" if got == after else "before")
        if got == after:       # start again from the old set for the next kill
            break
    summary = engine.update()
    assert set(engine.store.manifest()) == after
    assert engine.count() == len(after)
    assert engine.search(SearchRequest(q="Raqqa")).total == 40
    _ = summary, outcomes


def test_undated_segment_then_dated_segment_keeps_years_right(tmp_path):
    """A commit of undated reports, then one dated report: the date column exists in the
    newer segment only. Reading it through Whoosh's multi-segment reader misaligned document
    numbers (struct.error, answered as "index damaged"); facets read it per segment."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(20):
        write(folder, f"undated{i:02d}.txt", f"Undated {i}\n\nAbout Aleppo {i}.")
    engine = make_engine(folder, tmp_path / "index")
    engine.update()
    write(folder, "dated.txt", "date: 2019-01-01\n\nDated\n\nAbout Aleppo.")
    engine.update()
    assert len(list(engine.store.live_dir().glob("*.seg"))) == 2
    r = engine.search(SearchRequest(q="Aleppo", sort="newest"))
    assert r.total == 21 and r.hits[0].id == "dated.txt"
    assert [(v.value, v.count) for v in r.facets["year"]] == [("2019", 1)]
