"""One full build in a fresh process, so its peak memory is its own.

    python -m bench.worker ours   --reports DIR --index DIR [--no-gazetteer]
    python -m bench.worker fts5   --docs FILE.jsonl --out FILE.db
    python -m bench.worker whoosh --docs FILE.jsonl --out DIR

Prints one JSON object: docs, seconds (the build alone, imports and gazetteer loading
excluded), cpu_seconds (this process and its workers), docs_per_s, rss_start_mb (after
imports), peak_rss_self_mb (VmHWM), index_bytes. `run_sampled` (used by bench.run) adds
peak_rss_mb: the larger of VmHWM and the total RSS of the process and its worker processes,
sampled from outside every 0.1 s (the engine may build with a process pool).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import sys
import time
from pathlib import Path


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tree_rss_kb(root: int) -> int:
    """RSS of `root` and all its descendants (the engine may build with worker processes)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(name)] = int(fields[1])
            rss[int(name)] = int(fields[21]) * PAGE_KB
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4


def run_sampled(cmd: list[str], cwd, interval: float = 0.1) -> tuple[int, str, str, float]:
    """Run `cmd`, sampling the total RSS of it and its descendants from outside (a thread
    inside the measured process would change what it does: the engine builds with forked
    workers only when it has no other threads). Returns (code, stdout, stderr, peak MB)."""
    import subprocess

    peak = 0
    with subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        out: dict = {}

        def drain():
            out["stdout"], out["stderr"] = proc.communicate()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        while reader.is_alive():
            if os.path.isdir("/proc"):
                peak = max(peak, _tree_rss_kb(proc.pid))
            reader.join(interval)
        return proc.returncode, out.get("stdout", ""), out.get("stderr", ""), peak / 1024


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load_gazetteer():
    """(gazetteer or None, note). Picks up search.entities once it exists."""
    try:
        from search.entities import Gazetteer
    except ImportError as exc:
        return None, f"search.entities not importable ({exc}); without entity extraction"
    try:
        try:
            return Gazetteer.load(), "gazetteer loaded"
        except TypeError:
            return Gazetteer.load(()), "gazetteer loaded"
    except Exception as exc:   # a half-written module must not stop the benchmark
        return None, f"Gazetteer.load() failed ({type(exc).__name__}: {exc}); without entity extraction"


def build_ours(reports: Path, index: Path, gazetteer: bool) -> dict:
    from search.engine import Engine
    from search.settings import Settings

    from .corpora import dir_bytes

    gz, note = load_gazetteer() if gazetteer else (None, "built without gazetteer")
    engine = Engine(Settings(index_dir=index, reports_dir=reports), gz)
    rss0 = _status_mb("VmRSS")
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    summary = engine.update(rebuild=True)
    seconds = time.perf_counter() - t0
    return {"docs": summary.added, "seconds": seconds, "skipped": len(summary.skipped),
            "cpu_seconds": cpu_seconds() - c0,
            "rss_start_mb": rss0, "index_bytes": dir_bytes(engine.store.live_dir()),
            "entities": gz is not None, "note": note}


def build_baseline(kind: str, docs: Path, out: Path) -> dict:
    from .baselines import Fts5, PlainWhoosh, read_docs
    from .corpora import dir_bytes

    rss0 = _status_mb("VmRSS")
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    n = (Fts5 if kind == "fts5" else PlainWhoosh).build(read_docs(docs), out)
    seconds = time.perf_counter() - t0
    size = out.stat().st_size if kind == "fts5" else dir_bytes(out)
    return {"docs": n, "seconds": seconds, "cpu_seconds": cpu_seconds() - c0, "rss_start_mb": rss0,
            "index_bytes": size}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.worker")
    p.add_argument("kind", choices=["ours", "fts5", "whoosh"])
    p.add_argument("--reports", type=Path)
    p.add_argument("--index", type=Path)
    p.add_argument("--docs", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--no-gazetteer", action="store_true")
    a = p.parse_args(argv)
    if a.kind == "ours":
        out = build_ours(a.reports, a.index, not a.no_gazetteer)
    else:
        out = build_baseline(a.kind, a.docs, a.out)
    out["docs_per_s"] = out["docs"] / out["seconds"] if out["seconds"] else None
    out["peak_rss_self_mb"] = peak_rss_mb()      # the caller adds its sampled tree total
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
