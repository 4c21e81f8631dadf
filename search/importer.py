"""`reports import`: bring a CSV or JSONL export of another archive into the reports folder.

Rows become records of an archive file `REPORTS/imported/NAME.jsonl` (written atomically),
which the scanner reads like any other report, so imported reports are indexed like files
and survive a rebuild. Columns are mapped to report fields by a mapping
(`{"title": "article_title", ...}`), or guessed from common names.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ImportFailed
from .ingest import decode, parse_date

FIELDS = ("id", "title", "lede", "body", "date", "source", "url")
GUESSES = {
    "id": ("id", "unit_id", "uid", "doc_id", "docid", "article_id", "guid"),
    "title": ("title", "article_title", "headline", "heading"),
    "lede": ("lede", "summary", "abstract", "description"),
    "body": ("body", "content", "article_content", "text", "article", "article_text"),
    "date": ("date", "published", "pub_date", "published_at", "datetime"),
    "source": ("source", "outlet", "publisher", "site"),
    "url": ("url", "link", "href"),
}


@dataclass
class ImportSummary:
    archive: str
    written: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"archive": self.archive, "written": self.written, "duplicates": self.duplicates,
                "skipped": len(self.skipped), "skipped_rows": self.skipped[:50],
                "mapping": self.mapping}


def parse_mapping(pairs) -> dict[str, str]:
    """['title=article_title', ...] -> {'title': 'article_title'}."""
    mapping = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise ImportFailed(f"bad mapping {pair!r}: write FIELD=COLUMN, e.g. --map title=article_title")
        key, column = (p.strip() for p in pair.split("=", 1))
        if key not in FIELDS:
            raise ImportFailed(f"unknown field {key!r} in --map: use one of {', '.join(FIELDS)}")
        mapping[key] = column
    return mapping


def read_rows(path: Path, fmt: str | None) -> list[dict]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}; check the path")
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    text = decode(data)
    if fmt in ("jsonl", "ndjson"):
        rows = []
        for n, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    raise ImportFailed(f"{path}:{n} is not JSON: fix the line or remove it")
                if isinstance(row, dict):
                    rows.append(row)
        return rows
    if fmt in ("csv", "tsv", "txt"):
        csv.field_size_limit(64 * 1024 * 1024)
        sample = text[:20000]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        except csv.Error:
            dialect = csv.excel_tab if fmt == "tsv" else csv.excel
        return list(csv.DictReader(io.StringIO(text, newline=""), dialect=dialect))
    raise ImportFailed(f"cannot import {path.name}: use a .csv or .jsonl file, or pass --format csv|jsonl")


def guess_mapping(columns, given: dict[str, str]) -> dict[str, str]:
    lowered = {c.strip().lower(): c for c in columns if c}
    mapping = dict(given)
    for key, names in GUESSES.items():
        if key in mapping:
            continue
        for name in names:
            if name in lowered:
                mapping[key] = lowered[name]
                break
    missing = [c for c in mapping.values() if c not in columns]
    if missing:
        raise ImportFailed(f"no column {missing[0]!r} in the file (columns: {', '.join(columns)}); fix --map")
    if "body" not in mapping and "title" not in mapping:
        raise ImportFailed(f"cannot tell which column holds the text (columns: {', '.join(columns)}): "
                           f"pass --map body=COLUMN --map title=COLUMN")
    return mapping


def import_table(path: str | Path, reports_dir: str | Path, *, fmt: str | None = None,
                 mapping: dict[str, str] | None = None, name: str | None = None,
                 date_format: str | None = None) -> ImportSummary:
    path = Path(path)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name or path.stem).strip("-.") or "import"
    rows = read_rows(path, fmt)
    target = Path(reports_dir) / "imported" / f"{name}.jsonl"
    summary = ImportSummary(archive=str(target))
    if not rows:
        raise ImportFailed(f"{path} holds no rows: check the file and --format")
    columns = list(rows[0].keys())
    summary.mapping = mapping = guess_mapping(columns, mapping or {})
    seen: set[str] = set()
    lines: list[str] = []
    for n, row in enumerate(rows, start=2):   # row 1 is the header
        record = {key: (row.get(column) or "").strip() if isinstance(row.get(column), str)
                  else row.get(column) for key, column in mapping.items()}
        rid = str(record.get("id") or "").strip() or f"row{n}"
        record["id"] = rid
        if not (record.get("title") or record.get("body")):
            summary.skipped.append(f"row {n}: no title or text")
            continue
        if rid in seen:
            summary.duplicates += 1
            continue
        seen.add(rid)
        date = parse_date(record.get("date"), date_format)
        record["date"] = date.isoformat() if date else None
        lines.append(json.dumps({k: v for k, v in record.items() if v not in (None, "")},
                                ensure_ascii=False))
        summary.written += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return summary
