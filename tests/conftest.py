"""Shared fixtures: the tiny hand-made corpus, the five seeds, engines over real indexes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search.engine import Engine
from search.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny"
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"


def copy_reports(src: Path, dst: Path) -> Path:
    """Copy the report files (.txt and their .json sidecars) of a fixture folder."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()):
        if path.suffix in (".txt", ".json"):
            shutil.copy(path, dst / path.name)
    return dst


def make_engine(reports_dir: Path, index_dir: Path, gazetteer=None, **settings) -> Engine:
    return Engine(Settings(index_dir=index_dir, reports_dir=reports_dir, **settings), gazetteer)


@pytest.fixture(scope="session")
def gazetteer():
    from search.entities import default_gazetteer

    return default_gazetteer()


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return copy_reports(TINY, tmp_path / "reports")


@pytest.fixture
def tiny(tiny_dir, tmp_path) -> Engine:
    """An engine over a fresh index of the tiny corpus, without a gazetteer."""
    engine = make_engine(tiny_dir, tmp_path / "index")
    engine.update()
    return engine


@pytest.fixture(scope="module")
def seeds(tmp_path_factory, gazetteer) -> Engine:
    """An engine over the five seeds with the bundled gazetteer (built once per module)."""
    base = tmp_path_factory.mktemp("seeds")
    engine = make_engine(copy_reports(SEEDS, base / "reports"), base / "index", gazetteer)
    engine.update()
    return engine


def ids(result) -> list[str]:
    return [h.id for h in result.hits]
