"""Read and check gazetteer data files (TOML curated files, the generated places JSON).

The result is plain records (dicts) per kind, merged in load order; `search.entities`
turns them into `Entity` objects and the name index. Every problem raises `GazetteerError`
naming the file and line and saying how to fix it. Pure Python: no Whoosh, no Flask.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import SearchError

KINDS = ("actors", "places", "operations")

ACTOR_KINDS = (
    "government", "state army", "security force", "militia", "rebel group", "political opposition",
    "political party", "jihadist group", "coalition", "foreign state", "foreign army",
    "international organisation", "humanitarian organisation", "monitor", "tribe",
)
PLACE_TYPES = (
    "country", "province", "governorate", "district", "sub-district", "city", "town", "village",
    "neighbourhood", "region", "river", "road", "site",
)
OPERATION_TYPES = ("military operation", "campaign", "programme")

_COMMON_KEYS = {"id", "name", "aliases", "parent", "note"}
ALLOWED_KEYS = {
    "actors": _COMMON_KEYS | {"kind"},
    "places": _COMMON_KEYS | {"type", "lat", "lon", "pcode", "geonameid", "drop_aliases",
                              "geonames_admin1", "population", "index_name"},
    "operations": _COMMON_KEYS | {"type", "actor", "start", "end"},
}
TOP_LEVEL_KEYS = set(KINDS) | {"stop"}
BUNDLED_FILES = ("places.json", "places.toml", "actors.toml", "operations.toml", "stopphrases.toml")


class GazetteerError(SearchError):
    """A gazetteer file is wrong; the message names the file and line and says how to fix it."""

    exit_code = 2


def bundled_dir() -> Path:
    """search/gazetteer/, shipped as package data (globs gazetteer/*.toml, *.json, *.txt)."""
    return Path(__file__).resolve().parent / "gazetteer"


class Records:
    """Merged raw records: `by_kind[kind][id] -> dict`, plus stop phrases and load origins."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.stop: list[str] = []
        self.origin: dict[tuple[str, str], str] = {}   # (kind, id) -> "file:line" that created it

    # -- reading ----------------------------------------------------------------------
    def load_json(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GazetteerError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); "
                                 "regenerate it with `python tools/build_gazetteer.py`") from None
        lines = _id_lines(text, r'^"id":\s*"([^"]+)"')
        for rec in data.get("places", []):
            where = f"{path}:{lines.get(rec.get('id'), 1)}"
            self._add("places", dict(rec), where, generated=True)

    def load_toml(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GazetteerError(f"{path}: cannot read gazetteer file ({exc.strerror}); "
                                 "check the gazetteer file path (--gazetteer or $REPORTS_GAZETTEER)") from None
        except UnicodeDecodeError:
            raise GazetteerError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            raise GazetteerError(
                f"{path}:{line.group(1) if line else 1}: invalid TOML ({exc}); fix the syntax, "
                "e.g. quote strings and write lists as [\"a\", \"b\"]") from None
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                raise GazetteerError(
                    f"{path}:{_line_of(text, key)}: unknown section {key!r}; use [[actors]], "
                    "[[places]], [[operations]] or stop = [...]")
        stop = data.get("stop", [])
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise GazetteerError(f"{path}:{_line_of(text, 'stop')}: `stop` must be a list of strings")
        self.stop.extend(stop)
        for kind in KINDS:
            entries = data.get(kind, [])
            if not isinstance(entries, list):
                raise GazetteerError(f"{path}:{_line_of(text, kind)}: write each entry as a "
                                     f"[[{kind}]] table")
            header_lines = [i + 1 for i, line in enumerate(text.splitlines())
                            if line.strip() == f"[[{kind}]]"]
            for n, entry in enumerate(entries):
                line = header_lines[n] if n < len(header_lines) else 1
                self._add(kind, dict(entry), f"{path}:{line}", generated=False)

    # -- merging ----------------------------------------------------------------------
    def _add(self, kind: str, rec: dict[str, Any], where: str, generated: bool) -> None:
        singular = kind[:-1]
        unknown = set(rec) - ALLOWED_KEYS[kind]
        if unknown:
            raise GazetteerError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))} in a {singular} entry; "
                f"allowed: {', '.join(sorted(ALLOWED_KEYS[kind]))}")
        pid = rec.get("id")
        if not isinstance(pid, str) or not pid.strip():
            raise GazetteerError(f"{where}: {singular} entry without an id; add id = \"some-slug\"")
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", pid):
            raise GazetteerError(f"{where}: id {pid!r} is not a slug; use lower-case letters, "
                                 "digits and hyphens, e.g. \"deir-ez-zor\"")
        aliases = rec.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise GazetteerError(f"{where}: aliases of {pid!r} must be a list of strings")
        kind_field = "kind" if kind == "actors" else "type"
        table = self.by_kind[kind]
        old = table.get(pid)
        if old is not None:  # merge into an existing entity
            if kind_field in rec and rec[kind_field] != old.get(kind_field):
                raise GazetteerError(
                    f"{where}: {singular} {pid!r} already exists ({self.origin[(kind, pid)]}) with "
                    f"{kind_field} {old.get(kind_field)!r}, not {rec[kind_field]!r}; use another id "
                    f"or drop the {kind_field} line to add aliases to the existing entry")
            for key, value in rec.items():
                if key == "aliases":
                    old["aliases"] = list(old.get("aliases", [])) + [a for a in value
                                                                     if a not in old.get("aliases", [])]
                elif key not in ("id", "drop_aliases"):
                    old[key] = value
            old.setdefault("_sources", []).append(where)
            return
        if not isinstance(rec.get("name"), str) or not rec["name"].strip():
            raise GazetteerError(
                f"{where}: new {singular} {pid!r} has no name; add name = \"Display name\" "
                f"(or, to add aliases to an existing entry, use an id that exists)")
        if kind == "actors":
            if rec.get("kind") not in ACTOR_KINDS:
                raise GazetteerError(f"{where}: actor {pid!r} has kind {rec.get('kind')!r}; "
                                     f"use one of: {', '.join(ACTOR_KINDS)}")
        elif kind == "places":
            if rec.get("type") not in PLACE_TYPES:
                raise GazetteerError(f"{where}: place {pid!r} has type {rec.get('type')!r}; "
                                     f"use one of: {', '.join(PLACE_TYPES)}")
            for key in ("lat", "lon"):
                if rec.get(key) is not None and not isinstance(rec[key], (int, float)):
                    raise GazetteerError(f"{where}: {key} of {pid!r} must be a number")
        else:
            rec.setdefault("type", "military operation")
            if rec["type"] not in OPERATION_TYPES:
                raise GazetteerError(f"{where}: operation {pid!r} has type {rec['type']!r}; "
                                     f"use one of: {', '.join(OPERATION_TYPES)}")
            if not isinstance(rec.get("actor"), str):
                raise GazetteerError(f"{where}: operation {pid!r} needs actor = \"<actor id>\"")
        rec["_generated"] = generated
        rec["_sources"] = [where]
        table[pid] = rec
        self.origin[(kind, pid)] = where

    def check(self) -> None:
        """Every parent exists (same kind), no parent cycles, every operation's actor exists."""
        for kind, table in self.by_kind.items():
            for pid, rec in table.items():
                parent = rec.get("parent")
                if parent is not None and parent not in table:
                    raise GazetteerError(
                        f"{rec['_sources'][-1]}: {kind[:-1]} {pid!r} has unknown parent {parent!r}; "
                        f"use the id of an existing {kind[:-1]} or add that entry first")
                seen = {pid}
                while parent is not None:
                    if parent in seen:
                        raise GazetteerError(f"{rec['_sources'][-1]}: parent chain of {pid!r} loops "
                                             f"back to {parent!r}; break the cycle")
                    seen.add(parent)
                    parent = table[parent].get("parent")
        for pid, rec in self.by_kind["operations"].items():
            if rec["actor"] not in self.by_kind["actors"]:
                raise GazetteerError(f"{rec['_sources'][-1]}: operation {pid!r} names unknown actor "
                                     f"{rec['actor']!r}; use an actor id from actors.toml")


def load_records(extra_paths=()) -> Records:
    records = Records()
    base = bundled_dir()
    for name in BUNDLED_FILES:
        path = base / name
        if name.endswith(".json"):
            records.load_json(path)
        else:
            records.load_toml(path)
    for extra in extra_paths:
        records.load_toml(Path(extra))
    records.check()
    return records


def _id_lines(text: str, pattern: str) -> dict[str, int]:
    out: dict[str, int] = {}
    rx = re.compile(pattern)
    for i, line in enumerate(text.splitlines(), 1):
        m = rx.match(line.strip())
        if m:
            out.setdefault(m.group(1), i)
    return out


def _line_of(text: str, key: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*(\[\[?)?{re.escape(key)}\b", line):
            return i
    return 1
