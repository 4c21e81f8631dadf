"""The benchmark runs end to end in quick mode and writes JSON with the expected shape.

No timing is asserted (CI machines are noisy); only that every figure is there and sane.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    corpora = "seeds,fakes,reuters" if CORPORA.is_dir() else "seeds"
    ir = "med" if CORPORA.is_dir() else "none"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--corpora", corpora, "--ir", ir,
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| target | measured | limit | met |" in proc.stdout   # the markdown table
    return json.loads(out.read_text())


def test_machine_and_mode(result):
    assert result["mode"] == "quick"
    m = result["machine"]
    assert m["nproc"] >= 1 and m["python"].startswith("3.")
    assert isinstance(result["gazetteer"], bool)


def test_builds(result):
    assert "seeds" in result["corpora"]
    for name, c in result["corpora"].items():
        assert c["docs"] > 0
        builds = c["build"]
        ours = builds.get("ours") or builds["ours_no_entities"]
        for b in (ours, builds["fts5"], builds["whoosh"]):
            assert b["docs"] == c["docs"], name
            assert _positive(b["seconds"]) and _positive(b["docs_per_s"])
            assert 5 < b["peak_rss_mb"] < 4096
            assert b["index_bytes"] > 0
        if result["gazetteer"]:
            assert builds["ours"]["entities"] is True
            assert builds["ratios"]["entity_overhead"] is not None


def test_latency(result):
    for name, c in result["corpora"].items():
        lat = c["latency"]
        assert lat["queries"] >= 20
        for system in ("ours", "fts5", "whoosh"):
            s = lat["systems"][system]
            assert s["n"] >= lat["queries"] * 0.9, (name, system, s["error_examples"])
            assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["max_ms"]
        assert _positive(lat["ratios"]["p50_vs_fts5"])


def test_incremental_reports_are_found(result):
    for c in result["corpora"].values():
        assert c["incremental"]["new_1"]["ours"]["found"] >= 1
        assert c["incremental"]["new_100"]["ours"]["found"] >= 100
        assert c["incremental"]["new_100"]["fts5"]["found"] >= 100
        assert c["incremental"]["new_100"]["whoosh"]["found"] >= 100


def test_ranking(result):
    for name, r in result["ranking"].items():
        assert r["queries"] > 0
        for system in ("ours", "fts5_and", "fts5_or", "whoosh_or"):
            m = r["systems"][system]
            for key in ("ndcg10", "map100", "p10"):
                assert 0.0 <= m[key] <= 1.0, (name, system, key)
        assert r["systems"]["ours"]["ndcg10"] > 0.2     # a working ranker, not a threshold


def test_targets_listed(result):
    assert result["targets"]
    for t in result["targets"]:
        assert set(t) >= {"target", "value", "limit", "ok"}
