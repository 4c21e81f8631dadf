"""Measure place/actor extraction on FA-KES: governorate recall, place precision, speed.

    .venv/bin/python bench/entities_fakes.py [--corpora ../shared/corpora] [--sample 200] [--show]

Recall. FA-KES labels each article with one governorate (`location`). An article counts when
its text names that governorate or a place inside it, decided *independently of the
extractor*: a case-insensitive word search for hand-written spellings of the governorate
(GOVERNORATE_SPELLINGS) or for any alias (5+ letters) of a place under it. Recall = share of
those articles whose `expanded["places"]` holds the governorate.

Precision. A fixed-seed sample of (article, place) pairs from `mentioned["places"]`, printed
with context (`--show`) and judged by reading: the pairs judged wrong are listed in
WRONG_PAIRS with the reason. Two automatic proxies are printed too: the surface form is in
the text and folds to a known alias of that place; and "geographic agreement" (the place is
in the labelled governorate, or is a country/region/river/road/governorate-level place).

Speed. Extraction time per article and per KB over FA-KES and over Reuters-21578 bodies
(target < 0.2 ms per KB).
"""
from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search.entities import default_gazetteer, fold  # noqa: E402

LABEL_TO_GOVERNORATE = {
    "aleppo": "aleppo", "damascus": "damascus", "idlib": "idlib", "deir ezzor": "deir-ez-zor",
    "raqqa": "raqqa", "homs": "homs", "hasakeh": "hasakah", "hama": "hama", "daraa": "daraa",
    "lattakia": "latakia", "quneitra": "quneitra", "tartous": "tartus",
}
GOVERNORATE_SPELLINGS = {  # written by hand, independent of the gazetteer
    "aleppo": r"aleppo|halab",
    "damascus": r"(?<!rural )(?:damascus|dimashq)(?![\s-]+(?:countryside|suburbs|rural|province|rif))",
    "idlib": r"idlib|idleb|edlib",
    "deir-ez-zor": r"deir[ -]?e?z[ -]?zou?r|deir[ -]al[ -]zou?r|deir[ -]el[ -]zou?r|dayr az[ -]zawr",
    "raqqa": r"raqq?ah?|rakka",
    "homs": r"homs|hims",
    "hasakah": r"hass?akeh|hass?akah?|hasaka",
    "hama": r"hama|hamah",
    "daraa": r"daraa|deraa|dar'?a",
    "latakia": r"latt?akia|ladhiqiyah",
    "quneitra": r"quneitra|qunaitra",
    "tartus": r"tartus|tartous",
}
# Pairs judged wrong by reading the printed sample (seed 7, 200 pairs). The judgement holds
# for the sample whose fingerprint is REVIEWED_SAMPLE; when the gazetteer changes, the sample
# changes: re-read it (--show) and update both. History in docs/gazetteer.md.
REVIEWED_SAMPLE = "5abcca01239f"
WRONG_PAIRS: dict[tuple[str, str], str] = {
    ("1924058218", "kasab-subdistrict"): "'local resident Malik Kasab': a person",
    ("1924058176", "al-bab"): "'Tareeq al-Bab in Aleppo': the Tariq al-Bab district, not the town",
    ("1965511111", "eastern-syria"): "'Middle East Syria' (a section heading), not eastern Syria",
    ("1923848263", "damascus-city"): "'the Islamic State groups de facto Syrian capital Raqa': Raqqa",
    ("1918398801", "syria"): "'Syria Live Network (SLN)': a news outlet",
}


def load_fakes(corpora: Path) -> list[dict]:
    with open(corpora / "fakes" / "fakes.csv", encoding="cp1252", errors="replace", newline="") as fh:
        return list(csv.DictReader(fh))


