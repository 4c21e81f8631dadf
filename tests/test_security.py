"""Security of the served app, against `reports serve` running as a real process.

tests/test_web.py (test client) and tests/test_browser.py (Chromium, in-thread server, the
fixture gazetteer) already cover: report-text markup in the page, an escaped query echo,
headers on each status through the test client, traversal through the test client, hostile
parameters, the rate limit's 429 in one thread, the app never opening a writer. This module
adds what only a real server, the real gazetteer loader and a real browser show:

* payloads inside a user gazetteer file (`--gazetteer`), so they become facet labels, chips,
  expansion notices and report-page entity links; searches that land inside payloads; a
  Content-Security-Policy violation listener;
* headers and clean bodies on every route and status from waitress itself, `/console`, debug;
* traversal with raw (unnormalised) paths and a symlink to a secret outside the folder;
* the rate limit of one waitress process across its threads;
* serving from read-only copies as the unprivileged user `nobody`.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest_web import Server
from real_server import ROOT, ServeProcess, cli_env, report_path, reports_cli

CHROMIUM = Path("/usr/bin/chromium")
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECRET = "zqoutsidesecret42"

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(2)>",
    "svg": '"><svg onload=alert(3)>',
    "mark": "</mark><script>alert(4)</script>",
    "js": "javascript:alert(5)",
    "template": "{{7*7}}",
}

# Entity names (shown as labels) and aliases carrying payloads; the plain aliases are what
# the reports name, so the entities are found in them and their labels reach the pages.
GAZETTEER = r'''
stop = ["<b>Stop</b> Phrase"]

[[actors]]
id = "xss-script"
name = "<script>alert(11)</script>"
kind = "militia"
aliases = ["Scriptmen Brigade", "<script>alert(12)</script>"]

[[actors]]
id = "xss-img"
name = "<img src=x onerror=alert(13)>"
kind = "militia"
aliases = ["Onerror Battalion", "<img src=y onerror=alert(14)>"]

[[actors]]
id = "isis"
aliases = ['"><svg onload=alert(15)>']

[[places]]
id = "xss-town"
name = "</mark><script>alert(16)</script> Town"
type = "town"
parent = "hajin-subdistrict"
aliases = ["Javascript Village", "javascript:alert(17)"]

[[operations]]
id = "xss-op"
name = "Operation {{7*7}}"
actor = "xss-script"
aliases = ["Operation Onload", "\"><svg onload=alert(18)> Operation"]
'''
LABELS = {"xss-script": "<script>alert(11)</script>", "xss-img": "<img src=x onerror=alert(13)>",
          "xss-town": "</mark><script>alert(16)</script> Town", "xss-op": "Operation {{7*7}}"}


def hostile_report(name: str, payload: str, n: int) -> str:
    return (f"date: 2019-0{n + 1}-1{n}\nsource: Hostile Wire {payload}\nurl: {PAYLOADS['js']}\n\n"
            f"{payload} Scriptmen Brigade near Javascript Village {name}\n\n"
            f"Lede: the Onerror Battalion and {payload} in Operation Onload near Hajin.\n\n"
            f"Body {payload} then the Islamic State fighters {payload} and the Scriptmen "
            f"Brigade; {PAYLOADS['js']} is text; {PAYLOADS['template']} stays; alert mark svg.\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Hostile reports + a hostile user gazetteer + a symlinked secret, indexed by
    `reports index --gazetteer`; the base folder, the reports and index paths."""
    base = tmp_path_factory.mktemp("security")
    reports, index, outside = base / "reports", base / "index", base / "outside"
    reports.mkdir()
    outside.mkdir()
    for n, (name, payload) in enumerate(PAYLOADS.items()):
        (reports / f"hostile-{name}.txt").write_text(hostile_report(name, payload, n), encoding="utf-8")
    (reports / "plain.txt").write_text("date: 2018-12-14\nsource: Field Monitor\n\nSDF enters Hajin"
                                       "\n\nThe SDF entered Hajin after weeks of fighting.\n")
    (outside / "secret.txt").write_text(f"Secret file\n\n{SECRET} root:x:0:0 outside the folder\n")
    os.symlink(outside / "secret.txt", reports / "outside-link.txt")
    os.symlink(outside, reports / "outside-dir")
    gazetteer = base / "hostile.toml"
    gazetteer.write_text(GAZETTEER, encoding="utf-8")
    summary = json.loads(reports_cli("index", "--json", index=index, reports=reports,
                                     gazetteer=gazetteer).stdout)
    assert summary["added"] == len(PAYLOADS) + 1, summary
    assert {s["path"] for s in summary["skipped_files"]} >= {"outside-link.txt"}
    return base, reports, index, gazetteer


