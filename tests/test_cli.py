"""The `reports` command line, through click's runner and as a real subprocess."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from search.cli import main

from conftest import CORPORA, ROOT, copy_reports, TINY

FAKES = CORPORA / "fakes" / "fakes.csv"


@pytest.fixture
def run(tmp_path):
    reports = copy_reports(TINY, tmp_path / "reports")
    index = tmp_path / "index"

    def invoke(*args):
        result = CliRunner().invoke(main, [*args, "--index", str(index), "--reports", str(reports)])
        assert "Traceback" not in result.output
        return result

    invoke.reports, invoke.index = reports, index
    return invoke


def test_index_then_no_change(run):
    first = run("index")
    assert first.exit_code == 0
    assert first.stdout.startswith("Rebuilt index: 5 added, 0 updated, 0 removed, 0 skipped")
    again = run("index")
    assert again.stdout.startswith("No changes: 5 reports already indexed, nothing written")
    (run.reports / "new.txt").write_text("New report\n\nAbout Raqqa.")
    (run.reports / "delta.txt").unlink()
    summary = json.loads(run("index", "--json").stdout)
    assert (summary["added"], summary["updated"], summary["removed"]) == (1, 0, 1)


def test_first_search_builds_the_index(run):
    result = run("search", "Hajin")
    assert result.exit_code == 0
    assert "building it from" in result.stderr
    assert result.stdout.startswith("1-3 of 3 reports")


def test_search_plain_output_is_uncoloured_when_piped(run):
    run("index")
    out = run("search", "market").stdout
    assert "\x1b[" not in out and "<mark>" not in out
    assert "Islamic State mortars hit the Hajin market." in out


def test_search_json_shape(run):
    run("index")
    data = json.loads(run("search", "Hajin", "--json", "--source", "Tiny Wire").stdout)
    assert {"total", "hits", "facets", "filters", "notices", "suggestion", "page",
            "pages", "took_ms"} <= set(data)
    assert data["total"] == 2
    assert {"id", "title", "snippet", "actors", "places", "operations", "date",
            "source"} <= set(data["hits"][0])
    assert {"actors", "places", "operations", "source", "year"} == set(data["facets"])
    assert data["facets"]["source"][0] == {"value": "tiny wire", "label": "Tiny Wire",
                                           "count": 2, "selected": True, "type": None,
                                           "parent": None}


def test_show(run):
    run("index")
    result = run("show", "bravo.txt")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Bravo: Daesh shells Hajin"
    assert "date: 2018-07-02" in result.stdout
    data = json.loads(run("show", "bravo.txt", "--json").stdout)
    assert data["id"] == "bravo.txt" and "mortars" in data["text"]
    missing = run("show", "nosuch.txt")
    assert missing.exit_code == 1 and "no report with id" in missing.stderr


def test_missing_index_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["entities", "--index", str(tmp_path / "i"),
                                       "--reports", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no reports folder" in result.stderr and "Traceback" not in result.output


def test_over_long_query_exit_code(run):
    run("index")
    result = run("search", "x" * 2000)
    assert result.exit_code == 2 and "Shorten the query" in result.stderr


def test_import_fakes_and_survive_rebuild(tmp_path):
    reports, index = tmp_path / "reports", tmp_path / "index"
    reports.mkdir()
    args = ["--index", str(index), "--reports", str(reports)]
    result = CliRunner().invoke(main, ["import", str(FAKES), *args])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 792 reports")          # 12 duplicate ids
    assert "12 duplicate ids" in result.stdout
    data = json.loads(CliRunner().invoke(main, ["search", "Aleppo", "--json", *args]).stdout)
    assert data["total"] > 100
    assert len(data["facets"]["source"]) == 5                 # --facets 5 by default
    assert data["facet_totals"]["source"] == 15               # FA-KES has 15 outlets
    CliRunner().invoke(main, ["index", "--rebuild", *args])
    data = json.loads(CliRunner().invoke(main, ["search", "--json", *args]).stdout)
    assert data["total"] == 792


def test_entities_lists_counts(run):
    run("index")
    data = json.loads(run("entities", "--json").stdout)
    assert set(data) == {"actors", "places", "operations"}


def test_real_process_exit_codes(tmp_path):
    """As a user runs it: no traceback, exit 2 and the fix on a missing reports folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "search.cli", "search", "x", "--index", str(tmp_path / "i"),
         "--reports", str(tmp_path / "none")],
        capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "create it or pass --reports DIR" in proc.stderr


@pytest.mark.parametrize("content, message", [
    (None, "cannot read gazetteer file"),
    ('[[actor]]\nid = "x"\n', "bad.toml:1: unknown section 'actor'"),
])
def test_bad_gazetteer_file_is_a_clear_error(run, tmp_path, content, message):
    path = tmp_path / "bad.toml"
    if content is not None:
        path.write_text(content)
    result = run("search", "x", "--gazetteer", str(path))
    assert result.exit_code == 2 and message in result.stderr
