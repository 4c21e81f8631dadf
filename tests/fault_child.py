"""Run the `reports` CLI in this process with a fault injected (used by tests/test_faults.py).

    python tests/fault_child.py [reports arguments ...]

Configured by environment variables, so the CLI arguments stay exactly those of `reports`:

    FAULT_ROOT    only file operations on paths under this folder (the index) are counted
    FAULT         OP:N:ACTION   before the N-th OP call, ACTION
                  OP     rename | replace | create | remove | write
                  ACTION kill (SIGKILL this process) | enospc (raise OSError ENOSPC)
                  For `write`, N is a byte budget: the write that would pass it fails.
    FAULT_COUNTS  write {op: calls, "write": bytes} as JSON to this file when the CLI exits
    FAULT_MARKS   print `commit-start` / `commit-end` on stderr around each Whoosh commit

Nothing else changes: the real CLI, the real Whoosh and the real file system run.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

fault_root = os.path.realpath(os.environ.get("FAULT_ROOT", "/nonexistent")) + os.sep
spec = os.environ.get("FAULT", "")
op_wanted, n_wanted, action = (spec.split(":") + ["", "", ""])[:3] if spec else ("", "", "")
n_wanted = int(n_wanted or 0)
counts = {"rename": 0, "replace": 0, "create": 0, "remove": 0, "write": 0}


def _inside(path) -> bool:
    try:
        return os.path.realpath(os.fsdecode(path)).startswith(fault_root)
    except (TypeError, ValueError):
        return False


def _fail(op: str, path) -> None:
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fsdecode(path))


def _count(op: str, path) -> None:
    if not _inside(path):
        return
    counts[op] += 1
    if op == op_wanted and counts[op] == n_wanted:
        _fail(op, path)


class _BudgetFile:
    """A writable file whose writes count against the byte budget of FAULT=write:N:..."""

    def __init__(self, f, path):
        self._f, self._path = f, path

    def write(self, data):
        if op_wanted == "write" and counts["write"] + len(data) > n_wanted:
            _fail("write", self._path)
        counts["write"] += len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __iter__(self):
        return iter(self._f)


def _wrap(name, op):
    original = getattr(os, name)

    def patched(src, *args, **kwargs):
        _count(op, src)
        return original(src, *args, **kwargs)

    setattr(os, name, patched)


if __name__ == "__main__":   # not in multiprocessing's spawned workers, which import this file
    _wrap("rename", "rename")
    _wrap("replace", "replace")
    _wrap("remove", "remove")
    _wrap("unlink", "remove")
    _real_open = builtins.open
    _real_os_open = os.open


    def _open(file, mode="r", *args, **kwargs):
        writing = isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+")
        if writing:
            _count("create", file)
        f = _real_open(file, mode, *args, **kwargs)
        if writing and _inside(file):
            return _BudgetFile(f, file)
        return f


    def _os_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and not os.path.basename(os.fsdecode(path)).lower().endswith("lock"):
            _count("create", path)
        return _real_os_open(path, flags, *args, **kwargs)


    builtins.open = _open
    os.open = _os_open

    if os.environ.get("FAULT_MARKS"):
        from whoosh.writing import SegmentWriter

        _commit = SegmentWriter.commit

        def _marked_commit(self, *args, **kwargs):
            print("commit-start", file=sys.stderr, flush=True)
            result = _commit(self, *args, **kwargs)
            print("commit-end", file=sys.stderr, flush=True)
            return result

        SegmentWriter.commit = _marked_commit

    if os.environ.get("FAULT_COUNTS"):
        import atexit

        def _dump():
            with _real_open(os.environ["FAULT_COUNTS"], "w") as f:
                json.dump(counts, f)

        atexit.register(_dump)

    from search.cli import main  # noqa: E402

    sys.argv[0] = "reports"
    main(prog_name="reports")
