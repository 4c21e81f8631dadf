"""Settings, built once where the program starts (CLI or web app) and passed down.

Library functions never read the environment; only `Settings.from_env` does, and only the
CLI and the web app's factory call it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    reports_dir: Path = Path("seeds")
    gazetteer_paths: tuple[Path, ...] = ()
    max_file_bytes: int = 20 * 1024 * 1024       # larger report files are skipped with a warning
    max_archive_bytes: int = 512 * 1024 * 1024   # imported .jsonl archives
    lock_timeout: float = 10.0                   # seconds a second writer waits for the first
    writer_limitmb: int = 256
    max_query_chars: int = 1000
    max_query_terms: int = 64
    max_page_size: int = 100
    max_page: int = 1000
    max_facet_size: int = 200
    max_filters: int = 50
    prefix_min_chars: int = 3
    prefix_max_expansion: int = 64

    def __post_init__(self):
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "reports_dir", Path(self.reports_dir))
        object.__setattr__(self, "gazetteer_paths", tuple(Path(p) for p in self.gazetteer_paths))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Settings from REPORTS_INDEX, REPORTS_DIR and REPORTS_GAZETTEER (os.pathsep-separated)."""
        env = os.environ if environ is None else environ
        values: dict = {}
        if env.get("REPORTS_INDEX"):
            values["index_dir"] = Path(env["REPORTS_INDEX"])
        if env.get("REPORTS_DIR"):
            values["reports_dir"] = Path(env["REPORTS_DIR"])
        if env.get("REPORTS_GAZETTEER"):
            values["gazetteer_paths"] = tuple(
                Path(p) for p in env["REPORTS_GAZETTEER"].split(os.pathsep) if p
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
