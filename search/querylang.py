"""The query language, parsed without Whoosh and without exceptions.

    Hajin offensive           all words (reports with every word rank first; if few or none
                              have them all, reports with some of them follow)
    "Jazeera Storm"           a phrase; quoting also turns off alias expansion (exact words)
    -Damascus  -"Deir Ezzor"  exclusion
    SDF OR YPG                either (OR binds tighter than the implicit AND)
    actor:Daesh place:"Abu Kamal" operation:"Round Up" source:reuters title:Hajin
    date:2018  date:2018-07  date:2018-07-01..2018-08-31  date:>=2018-07  date:<2019
    offens*                   prefix (at least 3 letters; expansion capped)

Anything else is read as plain words, with a notice saying what was ignored: parentheses,
unknown fields (`nosuch:x` searches "nosuch x"), lone operators, an unbalanced quote (the
quote is dropped), leading wildcards (`*ing`), fuzzy marks (`x~2`). `parse` never raises on
user text; over-long input is cut to the configured caps, with a notice.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

FIELD_NAMES = {
    "title": "title",
    "actor": "actors", "actors": "actors",
    "place": "places", "places": "places",
    "operation": "operations", "operations": "operations", "op": "operations",
    "source": "source",
    "date": "date", "year": "date",
}

_TOKEN = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z_]+):)?(?:"(?P<phrase>[^"]*)"|(?P<open>")|(?P<word>[^\s"]+))'
)
_WILDCARD_CHARS = "*?"


@dataclass(frozen=True)
class Word:
    text: str
    exact: bool = False      # from a quoted single word: no alias expansion
    prefix: bool = False     # `word*`


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class FieldValue:
    field: str               # canonical: title, actors, places, operations, source
    value: str
    quoted: bool = False


@dataclass(frozen=True)
class DateSpan:
    start: dt.date | None
    end: dt.date | None      # inclusive
    text: str


@dataclass(frozen=True)
class Entity:
    """A run of query words that names a gazetteer entity (filled in by the query layer)."""

    kind: str
    id: str
    label: str
    text: str


@dataclass
class Clause:
    item: object
    negated: bool = False


@dataclass
class ParsedQuery:
    """groups: AND of OR-groups of clauses; negatives: excluded clauses."""

    groups: list[list[Clause]] = field(default_factory=list)
    negatives: list[Clause] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def empty(self) -> bool:
        return not self.groups and not self.negatives

    def positive_items(self):
        for group in self.groups:
            for clause in group:
                yield clause.item


def normalise(text: str) -> str:
    """NFC, control characters (and NUL) removed, whitespace folded."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c if (c.isprintable() or c in " \t") else " " for c in text)
    return " ".join(text.split())


def parse(text: str, *, max_chars: int = 1000, max_terms: int = 64,
          prefix_min_chars: int = 3) -> ParsedQuery:
    notices: list[str] = []
    text = normalise(text or "")
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
        notices.append(f"The query was cut to {max_chars} characters.")
    result = ParsedQuery(notices=notices, text=text)

    if any(c in text for c in "()[]{}"):
        notices.append("Parentheses and brackets are not supported; the words were searched as given.")
        text = re.sub(r"[()\[\]{}]", " ", text)

    units: list[object] = []   # Clause | "OR"
    count = 0
    unbalanced = False
    for m in _TOKEN.finditer(text):
        if count >= max_terms:
            notices.append(f"Only the first {max_terms} terms were used.")
            break
        negated = bool(m["neg"])
        fname = m["field"]
        if m["open"] is not None:
            unbalanced = True
            continue
        if m["phrase"] is not None:
            value, quoted = m["phrase"], True
        else:
            value, quoted = m["word"], False
        if fname is not None and fname.lower() not in FIELD_NAMES:
            notices.append(f"There is no field {fname!r}; it was searched as a word. "
                           f"Fields: actor, place, operation, source, title, date.")
            units.append(Clause(Word(fname), negated))
            count += 1
            fname = None
            negated = False
        if not quoted and value in ("OR", "|", "||"):
            units.append("OR")
            continue
        if not quoted and value in ("AND", "&&", "+", "NOT", "-", "&"):
            if value == "NOT":
                units.append("NOT")
            continue
        if fname is not None:
            canonical = FIELD_NAMES[fname.lower()]
            if canonical == "date":
                span = parse_date_span(value)
                if span is None:
                    notices.append(f"{value!r} is not a date or date range "
                                   f"(try date:2018, date:2018-07, date:2018-07-01..2018-08-31); "
                                   f"it was ignored.")
                    continue
                units.append(Clause(span, negated))
            else:
                value = value.strip()
                if not value:
                    continue
                units.append(Clause(FieldValue(canonical, value, quoted), negated))
            count += 1
            continue
        if quoted:
            cleaned = " ".join(value.split())
            if not cleaned:
                continue
            item = Word(cleaned, exact=True) if " " not in cleaned else Phrase(cleaned)
            units.append(Clause(item, negated))
            count += 1
            continue
        item = _word(value, notices, prefix_min_chars)
        if item is not None:
            units.append(Clause(item, negated))
            count += 1
    if unbalanced:
        notices.append("A quote was not closed; it was ignored.")

    # NOT applies to the next clause; OR joins its neighbours.
    pending_or = False
    pending_not = False
    for unit in units:
        if unit == "OR":
            pending_or = bool(result.groups)
            continue
        if unit == "NOT":
            pending_not = True
            continue
        clause = unit
        if pending_not:
            clause.negated = True
            pending_not = False
        if clause.negated:
            result.negatives.append(clause)
            pending_or = False
            continue
        if pending_or and result.groups:
            result.groups[-1].append(clause)
        else:
            result.groups.append([clause])
        pending_or = False
    if units and (units[0] == "OR" or units[-1] in ("OR", "NOT")):
        notices.append("A lone operator (OR/NOT) was ignored.")
    return result


