"""Where our search and our build spend their time (cProfile; stdlib, no extra package).

    python -m bench.profile [--corpus reuters] [--docs 5000] [--queries 250] [--top 30]
                            [--what search,build] [--out DIR]

Search: the benchmark's queries for the corpus through `Engine.search`, warm. Build:
`Engine.update(rebuild=True)` over the first --docs reports of the corpus, with the gazetteer.
Prints the top functions by own time and by cumulative time, and the same restricted to
`search/` (the code we own); writes the raw .prof files to --out for snakeviz/pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

from . import corpora
from .queries import make_queries
from .run import baseline_docs, facet_values, load_corpus, make_engine, ours_search
from .worker import load_gazetteer


def report(prof: cProfile.Profile, title: str, top: int) -> str:
    out = io.StringIO()
    out.write(f"\n===== {title}\n")
    for key, restrict in (("tottime", ()), ("cumulative", ()), ("tottime", ("search/",)),
                          ("cumulative", ("search/",))):
        out.write(f"\n--- by {key}{' in search/' if restrict else ''}\n")
        st = pstats.Stats(prof, stream=out)
        st.strip_dirs() if not restrict else None
        st.sort_stats(key).print_stats(*restrict, top)
    return out.getvalue()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--corpus", default="reuters")
    p.add_argument("--docs", type=int, default=5000, help="reports for the build profile")
    p.add_argument("--queries", type=int, default=250)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--what", default="search,build")
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench-profile")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    gz, note = load_gazetteer()
    print(f"gazetteer: {note}", file=sys.stderr)
    corpus = load_corpus(a.corpus, quick=False)
    work = Path(tempfile.mkdtemp(prefix="bench-prof-"))
    try:
        if "build" in a.what:
            reports = work / "build" / "reports"
            corpora.write_archive(corpus.records[: a.docs], reports, corpus.name)
            engine = make_engine(reports, work / "build" / "index", gz)
            prof = cProfile.Profile()
            prof.enable()
            engine.update(rebuild=True)
            prof.disable()
            prof.dump_stats(a.out / "build.prof")
            print(report(prof, f"build: {min(a.docs, len(corpus.records))} reports of {a.corpus}", a.top))
        if "search" in a.what:
            reports = work / "search" / "reports"
            corpora.write_archive(corpus.records, reports, corpus.name)
            engine = make_engine(reports, work / "search" / "index", gz)
            engine.update(rebuild=True)
            docs = baseline_docs(engine, work / "docs.jsonl")
            tags = sorted({t for ts in list(corpus.places.values()) + list(corpus.orgs.values()) for t in ts})
            queries = make_queries(docs, a.queries, facet_values(docs), tags)
            for q in queries[:30]:
                ours_search(engine, q)                      # warm
            prof = cProfile.Profile()
            prof.enable()
            for q in queries:
                try:
                    ours_search(engine, q)
                except Exception as exc:
                    print(f"query {q}: {type(exc).__name__}: {exc}", file=sys.stderr)
            prof.disable()
            prof.dump_stats(a.out / "search.prof")
            print(report(prof, f"search: {len(queries)} queries on {a.corpus} ({len(docs)} docs)", a.top))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