@pytest.fixture(scope="module")
def server(site):
    base, reports, index, gazetteer = site
    with ServeProcess(index, reports, base / "serve.log", gazetteer=gazetteer) as running:
        yield running
    assert "Traceback" not in running.log()


def assert_headers(headers: dict, where=""):
    assert headers.get("content-security-policy") == CSP, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("x-frame-options") == "DENY", where


def assert_clean(body: bytes, where="", *roots: Path):
    text = body.decode("utf-8", "replace")
    for sign in ("Traceback", 'File "', "werkzeug", "Werkzeug Debugger", "/work/", "/tmp/",
                 "site-packages", "/root/", SECRET):
        assert sign not in text, (where, sign)
    for root in roots:
        assert str(root) not in text, where


# --------------------------------------------------------------------------- stored XSS


DOM_CHECK = """() => {
  const all = [...document.querySelectorAll('*')];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'];
  return {
    scripts: [...document.scripts].map(s => s.getAttribute('src')),
    foreign: [...document.querySelectorAll(
        'svg, img, iframe, object, embed, frame, base, math, video, audio, meta[http-equiv]')]
      .map(e => e.outerHTML.slice(0, 80)),
    handlers: all.flatMap(e => [...e.attributes].filter(a => a.name.toLowerCase().startsWith('on'))
      .map(a => e.tagName + ' ' + a.name)),
    jsUrls: all.filter(e => !e.matches('link[rel=icon]')).flatMap(e => [...e.attributes].filter(
      a => urlAttrs.includes(a.name.toLowerCase()) && /^\\s*(javascript|data|vbscript):/i.test(a.value))
      .map(a => e.tagName + ' ' + a.value)),
    stylesheets: [...document.querySelectorAll('link')].map(l => l.getAttribute('rel') + ' ' + l.getAttribute('href')),
    ran: window.__xss || null,
    csp: window.__csp,
    text: document.body.innerText,
    titles: [...document.querySelectorAll('[title]')].map(e => e.getAttribute('title')),
  };
}"""

CLEAN_DOM = {"scripts": ["/static/app.js"], "foreign": [], "handlers": [], "jsUrls": [],
             "stylesheets": ["icon data:,", "stylesheet /static/app.css"], "ran": None, "csp": []}

