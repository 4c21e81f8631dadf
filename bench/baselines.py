"""The two baselines, fed the same documents and the same queries as the engine.

* SQLite FTS5 (stdlib sqlite3): `tokenize='porter unicode61'`, bm25 with the engine's field
  weights (title 3, lede 1.5, body 1), `snippet()` / `highlight()`, and facet counts from a
  side table `facets(docid, facet, value)` joined to the match set.
* Whoosh with plain defaults: StemmingAnalyzer text fields, MultifieldParser (AND of the words;
  OrGroup for the ranking collections), `hit.highlights()` with an HtmlFormatter per search,
  facets by `groupedby` with `FieldFacet(..., allow_overlap=True)`.

Both get the facet values the engine stored (actors, places, operations from its entity
extraction, plus source and year) as ready-made metadata, so they count the same facets but
do no extraction of their own: compare build speed with the engine's no-gazetteer build.

A benchmark query is a dict: words (list), phrase (str|None), exclude (str|None),
filter ([facet, value]|None); `to_ours`, `to_fts5`, `to_whoosh` render it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

FACETS = ("actors", "places", "operations", "source", "year")
TITLE_W, LEDE_W, BODY_W = 3.0, 1.5, 1.0
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- query rendering

def to_ours(q: dict) -> tuple[str, dict]:
    parts = list(q.get("words") or [])
    if q.get("phrase"):
        parts.append(f'"{q["phrase"]}"')
    if q.get("exclude"):
        parts.append(f'-{q["exclude"]}')
    filters = {q["filter"][0]: [q["filter"][1]]} if q.get("filter") else {}
    return " ".join(parts), filters


def _fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def to_fts5(q: dict) -> str:
    parts = [_fts_quote(w) for w in q.get("words") or []]
    if q.get("phrase"):
        parts.append(_fts_quote(q["phrase"]))
    expr = " ".join(parts)
    if q.get("exclude"):
        expr = f"({expr}) NOT {_fts_quote(q['exclude'])}"
    return expr


def to_whoosh(q: dict) -> str:
    parts = list(q.get("words") or [])
    if q.get("phrase"):
        parts.append(f'"{q["phrase"]}"')
    if q.get("exclude"):
        parts.append(f'NOT {q["exclude"]}')
    return " ".join(parts)


def read_docs(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


# --------------------------------------------------------------------------- FTS5

class Fts5:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path))

    @classmethod
    def build(cls, docs, path: Path) -> int:
        path = Path(path)
        if path.exists():
            path.unlink()
        db = sqlite3.connect(str(path))
        db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE VIRTUAL TABLE docs USING fts5(title, lede, body, tokenize='porter unicode61');
            CREATE TABLE meta(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, date TEXT, source TEXT);
            CREATE TABLE facets(docid INTEGER, facet TEXT, value TEXT);
        """)
        n = cls._insert(db, docs, start=1)
        db.executescript("""
            CREATE INDEX facets_doc ON facets(docid, facet, value);
            CREATE INDEX facets_value ON facets(facet, value, docid);
            INSERT INTO docs(docs) VALUES('optimize');
        """)
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        return n

    @staticmethod
    def _insert(db, docs, start: int) -> int:
        n = 0
        for n, d in enumerate(docs, start=start):
            db.execute("INSERT INTO docs(rowid, title, lede, body) VALUES (?,?,?,?)",
                       (n, d.get("title", ""), d.get("lede", ""), d.get("body", "")))
            db.execute("INSERT INTO meta VALUES (?,?,?,?)", (n, d["id"], d.get("date"), d.get("source")))
            db.executemany("INSERT INTO facets VALUES (?,?,?)",
                           [(n, f, v) for f, vs in (d.get("facets") or {}).items() for v in vs])
        return n - start + 1 if n else 0

    def add(self, docs) -> None:
        """Incremental: insert and commit (searchable at once)."""
        start = (self.db.execute("SELECT max(rowid) FROM meta").fetchone()[0] or 0) + 1
        self._insert(self.db, docs, start)
        self.db.commit()

    def search(self, q: dict, limit: int = 10, facet_size: int = 10) -> dict:
        expr = to_fts5(q)
        where, args = "docs MATCH ?", [expr]
        if q.get("filter"):
            where += " AND docs.rowid IN (SELECT docid FROM facets WHERE facet=? AND value=?)"
            args += list(q["filter"])
        rows = self.db.execute(
            f"SELECT meta.id, highlight(docs, 0, '<mark>', '</mark>'), "
            f"snippet(docs, -1, '<mark>', '</mark>', ' … ', 24), "
            f"bm25(docs, {TITLE_W}, {LEDE_W}, {BODY_W}) AS score, meta.date, meta.source "
            f"FROM docs JOIN meta ON meta.rowid = docs.rowid WHERE {where} "
            f"ORDER BY score LIMIT ?", args + [limit]).fetchall()
        total = self.db.execute(f"SELECT count(*) FROM docs WHERE {where}", args).fetchone()[0]
        counts: dict[str, list] = {f: [] for f in FACETS}
        for facet, value, count in self.db.execute(
                f"SELECT facet, value, count(*) FROM facets WHERE docid IN "
                f"(SELECT rowid FROM docs WHERE {where}) GROUP BY facet, value", args):
            counts[facet].append((value, count))
        facets = {f: sorted(v, key=lambda x: (-x[1], x[0]))[:facet_size] for f, v in counts.items()}
        return {"ids": [r[0] for r in rows], "total": total, "snippets": [r[2] for r in rows],
                "facets": facets}

    def rank(self, text: str, mode: str = "or", limit: int = 100) -> list[str]:
        """Ranking-collection search: the query's words, ANDed (FTS5's default) or ORed."""
        words = _WORD.findall(text)
        if not words:
            return []
        expr = (" OR " if mode == "or" else " ").join(_fts_quote(w) for w in words)
        rows = self.db.execute(
            f"SELECT meta.id FROM docs JOIN meta ON meta.rowid = docs.rowid WHERE docs MATCH ? "
            f"ORDER BY bm25(docs, {TITLE_W}, {LEDE_W}, {BODY_W}) LIMIT ?", (expr, limit)).fetchall()
        return [r[0] for r in rows]

    def close(self):
        self.db.close()


