"""The web app through Flask's test client: pages, API, errors, headers, hostile input.

Real parts only: a real index of tests/fixtures/web_corpus (see tests/conftest_web.py for
what each report holds), the real app factory, the real CLI for the --json comparison.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest_web import (FAKES, RELAXED, ROOT, WEB_CORPUS, app, build_index, client,  # noqa: F401
                          gazetteer, real_gazetteer, tiny_gazetteer, web_engine, web_settings,
                          write_bulletins)
from search.engine import Engine
from search.errors import BadQuery
from search.index import IndexStore
from search.settings import Settings
from web import create_app

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
TRACEBACK_SIGNS = ("Traceback", 'File "', "werkzeug", "/work/", "/tmp/", "site-packages")


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_headers(response):
    h = response.headers
    assert h["Content-Security-Policy"] == CSP
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Frame-Options"] == "DENY"


def assert_clean(body: str, tmp_root: Path | None = None):
    for sign in TRACEBACK_SIGNS:
        assert sign not in body, sign
    if tmp_root is not None:
        assert str(tmp_root) not in body


def hit_ids(client, query_string: str) -> list[str]:
    return [h["id"] for h in client.get("/api/search?" + query_string).get_json()["hits"]]


@pytest.fixture(scope="module")
def paged_settings(tmp_path_factory, gazetteer):
    """The fixture corpus plus 30 bulletins (15 name Hajin): three pages of "bulletin"."""
    return build_index(tmp_path_factory.mktemp("paged"), [WEB_CORPUS], gazetteer,
                       extra=write_bulletins)


@pytest.fixture(scope="module")
def fakes_settings(tmp_path_factory, gazetteer):
    """FA-KES (804 real articles, 15 sources, 7 years) imported and indexed."""
    if not FAKES.exists():
        pytest.skip(f"{FAKES} is not on this machine")
    from search.importer import import_table

    tmp = tmp_path_factory.mktemp("fakes")
    return build_index(tmp, [], gazetteer,
                       extra=lambda reports: import_table(str(FAKES), reports))


def make_client(settings, gaz, **config):
    return create_app(settings=settings, engine=Engine(settings, gaz),
                      test_config={**RELAXED, **config}).test_client()


# --------------------------------------------------------------------------- search page


def test_search_page_shows_ranked_highlighted_results(client):
    r = client.get("/?q=Hajin")
    body = text(r)
    assert r.status_code == 200
    assert 'value="Hajin"' in body
    assert '<label for="q"' in body
    assert ">2 reports<" in body
    assert re.search(r"\d+ ms", body)
    assert '<a href="/reports/hajin-offensive.txt?q=Hajin">' in body
    assert "<mark>Hajin</mark>" in body
    assert '<time datetime="2018-12-14">14 Dec 2018</time>' in body
    assert "Field Monitor" in body
    # The report's entity chips add a filter.
    assert 'href="/?q=Hajin&amp;actor=sdf"' in body
    assert 'href="/?q=Hajin&amp;operation=roundup"' in body


def test_empty_query_shows_recent_reports_newest_first(client):
    body = text(client.get("/"))
    assert "Recent reports" in body
    assert body.index("Deterrence of Terrorism operation") < body.index("Syrian army shells")
    assert hit_ids(client, "")[0] == "deterrence.txt"


def test_no_results_suggests_how_to_broaden(client):
    body = text(client.get("/?q=zebra+giraffe&place=idlib"))
    assert "No reports match" in body
    assert "To broaden the search" in body
    assert "remove the filter" in body and 'href="/?q=zebra+giraffe"' in body


def test_did_you_mean_is_a_link(client):
    body = text(client.get("/?q=hajn"))
    assert 'Did you mean <a href="/?q=hajin">hajin</a>?' in body


def test_alias_expansion_is_explained_with_an_exact_link(client):
    body = text(client.get("/?q=Daesh"))
    assert "<q>Daesh</q> → <strong>ISIS</strong>" in body
    assert 'href="/?q=Daesh&amp;exact=1"' in body
    assert ">3 reports<" in body
    assert "Matched</span> Daesh → ISIS: ISIS" in body       # hit.why


def test_sort_newest_and_oldest(client):
    assert hit_ids(client, "q=SDF&sort=oldest")[0] == "hostile-markup.txt"
    assert hit_ids(client, "q=SDF&sort=newest")[0] == "deterrence.txt"
    body = text(client.get("/?q=SDF&sort=oldest"))
    assert '<option value="oldest" selected>' in body


def test_paging(paged_settings, gazetteer):
    c = make_client(paged_settings, gazetteer)
    body = text(c.get("/?q=bulletin&page=2"))
    assert "Showing 11–20 of 30" in body
    assert 'href="/?q=bulletin&amp;page=3" rel="next"' in body
    assert 'href="/?q=bulletin" rel="prev"' in body
    assert 'aria-current="page"' in body
    last = c.get("/api/search?q=bulletin&page=3").get_json()
    assert (last["page"], len(last["hits"])) == (3, 10)
    assert c.get("/api/search?q=bulletin&page=99").get_json()["page"] == 3


# --------------------------------------------------------------------------- facets


def test_facet_click_adds_filter_and_again_removes_it(client):
    body = text(client.get("/?q=SDF"))
    assert 'href="/?q=SDF&amp;place=hajin"' in body
    filtered = client.get("/?q=SDF&place=hajin")
    fbody = text(filtered)
    assert ">2 reports<" in fbody
    # The selected value links to the page without it; the chip removes it too.
    assert re.search(r'<li class="facet-item is-selected" data-label="hajin">\s*'
                     r'<a class="facet-link" href="/\?q=SDF" aria-current="true">', fbody)
    assert 'class="chip chip-places chip-remove" href="/?q=SDF"' in fbody


def test_values_of_one_facet_or_facets_and(client):
    assert sorted(hit_ids(client, "place=hajin&place=raqqa")) == [
        "hajin-offensive.txt", "hostile-markup.txt", "raqqa-reconstruction.txt"]
    assert hit_ids(client, "place=hajin&place=raqqa&operation=roundup") == ["hajin-offensive.txt"]


def test_counts_are_disjunctive(client):
    facets = client.get("/api/search?place=hajin").get_json()["facets"]
    places = {v["value"]: (v["count"], v["selected"]) for v in facets["places"]}
    assert places["hajin"] == (2, True)
    assert places["idlib"] == (1, False)          # other values keep their counts
    assert {v["value"] for v in facets["actors"]} == {"sdf", "isis", "coalition"}


def test_aliases_in_filters_resolve_and_links_use_ids(client):
    body = text(client.get("/?actor=Daesh"))
    assert 'class="chip chip-actors chip-remove" href="/"' in body
    assert ">3 reports<" in body


def test_places_nest_governorate_district_town(client):
    body = text(client.get("/?q=Hajin"))
    tree = re.search(r'id="facet-list-places">(.*?)</section>', body, re.S)[1]
    order = [tree.index(f'place={p}"') for p in ("syria", "deir-ez-zor", "abu-kamal", "hajin")]
    assert order == sorted(order)
    assert re.search(r"<summary>3 within Abu Kamal[^<]*</summary>", tree)


def test_active_filters_and_clear_all(client):
    body = text(client.get("/?q=SDF&place=hajin&year=2018"))
    assert ">1 report<" in body
    assert 'class="clear-all" href="/?q=SDF"' in body
    assert body.count("chip-remove") == 2


def test_facet_find_without_javascript(client):
    body = text(client.get("/?find_places=bag"))
    places = re.search(r'id="facet-list-places">(.*?)</ul>\s*<p class="facet-more">', body, re.S)[1]
    assert 'data-label="baghouz"' in places
    assert 'data-label="hajin"' not in places
    assert 'name="find_places" value="bag"' in body
    assert 'href="/">Show all places</a>' in body


def test_long_facets_show_more_and_find(fakes_settings, gazetteer):
    c = make_client(fakes_settings, gazetteer)
    data = c.get("/api/search").get_json()
    assert data["total"] == c.get("/healthz").get_json()["reports"] > 780
    assert data["facet_totals"]["source"] == 15 and len(data["facets"]["source"]) == 10
    years = [v["value"] for v in data["facets"]["year"]]
    assert years == sorted(years, reverse=True) and len(years) >= 7
    body = text(c.get("/"))
    assert 'href="/?more=source">Show more sources (15)</a>' in body
    more = text(c.get("/?more=source"))
    sources = re.search(r'id="facet-list-source">(.*?)</ul>', more, re.S)[1]
    assert sources.count('class="facet-item') == 15
    assert "Show fewer" in more
    found = text(c.get("/?find_source=sana"))
    sources = re.search(r'id="facet-list-source">(.*?)</ul>', found, re.S)[1]
    assert sources.count('class="facet-item') == 1
    # Imported ids hold "/" and ":"; their report pages work.
    hit = data["hits"][0]
    assert "/" in hit["id"] and ":" in hit["id"]
    page = c.get("/reports/" + hit["id"].replace("/", "%2F"))
    assert page.status_code == 200 and hit["title"][:20] in text(page)


# --------------------------------------------------------------------------- report page


def test_report_page_links_entities_and_marks_query(client):
    r = client.get("/reports/hajin-offensive.txt?q=Daesh")
    body = text(r)
    assert r.status_code == 200
    assert '<a class="ent ent-places" href="/?place=hajin" title="Hajin">Hajin</a>' in body
    assert '<a class="ent ent-actors" href="/?actor=isis" title="ISIS"><mark>Daesh</mark></a>' in body
    assert '<a class="ent ent-operations" href="/?operation=roundup"' in body
    assert 'href="https://example.org/field-monitor/hajin-offensive" rel="noopener noreferrer nofollow"' in body
    assert 'href="/?q=Daesh">‹ Results for <q>Daesh</q></a>' in body
    assert "14 Dec 2018" in body


def test_report_not_found_is_404(client):
    r = client.get("/reports/no-such-report.txt")
    assert r.status_code == 404
    assert "There is no report with this id" in text(r)
    j = client.get("/api/reports/no-such-report.txt")
    assert j.status_code == 404
    assert j.get_json() == {"ok": False, "status": 404,
                            "error": "There is no report with this id. Search for it on the search page."}


@pytest.mark.parametrize("path", [
    "/reports/../web/app.py", "/reports/%2e%2e%2fweb%2fapp.py", "/reports/..%2F..%2Fetc%2Fpasswd",
    "/reports//etc/passwd", "/reports/%2Fetc%2Fpasswd", "/reports/%00", "/reports/a%00b",
    "/reports/../../../../etc/passwd", "/static/../app.py", "/static/%2e%2e/app.py",
    "/static/..%2fapp.py", "/static//etc/passwd", "/api/reports/..%2f..%2fetc%2fpasswd",
    "/reports/C:%5CWindows%5Cwin.ini", "/reports/.", "/reports/seeds/../web_corpus/x",
])
def test_path_traversal_serves_nothing_from_outside(client, path):
    r = client.get(path, follow_redirects=True)     # `//` is merged by a redirect first
    body = text(r)
    assert r.status_code == 404
    assert "root:" not in body and "def create_app" not in body and "[fonts]" not in body
    assert_headers(r)
    assert_clean(body)


def test_static_assets_are_served(client):
    for name in ("app.css", "app.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200
        assert_headers(r)
        r.close()


# --------------------------------------------------------------------------- XSS


HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", '"><svg onload=alert(3)>',
           "</mark><script>alert(4)</script>", "<script>alert(5)</script>")


@pytest.mark.parametrize("url", ["/?q=Hajin", "/?q=script+alert", "/reports/hostile-markup.txt",
                                 "/reports/hostile-markup.txt?q=script+alert+Hajin",
                                 "/?q=Wire", "/?source=" + "%3Cscript%3Ealert(5)%3C/script%3E%20wire"])
def test_report_markup_is_shown_as_text(client, url):
    r = client.get(url)
    body = text(r)
    assert r.status_code == 200
    for payload in HOSTILE:
        assert payload not in body
    assert "<svg" not in body and "<img" not in body and "<script>" not in body
    if "hostile-markup" in url:
        assert "{{7*7}}" in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert 'href="javascript:' not in body.lower()
        assert "javascript:alert(6)" in body        # shown as text, not a link


def test_echoed_query_is_escaped(client):
    body = text(client.get('/?q="><script>alert(7)</script>{{7*7}}'))
    assert "<script>alert(7)" not in body
    assert 'value="&#34;&gt;&lt;script&gt;alert(7)&lt;/script&gt;{{7*7}}"' in body


def test_only_one_audited_safe_and_no_inline_code():
    templates = ROOT / "web" / "templates"
    safe = [(p.name, line) for p in templates.glob("*.html")
            for line in p.read_text().splitlines() if "|safe" in line.replace(" ", "")]
    assert safe == [("_macros.html", "{% macro trusted(highlighted) -%}{{ highlighted|safe }}{%- endmacro %}")]
    for p in templates.glob("*.html"):
        source = p.read_text()
        assert "style=" not in source and "<style" not in source, p.name
        assert re.findall(r"<script(?![^>]*\bsrc=)", source) == [], p.name
        assert not re.search(r"\son[a-z]+=", source), p.name
    assert "Markup(" not in "".join(p.read_text() for p in (ROOT / "web").glob("*.py"))


# --------------------------------------------------------------------------- API


def test_api_search_equals_cli_json(tmp_path, monkeypatch):
    """`GET /api/search` and `reports search --json` print the same object (timing aside)."""
    from search import cli

    gaz = real_gazetteer()
    if gaz is None:   # search/entities.py not there yet: the CLI gets the fixtures' gazetteer
        gaz = tiny_gazetteer()
        monkeypatch.setattr(cli, "_engine", lambda settings: Engine(settings, gaz))
    settings = build_index(tmp_path, [WEB_CORPUS, ROOT / "seeds"], gaz)
    c = create_app(settings=settings, engine=Engine(settings, gaz), test_config=RELAXED).test_client()
    cases = [
        ("q=Hajin&facet_size=5", ["Hajin", "--facets", "5"]),
        ("q=SDF&place=hajin&sort=oldest&size=3&page=1&facet_size=10",
         ["SDF", "--place", "hajin", "--sort", "oldest", "--size", "3", "--facets", "10"]),
        ("q=Daesh+OR+ISIS&exact=1&page=2&size=2&facet_size=10",
         ["Daesh", "OR", "ISIS", "--exact", "--page", "2", "--size", "2", "--facets", "10"]),
        ("year=2019&source=wire+desk&facet_size=10", ["--year", "2019", "--source", "wire desk", "--facets", "10"]),
    ]
    runner = CliRunner()
    for qs, argv in cases:
        api = c.get("/api/search?" + qs).get_json()
        run = runner.invoke(cli.main, ["search", "--index", str(settings.index_dir),
                                       "--reports", str(settings.reports_dir), "--json", *argv])
        assert run.exit_code == 0, run.output
        printed = json.loads(run.stdout)
        api.pop("took_ms"), printed.pop("took_ms")
        assert api == printed, qs


def test_api_report_is_the_report_view(client, web_engine):
    r = client.get("/api/reports/hajin-offensive.txt")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.get_json() == json.loads(json.dumps(web_engine.report("hajin-offensive.txt").as_dict()))


def test_healthz(client):
    r = client.get("/healthz")
    assert (r.status_code, r.get_json()) == (200, {"ok": True, "reports": 7})
    assert_headers(r)


def test_unusable_index_is_503_without_paths(tmp_path, gazetteer):
    settings = Settings(index_dir=tmp_path / "nothing-here", reports_dir=tmp_path)
    c = make_client(settings, gazetteer)
    for url in ("/", "/?q=Hajin", "/reports/x.txt", "/api/search?q=x", "/healthz"):
        r = c.get(url)
        body = text(r)
        assert r.status_code == 503, url
        assert "reports index" in body
        assert_clean(body, tmp_path)
        assert_headers(r)
    assert c.get("/healthz").get_json()["ok"] is False
    # A damaged index: the pointer names a generation that is not there.
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "CURRENT").write_text("gen-gone\n")
    c = make_client(Settings(index_dir=tmp_path / "damaged", reports_dir=tmp_path), gazetteer)
    r = c.get("/?q=Hajin")
    assert r.status_code == 503 and "reports index --rebuild" in text(r)
    assert_clean(text(r), tmp_path)
    assert c.get("/api/search").get_json() == {
        "ok": False, "status": 503,
        "error": "The search index is damaged or was built by another version of the program. "
                 "Run `reports index --rebuild` on the server, then reload this page."}


# --------------------------------------------------------------------------- hostile input


LONG = "x" * 1001
HOSTILE_PARAMS = [
    # (query string, expected status)
    ("page=0", 200), ("page=-1", 200), ("page=abc", 200), ("page=1e9", 200),
    ("page=1000000000", 200), ("page=" + "9" * 5000, 200), ("page=", 200), ("page=1.5", 200),
    ("size=100000", 200), ("size=0", 200), ("size=-5", 200), ("size=%00", 200),
    ("facet_size=99999", 200), ("facet_size=nan", 200),
    ("sort=sideways", 200), ("sort=%3Cscript%3E", 200), ("exact=maybe", 200),
    ("q=" + "%00" * 50, 200), ("q=%00Hajin%01%1b[31m", 200), ("q=%C0%AF%FF", 200),
    ("q=" + LONG, 400), ("q=" + "a+" * 600, 400), ("q=((((((((((", 200), ('q="', 200),
    ("q=*", 200), ("q=a*", 200), ("q=date:2018-13-45..2018-99", 200), ("q=-Hajin", 200),
    ("q=AND+OR+NOT", 200), ("q=title:", 200), ("q=%EF%BF%BE%E2%80%AE", 200),
    ("place=" + "&place=".join(["hajin"] * 1000), 200),
    ("place=" + "&place=".join(f"p{i}" for i in range(1000)), 200),
    ("colour=red&flavour=salt", 200), ("more=nonsense&more=places", 200),
    ("find_places=" + "x" * 5000, 200), ("find_nonsense=x", 200), ("year=99999999999", 200),
    ("actor=%00", 200), ("q[]=x&page[]=1", 200),
]


@pytest.mark.parametrize("qs,status", HOSTILE_PARAMS, ids=[q[:40] for q, _ in HOSTILE_PARAMS])
def test_hostile_parameters_never_fail(client, qs, status):
    for base in ("/", "/api/search"):
        r = client.get(base + "?" + qs)
        assert r.status_code == status, (base, qs)
        assert_headers(r)
        body = text(r)
        assert_clean(body)
        if base == "/api/search" and status != 200:
            data = r.get_json()
            assert set(data) == {"ok", "error", "status"} and data["status"] == status


def test_page_and_size_are_clamped_with_notices(client):
    data = client.get("/api/search?page=abc&size=100000").get_json()
    assert data["page"] == 1 and data["page_size"] == 100
    assert "Page 'abc' is not a whole number; the default was used." in data["notices"]
    assert "Page size cut to 100." in data["notices"]
    assert client.get("/api/search?page=1000000000").get_json()["page"] == 1


def test_unknown_facets_are_ignored_with_a_notice(client):
    body = text(client.get("/?q=Hajin&colour=red"))
    assert "Unknown facet &#39;colour&#39; ignored" in body
    assert ">2 reports<" in body
    assert "colour" not in re.search(r'id="facet-list-actors">(.*?)</ul>', body, re.S)[1]


def test_repeated_filters_are_capped(client):
    qs = "&".join(f"place=p{i}" for i in range(1000))
    data = client.get("/api/search?" + qs).get_json()
    assert "Only the first 50 filters were used." in data["notices"]
    body = text(client.get("/?" + qs))
    assert len(body) < 200_000


def test_over_long_query_is_400_with_the_fix(client):
    r = client.get("/?q=" + LONG)
    assert r.status_code == 400
    assert "the limit is 1,000. Shorten the query." in text(r)
    assert 'id="q" name="q" value="xxxx' in text(r)     # the box keeps it, to shorten
    j = client.get("/api/search?q=" + LONG)
    assert j.status_code == 400 and j.get_json()["error"].endswith("Shorten the query.")


# --------------------------------------------------------------------------- errors and headers


def test_every_status_has_headers_and_its_page(web_settings, gazetteer):
    from flask import abort

    app = create_app(settings=web_settings, engine=Engine(web_settings, gazetteer),
                     test_config=RELAXED)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret /srv/reports/index/gen-1 failed")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("secret /srv/reports/index/gen-1 failed")

    @app.get("/bad")
    def bad():
        abort(400)

    @app.get("/api/badquery")
    def badquery():
        raise BadQuery("nothing searchable in /srv/x: rephrase")

    c = app.test_client()
    expected = [
        ("GET", "/?q=Hajin", 200, "text/html"), ("GET", "/static/app.css", 200, "text/css"),
        ("GET", "/bad", 400, "text/html"), ("GET", "/nowhere", 404, "text/html"),
        ("POST", "/", 405, "text/html"), ("DELETE", "/api/search", 405, "application/json"),
        ("GET", "/boom", 500, "text/html"), ("GET", "/api/boom", 500, "application/json"),
        ("GET", "/api/nowhere", 404, "application/json"), ("GET", "/api/badquery", 400, "application/json"),
        ("GET", "/?q=a", 429, "text/html"), ("GET", "/api/search", 429, "application/json"),
    ]
    limited = create_app(settings=web_settings, engine=Engine(web_settings, gazetteer),
                         test_config={"RATELIMIT_APPLICATION": "1 per minute"}).test_client()
    assert limited.get("/").status_code == 200
    for method, url, status, mime in expected:
        r = (limited if status == 429 else c).open(url, method=method)
        assert (r.status_code, r.mimetype) == (status, mime), url
        assert_headers(r)
        body = text(r)
        assert_clean(body)
        assert "secret" not in body and "/srv/" not in body
        if mime == "application/json" and status >= 400:
            assert r.get_json() == {"ok": False, "status": status, "error": r.get_json()["error"]}
        if status == 405:
            assert "GET" in r.headers["Allow"]
        r.close()


def test_rate_limit_answers_429_with_retry_after(web_settings, gazetteer):
    c = create_app(settings=web_settings, engine=Engine(web_settings, gazetteer),
                   test_config={"RATELIMIT_APPLICATION": "3 per minute", "TESTING": True}).test_client()
    assert [c.get("/?q=Hajin").status_code for _ in range(3)] == [200, 200, 200]
    r = c.get("/?q=Hajin")
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 61
    assert "Too many requests" in text(r)
    j = c.get("/api/search?q=Hajin")
    assert j.status_code == 429 and j.get_json()["status"] == 429 and "Retry-After" in j.headers
    assert c.get("/healthz").status_code == 200            # exempt: monitors keep working
    with c.get("/static/app.css") as css:
        assert css.status_code == 200


def test_rate_limit_can_be_turned_off(client):
    assert {client.get("/api/search?q=x").status_code for _ in range(150)} == {200}


# --------------------------------------------------------------------------- reading only


def test_reports_indexed_while_serving_appear_on_next_request(tmp_path, gazetteer):
    settings = build_index(tmp_path, [WEB_CORPUS], gazetteer)
    c = make_client(settings, gazetteer)
    assert c.get("/api/search?q=zebra").get_json()["total"] == 0
    (settings.reports_dir / "zebra.txt").write_text(
        "date: 2021-01-01\n\nA zebra crossing in Raqqa\n\nThe zebra crossing was repainted.\n")
    Engine(settings, gazetteer).update()          # another process, in real life: `reports watch`
    assert c.get("/api/search?q=zebra").get_json()["total"] == 1
    assert c.get("/healthz").get_json()["reports"] == 8


def test_the_app_never_writes_to_the_index(tmp_path, gazetteer):
    settings = build_index(tmp_path, [WEB_CORPUS], gazetteer)

    def snapshot():
        return {p: (p.stat().st_mtime_ns, p.stat().st_size)
                for p in settings.index_dir.rglob("*") if p.is_file()}

    before = snapshot()
    c = make_client(settings, gazetteer)
    with IndexStore(settings.index_dir, lock_timeout=0.1).lock():   # a writer holds the lock
        for url in ("/", "/?q=Hajin&place=hajin", "/reports/hajin-offensive.txt?q=SDF",
                    "/api/search?q=Daesh", "/api/reports/deterrence.txt", "/healthz"):
            assert c.get(url).status_code == 200, url
    assert snapshot() == before


# --------------------------------------------------------------------------- URL state


@pytest.mark.parametrize("param,value", [("actor", "sdf"), ("place", "c"), ("place", "a"),
                                         ("year", "2019"), ("source", "wire"), ("operation", "r")])
def test_fast_filter_urls_equal_the_state_urls(param, value):
    from web.params import State

    for state in (State(), State(q="x", filters={"place": ("a", "b"), "year": ("2018",)},
                                 sort="newest", page=3, more=("places",), find={"actors": "z"})):
        for on in (True, False):
            assert state._filter_url(param, value, on) == state.with_filter(param, value, on).url()
