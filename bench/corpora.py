"""The benchmark corpora, written as reports folders the engine scans like a user's.

Each loader returns plain records `{id, title, lede, body, date, source, url}` (the keys of a
`reports import` archive line) plus, for Reuters, the PLACES and ORGS tags used to make
realistic queries. `write_archive` puts many records into ONE `imported/NAME.jsonl` archive
(thousands of small files would measure the file system, not the engine).

Corpora live in the shared folder beside the repository (`shared/corpora/`); see each
`SOURCE.md` there for provenance and format quirks.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def corpora_root() -> Path:
    for candidate in (REPO.parent / "shared" / "corpora", Path("/work/shared/corpora")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no shared/corpora folder beside the repository: put the corpora at "
                            "../shared/corpora")


@dataclass
class Corpus:
    name: str
    label: str
    records: list[dict] = field(default_factory=list)
    places: dict[str, list[str]] = field(default_factory=dict)   # record id -> PLACES tags
    orgs: dict[str, list[str]] = field(default_factory=dict)     # record id -> ORGS tags
    files_dir: Path | None = None        # a folder of report files instead of records


# --------------------------------------------------------------------------- seeds

def seeds() -> Corpus:
    return Corpus("seeds", "the 5 seed reports (text files)", files_dir=REPO / "seeds")


# --------------------------------------------------------------------------- FA-KES

def fakes(limit: int | None = None) -> Corpus:
    """FA-KES `fakes.csv`: not valid UTF-8 (stray 0x95 0x81 bytes), read as cp1252 with
    replacement; duplicated unit_ids keep the first row (as `reports import` does)."""
    path = corpora_root() / "fakes" / "fakes.csv"
    text = path.read_bytes().decode("cp1252", errors="replace").replace("\ufffd", "")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    records, seen = [], set()
    for row in rows:
        rid = row["unit_id"].strip()
        if not rid or rid in seen:
            continue
        seen.add(rid)
        records.append({"id": rid, "title": row["article_title"].strip(),
                        "body": row["article_content"].strip(),
                        "date": _us_date(row["date"]), "source": row["source"].strip() or None})
        if limit and len(records) >= limit:
            break
    return Corpus("fakes", f"FA-KES ({len(records)} unique articles, fakes.csv)", records)


def _us_date(value: str) -> str | None:
    m = re.match(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\s*$", value or "")
    if not m:
        return None
    year = int(m[3])
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return dt.date(year, int(m[1]), int(m[2])).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- Reuters

_DOC = re.compile(r'<REUTERS\b([^>]*)>(.*?)</REUTERS>', re.S)
_NEWID = re.compile(r'NEWID="(\d+)"')
_CTRL_ENTITY = re.compile(r"&#(\d+);")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAGS = re.compile(r"<[^>]+>")


def _tag(text: str, name: str) -> str | None:
    m = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", text, re.S)
    return m[1] if m else None


def _unescape(text: str) -> str:
    text = _CTRL_ENTITY.sub(lambda m: "" if int(m[1]) < 32 else m[0], text)
    return _CONTROL.sub("", html.unescape(text))


def _d_list(text: str | None) -> list[str]:
    return re.findall(r"<D>(.*?)</D>", text or "")


def _reuters_date(value: str | None) -> str | None:
    m = re.match(r"\s*(\d{1,2})-([A-Z]{3})-(\d{4})", value or "")
    if not m:
        return None
    try:
        return dt.datetime.strptime(f"{m[1]}-{m[2].title()}-{m[3]}", "%d-%b-%Y").date().isoformat()
    except ValueError:
        return None


def reuters(limit: int | None = None) -> Corpus:
    """Reuters-21578: SGML in latin-1 with control-character entities. Title from TITLE,
    body from BODY (or the bare TEXT of UNPROC/BRIEF stories), date from DATE."""
    folder = corpora_root() / "reuters21578"
    corpus = Corpus("reuters", "Reuters-21578 (all 21,578 stories)")
    for path in sorted(folder.glob("reut2-*.sgm")):
        data = path.read_bytes().decode("latin-1")
        for m in _DOC.finditer(data):
            attrs, inner = m[1], m[2]
            rid = _NEWID.search(attrs)[1]
            text = _tag(inner, "TEXT") or ""
            title = _unescape(_tag(text, "TITLE") or "").strip()
            body = _tag(text, "BODY")
            if body is None:
                body = _TAGS.sub(" ", re.sub(r"<TITLE>.*?</TITLE>|<DATELINE>.*?</DATELINE>", " ",
                                            text, flags=re.S))
            body = _unescape(body).strip()
            body = re.sub(r"\s*\bReuter\s*$", "", body)
            if not (title or body):
                continue
            corpus.records.append({"id": rid, "title": title, "body": body,
                                   "date": _reuters_date(_tag(inner, "DATE")), "source": "reuters"})
            corpus.places[rid] = _d_list(_tag(inner, "PLACES"))
            corpus.orgs[rid] = _d_list(_tag(inner, "ORGS"))
            if limit and len(corpus.records) >= limit:
                corpus.label = f"Reuters-21578 (first {limit:,} stories)"
                return corpus
    corpus.label = f"Reuters-21578 ({len(corpus.records):,} stories)"
    return corpus


def replicated(base: Corpus, size: int) -> Corpus:
    """`size` documents made by repeating `base` with new ids and dates shifted by whole
    years per copy (copy k: +k years). Same texts, so the vocabulary does not grow."""
    out = Corpus(f"{base.name}{size // 1000}k",
                 f"{size:,} documents: {base.name} replicated (ids and dates varied; same texts)")
    copy = 0
    while len(out.records) < size:
        for rec in base.records:
            if len(out.records) >= size:
                break
            r = dict(rec)
            r["id"] = f"c{copy}-{rec['id']}"
            if rec.get("date"):
                d = dt.date.fromisoformat(rec["date"])
                try:
                    r["date"] = d.replace(year=d.year + copy).isoformat()
                except ValueError:      # 29 February
                    r["date"] = d.replace(year=d.year + copy, day=28).isoformat()
            out.records.append(r)
            out.places[r["id"]] = base.places.get(rec["id"], [])
            out.orgs[r["id"]] = base.orgs.get(rec["id"], [])
        copy += 1
    return out


# --------------------------------------------------------------------------- writing

def write_archive(records: list[dict], reports_dir: Path, name: str) -> Path:
    target = Path(reports_dir) / "imported" / f"{name}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps({k: v for k, v in rec.items() if v not in (None, "")},
                               ensure_ascii=False) + "\n")
    return target


def write_files(records: list[dict], reports_dir: Path) -> Path:
    """One text file per record, with a header block (date, source, title)."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    for rec in records:
        header = [f"{k}: {rec[k]}" for k in ("date", "source", "title") if rec.get(k)]
        text = "\n".join(header) + "\n\n" + (rec.get("lede") or "") + "\n\n" + (rec.get("body") or "")
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(rec["id"])) + ".txt"
        (reports_dir / name).write_text(text, encoding="utf-8")
    return reports_dir


def dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total