def _word(value: str, notices: list[str], prefix_min_chars: int) -> Word | None:
    if "~" in value:
        base = value.split("~", 1)[0]
        notices.append(f"Fuzzy search ({value!r}) is not supported; searched for {base!r}.")
        value = base
    if value.startswith(tuple(_WILDCARD_CHARS)):
        notices.append(f"Wildcards at the start of a word ({value!r}) are not supported; "
                       f"the word was ignored.")
        return None
    if value.endswith("*") and value.count("*") == 1 and "?" not in value:
        stem = value[:-1]
        letters = sum(c.isalnum() for c in stem)
        if letters >= prefix_min_chars and stem.isalnum():
            return Word(stem, prefix=True)
        notices.append(f"A prefix needs at least {prefix_min_chars} letters before the * "
                       f"({value!r}); searched as a word.")
        value = stem
    elif any(c in value for c in _WILDCARD_CHARS):
        notices.append(f"Wildcards inside a word ({value!r}) are not supported; searched as a word.")
        value = value.replace("*", " ").replace("?", " ")
    value = value.strip(" :'\",;")
    if not any(c.isalnum() for c in value):
        return None
    return Word(value)


_DATE = r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?"


def _date_bounds(text: str) -> tuple[dt.date, dt.date] | None:
    m = re.fullmatch(_DATE, text)
    if not m:
        return None
    try:
        year = int(m[1])
        if m[3]:
            d = dt.date(year, int(m[2]), int(m[3]))
            return d, d
        if m[2]:
            month = int(m[2])
            start = dt.date(year, month, 1)
            end = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
            return start, end
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        return None


def parse_date_span(text: str) -> DateSpan | None:
    """`2018`, `2018-07`, `2018-07-01`, `A..B` (either side open), `>=A`, `>A`, `<=A`, `<A`."""
    raw = text
    text = text.strip()
    try:
        m = re.fullmatch(r"(>=|<=|>|<)(.+)", text)
        if m:
            bounds = _date_bounds(m[2])
            if bounds is None:
                return None
            op = m[1]
            if op == ">=":
                return DateSpan(bounds[0], None, raw)
            if op == ">":
                return DateSpan(bounds[1] + dt.timedelta(days=1), None, raw)
            if op == "<=":
                return DateSpan(None, bounds[1], raw)
            return DateSpan(None, bounds[0] - dt.timedelta(days=1), raw)
        if ".." in text:
            left, right = text.split("..", 1)
            lo = _date_bounds(left) if left else None
            hi = _date_bounds(right) if right else None
            if (left and lo is None) or (right and hi is None) or (lo is None and hi is None):
                return None
            start, end = (lo[0] if lo else None), (hi[1] if hi else None)
            if start and end and start > end:
                return None
            return DateSpan(start, end, raw)
        bounds = _date_bounds(text)
        return DateSpan(bounds[0], bounds[1], raw) if bounds else None
    except (ValueError, OverflowError):
        return None
