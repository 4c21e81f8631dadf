"""The benchmark: our engine against SQLite FTS5 and plain-defaults Whoosh, same documents,
same queries, same run.

    python -m bench.run [--quick] [--corpora seeds,fakes,reuters,reuters100k]
                        [--ir cisi,cran,med|none] [--queries N] [--json out.json] [--work DIR]

Per corpus: full build in a fresh process each (docs/s, peak RSS, index size; ours with and
without entity extraction), query latency over realistic queries interleaved across the three
systems (top 10 + snippets + facet counts, single-threaded, warm), and the time from an
incremental update's start until 1 and 100 new reports are found by a search. Then ranking
quality (nDCG@10, MAP@100, P@10) on the SMART collections. Prints markdown, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import corpora, ircoll
from .baselines import FACETS, Fts5, PlainWhoosh, to_ours
from .corpora import REPO
from .queries import make_queries
from .worker import load_gazetteer, run_sampled

SYSTEMS = ("ours", "fts5", "whoosh")
TARGETS = {"query_p50_ratio": 1.5, "query_p95_ratio": 2.0, "build_docs_per_s": 1000,
           "rss_100k_mb": 1024, "new1_s": 0.5, "new100_s": 3.0, "entity_overhead": 0.20}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine

def machine() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import whoosh

    return {"nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu": model or platform.processor(), "mem_gb": mem,
            "python": platform.python_version(), "whoosh": whoosh.versionstring(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


# --------------------------------------------------------------------------- helpers

def run_worker(*args: str) -> dict:
    code, stdout, stderr, tree_mb = run_sampled([sys.executable, "-m", "bench.worker", *args], REPO)
    if code:
        raise RuntimeError(f"bench.worker {' '.join(args)} failed:\n{stderr[-3000:]}")
    out = json.loads(stdout)
    out["peak_rss_tree_mb"] = tree_mb
    out["peak_rss_mb"] = max(out["peak_rss_self_mb"], tree_mb)
    return out


def stats(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    a = np.asarray(ms)
    return {"n": len(ms), "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "max_ms": float(a.max()), "mean_ms": float(a.mean())}


def ratio(a, b):
    return a / b if a is not None and b else None


def make_engine(reports: Path, index: Path, gazetteer):
    from search.engine import Engine
    from search.settings import Settings

    return Engine(Settings(index_dir=index, reports_dir=reports), gazetteer)


def ours_search(engine, q: dict):
    from search.results import SearchRequest

    text, filters = to_ours(q)
    return engine.search(SearchRequest(q=text, filters=filters, page_size=10))


def baseline_docs(engine, out: Path) -> list[dict]:
    """The documents exactly as our engine read them (scan + load), with the facet values
    our index stored for them; written as JSONL for the baseline builders."""
    from search.engine import scan_reports
    from search.ingest import Skipped
    from search.schema import source_key

    stored: dict[str, dict] = {}
    with engine.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            stored[fields["id"]] = fields
    docs = []
    for entry in scan_reports(engine.settings).entries.values():
        rep = entry.load()
        if isinstance(rep, Skipped):
            continue
        s = stored.get(rep.id, {})
        facets = {k: [v for v in (s.get(k) or "").split(",") if v] for k in FACETS[:3]}
        facets["source"] = [source_key(rep.source)] if rep.source else []
        facets["year"] = [str(rep.date.year)] if rep.date else []
        docs.append({"id": rep.id, "title": rep.title, "lede": rep.lede, "body": rep.body,
                     "date": rep.date.isoformat() if rep.date else None, "source": rep.source,
                     "facets": facets})
    with open(out, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return docs


def entity_cost(engine, gz) -> dict:
    """The extraction alone, in this process: `document(report, gazetteer)` against
    `document(report, None)` over every report (steadier than the difference of two builds)."""
    from search.engine import scan_reports
    from search.ingest import Skipped
    from search.schema import document

    reports = [r for r in (e.load() for e in scan_reports(engine.settings).entries.values())
               if not isinstance(r, Skipped)]
    best = {}
    for label, g in (("without", None), ("with", gz), ("without", None), ("with", gz)):
        t0 = time.perf_counter()
        for r in reports:
            document(r, g)
        best[label] = min(best.get(label, 1e9), time.perf_counter() - t0)
    return {"reports": len(reports), "document_s_without": best["without"],
            "document_s_with": best["with"], "extraction_s": best["with"] - best["without"]}


def facet_values(docs: list[dict]) -> dict[str, list[tuple[str, int]]]:
    from collections import Counter

    out = {}
    for f in FACETS:
        c = Counter(v for d in docs for v in d["facets"].get(f, []))
        if c:
            out[f] = c.most_common()
    return out


# --------------------------------------------------------------------------- query latency

def latency(engine, fts: Fts5, wh: PlainWhoosh, queries: list[dict], warmup: int) -> dict:
    calls = {"ours": lambda q: ours_search(engine, q), "fts5": fts.search, "whoosh": wh.search}
    for q in queries[:warmup]:
        for name in SYSTEMS:
            try:
                calls[name](q)
            except Exception:
                pass
    times = {s: [] for s in SYSTEMS}
    kinds = {s: {} for s in SYSTEMS}
    totals = {s: {} for s in SYSTEMS}
    errors = {s: [] for s in SYSTEMS}
    paired = []
    for i, q in enumerate(queries):
        order = SYSTEMS[i % 3:] + SYSTEMS[:i % 3]       # interleaved, rotating first place
        took = {}
        for name in order:
            t0 = time.perf_counter()
            try:
                res = calls[name](q)
            except Exception as exc:
                errors[name].append(f"{q}: {type(exc).__name__}: {exc}"[:300])
                continue
            took[name] = (time.perf_counter() - t0) * 1000
            total = res.total if name == "ours" else res["total"]
            totals[name].setdefault(q["kind"], []).append(total)
        for name, ms in took.items():
            times[name].append(ms)
            kinds[name].setdefault(q["kind"], []).append(ms)
        if "ours" in took and "fts5" in took:
            paired.append(took["ours"] / took["fts5"])
    out = {"queries": len(queries), "warmup": warmup, "systems": {}}
    for name in SYSTEMS:
        out["systems"][name] = {
            **stats(times[name]),
            "by_kind_p50_ms": {k: float(np.median(v)) for k, v in sorted(kinds[name].items())},
            "mean_total_by_kind": {k: float(np.mean(v)) for k, v in sorted(totals[name].items())},
            "errors": len(errors[name]), "error_examples": errors[name][:3]}
    o, f = out["systems"]["ours"], out["systems"]["fts5"]
    w = out["systems"]["whoosh"]
    out["ratios"] = {"p50_vs_fts5": ratio(o["p50_ms"], f["p50_ms"]),
                     "p95_vs_fts5": ratio(o["p95_ms"], f["p95_ms"]),
                     "paired_median_vs_fts5": float(np.median(paired)) if paired else None,
                     "p50_vs_whoosh": ratio(o["p50_ms"], w["p50_ms"]),
                     "p95_vs_whoosh": ratio(o["p95_ms"], w["p95_ms"])}
    return out


# --------------------------------------------------------------------------- incremental

def new_records(base: list[dict], n: int, token: str, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        src = rng.choice(base)
        out.append({"id": f"{token}-{i}", "title": f"{token} {src.get('title', '')}",
                    "body": f"{src.get('body', '')} {token}", "date": src.get("date"),
                    "source": src.get("source")})
    return out


def incremental(engine, fts: Fts5, wh: PlainWhoosh, reports: Path, base: list[dict]) -> dict:
    """Seconds from the start of an update until a search finds the new reports."""
    rng = random.Random(5)
    out = {}
    for n, token in ((1, "zebrafinchone"), (100, "zebrafinchhundred")):
        recs = new_records(base, n, token, rng)
        q = {"kind": "new", "words": [token], "phrase": None, "exclude": None, "filter": None}
        corpora.write_archive(recs, reports, f"bench-new-{n}")
        t0 = time.perf_counter()
        summary = engine.update()
        t1 = time.perf_counter()
        found = 0
        for _ in range(20):
            found = ours_search(engine, q).total
            if found >= n:
                break
        t2 = time.perf_counter()
        row = {"ours": {"seconds": t2 - t0, "update_s": t1 - t0, "first_search_s": t2 - t1,
                        "added": summary.added, "found": found}}
        bdocs = [{"id": f"new:{r['id']}", "title": r["title"], "lede": "", "body": r["body"],
                  "date": r["date"], "source": r["source"], "facets": {}} for r in recs]
        for name, system in (("fts5", fts), ("whoosh", wh)):
            t0 = time.perf_counter()
            system.add(bdocs)
            found = system.search(q)["total"]
            row[name] = {"seconds": time.perf_counter() - t0, "found": found}
        out[f"new_{n}"] = row
    return out


# --------------------------------------------------------------------------- one corpus

def load_corpus(name: str, quick: bool) -> corpora.Corpus:
    if name == "seeds":
        return corpora.seeds()
    if name == "fakes":
        return corpora.fakes(limit=150 if quick else None)
    if name == "reuters":
        return corpora.reuters(limit=600 if quick else None)
    m = re.fullmatch(r"reuters(\d+)k", name)
    if m:
        size = int(m[1]) * 1000
        return corpora.replicated(corpora.reuters(), 2000 if quick else size)
    raise SystemExit(f"unknown corpus {name!r}: use seeds, fakes, reuters or reutersNk (e.g. reuters100k)")


def bench_corpus(name: str, work: Path, gz, gz_note: str, n_queries: int, quick: bool) -> dict:
    corpus = load_corpus(name, quick)
    base = work / name
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    reports = base / "reports"
    if corpus.files_dir is not None:
        shutil.copytree(corpus.files_dir, reports)
    else:
        corpora.write_archive(corpus.records, reports, corpus.name)
    log(f"{name}: {corpus.label}")
    res: dict = {"label": corpus.label, "build": {}, "loadavg_start": os.getloadavg()}
    index = base / "index"
    if gz is not None:
        log(f"{name}: building ours (with entity extraction)")
        res["build"]["ours"] = run_worker("ours", "--reports", str(reports), "--index", str(index))
        log(f"{name}: building ours (no gazetteer)")
        res["build"]["ours_no_entities"] = run_worker(
            "ours", "--reports", str(reports), "--index", str(base / "index-noent"), "--no-gazetteer")
        shutil.rmtree(base / "index-noent", ignore_errors=True)
    else:
        log(f"{name}: building ours (no gazetteer available)")
        res["build"]["ours_no_entities"] = run_worker(
            "ours", "--reports", str(reports), "--index", str(index), "--no-gazetteer")
    if name == "fakes":     # the same reports as one file each
        files = corpora.write_files(corpus.records, base / "reports-files")
        args = ["ours", "--reports", str(files), "--index", str(base / "index-files")]
        res["build"]["ours_files"] = run_worker(*(args if gz is not None else args + ["--no-gazetteer"]))
        shutil.rmtree(base / "index-files", ignore_errors=True)
    engine = make_engine(reports, index, gz)
    docs = baseline_docs(engine, base / "docs.jsonl")
    res["docs"] = len(docs)
    log(f"{name}: building FTS5 and plain Whoosh ({len(docs)} docs)")
    res["build"]["fts5"] = run_worker("fts5", "--docs", str(base / "docs.jsonl"), "--out", str(base / "fts.db"))
    res["build"]["whoosh"] = run_worker("whoosh", "--docs", str(base / "docs.jsonl"), "--out", str(base / "whoosh"))
    if gz is not None:
        ec = entity_cost(engine, gz)
        ec["share_of_build_without"] = ec["extraction_s"] / res["build"]["ours_no_entities"]["seconds"]
        res["build"]["entity_cost"] = ec
    ob = res["build"].get("ours") or res["build"]["ours_no_entities"]
    res["build"]["ratios"] = {
        "docs_per_s_vs_fts5": ratio(ob["docs_per_s"], res["build"]["fts5"]["docs_per_s"]),
        "docs_per_s_vs_whoosh": ratio(ob["docs_per_s"], res["build"]["whoosh"]["docs_per_s"]),
        "entity_overhead": (ratio(res["build"]["ours"]["seconds"], res["build"]["ours_no_entities"]["seconds"]) - 1
                            if "ours" in res["build"] else None),
    }
    fv = facet_values(docs)
    tags = sorted({t for ts in list(corpus.places.values()) + list(corpus.orgs.values()) for t in ts})
    queries = make_queries(docs, n_queries, fv, tags)
    res["facet_used_for_filters"] = next((q["filter"][0] for q in queries if q["filter"]), None)
    fts, wh = Fts5(base / "fts.db"), PlainWhoosh(base / "whoosh")
    log(f"{name}: {len(queries)} queries x 3 systems, interleaved")
    res["latency"] = latency(engine, fts, wh, queries, warmup=min(30, len(queries)))
    res["query_examples"] = [to_ours(q)[0] + (f"  [{q['filter'][0]}={q['filter'][1]}]" if q["filter"] else "")
                             for q in queries[:12]]
    log(f"{name}: incremental updates")
    res["incremental"] = incremental(engine, fts, wh, reports, docs)
    fts.close()
    wh.close()
    res["entities"] = gz is not None
    res["loadavg_end"] = os.getloadavg()
    res["entity_note"] = gz_note
    return res


# --------------------------------------------------------------------------- ranking

MAX_Q_CHARS = 1000     # the engine's Settings.max_query_chars: longer queries are refused


def _cut(text: str, limit: int = MAX_Q_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def bench_ranking(name: str, work: Path, gz) -> dict:
    from search.results import SearchRequest

    coll = ircoll.load(name)
    base = work / f"ir-{name}"
    shutil.rmtree(base, ignore_errors=True)
    reports = base / "reports"
    corpora.write_archive(coll.docs, reports, name)
    engine = make_engine(reports, base / "index", gz)
    engine.update(rebuild=True)
    docs = baseline_docs(engine, base / "docs.jsonl")
    Fts5.build(docs, base / "fts.db")
    PlainWhoosh.build(docs, base / "whoosh")
    fts, wh = Fts5(base / "fts.db"), PlainWhoosh(base / "whoosh")
    prefix = f"imported/{name}:"

    def strip(ids):
        return [i[len(prefix):] if i.startswith(prefix) else i for i in ids]

    runs = {"ours": [], "fts5_and": [], "fts5_or": [], "whoosh_or": []}
    runs100 = {k: [] for k in runs}
    ms = {k: [] for k in runs}
    cut = sum(1 for _, t in coll.queries if len(t) > MAX_Q_CHARS)
    long_terms = sum(1 for _, t in coll.queries if len(re.findall(r"\w+", _cut(t))) > 64)
    modes = {}
    for qid, text in coll.queries:
        text = _cut(text)
        t0 = time.perf_counter()
        r10 = engine.search(SearchRequest(q=text, page_size=10))
        ms["ours"].append((time.perf_counter() - t0) * 1000)
        modes[r10.mode] = modes.get(r10.mode, 0) + 1
        r100 = engine.search(SearchRequest(q=text, page_size=100))
        runs["ours"].append(strip([h.id for h in r10.hits]))
        runs100["ours"].append(strip([h.id for h in r100.hits]))
        for key, call in (("fts5_and", lambda: fts.rank(text, "and")),
                          ("fts5_or", lambda: fts.rank(text, "or")),
                          ("whoosh_or", lambda: wh.rank(text))):
            t0 = time.perf_counter()
            ids = strip(call())
            ms[key].append((time.perf_counter() - t0) * 1000)
            runs[key].append(ids[:10])
            runs100[key].append(ids)
    out = {"docs": len(docs), "queries": len(coll.queries), "unjudged_queries_skipped": coll.unjudged_queries,
           "queries_cut_to_1000_chars": cut, "queries_over_64_words": long_terms,
           "ours_modes": modes, "notes": coll.notes, "systems": {}}
    for key in runs:
        gains = [coll.qrels[q] for q, _ in coll.queries]
        out["systems"][key] = {
            "ndcg10": float(np.mean([ircoll.ndcg_at(r, g) for r, g in zip(runs[key], gains)])),
            "map100": float(np.mean([ircoll.average_precision(r, g) for r, g in zip(runs100[key], gains)])),
            "p10": float(np.mean([ircoll.precision_at(r, g) for r, g in zip(runs[key], gains)])),
            "empty_results": sum(1 for r in runs[key] if not r),
            "mean_ms": float(np.mean(ms[key])),
        }
    fts.close()
    wh.close()
    return out


# --------------------------------------------------------------------------- targets

def targets(result: dict) -> list[dict]:
    rows = []
    C = result["corpora"]

    def add(name, value, limit, ok, note=""):
        rows.append({"target": name, "value": value, "limit": limit,
                     "ok": None if value is None else ok, "note": note})

    for cname, c in C.items():
        if not cname.startswith("reuters"):     # the targets are set on Reuters; the rest is shown
            continue
        r = c["latency"]["ratios"]
        add(f"{cname}: query p50 ≤ 1.5× FTS5", r["p50_vs_fts5"], TARGETS["query_p50_ratio"],
            r["p50_vs_fts5"] is not None and r["p50_vs_fts5"] <= TARGETS["query_p50_ratio"])
        add(f"{cname}: query p95 ≤ 2× FTS5", r["p95_vs_fts5"], TARGETS["query_p95_ratio"],
            r["p95_vs_fts5"] is not None and r["p95_vs_fts5"] <= TARGETS["query_p95_ratio"])
        b = c["build"]
        if "ours" in b:
            add(f"{cname}: full build ≥ 1,000 docs/s incl. entities", b["ours"]["docs_per_s"],
                TARGETS["build_docs_per_s"], b["ours"]["docs_per_s"] >= TARGETS["build_docs_per_s"])
            ov = b["ratios"]["entity_overhead"]
            add(f"{cname}: entity extraction adds < 20 % build time (two builds)", ov,
                TARGETS["entity_overhead"], ov < TARGETS["entity_overhead"])
            ec = b.get("entity_cost")
            if ec:
                add(f"{cname}: entity extraction adds < 20 % build time (extraction timed alone)",
                    ec["share_of_build_without"], TARGETS["entity_overhead"],
                    ec["share_of_build_without"] < TARGETS["entity_overhead"])
        else:
            add(f"{cname}: full build ≥ 1,000 docs/s incl. entities", None, TARGETS["build_docs_per_s"], None,
                f"no gazetteer: {b['ours_no_entities']['docs_per_s']:.0f} docs/s without entities")
        if re.fullmatch(r"reuters\d+k", cname):
            rss = (b.get("ours") or b["ours_no_entities"])["peak_rss_mb"]
            add(f"{cname}: build peak RSS ≤ 1 GB", rss, TARGETS["rss_100k_mb"], rss <= TARGETS["rss_100k_mb"])
        inc = c["incremental"]
        s1, s100 = inc["new_1"]["ours"], inc["new_100"]["ours"]
        add(f"{cname}: 1 new report searchable ≤ 0.5 s", s1["seconds"], TARGETS["new1_s"],
            s1["seconds"] <= TARGETS["new1_s"] and s1["found"] >= 1)
        add(f"{cname}: 100 new reports searchable ≤ 3 s", s100["seconds"], TARGETS["new100_s"],
            s100["seconds"] <= TARGETS["new100_s"] and s100["found"] >= 100)
    for name, r in result["ranking"].items():
        o, f = r["systems"]["ours"]["ndcg10"], r["systems"]["fts5_or"]["ndcg10"]
        add(f"{name}: nDCG@10 ≥ FTS5 (OR, the better FTS5)", o, f, o >= f)
    return rows


# --------------------------------------------------------------------------- markdown

def _f(v, digits=1, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def markdown(result: dict) -> str:
    m = result["machine"]
    L = [f"## Benchmark ({result['mode']} run, {result['date']})", "",
         f"Machine: {m['nproc']} CPU(s), {m['cpu']}, {m['mem_gb']} GB RAM; Python {m['python']}, "
         f"Whoosh {m['whoosh']}, SQLite {m['sqlite']}. Entity extraction: {result['gazetteer_note']}.", ""]
    if result["corpora"]:
        L += ["### Full build (each in a fresh process)", "",
              "| corpus | system | docs | seconds | CPU s | docs/s | peak RSS MB | index MB |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
        names = {"ours": "ours (with entities)", "ours_no_entities": "ours (no entities)",
                 "ours_files": "ours, one file per report", "fts5": "SQLite FTS5", "whoosh": "plain Whoosh"}
        for cname, c in result["corpora"].items():
            for key, label in names.items():
                b = c["build"].get(key)
                if b:
                    L.append(f"| {cname} | {label} | {b['docs']:,} | {_f(b['seconds'], 2)} | "
                             f"{_f(b.get('cpu_seconds'), 1)} | "
                             f"{_f(b['docs_per_s'], 0)} | {_f(b['peak_rss_mb'], 0)} | "
                             f"{_f(b['index_bytes'] / 1e6, 1)} |")
            r = c["build"]["ratios"]
            L.append(f"| {cname} | *ours ÷ FTS5 / ÷ Whoosh (docs/s); entity overhead* | | | | "
                     f"{_f(r['docs_per_s_vs_fts5'], 2)}× / {_f(r['docs_per_s_vs_whoosh'], 2)}× | | "
                     f"{_f(r['entity_overhead'] * 100 if r['entity_overhead'] is not None else None, 0, ' %')} |")
        for cname, c in result["corpora"].items():
            ec = c["build"].get("entity_cost")
            if ec and "loadavg_start" in c:
                L.append(f"\n{cname}: entity extraction timed alone: {ec['extraction_s']:.2f} s for "
                         f"{ec['reports']:,} reports = {ec['share_of_build_without'] * 100:.0f} % of the "
                         f"no-entities build. Load average during {cname}: "
                         f"{c['loadavg_start'][0]:.1f} → {c['loadavg_end'][0]:.1f} (on {m['nproc']} CPUs).")
        L += ["", "### Query latency, ms (top 10 + snippets + facet counts; warm, single-threaded, "
                  "interleaved)", "",
              "| corpus | system | queries | p50 | p95 | max | mean | p50 by kind (single/multi/phrase/filter/exclude) |",
              "|---|---|---:|---:|---:|---:|---:|---|"]
        kinds = ("single", "multi", "phrase", "filter", "exclude")
        for cname, c in result["corpora"].items():
            lat = c["latency"]
            for s in SYSTEMS:
                x = lat["systems"][s]
                bk = " / ".join(_f(x["by_kind_p50_ms"].get(k), 1) for k in kinds)
                err = f" ({x['errors']} errors)" if x["errors"] else ""
                L.append(f"| {cname} | {s}{err} | {x['n']} | {_f(x['p50_ms'], 1)} | {_f(x['p95_ms'], 1)} | "
                         f"{_f(x['max_ms'], 1)} | {_f(x['mean_ms'], 1)} | {bk} |")
            r = lat["ratios"]
            L.append(f"| {cname} | *ours ÷ FTS5* | | {_f(r['p50_vs_fts5'], 2)}× | {_f(r['p95_vs_fts5'], 2)}× | | "
                     f"paired median {_f(r['paired_median_vs_fts5'], 2)}× | |")
            L.append(f"| {cname} | *ours ÷ Whoosh* | | {_f(r['p50_vs_whoosh'], 2)}× | "
                     f"{_f(r['p95_vs_whoosh'], 2)}× | | | |")
        L += ["", "Mean number of matches per query kind (semantics differ: ours falls back to "
                  "'some of the words' when no report has them all):", "",
              "| corpus | system | single | multi | phrase | filter | exclude |", "|---|---|---:|---:|---:|---:|---:|"]
        for cname, c in result["corpora"].items():
            for s in SYSTEMS:
                t = c["latency"]["systems"][s]["mean_total_by_kind"]
                L.append(f"| {cname} | {s} | " + " | ".join(_f(t.get(k), 0) for k in kinds) + " |")
        L += ["", "### Incremental update: seconds from update start until a search finds the new reports",
              "", "| corpus | new reports | ours (update + first search) | FTS5 (insert+commit+search) | "
                  "plain Whoosh (add+commit+search) |", "|---|---:|---:|---:|---:|"]
        for cname, c in result["corpora"].items():
            for key, n in (("new_1", 1), ("new_100", 100)):
                x = c["incremental"][key]
                o = x["ours"]
                L.append(f"| {cname} | {n} | {_f(o['seconds'], 3)} ({_f(o['update_s'], 3)} + "
                         f"{_f(o['first_search_s'], 3)}; found {o['found']}) | {_f(x['fts5']['seconds'], 3)} | "
                         f"{_f(x['whoosh']['seconds'], 3)} |")
    if result["ranking"]:
        L += ["", "### Ranking quality (raw query text; MAP over the top 100)", "",
              "| collection | docs | queries | system | nDCG@10 | MAP@100 | P@10 | empty results | ms/query |",
              "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
        labels = {"ours": "ours (engine.search)", "fts5_and": "FTS5, AND (default)",
                  "fts5_or": "FTS5, OR + bm25", "whoosh_or": "plain Whoosh, OrGroup"}
        for name, r in result["ranking"].items():
            for key, label in labels.items():
                x = r["systems"][key]
                L.append(f"| {name} | {r['docs']:,} | {r['queries']} | {label} | {x['ndcg10']:.3f} | "
                         f"{x['map100']:.3f} | {x['p10']:.3f} | {x['empty_results']} | {x['mean_ms']:.1f} |")
    L += ["", "### Targets", "", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for t in result["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["ok"]]
        v = t["value"]
        val = _f(v, 3 if isinstance(v, float) and v < 10 else 2 if isinstance(v, float) and v < 100 else 0)
        L.append(f"| {t['target']} | {val} | {_f(t['limit'], 3 if isinstance(t['limit'], float) and t['limit'] < 10 else 0)} | "
                 f"{met}{(' — ' + t['note']) if t['note'] else ''} |")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- main

def _save(path: Path | None, result: dict) -> None:
    """Partial results, so a long run that is stopped still leaves its figures."""
    if path:
        path.write_text(json.dumps(result, indent=1, default=str))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI smoke: seeds + small slices, seconds")
    p.add_argument("--corpora", help="comma-separated: seeds,fakes,reuters,reuters100k "
                                     "(default: seeds,fakes,reuters; quick: seeds,fakes,reuters slices)")
    p.add_argument("--ir", help="comma-separated SMART collections: cisi,cran,med or none "
                                "(default all; quick: med)")
    p.add_argument("--queries", type=int, help="queries per corpus (default 250; quick 30)")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--markdown", type=Path, help="also write the markdown table here")
    p.add_argument("--work", type=Path, help="working folder (kept); default a temporary one (removed)")
    p.add_argument("--from-json", type=Path, metavar="FILE",
                   help="measure nothing: print the tables of an earlier --json result")
    a = p.parse_args(argv)
    if a.from_json:
        result = json.loads(a.from_json.read_text())
        result["targets"] = targets(result)
        print(markdown(result))
        return 0
    names = [n for n in (a.corpora or "seeds,fakes,reuters").split(",") if n]
    ir = [n for n in (a.ir or ("med" if a.quick else "cisi,cran,med")).split(",") if n and n != "none"]
    n_queries = a.queries or (30 if a.quick else 250)
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-"))
    work.mkdir(parents=True, exist_ok=True)
    gz, gz_note = load_gazetteer()
    log(gz_note)
    result = {"mode": "quick" if a.quick else "full", "date": time.strftime("%Y-%m-%d %H:%M"),
              "machine": machine(), "gazetteer": gz is not None, "gazetteer_note": gz_note,
              "corpora": {}, "ranking": {}}
    try:
        big = [n for n in names if re.fullmatch(r"reuters\d+k", n)]
        small = [n for n in names if n not in big]
        for name in small:                 # the big corpora last: the rest survives a stop
            result["corpora"][name] = bench_corpus(name, work, gz, gz_note, n_queries, a.quick)
            _save(a.json, result)
        for name in ir:
            log(f"ranking: {name}")
            result["ranking"][name] = bench_ranking(name, work, gz)
            _save(a.json, result)
        for name in big:
            result["corpora"][name] = bench_corpus(name, work, gz, gz_note, n_queries, a.quick)
            _save(a.json, result)
        result["targets"] = targets(result)
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = markdown(result)
    print(text)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1, default=str))
    if a.markdown:
        a.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
