"""`reports serve` as a real process, for the load and security tests.

Every server runs on 127.0.0.1 on a free port, writes its stderr to a log file, and is
stopped by its pid (SIGTERM, then SIGKILL if it does not exit). Nothing here is a test.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest_web import free_port

ROOT = Path(__file__).resolve().parents[1]
REUTERS = Path("/work/shared/corpora/reuters21578")


def cli_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REPORTS_"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def reports_cmd(*args, index: Path, reports: Path, gazetteer: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "search.cli", *args, "--index", str(index), "--reports", str(reports)]
    return cmd + (["--gazetteer", str(gazetteer)] if gazetteer is not None else [])


def reports_cli(*args, index: Path, reports: Path, gazetteer: Path | None = None,
                timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """`reports ARGS --index I --reports R` as a real process."""
    proc = subprocess.run(reports_cmd(*args, index=index, reports=reports, gazetteer=gazetteer),
                          cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


class ServeProcess:
    """`reports serve --port P --index I --reports R --rate-limit LIMIT` as a child process."""

    def __init__(self, index: Path, reports: Path, log: Path, rate_limit: str = "off",
                 gazetteer: Path | None = None, python: str = sys.executable,
                 env: dict | None = None, cwd: Path = ROOT, **popen):
        self.port = free_port()
        self.log_path = log
        cmd = [python, "-m", "search.cli", "serve", "--port", str(self.port), "--host", "127.0.0.1",
               "--index", str(index), "--reports", str(reports), "--rate-limit", rate_limit]
        if gazetteer is not None:
            cmd += ["--gazetteer", str(gazetteer)]
        self.cmd = cmd
        self.env = env or cli_env()
        self.cwd = cwd
        self.popen = popen
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "ServeProcess":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **self.popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"reports serve exited ({self.proc.returncode}): {self.log()}")
            try:
                status, _, _ = self.get("/healthz", timeout=2)
                if status in (200, 503):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"reports serve did not answer within {timeout} s: {self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024

    def get(self, path: str, timeout: float = 30, method: str = "GET", body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
        """One request with `path` sent exactly as given (no normalisation, no quoting)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, path: str, timeout: float = 30):
        status, _, body = self.get(path, timeout=timeout)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)


def report_path(report_id: str, q: str = "") -> str:
    """The page's own link to a report (web/present.py's report_url)."""
    from web.present import report_url

    return report_url(report_id, q)


# --------------------------------------------------------------------------- Reuters

_DOC = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_ENTITY = re.compile(r"&#(\d+);")
_MONTHS = {m: i for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}


def _tag(text: str, name: str) -> str | None:
    m = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", text, re.S)
    return m[1] if m else None


def _text(raw: str) -> str:
    raw = _ENTITY.sub(lambda m: "" if int(m[1]) < 32 else m[0], raw)
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", html.unescape(raw)).strip()


def reuters_records(limit: int) -> list[dict]:
    """The first `limit` Reuters-21578 stories that have a title and a body."""
    out: list[dict] = []
    for path in sorted(REUTERS.glob("reut2-*.sgm")):
        for m in _DOC.finditer(path.read_bytes().decode("latin-1")):
            title, body = _tag(m[2], "TITLE"), _tag(m[2], "BODY")
            if not (title and body):
                continue
            rec = {"id": f"reuters-{m[1]}", "title": _text(title),
                   "body": re.sub(r"\s*\bReuter\s*$", "", _text(body)), "source": "Reuters"}
            d = re.match(r"\s*(\d{1,2})-([A-Z]{3})-(\d{4})", _tag(m[2], "DATE") or "")
            if d and d[2] in _MONTHS:
                rec["date"] = f"{d[3]}-{_MONTHS[d[2]]:02d}-{int(d[1]):02d}"
            out.append(rec)
            if len(out) >= limit:
                return out
    return out


def write_archive(records: list[dict], reports: Path, name: str) -> Path:
    target = reports / "imported" / f"{name}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return target
