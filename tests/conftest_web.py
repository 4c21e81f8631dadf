"""Fixtures for the web tests (tests/test_web.py, tests/test_browser.py import them).

The corpus is tests/fixtures/web_corpus/, read with TinyGazetteer below, so expected ids,
counts and facet values are literal:

| file                     | date       | source          | actors                 | places (mentioned)               | operation |
|--------------------------|------------|-----------------|------------------------|----------------------------------|-----------|
| hajin-offensive.txt      | 2018-12-14 | Field Monitor   | sdf, isis, coalition   | hajin, sousa, baghouz, abu-kamal | roundup   |
| idlib-shelling.txt       | 2019-05-10 | Field Monitor   | syrian-army, russia    | idlib, khan-shaykhun             |           |
| raqqa-reconstruction.txt | 2019-03-02 | Relief Bulletin | sdf                    | raqqa                            |           |
| baghouz-fall.txt         | 2019-03-23 | Wire Desk       | isis, sdf              | baghouz, deir-ez-zor             | roundup   |
| deterrence.txt           | 2020-06-10 | Wire Desk       | sdf, coalition, isis   | al-hasakeh                       | deterrence-of-terrorism |
| hostile-markup.txt       | 2017-01-01 | <script>… Wire  | sdf                    | hajin                            |           |
| market-prices.txt        | 2016-08-30 | Relief Bulletin |                        |                                  |           |

Places nest syria > deir-ez-zor > abu-kamal > hajin | sousa | baghouz, and syria > idlib >
khan-shaykhun, so "hajin" is in 2 reports and "deir-ez-zor" (with its towns) in 3.
`hostile-markup.txt` carries markup attacks in its title, lede, body, source and URL.

The real gazetteer (search/entities.py) is used where a test wants real facets (the seeds
screenshot, the load figures); these tests do not depend on its contents.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from search.engine import Engine
from search.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WEB_CORPUS = ROOT / "tests" / "fixtures" / "web_corpus"
SEEDS = ROOT / "seeds"
FAKES = Path("/work/shared/corpora/fakes/fakes.csv")
RELAXED = {"RATELIMIT_ENABLED": False, "TESTING": True}


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    kind: str
    type: str | None = None
    parent: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    kind: str
    entity_id: str


class TinyGazetteer:
    """The gazetteer interface the library uses (get, resolve, find_mentions, ancestors)
    over a dozen entities. Names match case-sensitively in reports, in any case in queries."""

    def __init__(self, entities: list[Entity]):
        self.by_key = {(e.kind, e.id): e for e in entities}
        self.patterns = []
        for e in entities:
            names = sorted({e.name, *e.aliases}, key=len, reverse=True)
            body = "|".join(re.escape(n) for n in names)
            self.patterns.append((e, re.compile(rf"(?<!\w)(?:{body})(?!\w)"),
                                  re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.I)))

    def get(self, kind, eid):
        return self.by_key.get((kind, eid))

    def resolve(self, kind, raw):
        folded = " ".join(str(raw).split()).casefold()
        for (k, _), e in self.by_key.items():
            if k == kind and folded in {e.id, e.name.casefold(), *(a.casefold() for a in e.aliases)}:
                return e
        return None

    def ancestors(self, kind, eid):
        out, seen = [], {eid}
        e = self.get(kind, eid)
        while e is not None and e.parent and e.parent not in seen:
            out.append(e.parent)
            seen.add(e.parent)
            e = self.get(kind, e.parent)
        return out

    def find_mentions(self, text, query=False):
        found = []
        for e, exact, loose in self.patterns:
            for m in (loose if query else exact).finditer(text or ""):
                found.append(Mention(m.start(), m.end(), e.kind, e.id))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        out, end = [], -1
        for m in found:
            if m.start >= end:
                out.append(m)
                end = m.end
        return out

    def unknown_names(self, texts, limit=50):
        return []


def tiny_gazetteer() -> TinyGazetteer:
    A, P, O = "actors", "places", "operations"
    return TinyGazetteer([
        Entity("isis", "ISIS", A, "jihadist group", aliases=("Daesh", "Islamic State")),
        Entity("sdf", "Syrian Democratic Forces", A, "armed coalition", aliases=("SDF",)),
        Entity("syrian-army", "Syrian Arab Army", A, "army", aliases=("Syrian army", "SAA")),
        Entity("russia", "Russia", A, "state"),
        Entity("coalition", "US-led coalition", A, "coalition", aliases=("Coalition",)),
        Entity("syria", "Syria", P, "country"),
        Entity("deir-ez-zor", "Deir ez-Zor", P, "governorate", "syria", ("Deir Ezzor",)),
        Entity("abu-kamal", "Abu Kamal", P, "district", "deir-ez-zor", ("Al Bukamal",)),
        Entity("hajin", "Hajin", P, "town", "abu-kamal"),
        Entity("sousa", "Sousa", P, "town", "abu-kamal"),
        Entity("baghouz", "Baghouz", P, "town", "abu-kamal", ("Baghuz",)),
        Entity("idlib", "Idlib", P, "governorate", "syria"),
        Entity("khan-shaykhun", "Khan Shaykhun", P, "town", "idlib"),
        Entity("raqqa", "Raqqa", P, "governorate", "syria"),
        Entity("al-hasakeh", "Al-Hasakeh", P, "governorate", "syria", ("Hasakah", "Hasaka")),
        Entity("roundup", "Operation Roundup", O, "military operation", aliases=("Roundup",)),
        Entity("deterrence-of-terrorism", "Operation Deterrence of Terrorism", O,
               "military operation", aliases=("Deterrence of Terrorism",)),
    ])


def real_gazetteer():
    """The bundled gazetteer, or None while search/entities.py is not there yet."""
    try:
        from search.entities import Gazetteer
    except ImportError:
        return None
    return Gazetteer.load(())


def build_index(tmp: Path, sources: list[Path], gazetteer, extra=None) -> Settings:
    """Copy report files into tmp/reports, index them into tmp/index; Settings for both."""
    reports = tmp / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    for src in sources:
        if src.is_dir():
            shutil.copytree(src, reports, dirs_exist_ok=True)
        else:
            shutil.copy(src, reports / src.name)
    if extra is not None:
        extra(reports)
    settings = Settings(index_dir=tmp / "index", reports_dir=reports)
    Engine(settings, gazetteer).update()
    return settings


def write_bulletins(folder: Path, n: int = 30) -> None:
    """n dated bulletins that all contain "bulletin" (for paging): odd ones name Hajin."""
    for i in range(1, n + 1):
        place = "Hajin" if i % 2 else "Idlib"
        (folder / f"bulletin-{i:02d}.txt").write_text(
            f"date: 2019-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}\nsource: Daily Bulletin\n\n"
            f"Daily bulletin {i}: shelling reported near {place}\n\n"
            f"Bulletin number {i} records shelling near {place} and a convoy on the road.\n\n"
            f"Monitors counted {i} incidents in the bulletin period.\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The real app under waitress in a thread, on a free loopback port."""

    def __init__(self, app):
        from waitress.server import create_server

        self.port = free_port()
        self.server = create_server(app, host="127.0.0.1", port=self.port, threads=4,
                                    ident="reports-test")
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=5)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def gazetteer():
    return tiny_gazetteer()


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory, gazetteer) -> Settings:
    """The fixture corpus, indexed once (tests must not change it)."""
    return build_index(tmp_path_factory.mktemp("web"), [WEB_CORPUS], gazetteer)


@pytest.fixture(scope="session")
def web_engine(web_settings, gazetteer) -> Engine:
    return Engine(web_settings, gazetteer)


@pytest.fixture
def app(web_settings, web_engine):
    from web import create_app

    return create_app(settings=web_settings, engine=web_engine, test_config=RELAXED)


@pytest.fixture
def client(app):
    return app.test_client()