# Records CSP violations, and marks `window.__xss` if any alert/confirm/prompt is called.
INIT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI is set)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.mark.browser
def test_gazetteer_and_report_payloads_never_run(browser, server, site):
    base = site[0]
    context = browser.new_context()
    context.add_init_script(INIT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    ids = [h["id"] for h in server.json("/api/search?q=Scriptmen&size=20")["hits"]]
    assert len(ids) == len(PAYLOADS)
    filtered = "/?" + urlencode([("actor", "xss-script"), ("actor", "xss-img"),
                                 ("place", "xss-town"), ("operation", "xss-op")])
    paths = ["/", "/?q=script", "/?q=onerror", "/?q=svg", "/?q=alert", "/?q=javascript",
             "/?q=mark+script", "/?q=%7B%7B7*7%7D%7D", "/?q=Scriptmen+Brigade",
             "/?q=Onerror+Battalion", "/?q=%22Operation+Onload%22", "/?q=Javascript+Village",
             filtered, "/?q=zqnothing&actor=xss-script", "/?find_actors=script",
             "/?more=actors&more=places", "/?q=script&sort=newest",
             *[report_path(i, "script onerror svg alert Scriptmen") for i in ids]]
    seen_labels = set()
    for path in paths:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        found = page.evaluate(DOM_CHECK)
        text, titles = found.pop("text"), found.pop("titles")
        assert found == CLEAN_DOM, path
        assert "Operation 49" not in text and "alert(" in text, path
        seen_labels |= {eid for eid, label in LABELS.items() if label in text or label in titles}
    # Every payload label reached a page as text (facets, chips, links' titles).
    assert seen_labels == set(LABELS)
    page.goto(server.url + filtered)
    chips = page.locator("a.chip-remove").all_inner_texts()
    assert any(LABELS["xss-script"] in c for c in chips) and any("{{7*7}}" in c for c in chips)
    page.goto(server.url + report_path(ids[0], "Scriptmen"))
    for alias, eid in (("Scriptmen", "xss-script"), ("Onerror Battalion", "xss-img"),
                       ("Javascript Village", "xss-town"), ("Operation Onload", "xss-op")):
        link = page.locator("a.ent", has_text=alias).first
        assert link.get_attribute("title") == LABELS[eid]      # the label, as an attribute value
    assert page.locator("h1").inner_text().count("Scriptmen Brigade") == 1
    # Live search: typing swaps in results parsed by DOMParser; they must stay inert too.
    page.goto(server.url + "/")
    page.locator("#q").press_sequentially("onerror", delay=30)
    page.wait_for_url("**/?q=onerror")
    page.wait_for_function("() => !document.querySelector('#results-region.is-loading')")
    found = page.evaluate(DOM_CHECK)
    found.pop("text"), found.pop("titles")
    assert found == CLEAN_DOM
    # The listener works: an injected inline script is blocked by the CSP and reported.
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__xss = "ran"'; document.body.appendChild(s); }""")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.__xss || null") is None
    assert page.evaluate("window.__csp")[0].startswith("script-src")
    csp_errors = [e for e in errors if "Content Security Policy" in e]
    assert len(csp_errors) == 1           # the control's, and no other
    context.close()
    assert dialogs == []
    assert [e for e in errors if "Content Security Policy" not in e] == []
    assert_clean(server.log().encode(), "log", base)


# --------------------------------------------------------------------------- headers


def test_security_headers_on_every_route_and_status(server, site):
    base = site[0]
    rid = server.json("/api/search?q=Scriptmen")["hits"][0]["id"]
    long_q = "q=" + "x" * 1001
    cases = [
        ("GET", "/", 200, "text/html"), ("GET", "/?q=script", 200, "text/html"),
        ("GET", report_path(rid, "script"), 200, "text/html"),
        ("GET", "/api/search?q=script", 200, "application/json"),
        ("GET", "/api" + report_path(rid), 200, "application/json"),
        ("GET", "/healthz", 200, "application/json"),
        ("GET", "/static/app.css", 200, "text/css"), ("GET", "/static/app.js", 200, "text/javascript"),
        ("GET", "/?" + long_q, 400, "text/html"), ("GET", "/api/search?" + long_q, 400, "application/json"),
        ("GET", "/nowhere", 404, "text/html"), ("GET", "/reports/no-such.txt", 404, "text/html"),
        ("GET", "/api/nowhere", 404, "application/json"),
        ("GET", "/api/reports/no-such.txt", 404, "application/json"),
        ("GET", "/static/nope.css", 404, "text/html"), ("GET", "/console", 404, "text/html"),
        ("GET", "/console?__debugger__=yes&cmd=resource&f=style.css", 404, "text/html"),
        ("POST", "/", 405, "text/html"), ("POST", "/api/search", 405, "application/json"),
        ("DELETE", "/healthz", 405, "application/json"), ("PUT", report_path(rid), 405, "text/html"),
    ]
    for method, path, status, mime in cases:
        got, headers, body = server.get(path, method=method)
        assert (got, headers["content-type"].split(";")[0]) == (status, mime), (method, path)
        assert_headers(headers, path)
        assert_clean(body, path, base)
        if mime == "application/json" and status >= 400:
            assert json.loads(body) == {"ok": False, "status": status,
                                        "error": json.loads(body)["error"]}
        if status == 405:
            assert "GET" in headers["allow"]
    assert "Traceback" not in server.log()


class BrokenEngine:
    """An engine whose every call fails with an unexpected error naming a path."""

    def __init__(self, engine, where: Path):
        self.gazetteer = engine.gazetteer
        self.where = where

    def _fail(self, *args, **kwargs):
        raise RuntimeError(f"disk exploded reading {self.where}/index/gen-1/MAIN.toc")

    search = report = searcher = _fail


def test_500_from_waitress_is_generic(site, tmp_path):
    """An unexpected exception under waitress: a generic 500 page or JSON, headers, no
    traceback or path (the log has the traceback, for the operator)."""
    from search.engine import Engine
    from search.settings import Settings
    from web import create_app

    base, reports, index, gazetteer = site
    settings = Settings(index_dir=index, reports_dir=reports, gazetteer_paths=(gazetteer,))
    app = create_app(settings=settings, engine=BrokenEngine(Engine.from_settings(settings), base),
                     test_config={"RATELIMIT_ENABLED": False})
    assert app.debug is False
    with Server(app) as running:
        import http.client

        for path, mime in (("/?q=x", "text/html"), ("/reports/a.txt", "text/html"),
                           ("/api/search?q=x", "application/json"),
                           ("/api/reports/a.txt", "application/json"), ("/healthz", "application/json")):
            conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            headers = {k.lower(): v for k, v in r.getheaders()}
            body = r.read()
            conn.close()
            assert (r.status, headers["content-type"].split(";")[0]) == (500, mime), path
            assert_headers(headers, path)
            assert_clean(body, path, base)
            assert b"disk exploded" not in body
            if mime == "application/json":
                assert json.loads(body)["status"] == 500


def test_503_when_the_index_is_damaged_or_gone_under_a_running_server(site, tmp_path):
    _, reports, index, gazetteer = site
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    with ServeProcess(copy, reports, tmp_path / "serve.log", gazetteer=gazetteer) as server:
        assert server.get("/?q=script")[0] == 200
        (copy / "CURRENT").write_text("gen-gone\n")                  # damaged
        damaged = [(p, m) for p, m in (("/?q=script", "text/html"), ("/reports/plain.txt", "text/html"),
                                        ("/api/search?q=x", "application/json"),
                                        ("/healthz", "application/json"))]
        for path, mime in damaged:
            status, headers, body = server.get(path)
            assert (status, headers["content-type"].split(";")[0]) == (503, mime), path
            assert_headers(headers, path)
            assert_clean(body, path, copy)
            assert b"reports index --rebuild" in body
        for p in copy.iterdir():                                       # gone
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        for path, mime in damaged:
            status, headers, body = server.get(path)
            assert status == 503, path
            assert_headers(headers, path)
            assert_clean(body, path, copy)
            assert b"reports index" in body
        assert json.loads(server.get("/healthz")[2])["ok"] is False
    log = server.log()
    assert "Traceback" not in log and "IndexDamaged" in log    # logged for the operator


DEBUG_PROBE = """
import json, sys, waitress
def serve(app, **kw):
    print(json.dumps({"debug": app.debug, "testing": app.testing,
                      "propagate": app.config.get("PROPAGATE_EXCEPTIONS"),
                      "host": kw.get("host"), "rules": sorted(r.rule for r in app.url_map.iter_rules())}))
waitress.serve = serve
from search.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("env", [{}, {"FLASK_DEBUG": "1"}], ids=["plain", "FLASK_DEBUG=1"])
def test_reports_serve_runs_without_debug(site, env):
    """`reports serve` (no --debug) hands waitress an app with debug off, on loopback, with
    no debugger or console route, even with a FLASK_DEBUG left in the operator's shell."""
    _, reports, index, gazetteer = site
    proc = subprocess.run([sys.executable, "-c", DEBUG_PROBE, "serve", "--index", str(index),
                           "--reports", str(reports), "--port", "1"],
                          cwd=ROOT, env=cli_env(**env), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False and seen["testing"] is False and seen["host"] == "127.0.0.1"
    assert not any("console" in r or "debugger" in r for r in seen["rules"])
    assert set(seen["rules"]) == {"/", "/reports/<path:report_id>", "/api/search",
                                  "/api/reports/<path:report_id>", "/healthz",
                                  "/static/<path:filename>"}


# --------------------------------------------------------------------------- traversal


TRAVERSALS = [
    "../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "..%252f..%252f..%252fetc%252fpasswd",
    "%252e%252e%252fetc%252fpasswd", "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afetc%c0%afpasswd", "..\\..\\..\\etc\\passwd",
    "..%5c..%5c..%5cetc%5cpasswd", "/etc/passwd", "%2fetc%2fpasswd", "etc/passwd%00",
    "%00", "plain.txt%00.json", "..%00/etc/passwd", "outside-link.txt", "outside-dir/secret.txt",
    "..%2foutside%2fsecret.txt", "../outside/secret.txt", "%2e%2e%2foutside%2fsecret.txt",
    "..%2f..%2fweb%2fapp.py", "..%2findex%2fCURRENT", "../index/CURRENT",
    "....//....//etc/passwd", "..;/..;/etc/passwd", "file:%2F%2F%2Fetc%2Fpasswd",
]


def test_traversal_over_http_never_serves_outside_content(server, site):
    base = site[0]
    secret_path = str(base / "outside" / "secret.txt")
    targets = TRAVERSALS + [secret_path.lstrip("/"), secret_path.replace("/", "%2f")]
    statuses = {}
    for prefix in ("/reports/", "/api/reports/", "/static/"):
        for t in targets:
            path = prefix + t
            status, headers, body = server.get(path)
            hops = 0
            while status in (301, 302, 307, 308) and hops < 3:      # `//` is merged by a redirect
                location = headers["location"].replace(server.url, "")
                assert location.startswith("/") and not location.startswith("//"), location
                status, headers, body = server.get(location)
                hops += 1
            statuses[status] = statuses.get(status, 0) + 1
            text = body.decode("utf-8", "replace")
            assert status in (400, 404), (path, status)
            for leak in (SECRET, "root:x:0", "def create_app", "gen-", "[fonts]"):
                assert leak not in text, (path, leak)
            assert_headers(headers, path)
    print(f"\ntraversal: {sum(statuses.values())} raw paths over HTTP -> {statuses}")
    # The symlinked secret was never indexed: searching its word finds nothing.
    assert server.json(f"/api/search?q={SECRET}")["total"] == 0
    assert server.json("/api/search?q=root")["total"] == 0
    assert "No reports match" in server.get(f"/?q={SECRET}")[2].decode()
    ids = {h["id"] for h in server.json("/api/search?size=100")["hits"]}
    assert ids == {f"hostile-{n}.txt" for n in PAYLOADS} | {"plain.txt"}


# --------------------------------------------------------------------------- rate limit


def test_rate_limit_in_a_real_server(site, tmp_path):
    _, reports, index, gazetteer = site
    with ServeProcess(index, reports, tmp_path / "serve.log", rate_limit="5 per minute") as server:
        # /healthz and /static are exempt: the start-up probe and these do not count.
        for _ in range(10):
            assert server.get("/healthz")[0] == 200
        assert [server.get(p)[0] for p in ("/?q=script", "/api/search?q=x", "/reports/plain.txt",
                                           "/api/reports/plain.txt", "/")] == [200] * 5
        status, headers, body = server.get("/?q=script")
        assert status == 429 and headers["content-type"].startswith("text/html")
        # flask-limiter rounds the window's end up a second: 61 s is the most it says.
        assert 1 <= int(headers["retry-after"]) <= 61
        assert b"Too many requests" in body
        assert_headers(headers, "429 page")
        for path in ("/api/search?q=x", "/api/reports/plain.txt"):
            status, headers, body = server.get(path)
            assert status == 429 and headers["content-type"] == "application/json"
            data = json.loads(body)
            assert data["ok"] is False and data["status"] == 429 and data["error"]
            assert 1 <= int(headers["retry-after"]) <= 61
            assert_headers(headers, path)
        for path in ("/healthz", "/static/app.css", "/static/app.js"):
            status, headers, _ = server.get(path)
            assert status == 200, path
            assert_headers(headers, path)
        assert_clean(body, "429")
    assert "Traceback" not in server.log()


def test_rate_limit_holds_across_waitress_threads(site, tmp_path):
    """40 requests at once from 40 client threads, served by waitress's 8 threads in one
    process: exactly 5 succeed (the limiter's memory storage is shared by the threads)."""
    _, reports, index, gazetteer = site
    with ServeProcess(index, reports, tmp_path / "serve.log", rate_limit="5 per minute") as server:
        gate = threading.Barrier(40, timeout=30)

        def one(i):
            gate.wait()
            path = ("/api/search?q=script", "/?q=alert", "/reports/plain.txt")[i % 3]
            return server.get(path, timeout=30)[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(one, range(40), timeout=60))
    counts = {s: statuses.count(s) for s in set(statuses)}
    print(f"\n40 concurrent requests, limit 5 per minute: {counts}")
    assert counts == {200: 5, 429: 35}
    assert "Traceback" not in server.log()


# --------------------------------------------------------------------------- read-only


def _make_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        os.chmod(dirpath, 0o555)


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size, p.stat().st_mode)
            for p in sorted(root.rglob("*"))}


