"""Gazetteer (actors, places, operations) and entity extraction by dictionary lookup.

Pure Python; imports neither Whoosh nor Flask. The data ships in search/gazetteer/ and is
loaded once (`default_gazetteer()`); tests and users may build their own with
`Gazetteer.load(extra_paths=[...])`.

Matching rules (the same list, with examples, is in docs/gazetteer.md):

1. Text is cut into word tokens (letters and digits; an apostrophe inside a word stays in it).
   Tokens are compared folded: lower case, accents removed (Ḩasakah = Hasakah, Ālbū Kamāl =
   Albu Kamal), apostrophes removed (Dar'a = Dara, Syria's = Syrias). Hyphens and spaces are
   equivalent (Deir-ez-Zor = Deir ez Zor). A name may span tokens separated by spaces, hyphens,
   slashes or "&", never by sentence punctuation (a period only after a one-letter token: U.S.).
2. Joined and split Arabic articles are equivalent: for every name with an article token (al,
   el, ez, as, ash, ...) the glued form is indexed too (Deir ez-Zor -> "Deir Ezzor"). A leading
   article is optional (Al-Safa = Safa, Al Bukamal = Bukamal) when what remains has at least 4
   letters and is not an ordinary English word (so "At Tall" never matches "tall"). An article
   written before a matched name in the text joins the mention when it is "al"/"el" or is
   hyphenated to it ("al-Mayadin").
3. Possessives: "Syria's", "Syria’s" and the FA-KES form "Syrias" match Syria. A trailing "s"
   is tried only when the whole word is not itself a name and the name's last word has at
   least 4 letters.
4. Longest match first, left to right, non-overlapping: "Deir Ezzor" beats "Deir",
   "Syrian Democratic Forces" beats "Syrian", "army of Damascus" (SAA) beats "Damascus".
   One span may name one entity of each kind ("Turkey" is the state actor and the place).
5. Letter case, decided by how the alias is written in the data:
   - proper names ("Hajin", "Syrian army") must be capitalised in report text (a one-word
     name must start with a capital; in a longer name at least one word must);
   - aliases written in lower case ("regime forces", Arabic script) match in any case;
   - acronyms (all capitals: "SDF", "IS", "US") match only in capitals in report text.
   With `query=True` (user queries are typed in lower case) case is ignored, except for
   acronyms that are ordinary English words ("is", "us", "who", "tip"): those still need capitals.
6. Stop phrases (stopphrases.toml: "Al Jazeera", "al-Mayadeen TV", "SANA") are matched like
   names and then dropped, so the name inside them is not reported.
7. One name, several places of the same kind: keep the place whose ancestors include all the
   others (Abu Kamal town over Abu Kamal sub-district and district; Aleppo city over Aleppo
   governorate), so `expanded` still holds the same-named units. Otherwise prefer a curated
   place to a generated one, then a populated place, then the larger population.
"""
from __future__ import annotations

import collections
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from search.gazetteer_files import (ACTOR_KINDS, KINDS, OPERATION_TYPES, PLACE_TYPES,
                                    GazetteerError, bundled_dir, load_records)

__all__ = ["KINDS", "ACTOR_KINDS", "PLACE_TYPES", "OPERATION_TYPES", "Entity", "Mention",
           "Extraction", "Gazetteer", "GazetteerError", "default_gazetteer", "fold"]

ARTICLES = frozenset({"al", "el", "ar", "as", "ad", "an", "ash", "at", "az", "ath", "adh", "ed",
                      "es", "er", "et", "ez", "ul"})
_JOIN_ARTICLES = frozenset({"al", "el"})   # articles not also English words
STOP_KIND = "_stop"
_KIND_ORDER = {"actors": 0, "operations": 1, "places": 2}
_POPULATED = {"city": 0, "town": 1, "village": 2, "neighbourhood": 3}

TOKEN_RE = re.compile(r"\w+(?:['’‘`ʼ]\w+)*")
_APOSTROPHES = str.maketrans("", "", "'’‘`ʼʿʾ′´")
# Between two words of one name: spaces, hyphens, slashes, "&" (and dots after an initial).
_GAP_RE = re.compile(r"[ \t\u00a0\-‐‑–/&]{1,3}|\s{1,3}")


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str                     # one of KINDS
    name: str
    type: str                     # actor kind, place type or operation type
    aliases: tuple[str, ...]
    parent: str | None = None     # id of the same kind
    lat: float | None = None
    lon: float | None = None
    pcode: str | None = None
    geonameid: int | None = None
    actor: str | None = None      # operations: the actor that ran it


