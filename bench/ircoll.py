"""The classic SMART test collections (CISI, Cranfield, MEDLINE) and ranking metrics.

SMART files are sections opened by `.I id`, then field markers `.T` title, `.A` authors,
`.B` bibliography, `.W` text, `.X` cross-references (CISI), each on its own line, the field's
text on the following lines. The three judgement files differ:

* CISI.REL   `qid docid 0 0.000000` (whitespace-separated; 76 of 112 queries judged)
* MED.REL    `qid 0 docid 1`        (TREC-like; all 30 queries judged)
* cranqrel   `qid docid grade`, grade 1 (complete answer) … 4 (minimum interest), -1 (one
  per query, no judgement); query numbers are the queries' positions 1..225 while cran.qry
  labels them `.I 001, 002, 004 …` (so queries are matched by order, not by label).

Graded gain for nDCG on Cranfield: 5 - grade (1 -> 4 … 4 -> 1); binary gain elsewhere.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .corpora import corpora_root

_MARK = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def parse_smart(path: Path) -> list[tuple[str, dict[str, str]]]:
    """[(id, {field letter: text})] in file order."""
    out: list[tuple[str, dict[str, str]]] = []
    current: dict[str, list[str]] | None = None
    section = None
    text = Path(path).read_bytes().decode("latin-1")
    for line in text.splitlines():
        m = _MARK.match(line.rstrip())
        if m and m[1] == "I":
            current = {}
            out.append((m[2].strip(), current))
            section = None
            continue
        if m and current is not None and m[1] in "TAWXBKN":
            section = m[1]
            current.setdefault(section, [])
            if (m[2] or "").strip():          # text on the marker line itself
                current[section].append(m[2])
            continue
        if current is not None and section is not None:
            current[section].append(line)
    return [(i, {k: " ".join(" ".join(v).split()) for k, v in d.items()}) for i, d in out]


@dataclass
class Collection:
    name: str
    docs: list[dict]                       # records: id, title, body
    queries: list[tuple[str, str]]         # (qid, text), judged ones only
    qrels: dict[str, dict[str, int]]       # qid -> {doc id: gain}
    unjudged_queries: int = 0
    notes: list[str] = field(default_factory=list)


def _docs(path: Path) -> list[dict]:
    return [{"id": i, "title": f.get("T", ""), "body": f.get("W", "")} for i, f in parse_smart(path)]


def _queries(path: Path) -> list[tuple[str, str]]:
    return [(i, f.get("W") or f.get("T", "")) for i, f in parse_smart(path)]


def load(name: str) -> Collection:
    root = corpora_root()
    qrels: dict[str, dict[str, int]] = {}
    if name == "cisi":
        docs = _docs(root / "ir-cisi" / "CISI.ALL")
        queries = _queries(root / "ir-cisi" / "CISI.QRY")
        for line in (root / "ir-cisi" / "CISI.REL").read_text().splitlines():
            p = line.split()
            if len(p) >= 2:
                qrels.setdefault(p[0], {})[p[1]] = 1
        notes = ["binary judgements"]
    elif name == "cran":
        docs = _docs(root / "ir-cran" / "cran.all.1400")
        raw = _queries(root / "ir-cran" / "cran.qry")
        queries = [(str(n), text) for n, (_, text) in enumerate(raw, start=1)]   # by position
        for line in (root / "ir-cran" / "cranqrel").read_text().splitlines():
            p = line.split()
            if len(p) >= 3 and 1 <= int(p[2]) <= 4:
                qrels.setdefault(p[0], {})[p[1]] = 5 - int(p[2])
        notes = ["graded gain 5-grade for nDCG; relevant = grade 1-4 for MAP/P@10",
                 "queries matched to cranqrel by position (cran.qry labels skip numbers)"]
    elif name == "med":
        docs = _docs(root / "ir-med" / "MED.ALL")
        queries = _queries(root / "ir-med" / "MED.QRY")
        for line in (root / "ir-med" / "MED.REL").read_text().splitlines():
            p = line.split()
            if len(p) >= 4:
                qrels.setdefault(p[0], {})[p[2]] = 1
        notes = ["binary judgements", "MED documents have no title (.W only)"]
    else:
        raise ValueError(f"unknown collection {name!r}: use cisi, cran or med")
    judged = [(q, t) for q, t in queries if qrels.get(q)]
    return Collection(name, docs, judged, qrels, len(queries) - len(judged), notes)


# --------------------------------------------------------------------------- metrics

def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** gains.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def average_precision(ranked: list[str], gains: dict[str, int], depth: int = 100) -> float:
    relevant = {d for d, g in gains.items() if g > 0}
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, d in enumerate(ranked[:depth], start=1):
        if d in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant)


def precision_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    return sum(1 for d in ranked[:k] if gains.get(d, 0) > 0) / k