def reuters_bodies(corpora: Path, files: int = 3) -> list[str]:
    out = []
    for path in sorted((corpora / "reuters21578").glob("reut2-*.sgm"))[:files]:
        sgml = path.read_text(encoding="latin-1")
        out.extend(re.findall(r"<BODY>(.*?)</BODY>", sgml, re.S))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="FA-KES entity extraction figures")
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", action="store_true", help="print the precision sample and misses")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    gaz = default_gazetteer()
    print(f"gazetteer loaded in {time.perf_counter() - t0:.2f} s: "
          + ", ".join(f"{len(gaz.entities(k))} {k}" for k in ("actors", "places", "operations")))

    rows = load_fakes(args.corpora)
    texts = [r["article_title"] + "\n" + r["article_content"] for r in rows]

    # speed ------------------------------------------------------------------------------
    def timed(docs):  # best of 3 runs: the machine is shared, the minimum is the honest figure
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            result = [gaz.extract(d) for d in docs]
            best = min(best, time.perf_counter() - t0)
        return best, result

    dt, extractions = timed(texts)
    kb = sum(len(t.encode("utf-8")) for t in texts) / 1024
    print(f"FA-KES speed: {len(texts)} articles, {kb:.0f} KB: {1000 * dt / len(texts):.3f} ms/article, "
          f"{1000 * dt / kb:.4f} ms/KB")
    bodies = reuters_bodies(args.corpora)
    dt, _ = timed(bodies)
    kb = sum(len(b.encode("utf-8")) for b in bodies) / 1024
    print(f"Reuters speed: {len(bodies)} stories, {kb:.0f} KB: {1000 * dt / len(bodies):.3f} ms/story, "
          f"{1000 * dt / kb:.4f} ms/KB")

    # recall -----------------------------------------------------------------------------
    inside: dict[str, set[str]] = collections.defaultdict(set)
    for place in gaz.entities("places"):
        for anc in gaz.ancestors("places", place.id):
            inside[anc].add(place.id)
    alias_rx: dict[str, re.Pattern] = {}
    for label, gov in LABEL_TO_GOVERNORATE.items():
        names = {fold(a) for pid in inside[gov] for ent in [gaz.get("places", pid)]
                 for a in (ent.name, *ent.aliases) if len(fold(a)) >= 5 and a[:1].isupper()}
        alt = "|".join(sorted((re.escape(n).replace(r"\ ", r"[\s-]+") for n in names), key=len, reverse=True))
        alias_rx[gov] = re.compile(rf"\b(?:{GOVERNORATE_SPELLINGS[gov]}|{alt})\b", re.I)
    eligible = hits = 0
    misses = []
    for row, text, ext in zip(rows, texts, extractions):
        gov = LABEL_TO_GOVERNORATE.get(row["location"].strip().lower())
        if gov is None:
            continue
        # "Rural Damascus" / "Damascus countryside" name Rif Dimashq, not Damascus
        text = re.sub(r"rural damascus|damascus (?:countryside|suburbs|rural)", "RifDimashqGovernorate", text, flags=re.I)
        folded = fold(text)
        if not (alias_rx[gov].search(text) or alias_rx[gov].search(folded)):
            continue
        eligible += 1
        if gov in ext.expanded["places"]:
            hits += 1
        else:
            m = alias_rx[gov].search(text) or alias_rx[gov].search(folded)
            misses.append((row["unit_id"], gov, m.group(0)))
    print(f"governorate recall: {hits}/{eligible} = {hits / max(eligible, 1):.3f} "
          f"({len(rows) - eligible} articles do not name their labelled governorate)")
    if args.show:
        for uid, gov, surface in misses:
            print(f"  MISS {uid} {gov}: text has {surface!r}")

    # precision --------------------------------------------------------------------------
    pairs = []
    for row, text in zip(rows, texts):
        seen = set()
        for m in gaz.find_mentions(text):
            if m.kind == "places" and m.entity_id not in seen:
                seen.add(m.entity_id)
                pairs.append((row, text, m))
    # Stable sample: the pairs with the smallest hashes. A gazetteer change only swaps the few
    # pairs it adds or removes, so a reviewed sample stays reviewable.
    def rank(pair):
        row, _, m = pair
        return hashlib.sha1(f"{args.seed}:{row['unit_id']}:{m.entity_id}:{m.start}".encode()).hexdigest()
    sample = sorted(pairs, key=rank)[:args.sample]
    surface_ok = agree = 0
    broad = {"country", "region", "river", "road", "governorate", "province"}
    for row, text, m in sample:
        ent = gaz.get("places", m.entity_id)
        names = {fold(a) for a in (ent.name, *ent.aliases)}
        sf = fold(m.surface)
        if text[m.start:m.end] == m.surface and (sf in names or sf.rstrip("s") in names
                                                 or any(sf.endswith(n) for n in names)):
            surface_ok += 1
        gov = LABEL_TO_GOVERNORATE.get(row["location"].strip().lower())
        chain = [m.entity_id, *gaz.ancestors("places", m.entity_id)]
        if ent.type in broad or gov in chain or ent.type == "city":
            agree += 1
        if args.show:
            left = text[max(0, m.start - 60):m.start].replace("\n", " ")
            right = text[m.end:m.end + 40].replace("\n", " ")
            print(f"  {row['unit_id']} [{row['location']}] {m.entity_id} ({ent.type}): "
                  f"...{left}[[{m.surface}]]{right}...")
    wrong = sum(1 for row, _, m in sample if (row["unit_id"], m.entity_id) in WRONG_PAIRS)
    n = len(sample)
    fingerprint = hashlib.sha1(" ".join(f"{r['unit_id']}/{m.entity_id}/{m.start}"
                                        for r, _, m in sample).encode()).hexdigest()[:12]
    print(f"place precision sample: {n} pairs of {len(pairs)} (seed {args.seed})")
    print(f"  proxy, surface is a known alias of the place: {surface_ok}/{n} = {surface_ok / n:.3f}")
    print(f"  proxy, geographic agreement with the label: {agree}/{n} = {agree / n:.3f}")
    same = "the reviewed sample" if fingerprint == REVIEWED_SAMPLE else "NOT the reviewed sample: re-read it"
    print(f"  judged by reading (WRONG_PAIRS): {n - wrong}/{n} = {(n - wrong) / n:.3f} "
          f"[sample {fingerprint}, {same}]")
    for (uid, pid), why in WRONG_PAIRS.items():
        print(f"    wrong: {uid} {pid}: {why}")

    # actors, for the record ---------------------------------------------------------------
    actor_counts = collections.Counter(a for e in extractions for a in e.mentioned["actors"])
    print("top actors:", ", ".join(f"{a} {c}" for a, c in actor_counts.most_common(15)))
    place_counts = collections.Counter(p for e in extractions for p in e.mentioned["places"])
    print("top places:", ", ".join(f"{a} {c}" for a, c in place_counts.most_common(15)))

    # unknown names ------------------------------------------------------------------------
    print("unknown capitalised names (top 50):")
    for name, count in gaz.unknown_names(texts, limit=50):
        print(f"  {count:4d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