@dataclass(frozen=True)
class Mention:
    start: int
    end: int                      # character offsets into the text given
    kind: str
    entity_id: str
    surface: str                  # text[start:end]


@dataclass(frozen=True)
class Extraction:
    mentioned: dict[str, tuple[str, ...]]   # kind -> sorted unique ids named in the text
    expanded: dict[str, tuple[str, ...]]    # kind -> mentioned + all their ancestors


@functools.lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes removed; hyphens and other separators -> space."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[^\W_]+", text))


def _rule(alias: str) -> str:
    letters = [c for c in alias if c.isalpha()]
    if not any(c.isupper() for c in letters):
        return "any"
    if all(c.isupper() for c in letters if c.isascii() or c.lower() != c):
        return "acronym"
    return "proper"


def _variants(tokens: tuple[str, ...], common: frozenset[str]) -> set[tuple[str, ...]]:
    """Index keys for one alias: as written, articles glued, leading article dropped."""
    out = {tokens}
    glued: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in ARTICLES and i + 1 < len(tokens) and i > 0:
            glued.append(tokens[i] + tokens[i + 1])
            i += 2
        else:
            glued.append(tokens[i])
            i += 1
    out.add(tuple(glued))
    for form in list(out):
        if len(form) > 1 and form[0] in ARTICLES:
            rest = form[1:]
            if len("".join(rest)) >= 4 and not (len(rest) == 1 and rest[0] in common):
                out.add(rest)
            if len(form) > 1:
                out.add((form[0] + form[1],) + form[2:])   # "Al Bukamal" -> "Albukamal"
    return out


