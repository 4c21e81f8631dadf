"""Reading report files into `Report` records.

A reports folder holds:

* plain-text reports (`*.txt`, `*.md`, or any other text file): an optional header block of
  `key: value` lines (date, source, url, title), then the title, the lede and body
  paragraphs; the web-page boilerplate lines (`skip to Main Content`, `Back To Top`) are
  dropped, and a title repeated in Title Case on the next line is kept once;
* optional sidecars `NAME.json` beside `NAME.txt` with the same metadata keys;
* imported archives `*.jsonl` (written by `reports import`), one report per line.

Every report gets a stable id: its path relative to the folder (`000_bbe9.txt`), or for an
archive record `ARCHIVE-PATH-WITHOUT-.jsonl:RECORD-ID`.

Files that cannot be reports (empty, binary, over-size, undecodable names, symlinks leading
out of the folder) are skipped with a reason, counted, and never indexed.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ARCHIVE_SUFFIX = ".jsonl"
BOILERPLATE = frozenset({"skip to main content", "back to top"})
HEADER_KEYS = frozenset({"date", "source", "url", "title"})
BINARY_SNIFF_BYTES = 8000
MAX_TITLE_CHARS = 300

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff\ufffe]")
_HEADER_LINE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_BLANKS = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Report:
    """One report, as indexed. `hash` identifies its content (and metadata)."""

    id: str
    title: str
    lede: str = ""
    body: str = ""
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    path: str | None = None
    hash: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(p for p in (self.title, self.lede, self.body) if p)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Entry:
    """A report found by a scan: its id, a hash of its source bytes, and where to load it
    from. Plain data (picklable), so a worker process can load it."""

    id: str
    path: str
    hash: str
    source: tuple = field(repr=False)   # ("file", path, sidecar or None) | ("line", path, offset, length)

    def load(self) -> "Report | Skipped":
        if self.source[0] == "line":
            _, full, offset, length = self.source
            return load_line(full, offset, length, self.id, self.path, self.hash)
        return load_file(self.source[1], self.path, self.source[2])


@dataclass
class Scan:
    entries: dict[str, Entry] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        if entry.id in self.entries:
            self.skipped.append(Skipped(entry.path, f"duplicate id {entry.id!r}: kept the first"))
        else:
            self.entries[entry.id] = entry


# --------------------------------------------------------------------------- decoding


def decode(data: bytes) -> str:
    """Bytes to clean text: UTF-8 (with or without BOM), UTF-16 with BOM, then cp1252, then
    Latin-1; control characters stripped, line ends unified, Unicode NFC."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    return clean_text(text)


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\ufffd", "")
    return unicodedata.normalize("NFC", text)


