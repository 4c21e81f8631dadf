"""Load figure for the web app: `reports serve` (waitress, as in production) under wrk.

    .venv/bin/python bench/load_web.py                      # the seeds
    .venv/bin/python bench/load_web.py --fakes              # FA-KES (804 articles) imported
    .venv/bin/python bench/load_web.py --reports DIR --duration 20 --connections 8

Builds an index in a temporary folder with `reports index` (or `reports import` for FA-KES),
starts `reports serve` on a free loopback port with rate limiting off
(FLASK_RATELIMIT_ENABLED=false), waits for /healthz, runs wrk with a Lua script that rotates
through realistic search URLs (queries, filters, sorts, pages, the JSON API, report pages),
stops the server by its pid and prints requests/s, latency p50/p95/p99 and errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path("/work/shared/corpora/fakes/fakes.csv")
WRK = shutil.which("wrk") or "/usr/bin/wrk"

QUERIES = ["Hajin", "Idlib", "Daesh", "SDF offensive", "air strikes", "chemical attack",
           "Raqqa", "Deir Ezzor", "Russia Idlib", '"Islamic State"', "civilians killed",
           "Aleppo siege", "Turkey", "Kurdish forces", "offens*", "hajn"]

LUA = r"""
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\"requests\": %%d, \"seconds\": %%.3f, \"p50_ms\": %%.2f, \"p95_ms\": %%.2f, " ..
    "\"p99_ms\": %%.2f, \"max_ms\": %%.2f, \"non2xx3xx\": %%d, \"connect\": %%d, \"read\": %%d, " ..
    "\"write\": %%d, \"timeout\": %%d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reports(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search.cli", *args], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True)


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def build_paths(base: str) -> list[str]:
    """Search URLs a researcher would hit: plain queries, then with the first facet values of
    their results, other sorts, page 2, the JSON API and a report page."""
    paths: list[str] = ["/"]
    for i, q in enumerate(QUERIES):
        paths.append("/?" + urlencode({"q": q}))
        result = get_json(base + "/api/search?" + urlencode({"q": q}))
        for facet, param in (("places", "place"), ("actors", "actor"), ("source", "source"),
                             ("year", "year")):
            values = result["facets"].get(facet) or []
            if values:
                paths.append("/?" + urlencode({"q": q, param: values[min(i % 3, len(values) - 1)]["value"]}))
        paths.append("/?" + urlencode({"q": q, "sort": "newest"}))
        if result["pages"] > 1:
            paths.append("/?" + urlencode({"q": q, "page": 2}))
        paths.append("/api/search?" + urlencode({"q": q}))
        if result["hits"]:
            paths.append("/reports/" + quote(result["hits"][0]["id"], safe=":") + "?" + urlencode({"q": q}))
    return paths


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="load-web-"))
    server = None
    try:
        index = work / "index"
        if args.fakes:
            reports_dir = work / "reports"
            reports("import", str(FAKES), "--index", str(index), "--reports", str(reports_dir))
        else:
            reports_dir = Path(args.reports).resolve()
            reports("index", "--index", str(index), "--reports", str(reports_dir), "--quiet")
        port = free_port()
        env = dict(os.environ, FLASK_RATELIMIT_ENABLED="false")
        server = subprocess.Popen(
            [sys.executable, "-m", "search.cli", "serve", "--index", str(index), "--reports",
             str(reports_dir), "--port", str(port), "--threads", str(args.threads)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        count = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"reports serve exited: {server.stderr.read()}")
            try:
                count = get_json(base + "/healthz")["reports"]
                break
            except OSError:
                time.sleep(0.2)
        if count is None:
            raise SystemExit("reports serve did not answer /healthz within 60 s")
        paths = build_paths(base)
        script = work / "paths.lua"
        script.write_text(LUA % ", ".join(json.dumps(p) for p in paths), encoding="utf-8")
        out = subprocess.run([WRK, "-t", str(min(args.connections, 4)), "-c", str(args.connections),
                              "-d", f"{args.duration}s", "--timeout", "10s", "-s", str(script), base],
                             check=True, capture_output=True, text=True).stdout
        line = re.search(r"^RESULT (.*)$", out, re.M)
        if not line:
            raise SystemExit(f"no RESULT line in wrk output:\n{out}")
        figures = json.loads(line[1])
        figures.update(reports=count, paths=len(paths), connections=args.connections,
                       threads=args.threads,
                       requests_per_s=round(figures["requests"] / figures["seconds"], 1))
        return figures
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)      # this server's pid only
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", default=str(ROOT / "seeds"), help="reports folder [seeds/]")
    parser.add_argument("--fakes", action="store_true", help=f"import {FAKES} instead")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load [20]")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections [8]")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads [8]")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    f = run(args)
    if args.json:
        print(json.dumps(f, indent=2))
        return 0
    name = "FA-KES" if args.fakes else args.reports
    print(f"{name}: {f['reports']} reports, {f['paths']} URLs rotated, {f['connections']} connections, "
          f"{f['threads']} waitress threads, {f['seconds']:.0f} s")
    print(f"  {f['requests_per_s']:.1f} requests/s ({f['requests']} requests)")
    print(f"  latency p50 {f['p50_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  "
          f"max {f['max_ms']:.1f} ms")
    print(f"  non-2xx/3xx: {f['non2xx3xx']}  socket errors: connect {f['connect']}, read {f['read']}, "
          f"write {f['write']}, timeout {f['timeout']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