class Gazetteer:
    """Entities of three kinds with aliases and hierarchy, and a longest-match name finder."""

    def __init__(self, entities: dict[str, dict[str, Entity]], stop: Sequence[str] = (),
                 *, curated: set[tuple[str, str]] = frozenset(),
                 population: dict[str, int] | None = None,
                 unindexed_names: set[tuple[str, str]] = frozenset(),
                 common_words: Iterable[str] = ()) -> None:
        self._entities = entities
        self._common = frozenset(common_words)
        self._ancestors: dict[tuple[str, str], list[str]] = {}
        self.conflicts: list[tuple[str, str, tuple[str, ...]]] = []   # (kind, key, ids)
        self._build_index(stop, curated, population or {}, unindexed_names)
        self._norm_cache: dict[str, str] = {}

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, extra_paths: Sequence[str | Path] = ()) -> "Gazetteer":
        """Bundled data plus user files (same TOML format), merged in the order given."""
        records = load_records(extra_paths)
        entities: dict[str, dict[str, Entity]] = {k: {} for k in KINDS}
        curated, unindexed, population = set(), set(), {}
        for kind, table in records.by_kind.items():
            for pid, rec in table.items():
                entities[kind][pid] = Entity(
                    id=pid, kind=kind, name=rec["name"],
                    type=rec.get("kind") if kind == "actors" else rec["type"],
                    aliases=tuple(dict.fromkeys(rec.get("aliases", ()))),
                    parent=rec.get("parent"), lat=rec.get("lat"), lon=rec.get("lon"),
                    pcode=rec.get("pcode"),
                    geonameid=int(rec["geonameid"]) if rec.get("geonameid") is not None else None,
                    actor=rec.get("actor"))
                if not rec["_generated"] or len(rec["_sources"]) > 1:
                    curated.add((kind, pid))
                if rec.get("index_name") is False:
                    unindexed.add((kind, pid))
                if rec.get("population"):
                    population[pid] = int(rec["population"])
        words_file = bundled_dir() / "common_words.txt"
        words = [w for w in words_file.read_text(encoding="utf-8").split() if not w.startswith("#")]
        return cls(entities, records.stop, curated=curated, population=population,
                   unindexed_names=unindexed, common_words=words)

    # -- lookups ----------------------------------------------------------------------
    def get(self, kind: str, entity_id: str) -> Entity | None:
        return self._entities.get(kind, {}).get(entity_id)

    def entities(self, kind: str) -> list[Entity]:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
        return list(self._entities[kind].values())

    def ancestors(self, kind: str, entity_id: str) -> list[str]:
        """Parent chain, nearest first (Hajin -> sub-district, district, governorate, Syria)."""
        key = (kind, entity_id)
        if key not in self._ancestors:
            chain, table = [], self._entities.get(kind, {})
            ent = table.get(entity_id)
            while ent is not None and ent.parent is not None:
                chain.append(ent.parent)
                ent = table.get(ent.parent)
            self._ancestors[key] = chain
        return list(self._ancestors[key])

    def resolve(self, kind: str | None, name: str) -> Entity | None:
        """Entity for an id (exact: "deir-ez-zor"), else a display name or alias (case and
        accents ignored, same-name places resolved as in find_mentions: "Deir ez-Zor" is the
        city). kind None searches all kinds, preferring actors, then operations, then places."""
        kinds = [kind] if kind else sorted(KINDS, key=_KIND_ORDER.get)
        for k in kinds:
            if k in self._entities and name in self._entities[k]:
                return self._entities[k][name]
        key = fold(name)
        targets = self._index.get(key)
        if targets is None and key.endswith("s"):
            targets = self._index.get(key[:-1])
        for k in kinds:
            for tkind, choices in targets or ():
                if tkind == k:
                    return self._entities[k][choices[0][0]]
        return None

    # -- index ------------------------------------------------------------------------
    def _build_index(self, stop, curated, population, unindexed) -> None:
        raw: dict[str, dict[str, dict[str, set[str]]]] = collections.defaultdict(
            lambda: collections.defaultdict(lambda: collections.defaultdict(set)))
        for kind, table in self._entities.items():
            for ent in table.values():
                names = list(ent.aliases)
                if (kind, ent.id) not in unindexed:
                    names.insert(0, ent.name)
                for alias in names:
                    tokens = tuple(fold(alias).split())
                    if not tokens:
                        continue
                    rule = _rule(alias)
                    if rule != "acronym" and len(tokens) == 1 and len(tokens[0]) < 3:
                        continue    # "Oj", "Al": too short to be a safe name
                    for form in _variants(tokens, self._common):
                        raw[" ".join(form)][kind][ent.id].add(rule)
        for phrase in stop:
            tokens = tuple(fold(phrase).split())
            for form in _variants(tokens, self._common) if tokens else ():
                raw[" ".join(form)][STOP_KIND][""].add(_rule(phrase))

        def preference(kind: str, pid: str) -> tuple:
            ent = self._entities[kind][pid]
            return ((kind, pid) not in curated, _POPULATED.get(ent.type, 9),
                    -population.get(pid, 0), pid)

        index: dict[str, tuple[tuple[str, tuple[tuple[str, frozenset[str]], ...]], ...]] = {}
        for key, by_kind in raw.items():
            entries = []
            for kind, ids in by_kind.items():
                order = sorted(ids, key=lambda pid: (0,) if kind == STOP_KIND else preference(kind, pid))
                if kind in KINDS and len(order) > 1:
                    # the place whose ancestors include all the other same-named places wins
                    for pid in order:
                        if set(order) - {pid} <= set(self.ancestors(kind, pid)):
                            order.remove(pid)
                            order.insert(0, pid)
                            break
                    else:
                        self.conflicts.append((kind, key, tuple(order)))
                entries.append((kind, tuple((pid, frozenset(ids[pid])) for pid in order)))
            entries.sort(key=lambda e: _KIND_ORDER.get(e[0], -1))
            index[key] = tuple(entries)
        self._index = index
        prefixes: set[str] = set()
        firsts: set[str] = set()
        for key in index:
            parts = key.split(" ")
            firsts.add(parts[0])
            for n in range(1, len(parts)):
                prefixes.add(" ".join(parts[:n]))
            if len(parts[-1]) >= 4:
                if len(parts) == 1:
                    firsts.add(key + "s")
                else:
                    prefixes.add(key)   # so "inherent resolves" is tried
        self._prefixes = frozenset(prefixes)
        self._firsts = frozenset(firsts)
        # First words whose every name is an acronym ("is", "us", "who"): in report text such a
        # word can only start a match when written in capitals, a cheap test done first.
        only_acronyms: dict[str, bool] = {}
        for key, entries in index.items():
            first = key.split(" ", 1)[0]
            acro = all(rules == {"acronym"} for _, choices in entries for _, rules in choices)
            only_acronyms[first] = only_acronyms.get(first, True) and acro
        self._upper_firsts = frozenset(w for w, acro in only_acronyms.items() if acro)

    # -- matching ---------------------------------------------------------------------
    def _norm(self, token: str) -> str:
        norm = self._norm_cache.get(token)
        if norm is None:
            norm = fold(token).replace(" ", "")
            if len(self._norm_cache) > 500_000:
                self._norm_cache.clear()
            self._norm_cache[token] = norm
        return norm

    def _tokens(self, text: str):
        """Match objects of the word tokens and their folded forms (offsets as in text)."""
        low = text.lower()
        if len(low) != len(text):       # rare characters whose lower case is longer
            low = text
        ms = list(TOKEN_RE.finditer(low))
        words = [m.group() for m in ms]
        if low.isascii():
            norms = [w.replace("'", "").replace("`", "") if "'" in w or "`" in w else w
                     for w in words]
        else:
            cache, norm = self._norm_cache, self._norm
            norms = [cache.get(w) or norm(w) for w in words]
        return ms, norms

    def find_mentions(self, text: str, *, query: bool = False) -> list[Mention]:
        """Mentions in text order, longest match first, non-overlapping (rules: module doc)."""
        return [m for m in self._scan(text, query) if m.kind != STOP_KIND]

    def _scan(self, text: str, query: bool) -> list[Mention]:
        ms, norms = self._tokens(text)
        index, prefixes, firsts = self._index, self._prefixes, self._firsts
        out: list[Mention] = []
        n = len(ms)
        next_free = 0
        upper_firsts = self._upper_firsts
        starts = [k for k, w in enumerate(norms) if w in firsts]
        if not query:
            starts = [k for k in starts if norms[k] not in upper_firsts
                      or text[ms[k].start():ms[k].end()].isupper()]
        for i in starts:
            if i < next_free:
                continue
            key = norms[i]
            candidates: list[tuple[int, str]] = []
            j = i
            while True:
                if key in index:
                    candidates.append((j, key))
                elif key.endswith("s") and len(norms[j]) >= 5 and key[:-1] in index:
                    candidates.append((j, key[:-1]))
                if j + 1 >= n or key not in prefixes or not self._joinable(text, ms, j, norms):
                    break
                j += 1
                key = key + " " + norms[j]
            found = None
            for j_end, k in reversed(candidates):
                chosen = self._choose(index[k], text, ms, i, j_end, query)
                if chosen is not None:
                    found = (j_end, chosen)
                    break
            if found is None:
                continue
            j_end, chosen = found
            start = ms[i].start()
            if (i - 1 >= next_free and norms[i - 1] in ARTICLES
                    and (norms[i - 1] in _JOIN_ARTICLES
                         or text[ms[i - 1].end():start] in ("-", "‐", "‑"))):
                start = ms[i - 1].start()
            end = ms[j_end].end()
            surface = text[start:end]
            for kind, pid in chosen:
                out.append(Mention(start, end, kind, pid, surface))
            next_free = j_end + 1
        return out

    @staticmethod
    def _joinable(text: str, ms, j: int, norms) -> bool:
        gap = text[ms[j].end():ms[j + 1].start()]
        if _GAP_RE.fullmatch(gap):
            return True
        # "U.S. forces", "U.N. envoy": a period after a one-letter token
        return len(norms[j]) == 1 and gap in (".", ". ", ".-")

    def _choose(self, entries, text, ms, i, j, query) -> list[tuple[str, str]] | None:
        """(kind, id) pairs for the span tokens i..j whose case rule passes; None if none.

        A stop phrase yields [(STOP_KIND, "")]: the span is consumed, nothing reported."""
        chosen: list[tuple[str, str]] = []
        for kind, choices in entries:
            for pid, rules in choices:
                if self._case_ok(rules, text, ms, i, j, query):
                    if kind == STOP_KIND:
                        return [(STOP_KIND, "")]
                    chosen.append((kind, pid))
                    break
        return chosen or None

    def _case_ok(self, rules: frozenset[str], text, ms, i, j, query) -> bool:
        if "any" in rules:
            return True
        surface = text[ms[i].start():ms[j].end()]
        if "proper" in rules:
            if query:
                return True
            if i == j:
                if surface[:1].isupper():
                    return True
            elif any(text[ms[k].start()].isupper() for k in range(i, j + 1)):
                return True
        if "acronym" in rules:
            upper = surface.upper() == surface
            if not query:
                return upper
            key = fold(surface).replace(" ", "")
            return upper or (key not in self._common and key not in _ENGLISH_SHORT)
        return False

    # -- extraction -------------------------------------------------------------------
    def extract(self, *texts: str) -> Extraction:
        found: dict[str, set[str]] = {k: set() for k in KINDS}
        for text in texts:
            if text:
                for m in self.find_mentions(text):
                    found[m.kind].add(m.entity_id)
        expanded: dict[str, set[str]] = {}
        for kind, ids in found.items():
            allids = set(ids)
            for pid in ids:
                allids.update(self.ancestors(kind, pid))
            expanded[kind] = allids
        return Extraction(mentioned={k: tuple(sorted(v)) for k, v in found.items()},
                          expanded={k: tuple(sorted(v)) for k, v in expanded.items()})

    def unknown_names(self, texts: Iterable[str], limit: int = 50) -> list[tuple[str, int]]:
        """Capitalised names (1-4 words) the gazetteer does not know, most frequent first.

        Known mentions and stop phrases are masked first; leading ordinary words (sentence-
        initial "The", "According"), months, weekdays and demonyms are trimmed, and a name made
        only of such words is dropped; a run of more than four capitalised words (a Title Case
        headline) is skipped."""
        counts: collections.Counter[str] = collections.Counter()
        for text in texts:
            if not text:
                continue
            masked = [False] * len(text)
            for m in self._scan(text, False):
                masked[m.start:m.end] = [True] * (m.end - m.start)
            run: list[tuple[int, int]] = []
            spans = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
            for idx, (s, e) in enumerate(spans + [(len(text), len(text))]):
                word = text[s:e]
                cap = bool(word) and word[0].isupper() and not masked[s]
                connector = bool(run) and fold(word) in _CONNECTORS and not masked[s]
                joined = bool(run) and _GAP_RE.fullmatch(text[run[-1][1]:s] or "x") is not None
                if (cap or connector) and (not run or joined):
                    run.append((s, e))
                    continue
                self._count_run(text, run, counts)
                run = [(s, e)] if cap else []
        return counts.most_common(limit)

    def _count_run(self, text: str, run: list[tuple[int, int]], counts) -> None:
        if not run or len(run) > 4:
            return
        words = [text[s:e] for s, e in run]
        keep = [not self._ordinary(w) for w in words]
        while words and not keep[0]:
            words, keep = words[1:], keep[1:]
        while words and fold(words[-1]) in _CONNECTORS:
            words, keep = words[:-1], keep[:-1]
        if not words or not any(keep) or (len(words) == 1 and len(words[0]) < 3):
            return
        counts[" ".join(words)] += 1

    def _ordinary(self, word: str) -> bool:
        key = fold(word)
        return (key in self._common or key in _CALENDAR or key in _ENGLISH_SHORT
                or key in _DEMONYMS or key.isdigit())


_CONNECTORS = frozenset({"al", "el", "ad", "as", "ash", "ez", "az", "bin", "ibn", "of", "the", "de"})
_ENGLISH_SHORT = frozenset({"is", "us", "it", "as", "at", "an", "am", "be", "by", "do", "go", "he",
                            "if", "in", "me", "my", "no", "of", "on", "or", "so", "to", "up", "we",
                            "who", "tip", "can", "may", "nes", "aah"})
_CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday mon tue wed thu fri sat sun mondays tuesdays wednesdays thursdays fridays "
    "saturdays sundays ramadan eid".split())
_DEMONYMS = frozenset(
    "syrian syrians arab arabs kurdish kurds kurd iraqi iraqis lebanese jordanian palestinian "
    "palestinians sunni sunnis shiite shiites shia alawite alawites druze christian christians "
    "muslim muslims islamic islamist islamists western european egyptian afghan chechen "
    "armenian assyrian turkmen yazidi yazidis takfiri takfiris jihadist jihadists".split())


@functools.lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded once per process."""
    return Gazetteer.load()
