"""Realistic benchmark queries derived from a corpus (seeded, so every run asks the same).

Kinds, in fixed proportions: single words, 2-4 word queries, phrases, a word with a facet
filter (word and value taken from one report), a word with an exclusion. Words are frequent-but-not-stop title words (the 15 most
frequent are skipped as too generic); for Reuters, PLACES and ORGS tags ("west-germany" ->
"west germany") are mixed into the single-word and phrase kinds. Multi-word queries and
exclusions take words that occur together in one title, so most queries have answers.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from search.analysis import STOP_WORDS

_WORD = re.compile(r"[^\W\d_]{4,}")
EXTRA_STOPS = frozenset("said says than into over after before about would could should also "
                        "with from that this have been were will more".split())
MIX = (("single", 0.24), ("multi", 0.24), ("phrase", 0.16), ("filter", 0.18), ("exclude", 0.18))


def _title_words(title: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(title or ""))
            if w not in STOP_WORDS and w not in EXTRA_STOPS]


def make_queries(records: list[dict], n: int, facet_values: dict[str, list[tuple[str, int]]],
                 tags: list[str] = (), seed: int = 1987) -> list[dict]:
    rng = random.Random(seed)
    titles = [_title_words(r.get("title", "")) for r in records]
    df = Counter(w for ws in titles for w in set(ws))
    ranked = [w for w, _ in df.most_common()]
    skip = 15 if len(ranked) > 200 else 0
    pool = [w for w in ranked[skip:skip + 2000] if df[w] >= (3 if len(records) > 500 else 1)] or ranked
    multi_titles = [ws for ws in titles if len(set(ws)) >= 2]
    bigrams = Counter()
    for r in records:
        toks = [t.lower() for t in re.findall(r"\w+", r.get("title", ""))]
        for a, b in zip(toks, toks[1:]):
            if (len(a) > 2 and len(b) > 2 and a.isalpha() and b.isalpha()
                    and a not in STOP_WORDS and b not in STOP_WORDS):
                bigrams[f"{a} {b}"] += 1
    phrases = [p for p, c in bigrams.most_common(400) if c >= 2] or list(bigrams) or pool
    tag_names = sorted({t.replace("-", " ") for t in tags if t})
    # the facet with the most distinct values is the one users would narrow by
    facet = max(facet_values, key=lambda f: len(facet_values[f]), default=None)
    with_facet = [(ws, r["facets"][facet]) for ws, r in zip(titles, records)
                  if ws and facet and (r.get("facets") or {}).get(facet)]

    def word():
        return rng.choice(pool[: max(10, len(pool) // 2)] if rng.random() < 0.6 else pool)

    out: list[dict] = []
    for kind, share in MIX:
        for _ in range(max(1, round(n * share))):
            q: dict = {"kind": kind, "words": [], "phrase": None, "exclude": None, "filter": None}
            if kind == "single":
                if tag_names and rng.random() < 0.35:
                    name = rng.choice(tag_names)
                    if " " in name:
                        q["phrase"] = name
                    else:
                        q["words"] = [name]
                else:
                    q["words"] = [word()]
            elif kind == "multi":
                ws = list(dict.fromkeys(rng.choice(multi_titles))) if multi_titles else [word(), word()]
                q["words"] = ws[: rng.randint(2, min(4, max(2, len(ws))))]
            elif kind == "phrase":
                multiword = [t for t in tag_names if " " in t]
                q["phrase"] = (rng.choice(multiword) if multiword and rng.random() < 0.25
                               else rng.choice(phrases))
            elif kind == "filter":
                if with_facet:      # a word and a value of one report: the filter narrows
                    ws, values = rng.choice(with_facet)
                    q["words"] = [rng.choice(ws)]
                    q["filter"] = [facet, rng.choice(values)]
                else:
                    q["words"] = [word()]
            elif kind == "exclude":
                ws = list(dict.fromkeys(rng.choice(multi_titles))) if multi_titles else [word(), word()]
                if len(ws) < 2:
                    ws = [word(), word()]
                q["words"], q["exclude"] = [ws[0]], ws[1]
            out.append(q)
    rng.shuffle(out)
    return out