# --------------------------------------------------------------------------- plain Whoosh

def whoosh_schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema

    return Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                  lede=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                  body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                  date=DATETIME(stored=True), source=ID(stored=True),
                  **{f"f_{f}": KEYWORD(commas=True) for f in FACETS})


def _whoosh_doc(d: dict) -> dict:
    import datetime as dt

    doc = {"id": d["id"], "title": d.get("title", ""), "lede": d.get("lede", ""),
           "body": d.get("body", "")}
    if d.get("date"):
        doc["date"] = dt.datetime.fromisoformat(d["date"])
    if d.get("source"):
        doc["source"] = d["source"]
    for f, vs in (d.get("facets") or {}).items():
        if vs:
            doc[f"f_{f}"] = ",".join(v.replace(",", " ") for v in vs)
    return doc


class PlainWhoosh:
    def __init__(self, path: Path):
        import whoosh.index

        self.path = Path(path)
        self.ix = whoosh.index.open_dir(str(self.path))

    @classmethod
    def build(cls, docs, path: Path) -> int:
        import whoosh.index

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        ix = whoosh.index.create_in(str(path), whoosh_schema())
        writer = ix.writer(limitmb=256)
        n = 0
        for d in docs:
            writer.add_document(**_whoosh_doc(d))
            n += 1
        writer.commit(optimize=True)
        return n

    def add(self, docs) -> None:
        writer = self.ix.writer(timeout=10)
        for d in docs:
            writer.add_document(**_whoosh_doc(d))
        writer.commit()

    def search(self, q: dict, limit: int = 10, facet_size: int = 10) -> dict:
        from whoosh import highlight, sorting
        from whoosh.qparser import MultifieldParser
        from whoosh.query import Term

        with self.ix.searcher() as searcher:
            parser = MultifieldParser(["title", "lede", "body"], self.ix.schema)
            query = parser.parse(to_whoosh(q))
            flt = Term(f"f_{q['filter'][0]}", q["filter"][1]) if q.get("filter") else None
            results = searcher.search(query, limit=limit, filter=flt, groupedby={
                f: sorting.FieldFacet(f"f_{f}", allow_overlap=True) for f in FACETS})
            results.formatter = highlight.HtmlFormatter(tagname="mark")
            hits = results[:limit]            # groupedby ignores limit: slice first
            out = {"ids": [h["id"] for h in hits],
                   "snippets": [h.highlights("body") or h.highlights("lede") for h in hits],
                   "titles": [h.highlights("title") for h in hits],
                   "total": len(results), "facets": {}}
            for f in FACETS:
                groups = results.groups(f)
                pairs = [(v, len(d)) for v, d in groups.items() if v is not None]
                out["facets"][f] = sorted(pairs, key=lambda x: (-x[1], str(x[0])))[:facet_size]
            return out

    def rank(self, text: str, limit: int = 100) -> list[str]:
        from whoosh.qparser import MultifieldParser, OrGroup

        with self.ix.searcher() as searcher:
            parser = MultifieldParser(["title", "lede", "body"], self.ix.schema, group=OrGroup)
            return [h["id"] for h in searcher.search(parser.parse(text), limit=limit)]

    def close(self):
        self.ix.close()
