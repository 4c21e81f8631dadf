"""The production server (`reports serve`: waitress, 8 threads) under load, with wrk.

About 2,000 reports (FA-KES imported from its CSV plus 1,200 Reuters-21578 stories) are
indexed once per module by `reports index`; one server runs for the module on a free
loopback port with rate limiting off. wrk (8 connections, 2 threads) rotates through good
URLs (words, phrases, filters, sorts, pages, report pages, the JSON API) and malformed ones
(unbalanced quotes, bad page numbers, huge sizes, unknown parameters, markup, NUL, an
over-long query that must be refused with 400). Every test asserts no 5xx, no socket
errors and no traceback in the server's log, and prints its figures (`pytest -s` shows them):

    load idle: 148.6 req/s, p50 53.3 ms, p95 103.9 ms, p99 169.0 ms, max 251 ms; 2,977 requests ...

Needs /usr/bin/wrk and the shared corpora; skipped without them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from real_server import (ROOT, ServeProcess, cli_env, report_path, reports_cli, reports_cmd,
                         reuters_records, write_archive)

pytestmark = pytest.mark.slow

WRK = Path("/usr/bin/wrk")
FAKES = Path("/work/shared/corpora/fakes/fakes.csv")
CONNECTIONS = 8
DURATION = 20          # seconds of the idle run
WRK_TIMEOUT = "5s"     # a request slower than this counts as a socket error (timeout)

LUA = r"""
local paths = {%(paths)s}
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("offset", next_id * 7)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  n = offset
  statuses = {}
end

function request()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  local counts = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format("\"%%s\": %%d", status, count))
  end
  io.write(string.format(
    "RESULT {\"requests\": %%d, \"seconds\": %%.3f, \"p50_ms\": %%.2f, \"p95_ms\": %%.2f, " ..
    "\"p99_ms\": %%.2f, \"max_ms\": %%.2f, \"non2xx3xx\": %%d, \"connect\": %%d, " ..
    "\"read\": %%d, \"write\": %%d, \"timeout\": %%d, \"statuses\": {%%s}}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""


# --------------------------------------------------------------------------- helpers


def qs(**params) -> str:
    return urlencode(params)


def url_mix(server: ServeProcess) -> list[tuple[str, int]]:
    """(path, expected status): good requests first, then malformed ones."""
    hits = server.json("/api/search?" + qs(q="Aleppo", size=5))["hits"]
    reuters = server.json("/api/search?" + qs(q="oil prices", source="reuters", size=2))["hits"]
    good = [
        "/", "/?" + qs(q="Aleppo"), "/?" + qs(q="Damascus", page=2), "/?" + qs(q='"Islamic State"'),
        "/?" + qs(q="rebels -Damascus"), "/?" + qs(q="Russia OR Iran"), "/?" + qs(q="attack*"),
        "/?" + qs(q="date:2014"), "/?" + qs(q="air strike", page=3),
        "/?" + qs(place="aleppo"), "/?" + qs(actor="russia"),
        "/?" + qs(q="Damascus", place="aleppo", sort="newest"),
        "/?" + qs(q="oil prices", sort="oldest"), "/?" + qs(source="sana", year="2016"),
        "/?" + qs(more="source"), "/?" + qs(find_places="ale"), "/?" + qs(q="trade deficit"),
        "/api/search?" + qs(q="Aleppo"), "/api/search?" + qs(q="cocoa", size=20),
        "/api/search?" + qs(actor="syrian-government", page=2), "/healthz", "/static/app.css",
    ]
    for h in hits + reuters:
        good.append(report_path(h["id"], "Aleppo"))
        good.append("/api" + report_path(h["id"]))
    malformed = [
        ("/?" + qs(q='"unbalanced quote'), 200), ("/api/search?" + qs(q='a "b" "c'), 200),
        ("/?page=abc", 200), ("/?page=-1", 200), ("/api/search?size=99999999", 200),
        ("/?" + qs(q="Aleppo", colour="red", flavour="salt"), 200),
        ("/?" + qs(q="<script>alert(1)</script>"), 200), ("/?q=Aleppo%00", 200),
        ("/api/search?q=%00%00%00", 200), ("/?" + qs(q="(((((Homs"), 200),
        ("/?" + qs(q="x" * 1500), 400), ("/api/search?" + qs(q="word " * 300), 400),
        ("/reports/no-such-report.txt", 404), ("/api/reports/..%2F..%2Fetc%2Fpasswd", 404),
    ]
    return [(p, 200) for p in good] + malformed


def check_mix(server: ServeProcess, mix) -> None:
    """Each URL once, before the load: it answers with its expected status."""
    for path, status in mix:
        got, _, _ = server.get(path)
        assert got == status, (path, got)


class Wrk:
    """wrk as a child process; `stop()` ends a long run early with SIGINT (wrk then prints
    its statistics and runs the script's done() as after a normal run)."""

    def __init__(self, server: ServeProcess, mix, script: Path, duration: float):
        paths = [p for p, _ in mix]
        # About 50 URLs, 14 of them malformed (3 answered 400, 2 answered 404).
        script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths)},
                          encoding="utf-8")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(WRK), "-t", "2", "-c", str(CONNECTIONS), "-d", f"{int(duration)}s", "--latency",
             "--timeout", WRK_TIMEOUT, "-s", str(script), server.url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)

    def result(self, timeout: float = 120) -> dict:
        out, _ = self.proc.communicate(timeout=timeout)
        line = re.search(r"^RESULT (.*)$", out, re.M)
        assert line, out
        figures = json.loads(line[1])
        figures["rps"] = figures["requests"] / figures["seconds"]
        socket_errors = re.search(r"Socket errors:.*", out)     # printed only when there are any
        figures["socket_errors_line"] = socket_errors[0] if socket_errors else None
        figures["output"] = out
        return figures