def is_binary(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def content_hash(*parts: bytes | str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


# --------------------------------------------------------------------------- dates

_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def parse_date(value: object, fmt: str | None = None) -> dt.date | None:
    """A date from an ISO string, `D Month YYYY`, `Month D, YYYY`, US `M/D/YYYY` or `M/D/YY`,
    or the explicit strptime `fmt`. Anything else is None (the report is simply undated)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if not s:
        return None
    try:
        if fmt:
            return dt.datetime.strptime(s, fmt).date()
        m = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$", s)
        if m:
            year = int(m[3])
            if year < 100:
                year += 2000 if year < 70 else 1900
            return dt.date(year, int(m[1]), int(m[2]))
        m = re.match(r"^(\d{1,2})\s+([A-Za-z]{3,})\.?,?\s+(\d{4})$", s)
        if m and m[2][:3].lower() in _MONTHS:
            return dt.date(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
        m = re.match(r"^([A-Za-z]{3,})\.?\s+(\d{1,2}),?\s+(\d{4})$", s)
        if m and m[1][:3].lower() in _MONTHS:
            return dt.date(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
        m = re.match(r"^(\d{4})$", s)
        if m:
            return dt.date(int(m[1]), 1, 1)
    except ValueError:
        return None
    return None


# --------------------------------------------------------------------------- parsing


def parse_report(text: str, *, id: str, path: str | None = None, meta: dict | None = None,
                 hash: str = "") -> Report | Skipped:
    """Split report text into title, lede and body; drop boilerplate; read a header block."""
    meta = dict(meta or {})
    lines = text.split("\n")
    # Header block: consecutive `key: value` lines at the very top, ended by a blank line.
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    j = i
    while j < len(lines):
        m = _HEADER_LINE.match(lines[j])
        if not m or m[1].lower() not in HEADER_KEYS:
            break
        header[m[1].lower()] = m[2]
        j += 1
    if header and (j == len(lines) or not lines[j].strip()):
        lines = lines[j:]
        for key, value in header.items():
            meta.setdefault(key, value)
    kept = [ln for ln in lines if ln.strip().lower() not in BOILERPLATE]
    paragraphs = [" ".join(p.split()) for p in _BLANKS.split("\n".join(kept))]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs and not meta.get("title"):
        return Skipped(path or id, "empty: no text after removing boilerplate")
    title = str(meta.get("title") or "").strip()
    if not title:
        title = paragraphs.pop(0)
    if paragraphs and paragraphs[0].lower() == title.lower():
        paragraphs.pop(0)          # the title repeated in Title Case
    if len(title) > MAX_TITLE_CHARS:  # a one-paragraph file: the start is not a title
        paragraphs.insert(0, title)
        title = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + " …"
    lede = paragraphs.pop(0) if paragraphs else ""
    return Report(
        id=id,
        title=title,
        lede=lede,
        body="\n\n".join(paragraphs),
        date=parse_date(meta.get("date")),
        source=(str(meta["source"]).strip() or None) if meta.get("source") else None,
        url=(str(meta["url"]).strip() or None) if meta.get("url") else None,
        path=path,
        hash=hash,
    )


def report_from_record(record: dict, *, id: str, path: str, hash: str) -> Report | Skipped:
    """A report from an archive record (keys: title, lede, body, date, source, url)."""
    title = clean_text(str(record.get("title") or "")).strip()
    lede = clean_text(str(record.get("lede") or "")).strip()
    body = clean_text(str(record.get("body") or "")).strip()
    if not (title or lede or body):
        return Skipped(f"{path}:{id}", "empty record")
    # An untitled record stays untitled in the index (a title made from its text would count
    # that text again, with the title's boost); pages show display_title() instead.
    body = "\n\n".join(" ".join(p.split()) for p in _BLANKS.split(body) if p.strip())
    return Report(id=id, title=" ".join(title.split()), lede=" ".join(lede.split()), body=body,
                  date=parse_date(record.get("date")),
                  source=str(record["source"]).strip() or None if record.get("source") else None,
                  url=str(record["url"]).strip() or None if record.get("url") else None,
                  path=path, hash=hash)


def display_title(title: str, lede: str = "", body: str = "", width: int = 120) -> str:
    """The title to show: the report's own, or the start of its text for an untitled one."""
    if title:
        return title
    text = " ".join((lede or body).split())
    if len(text) <= width:
        return text or "(untitled)"
    return text[:width].rsplit(" ", 1)[0] + " …"


# --------------------------------------------------------------------------- scanning


def scan(root: Path, *, max_file_bytes: int, max_archive_bytes: int) -> Scan:
    """Walk the reports folder: every report with a cheap content hash and a loader."""
    result = Scan()
    root = Path(root)
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            rel = os.path.relpath(os.path.join(dirpath, d), root).replace(os.sep, "/")
            result.skipped.append(Skipped(os.fsencode(rel).decode("utf-8", "replace"),
                                          "symlink to a folder: not followed"))
            dirnames.remove(d)   # os.walk does not follow it either; say so
        names = set(filenames)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                result.skipped.append(Skipped(rel.encode("utf-8", "replace").decode(),
                                              "file name is not valid UTF-8: rename the file"))
                continue
            stem, suffix = os.path.splitext(name)
            if suffix.lower() == ".json" and any(n != name and os.path.splitext(n)[0] == stem
                                                 for n in names):
                continue   # a sidecar, read with its report
            if os.path.islink(full):
                target = os.path.realpath(full)
                if os.path.commonpath([real_root, target]) != real_root:
                    result.skipped.append(Skipped(rel, "symlink points outside the reports folder"))
                    continue
            try:
                st = os.stat(full)
            except OSError as exc:
                result.skipped.append(Skipped(rel, f"cannot read: {exc.strerror}"))
                continue
            if not os.path.isfile(full):
                result.skipped.append(Skipped(rel, "not a regular file (a FIFO, socket or device)"))
                continue
            if suffix.lower() == ARCHIVE_SUFFIX:
                if st.st_size > max_archive_bytes:
                    result.skipped.append(Skipped(rel, f"archive larger than {max_archive_bytes} bytes"))
                    continue
                for item in _scan_archive(full, rel):
                    if isinstance(item, Skipped):
                        result.skipped.append(item)
                    else:
                        result.add(item)
                continue
            if st.st_size == 0:
                result.skipped.append(Skipped(rel, "empty file"))
                continue
            if st.st_size > max_file_bytes:
                result.skipped.append(Skipped(rel, f"larger than {max_file_bytes} bytes"))
                continue
            sidecar = os.path.join(dirpath, stem + ".json") if suffix else None
            if sidecar and not os.path.exists(sidecar):
                sidecar = None
            entry = _file_entry(full, rel, sidecar)
            if isinstance(entry, Skipped):
                result.skipped.append(entry)
            else:
                result.add(entry)
    return result


def _read(full: str) -> bytes:
    with open(full, "rb") as f:
        return f.read()


def _file_entry(full: str, rel: str, sidecar: str | None) -> Entry | Skipped:
    try:
        data = _read(full)
        meta_bytes = _read(sidecar) if sidecar else b""
    except OSError as exc:
        return Skipped(rel, f"cannot read: {exc.strerror}")
    if is_binary(data):
        return Skipped(rel, "binary file (NUL bytes)")
    return Entry(id=rel, path=rel, hash=content_hash(data, meta_bytes),
                 source=("file", full, sidecar))


def load_file(full: str, rel: str, sidecar: str | None) -> Report | Skipped:
    """Read and parse a report file. The hash is of the bytes actually parsed, so a file
    that changed since the scan is indexed as it is now, and seen as unchanged next time."""
    try:
        data = _read(full)
        meta_bytes = _read(sidecar) if sidecar else b""
    except OSError as exc:
        return Skipped(rel, f"cannot read: {exc.strerror}")
    if not data.strip():
        return Skipped(rel, "empty file")
    if is_binary(data):
        return Skipped(rel, "binary file (NUL bytes)")
    meta: dict = {}
    if meta_bytes:
        try:
            loaded = json.loads(decode(meta_bytes))
            if isinstance(loaded, dict):
                meta = {k.lower(): v for k, v in loaded.items() if k.lower() in HEADER_KEYS}
        except ValueError:
            pass
    return parse_report(decode(data), id=rel, path=rel, meta=meta,
                        hash=content_hash(data, meta_bytes))


_ARCHIVE_ID = re.compile(rb'^\{"id":\s*"([^"\\]*)"')


def _scan_archive(full: str, rel: str) -> Iterator[Entry | Skipped]:
    """One entry per line. A line's hash and id are read without parsing the whole record
    (archives written by `reports import` start each line with its id); the record itself is
    read again, by offset, only when it has to be indexed."""
    try:
        data = _read(full)
    except OSError as exc:
        yield Skipped(rel, f"cannot read: {exc.strerror}")
        return
    prefix = rel[: -len(ARCHIVE_SUFFIX)]
    offset = 0
    for lineno, line in enumerate(data.split(b"\n"), start=1):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            continue
        m = _ARCHIVE_ID.match(line)
        if m:
            rid = m[1].decode("utf-8", "replace").strip()
        else:
            record = _record(line)
            if record is None:
                yield Skipped(f"{rel}:{lineno}", "not a JSON object")
                continue
            rid = str(record.get("id") or "").strip()
        if not rid:
            yield Skipped(f"{rel}:{lineno}", "record has no id")
            continue
        yield Entry(id=f"{prefix}:{rid}", path=rel, hash=content_hash(line),
                    source=("line", full, start, len(line)))


def load_line(full: str, offset: int, length: int, report_id: str, rel: str,
              digest: str) -> Report | Skipped:
    try:
        with open(full, "rb") as f:
            f.seek(offset)
            line = f.read(length)
    except OSError as exc:
        return Skipped(f"{rel}:{report_id}", f"cannot read: {exc.strerror}")
    if content_hash(line) != digest:
        return Skipped(f"{rel}:{report_id}", "the archive changed while it was read: run the update again")
    record = _record(line)
    if record is None:
        return Skipped(f"{rel}:{report_id}", "not a JSON object")
    return report_from_record(record, id=report_id, path=rel, hash=digest)


def _record(line: bytes) -> dict | None:
    """An archive line as a JSON object, or None."""
    try:
        record = json.loads(decode(line))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
