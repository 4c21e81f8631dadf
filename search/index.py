"""The index on disk: a folder holding generations and a pointer to the live one.

    index/
      CURRENT              name of the live generation (replaced atomically)
      .lock                held (flock) by the one process allowed to write
      gen-20261122T1325-1a2b/   a Whoosh index + STAMP.json (app, Whoosh, schema versions)

* `update()` applies the difference between the reports folder and the live generation
  (added, changed, removed reports, by content hash) in one Whoosh commit. Whoosh commits
  by renaming its table of contents, so a killed update leaves the before or the after set.
* `rebuild()` writes a complete new generation beside the live one and then replaces
  CURRENT, so searches never see a half-built index and a killed rebuild leaves the old one
  serving. The previous generation is kept until the next rebuild, for searchers still
  reading it.
* Readers never take the lock; only one writer runs at a time, a second waits
  `lock_timeout` seconds and then fails with IndexBusy.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import pickle
import shutil
import struct
import time
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import whoosh
import whoosh.index
from whoosh.writing import SegmentWriter

from . import __version__
from .errors import IndexBusy, IndexDamaged, IndexIncompatible, IndexMissing, SearchError
from .ingest import Scan, Skipped
from .pipeline import prepared
from .schema import SCHEMA_VERSION, make_schema

POINTER = "CURRENT"
LOCK = ".lock"
STAMP = "STAMP.json"
MANIFEST = "MANIFEST.json"
REBUILD_HINT = "run: reports index --rebuild"

# What a torn or garbled Whoosh file raises when opened or read.
# Unpickling garbled bytes can also import a garbage module name, or read a garbage length
# (OverflowError, MemoryError); garbled compressed data raises zlib.error.
DAMAGE_ERRORS = (EOFError, struct.error, pickle.UnpicklingError, ValueError, KeyError,
                 IndexError, TypeError, AttributeError, whoosh.index.IndexError, OSError,
                 ImportError, ArithmeticError, MemoryError, zlib.error)

Progress = Callable[[int, int], None]


def is_damage(exc: BaseException) -> bool:
    """An exception that means damaged index files: the known types, or a bare `Exception`,
    which Whoosh raises for some garbled blocks ("Block tag error") and our code never does."""
    return isinstance(exc, DAMAGE_ERRORS) or type(exc) is Exception


@dataclass
class UpdateSummary:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    rebuilt: bool = False
    generation: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def as_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "skipped": len(self.skipped),
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3), "rebuilt": self.rebuilt,
            "generation": self.generation,
        }


def stamp() -> dict:
    return {"app": __version__, "whoosh": whoosh.versionstring(),
            "schema": SCHEMA_VERSION}


class IndexStore:
    """One index folder. Cheap to create; opens nothing until asked."""

    def __init__(self, root: Path | str, *, lock_timeout: float = 10.0, limitmb: int = 256):
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self.limitmb = limitmb

    # ------------------------------------------------------------------ reading

    def live_name(self) -> str | None:
        """The live generation's name; None without CURRENT, "" when CURRENT is empty or
        garbled (not UTF-8)."""
        try:
            raw = (self.root / POINTER).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexDamaged(f"cannot read {self.root / POINTER}: {exc.strerror}; {REBUILD_HINT}")
        try:
            return raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return ""

    def exists(self) -> bool:
        name = self.live_name()
        return bool(name) and _valid_name(name) and (self.root / name).is_dir()

    def live_dir(self) -> Path:
        name = self.live_name()
        if name is None:
            if self.root.is_dir() and any(p.suffix == ".toc" for p in self.root.glob("*.toc")):
                raise IndexIncompatible(
                    f"{self.root} holds an index from an older version of this program; "
                    f"{REBUILD_HINT}")
            if self.root.is_dir() and any(p.is_dir() for p in self.root.glob("gen-*")):
                raise IndexDamaged(f"the index at {self.root} has lost its {POINTER} file; "
                                   f"{REBUILD_HINT}")
            raise IndexMissing(f"no index at {self.root}: run `reports index` first")
        if not _valid_name(name):
            raise IndexDamaged(f"the {POINTER} file of the index at {self.root} is empty or "
                               f"garbled; {REBUILD_HINT}")
        path = self.root / name
        if not path.is_dir():
            raise IndexDamaged(f"the index at {self.root} points to a missing generation "
                               f"{name!r}; {REBUILD_HINT}")
        return path

    def open(self, path: Path | None = None) -> "whoosh.index.Index":
        """The live Whoosh index (or the generation folder `path` the caller already read
        from CURRENT). Raises IndexMissing / IndexDamaged / IndexIncompatible."""
        path = path or self.live_dir()
        try:
            found = json.loads((path / STAMP).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexIncompatible(f"the index at {self.root} has no version stamp; {REBUILD_HINT}")
        except (OSError, ValueError):
            raise IndexDamaged(f"the index at {self.root} is damaged (bad stamp); {REBUILD_HINT}")
        if found.get("schema") != SCHEMA_VERSION:
            raise IndexIncompatible(
                f"the index at {self.root} was built by version {found.get('app')} with schema "
                f"{found.get('schema')}, this program needs schema {SCHEMA_VERSION}; {REBUILD_HINT}")
        try:
            return whoosh.index.open_dir(str(path))
        except whoosh.index.EmptyIndexError:
            raise IndexDamaged(f"the index at {self.root} is empty or damaged; {REBUILD_HINT}")
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.root} is damaged "
                               f"({type(exc).__name__}); {REBUILD_HINT}") from exc

    def count(self) -> int:
        ix = self.open()
        try:
            return ix.doc_count()
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.root} is damaged; {REBUILD_HINT}") from exc

    def manifest(self, ix=None) -> dict[str, str]:
        """{report id: content hash} for every live document.

        Read from MANIFEST.json when it was written for the index's current Whoosh generation
        (after each commit; a cache, so it is checked, not trusted), else from the id and hash
        columns (about 0.25 s for Reuters-21578)."""
        ix = ix or self.open()
        cached = self._read_manifest(ix)
        if cached is not None:
            return cached
        try:
            with ix.reader() as reader:
                ids = reader.column_reader("id")
                hashes = reader.column_reader("hash")
                return {ids[d]: hashes[d] for d in reader.all_doc_ids()}
        except DAMAGE_ERRORS as exc:
            raise IndexDamaged(f"the index at {self.root} is damaged; {REBUILD_HINT}") from exc

    def _read_manifest(self, ix) -> dict[str, str] | None:
        try:
            with open(Path(ix.storage.folder) / MANIFEST, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("generation") == ix.latest_generation() and isinstance(data.get("ids"), dict):
                return data["ids"]
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def _write_manifest(self, ix, ids: dict[str, str]) -> None:
        """Best effort: a missing or stale manifest only costs the next update a column read."""
        folder = Path(ix.storage.folder)
        tmp = folder / (MANIFEST + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"generation": ix.latest_generation(), "ids": ids}, f)
            os.replace(tmp, folder / MANIFEST)
        except OSError:
            pass

    # ------------------------------------------------------------------ writing

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The one-writer lock: wait up to lock_timeout seconds, then IndexBusy."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(
                            f"another update is running on {self.root} (waited "
                            f"{self.lock_timeout:g} s): try again when it has finished")
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)   # closing releases the flock

    def update(self, scan: Scan, gazetteer=None, progress: Progress | None = None,
               rebuild: bool = False) -> UpdateSummary:
        """Make the index equal to the scanned folder: incremental unless `rebuild` or no index."""
        started = time.perf_counter()
        with self.lock():
            if rebuild or not self.exists():
                summary = self._rebuild(scan, gazetteer, progress)
            else:
                summary = self._update(scan, gazetteer, progress)
        summary.skipped = scan.skipped + summary.skipped
        summary.seconds = time.perf_counter() - started
        return summary

    def _update(self, scan: Scan, gazetteer, progress) -> UpdateSummary:
        ix = self.open()
        have = self.manifest(ix)
        summary = UpdateSummary(generation=self.live_name() or "")
        todo = [e for e in scan.entries.values() if have.get(e.id) != e.hash]
        removed = [rid for rid in have if rid not in scan.entries]
        summary.unchanged = len(scan.entries) - len(todo)
        if not todo and not removed:
            return summary
        writer = self._writer(ix)
        try:
            for rid in removed:
                writer.delete_by_term("id", rid)
                summary.removed += 1
                del have[rid]
            docs = prepared(todo, len(todo), gazetteer, ix.schema)
            for n, (rid, skipped, doc) in enumerate(docs, start=1):
                if rid in have:
                    writer.delete_by_term("id", rid)
                if skipped is not None:
                    summary.skipped.append(skipped)
                    if rid in have:
                        summary.removed += 1
                        del have[rid]
                else:
                    writer.add_document(**doc)
                    if rid in have:
                        summary.updated += 1
                    else:
                        summary.added += 1
                    have[rid] = doc["hash"]
                if progress:
                    progress(n, len(todo))
            writer.commit()
        except BaseException:
            _cancel(writer)
            raise
        self._write_manifest(self.open(), have)
        return summary

    def _rebuild(self, scan: Scan, gazetteer, progress) -> UpdateSummary:
        self.root.mkdir(parents=True, exist_ok=True)
        previous = self.live_name()
        name = f"gen-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        path = self.root / name
        path.mkdir()
        summary = UpdateSummary(rebuilt=True, generation=name)
        try:
            ix = whoosh.index.create_in(str(path), make_schema())
            writer = self._writer(ix)
            try:
                total = len(scan.entries)
                docs = prepared(scan.entries.values(), total, gazetteer, ix.schema)
                ids: dict[str, str] = {}
                for n, (_, skipped, doc) in enumerate(docs, start=1):
                    if skipped is not None:
                        summary.skipped.append(skipped)
                    else:
                        writer.add_document(**doc)
                        ids[doc["id"]] = doc["hash"]
                        summary.added += 1
                    if progress:
                        progress(n, total)
                writer.commit(optimize=True)
            except BaseException:
                _cancel(writer)
                raise
            self._write_manifest(whoosh.index.open_dir(str(path)), ids)
            _fsync_tree(path)    # Whoosh does not fsync: make the new generation durable first
            _write_durably(path / STAMP, json.dumps(stamp(), indent=2))
            _write_durably(self.root / POINTER, name)   # the switch
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self._collect(keep={name, previous})
        return summary

    def _writer(self, ix) -> SegmentWriter:
        # Called only under self.lock(), our one-writer lock, so Whoosh's own write lock is
        # not taken (_lk=False): Whoosh 2.7 keeps it held when the writer's constructor or its
        # commit fails (disk full), until the process exits, so a long-running process
        # (`reports watch`) could never update again.
        try:
            return ix.writer(limitmb=self.limitmb, timeout=self.lock_timeout, _lk=False)
        except whoosh.index.LockError:
            raise IndexBusy(f"another update is running on {self.root}: try again when it has finished")

    def _collect(self, keep: set) -> None:
        """Remove generations other than `keep` (left by older or killed rebuilds)."""
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith("gen-") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)


def _cancel(writer) -> None:
    """Abandon a writer. After a failed commit (disk full) Whoosh's `cancel()` raises before
    removing the writer's temporary folder in the index: remove it here."""
    try:
        writer.cancel()
    except Exception:
        pass
    if not getattr(writer, "is_closed", True):
        try:
            writer._tempstorage.destroy()
        except Exception:
            pass
        writer.is_closed = True


def _valid_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\x00" not in name and not name.startswith(".")


def _fsync_tree(path: Path) -> None:
    """fsync every file of a generation folder, so a power loss after the switch cannot leave
    CURRENT pointing at data that never reached the disk."""
    for child in path.iterdir():
        if child.is_file():
            fd = os.open(child, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _write_durably(path: Path, text: str) -> None:
    """Write a small file so that it is either the old or the new content, even after a crash."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise


def describe_error(exc: BaseException) -> str:
    """A user-facing sentence for an OS error during an update (disk full, permissions)."""
    if isinstance(exc, SearchError):
        return str(exc)
    if isinstance(exc, OSError):
        cause = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno == errno.ENOSPC:
            return f"the disk is full ({cause}); the index was left unchanged: free space and run the update again"
        return f"{cause}: the index was left unchanged; fix the cause and run the update again"
    return f"{type(exc).__name__}: the index was left unchanged; run the update again"