def line(name: str, f: dict) -> str:
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(f["statuses"].items()))
    return (f"{name}: {f['rps']:.1f} req/s, p50 {f['p50_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms, "
            f"p99 {f['p99_ms']:.1f} ms, max {f['max_ms']:.0f} ms; {f['requests']:,} requests in "
            f"{f['seconds']:.1f} s, {CONNECTIONS} connections; statuses {{{statuses}}}; "
            f"non-2xx/3xx {f['non2xx3xx']:,} (all 4xx); socket errors "
            f"{f['connect'] + f['read'] + f['write'] + f['timeout']}")


def assert_clean_run(f: dict, server: ServeProcess) -> None:
    fivexx = {k: v for k, v in f["statuses"].items() if k.startswith("5")}
    assert fivexx == {}, f["output"]
    assert f["socket_errors_line"] is None, f["socket_errors_line"]
    assert (f["connect"], f["read"], f["write"], f["timeout"]) == (0, 0, 0, 0)
    # Every non-2xx/3xx answer is one of the malformed requests' 4xx.
    assert f["non2xx3xx"] == sum(v for k, v in f["statuses"].items() if k.startswith("4"))
    assert f["requests"] > 100
    assert_log_clean(server)


def assert_log_clean(server: ServeProcess) -> None:
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    assert "ERROR" not in log and "Exception" not in log, log[-3000:]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if not WRK.exists():
        pytest.skip(f"{WRK} is missing: apt-get install wrk")
    if not FAKES.exists():
        pytest.skip(f"{FAKES} is not on this machine")
    from search.importer import import_table

    base = tmp_path_factory.mktemp("load")
    reports, index = base / "reports", base / "index"
    import_table(str(FAKES), reports)
    write_archive(reuters_records(1200), reports, "reuters")
    started = time.monotonic()
    reports_cli("index", "--quiet", index=index, reports=reports)
    print(f"\nload corpus: `reports index` built the index in {time.monotonic() - started:.1f} s")
    return base, reports, index


@pytest.fixture(scope="module")
def server(corpus):
    base, reports, index = corpus
    with ServeProcess(index, reports, base / "serve.log") as running:
        count = running.json("/healthz")["reports"]
        print(f"serving {count:,} reports (pid {running.pid})")
        assert count >= 1990
        yield running
    assert "Traceback" not in running.log()


@pytest.fixture(scope="module")
def mix(server):
    urls = url_mix(server)
    check_mix(server, urls)
    return urls


FIGURES: dict[str, dict] = {}


def idle_figures(server, mix, tmp_path, duration=DURATION) -> dict:
    if "idle" not in FIGURES:
        run = Wrk(server, mix, tmp_path / "idle.lua", duration)
        FIGURES["idle"] = run.result()
        print("\n" + line("load idle", FIGURES["idle"]))
        assert_clean_run(FIGURES["idle"], server)
    return FIGURES["idle"]


# --------------------------------------------------------------------------- tests


def test_idle_load(server, mix, tmp_path):
    f = idle_figures(server, mix, tmp_path)
    assert f["rps"] > 20
    assert f["p99_ms"] < 2000


