"""Snippets: the best fragments of a text with the matched words in <mark>.

Whoosh's highlighter re-analyses the whole stored text, escapes only `& < >`, keeps state
between calls and misses matches past 32 KB. This one tokenises the stored text once with
the same tokenizer and cached analyzer filters, marks

* tokens whose index term is one of the query's terms (or starts with a query prefix), and
* the character spans of entity mentions found at index time (so `Daesh` in the query marks
  `Isis` and `Islamic State` in a report that never says Daesh),

then picks up to `fragments` windows with the most distinct marked words. Output is HTML:
text is escaped with `html.escape(quote=True)` here and nowhere else, and only `<mark>`
tags are added. Templates mark exactly this string safe.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property

from .analysis import WORD_PATTERN, analyzer

_WORD = re.compile(WORD_PATTERN)
ELLIPSIS = " … "


@dataclass(frozen=True)
class MatchSpec:
    """What to mark: index terms, term prefixes, and entity (kind, id) pairs; `words` are the
    folded words the user typed (they help find candidates, see `candidates`)."""

    terms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    entities: frozenset[tuple[str, str]] = frozenset()
    words: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.terms or self.prefixes or self.entities)

    @cached_property
    def candidates(self) -> "re.Pattern":
        """A regex for the words that may match: those starting with the first three letters
        of a term, a prefix or a typed word. Snowball changes word endings, not beginnings
        (`happi` ← happy), so only these words need the analyzer; the regex engine skips the
        rest of the text in C. Used on ASCII text; other text is tokenised in full."""
        starts = {t[:3] for t in self.terms | self.words if t} | {p[:3] for p in self.prefixes if p}
        alternation = "|".join(sorted((re.escape(x) for x in starts), key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternation})\w*", re.IGNORECASE)


def _term_of(word: str) -> str | None:
    tokens = [t.text for t in analyzer()(word) if not t.stopped]
    return tokens[0] if tokens else None


_TERM_CACHE: dict[str, str | None] = {}


def term_of(word: str) -> str | None:
    """The index term of one token (cached; None for a stop word)."""
    if word in _TERM_CACHE:
        return _TERM_CACHE[word]
    term = _term_of(word)
    if len(_TERM_CACHE) < 200_000:
        _TERM_CACHE[word] = term
    return term


def find_marks(text: str, spec: MatchSpec, mentions=()) -> list[tuple[int, int, str]]:
    """(start, end, key) spans to mark, sorted, non-overlapping. `key` names what matched
    (the term, or `kind:id`), so fragments can prefer variety."""
    spans: list[tuple[int, int, str]] = []
    if spec.entities:
        for start, end, kind, eid in mentions:
            if (kind, eid) in spec.entities:
                spans.append((start, end, f"{kind}:{eid}"))
    if spec.terms or spec.prefixes:
        finder = spec.candidates if text.isascii() else _WORD
        for m in finder.finditer(text):
            term = term_of(m.group())
            if term is None:
                continue
            if term in spec.terms or (spec.prefixes and term.startswith(spec.prefixes)):
                spans.append((m.start(), m.end(), term))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            if span[1] > merged[-1][1]:
                merged[-1] = (merged[-1][0], span[1], merged[-1][2])
            continue
        merged.append(span)
    return merged


def render(text: str, marks: list[tuple[int, int, str]], start: int = 0, end: int | None = None) -> str:
    """Escaped HTML of text[start:end] with the marks inside it wrapped in <mark>."""
    end = len(text) if end is None else end
    out: list[str] = []
    pos = start
    for s, e, _ in marks:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s], quote=True))
        out.append("<mark>" + html.escape(text[s:e], quote=True) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=True))
    return "".join(out)


def highlight_all(text: str, spec: MatchSpec, mentions=()) -> str:
    return render(text, find_marks(text, spec, mentions))


def snippet(text: str, spec: MatchSpec, mentions=(), *, fragments: int = 3,
            width: int = 240) -> str | None:
    """Up to `fragments` windows of about `width` characters around the marks, best first
    chosen, shown in text order; None when nothing in `text` matched."""
    marks = find_marks(text, spec, mentions)
    if not marks:
        return None
    half = width // 2
    candidates = []
    for i, (s, e, _) in enumerate(marks):
        lo = max(0, s - half // 2)
        hi = min(len(text), lo + width)
        lo = max(0, min(lo, hi - width))
        inside = [m for m in marks if m[0] >= lo and m[1] <= hi]
        distinct = len({m[2] for m in inside})
        candidates.append((distinct, len(inside), -i, lo, hi))
    candidates.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    for _, _, _, lo, hi in candidates:
        if all(hi <= a or lo >= b for a, b in chosen):
            chosen.append((lo, hi))
        if len(chosen) >= fragments:
            break
    windows = [_word_bounds(text, lo, hi) for lo, hi in sorted(chosen)]
    out = ELLIPSIS.join(render(text, marks, lo, hi) for lo, hi in windows)
    if windows[0][0] > 0:
        out = "…" + out
    if windows[-1][1] < len(text):
        out += "…"
    return out


def _word_bounds(text: str, lo: int, hi: int) -> tuple[int, int]:
    """Move the window edges to spaces so no word is cut."""
    if lo > 0:
        space = text.find(" ", lo)
        if 0 <= space < lo + 30:
            lo = space + 1
    if hi < len(text):
        space = text.rfind(" ", lo, hi)
        if space > hi - 30:
            hi = space
    return lo, hi


def plain_start(text: str, width: int = 240) -> str:
    """The escaped start of a text, for a hit whose body has no match."""
    if len(text) <= width:
        return html.escape(text, quote=True)
    cut = text.rfind(" ", 0, width)
    return html.escape(text[: cut if cut > 0 else width], quote=True) + "…"