def test_serving_read_only_copies_as_nobody(site):
    """The web process needs read access only: the index and reports copied, files 0444 and
    folders 0555 (owned by root), the server run as `nobody` with no supplementary groups."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start the server as another user")
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is missing")
    import pwd

    nobody = pwd.getpwnam("nobody")
    # This venv's interpreter lives under /root (mode 0700), which `nobody` cannot enter;
    # Debian's Python 3.11 runs the same code with the venv's packages on PYTHONPATH.
    site_packages = next((ROOT / ".venv" / "lib").glob("python3.11/site-packages"))
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{site_packages}", "PYTHONDONTWRITEBYTECODE": "1"}
    as_nobody = dict(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import search.cli, web, whoosh, numpy"],
                           cwd="/", env=env, capture_output=True, text=True, timeout=60, **as_nobody)
    if probe.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} cannot import the app as nobody: {probe.stderr[-300:]}")

    _, reports, index, gazetteer = site
    tree = Path(tempfile.mkdtemp(prefix="reports-ro-"))
    log = Path(tempfile.mkdtemp(prefix="reports-ro-log-")) / "serve.log"
    try:
        shutil.copytree(index, tree / "index")
        shutil.copytree(reports, tree / "reports", symlinks=True)
        shutil.copy(gazetteer, tree / "hostile.toml")
        _make_read_only(tree)
        before = _snapshot(tree)
        server = ServeProcess(tree / "index", tree / "reports", log, gazetteer=tree / "hostile.toml",
                              python=str(SYSTEM_PYTHON), env=env, cwd=tree, **as_nobody)
        with server:
            status = dict(line.split(":", 1) for line in
                          Path(f"/proc/{server.pid}/status").read_text().splitlines())
            assert status["Uid"].split() == [str(nobody.pw_uid)] * 4, status["Uid"]
            assert status["Gid"].split() == [str(nobody.pw_gid)] * 4, status["Gid"]
            assert status["Groups"].split() == [], status["Groups"]
            rid = server.json("/api/search?q=Scriptmen")["hits"][0]["id"]
            paths = ["/", "/?q=script", "/?q=Scriptmen+Brigade&place=xss-town", "/?q=onerr*",
                     report_path(rid, "script"), "/api/search?q=alert", "/api" + report_path(rid),
                     "/healthz", "/static/app.css", "/?q=script&page=2", "/?find_places=java"]
            statuses = {p: server.get(p)[0] for p in paths}
            assert statuses == {p: 200 for p in paths}
            assert server.json("/healthz") == {"ok": True, "reports": len(PAYLOADS) + 1}
        text = server.log()
        print(f"\nserved read-only as nobody: {len(paths)} routes 200; log: {text.strip()[:200]}")
        for sign in ("Traceback", "Error", "error", "Permission denied", "Warning"):
            assert sign not in text, text
        assert _snapshot(tree) == before                 # nothing written, nothing touched
    finally:
        for dirpath, _, _ in os.walk(tree):
            os.chmod(dirpath, stat.S_IRWXU)
        shutil.rmtree(tree, ignore_errors=True)
        shutil.rmtree(log.parent, ignore_errors=True)