def test_load_while_indexing_new_reports(server, mix, corpus, tmp_path):
    """10 batches of 20 new reports, one `reports index` (another process) after each,
    while wrk runs: no errors, p95 at most 3x the idle p95, and each batch is found by the
    very next request after its `reports index` returns."""
    idle = idle_figures(server, mix, tmp_path, duration=10)
    _, reports, index = corpus
    before = server.json("/healthz")["reports"]
    run = Wrk(server, mix, tmp_path / "indexing.lua", 120)
    timings = []
    try:
        time.sleep(2)
        for batch in range(10):
            marker = f"zqbatchmarker{batch}"
            folder = reports / f"batch{batch:02d}"
            folder.mkdir()
            for i in range(20):
                (folder / f"new{i:02d}.txt").write_text(
                    f"date: 2021-0{1 + batch % 9}-{10 + i}\nsource: Load Desk\n\n"
                    f"Batch {batch} report {i} on shelling near Aleppo\n\n"
                    f"The {marker} convoy reached Aleppo and Damascus; report {i}.\n", encoding="utf-8")
            started = time.monotonic()
            reports_cli("index", "--quiet", index=index, reports=reports, timeout=120)
            took = time.monotonic() - started
            found = server.json("/api/search?" + qs(q=marker, size=50))
            health = server.json("/healthz")["reports"]
            timings.append(took)
            assert found["total"] == 20, (batch, found["total"])
            assert {h["id"].split("/")[0] for h in found["hits"]} == {f"batch{batch:02d}"}
            assert health == before + 20 * (batch + 1)
        time.sleep(1)
    finally:
        run.stop()
    f = run.result()
    print("\n" + line("load while indexing", f))
    print(f"  10 x `reports index` of 20 new reports: {min(timings):.2f}-{max(timings):.2f} s each "
          f"(mean {sum(timings) / len(timings):.2f} s); every batch found by the next request; "
          f"p95 {f['p95_ms']:.1f} ms vs idle {idle['p95_ms']:.1f} ms "
          f"({f['p95_ms'] / idle['p95_ms']:.2f}x)")
    assert_clean_run(f, server)
    # Was 3.6-4.3x while every request in flight rebuilt the facet arrays of a new generation
    # at once; search/facets.py now builds them once per generation.
    assert f["p95_ms"] <= 3 * idle["p95_ms"]


def test_rebuild_under_load_and_a_killed_rebuild(server, mix, corpus, tmp_path):
    """`reports index --rebuild` while wrk runs: the switch costs no failed request. Then a
    rebuild killed (SIGKILL) midway leaves the live generation, its count and the answers
    unchanged."""
    _, reports, index = corpus
    probes = ["Aleppo", "oil prices", "zqbatchmarker3", '"Islamic State"']

    def answers():
        return {q: server.json("/api/search?" + qs(q=q))["total"] for q in probes}

    count, before = server.json("/healthz")["reports"], answers()
    live = (index / "CURRENT").read_text()
    run = Wrk(server, mix, tmp_path / "rebuild.lua", 120)
    try:
        time.sleep(3)
        started = time.monotonic()
        reports_cli("index", "--rebuild", "--quiet", index=index, reports=reports, timeout=180)
        rebuild = time.monotonic() - started
        assert (index / "CURRENT").read_text() != live          # it switched generation
        assert server.json("/healthz")["reports"] == count
        assert answers() == before
        time.sleep(3)
    finally:
        run.stop()
    f = run.result()
    print("\n" + line("load during rebuild", f))
    print(f"  `reports index --rebuild` of {count:,} reports under load: {rebuild:.1f} s")
    assert_clean_run(f, server)

    # A rebuild killed midway (under load again).
    live = (index / "CURRENT").read_text()
    generations = set(index.glob("gen-*"))
    run = Wrk(server, mix, tmp_path / "killed.lua", 120)
    killed_after = None
    try:
        time.sleep(1)
        for attempt in range(3):
            proc = subprocess.Popen(
                reports_cmd("index", "--rebuild", "--quiet", index=index, reports=reports),
                cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            started = time.monotonic()
            deadline = started + 60
            while time.monotonic() < deadline and not (set(index.glob("gen-*")) - generations):
                time.sleep(0.02)                           # the new generation is being built
            time.sleep(rebuild * 0.3 / (attempt + 1))
            alive = proc.poll() is None
            if alive:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            if alive:
                killed_after = time.monotonic() - started
                break
            live = (index / "CURRENT").read_text()         # it finished first: try again
            generations = set(index.glob("gen-*"))
        assert killed_after is not None, "the rebuild always finished before the kill"
        assert (index / "CURRENT").read_text() == live
        assert server.json("/healthz")["reports"] == count
        assert answers() == before
        time.sleep(2)
    finally:
        run.stop()
    f = run.result()
    print(line("load during a killed rebuild", f))
    print(f"  rebuild SIGKILLed {killed_after:.2f} s after it started: live generation, "
          f"count ({count:,}) and answers {before} unchanged")
    assert_clean_run(f, server)


def or_terms(limit: int) -> str:
    words = ["Aleppo", "oil", "Homs", "rebels", "Iran", "Russia", "price", "trade", "army", "Idlib"]
    out, i = [], 0
    while True:
        candidate = " OR ".join(out + [f"{words[i % len(words)]}{i // len(words) or ''}"])
        if len(candidate) > limit:
            return " OR ".join(out)
        out.append(f"{words[i % len(words)]}{i // len(words) or ''}")
        i += 1


EXPENSIVE = {
    "star": "*",
    "a-star": "a*",
    "star-ing": "*ing",
    "fuzzy-x~2": "x~2",
    "fuzzy-Aleppo~2": "Aleppo~2",
    "prefix-att*": "att*",
    "500-terms": " ".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(500)),   # 999 chars
    "or-max": or_terms(1000),                                                            # <= 1,000 chars
    "parens-200": "(" * 200 + "Aleppo" + ")" * 200,
    "quotes-500": '"' * 500,
    "query-100kb": ("oil price rose after the attack on Aleppo " * 2500)[:100_000],
}


def test_expensive_queries_over_http(server):
    """Each answered (200 with results or a notice, or 400 with a message) within 2 s; the
    server's RSS grows by at most 100 MB."""
    server.json("/api/search?q=warm+up")
    server.get("/?q=warm+up")
    rss_before = server.rss_mb()
    rows = []
    for name, q in EXPENSIVE.items():
        for base in ("/api/search?", "/?"):
            started = time.perf_counter()
            status, headers, body = server.get(base + urlencode({"q": q}), timeout=10)
            took = time.perf_counter() - started
            assert status in (200, 400), (name, base, status)
            if base.startswith("/api"):
                data = json.loads(body)
                if status == 200:
                    answer = f"{data['total']} results" + (f", notice {data['notices'][0]!r}"
                                                            if data["notices"] else "")
                else:
                    assert data["ok"] is False and data["error"], data
                    answer = f"400: {data['error']}"
                rows.append((name, len(q), took, answer))
            else:
                page = body.decode()
                assert ("report" in page) if status == 200 else ("cannot be searched" in page)
            assert took <= 2.0, (name, base, took)
    # A 100 KB request body is refused too (the routes answer GET only).
    started = time.perf_counter()
    status, _, body = server.get("/api/search", method="POST", body=b"q=" + b"x" * 100_000,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 405 and json.loads(body)["status"] == 405
    rows.append(("POST 100 KB body", 100_002, time.perf_counter() - started, "405"))
    rss_after = server.rss_mb()
    print()
    for name, size, took, answer in rows:
        print(f"expensive {name} ({size:,} chars): {took * 1000:.0f} ms: {answer[:110]}")
    print(f"server RSS {rss_before:.0f} MB -> {rss_after:.0f} MB (+{rss_after - rss_before:.0f} MB)")
    assert rss_after - rss_before <= 100
    assert server.json("/healthz")["ok"] is True
    assert_log_clean(server)


def test_undated_then_dated_batches_stay_searchable(tmp_path):
    """A commit of reports without dates, then one with a date: the served index stays
    searchable (it answered 503 "damaged" until facets read the date column per segment)."""
    reports, index = tmp_path / "reports", tmp_path / "index"
    reports.mkdir()
    for i in range(20):
        (reports / f"undated{i:02d}.txt").write_text(f"Undated {i}\n\nAbout Aleppo {i}.\n")
    reports_cli("index", "--quiet", index=index, reports=reports)
    with ServeProcess(index, reports, tmp_path / "serve.log") as server:
        assert server.json("/api/search?q=Aleppo")["total"] == 20
        (reports / "dated.txt").write_text("date: 2019-01-01\n\nDated\n\nAbout Aleppo.\n")
        reports_cli("index", "--quiet", index=index, reports=reports)
        status, _, body = server.get("/api/search?q=Aleppo")
        assert status == 200, body[:200]
        assert json.loads(body)["total"] == 21
