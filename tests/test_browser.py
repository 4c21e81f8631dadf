"""The real app under waitress, driven by Debian's Chromium through Playwright.

Skipped when /usr/bin/chromium (or node_modules/axe-core for the accessibility checks) is
missing, except when the CI environment variable is set: then they fail instead.
Set-up for CI: `apt-get install -y chromium` and `npm ci` at the repository root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest_web import (RELAXED, ROOT, SEEDS, WEB_CORPUS, Server, build_index,  # noqa: F401
                          gazetteer, real_gazetteer, write_bulletins)
from search.engine import Engine
from web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = ROOT / "docs" / "screenshot-search.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000


def need(present: bool, why: str) -> None:
    if not present:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI is set, so this is a failure, not a skip)")
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, gazetteer):
    """Fixture corpus + 30 bulletins ("bulletin": 30 reports, 15 of them in Hajin)."""
    settings = build_index(tmp_path_factory.mktemp("browser"), [WEB_CORPUS], gazetteer,
                           extra=write_bulletins)
    app = create_app(settings=settings, engine=Engine(settings, gazetteer),
                     test_config={"RATELIMIT_ENABLED": False})
    with Server(app) as running:
        yield running


class Watched:
    """A page that records dialogs (alert/confirm/prompt), page errors and console errors
    (a Content-Security-Policy violation is one)."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    w = Watched(context)
    yield w
    context.close()
    assert w.dialogs == [], "a dialog opened: script from report text ran"
    assert w.errors == [], w.errors


@pytest.fixture
def page(watched):
    return watched.page


def summary(page) -> str:
    return page.locator("#results-heading").inner_text().strip()


def wait_summary(page, expected: str) -> None:
    page.wait_for_function(
        "e => (document.querySelector('#results-heading') || {}).textContent?.trim() === e",
        arg=expected)


# --------------------------------------------------------------------------- searching


def test_typing_updates_results_in_place(page, server):
    page.goto(server.url + "/")
    assert summary(page) == "Recent reports"
    page.evaluate("window.__samePage = true")
    page.locator("#q").press_sequentially("Hajin", delay=40)
    page.wait_for_url(re.compile(r"/\?q=Hajin$"))
    wait_summary(page, "17 reports")
    marks = page.locator(".hit-title mark").all_inner_texts()
    assert marks and set(marks) == {"Hajin"}
    assert page.evaluate("window.__samePage") is True        # swapped, not reloaded
    assert page.locator("#q").evaluate("e => e === document.activeElement")


def test_place_facet_adds_a_chip_and_removing_it_restores(page, server):
    page.goto(server.url + "/?q=bulletin")
    assert summary(page) == "30 reports"
    page.locator("#facet-list-places a.facet-link", has_text="Hajin").first.click()
    page.wait_for_url(re.compile(r"place=hajin"))
    assert summary(page) == "15 reports"
    chip = page.locator("a.chip-remove")
    assert chip.count() == 1 and "Hajin" in chip.inner_text()
    chip.click()
    page.wait_for_url(re.compile(r"/\?q=bulletin$"))
    assert summary(page) == "30 reports"
    assert page.locator("a.chip-remove").count() == 0


def test_second_page_and_back(page, server):
    page.goto(server.url + "/?q=bulletin")
    page.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert "Showing 11–20 of 30" in page.locator(".took").inner_text()
    assert page.locator(".pager [aria-current=page]").inner_text().endswith("2")
    page.go_back()
    page.wait_for_url(re.compile(r"/\?q=bulletin$"))
    assert "Showing 1–10 of 30" in page.locator(".took").inner_text()


def test_report_page_actor_link_and_back_button(page, server):
    page.goto(server.url + "/?q=Daesh")
    page.locator(".hit-title a", has_text="SDF enters Hajin").click()
    page.wait_for_url(re.compile(r"/reports/hajin-offensive\.txt\?q=Daesh$"))
    assert set(page.locator(".report-text mark").all_inner_texts()) == {"ISIS", "Daesh"}
    page.locator(".report-text a.ent-actors", has_text="SDF").first.click()
    page.wait_for_url(re.compile(r"/\?actor=sdf$"))
    assert page.locator("a.chip-remove").inner_text().startswith("Actors:")
    page.go_back()
    page.wait_for_url(re.compile(r"/reports/hajin-offensive\.txt"))
    page.go_back()
    page.wait_for_url(re.compile(r"/\?q=Daesh$"))
    assert page.locator("#q").input_value() == "Daesh"


def test_back_button_after_typing_restores_earlier_results(page, server):
    page.goto(server.url + "/?q=bulletin")
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("Raqqa", delay=30)
    page.wait_for_url(re.compile(r"/\?q=Raqqa$"))
    wait_summary(page, "1 report")
    page.go_back()
    page.wait_for_url(re.compile(r"/\?q=bulletin$"))
    wait_summary(page, "30 reports")
    assert page.locator("#q").input_value() == "bulletin"


def test_facet_find_box_filters_the_list(page, server):
    page.goto(server.url + "/")
    page.locator("#find-places").press_sequentially("bag", delay=20)
    visible = page.locator("#facet-list-places .facet-label:visible").all_inner_texts()
    assert "Baghouz" in visible and "Idlib" not in visible and "Raqqa" not in visible


def test_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + "/")
    page.locator("#find-places").fill("haj")
    page.locator("#find-places").press("Enter")
    page.wait_for_url(re.compile(r"find_places=haj"))
    assert page.locator("#facet-list-places .facet-label").all_inner_texts() == ["Hajin"]
    page.locator("#q").fill("bulletin")
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"q=bulletin"))
    assert summary(page) == "30 reports"
    assert "find_places=haj" in page.url               # the form kept the facet search
    context.close()


# --------------------------------------------------------------------------- hostile text


def test_report_text_never_runs_as_script(watched, server):
    page = watched.page
    for path in ("/reports/hostile-markup.txt", "/reports/hostile-markup.txt?q=script+alert",
                 "/?q=Hajin&page=2", "/?q=alert", "/"):
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        found = page.evaluate("""() => ({
            scripts: [...document.scripts].map(s => s.getAttribute('src')),
            foreign: document.querySelectorAll('svg, img, iframe, object, embed').length,
            handlers: [...document.querySelectorAll('*')].flatMap(
                e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name)),
            jsLinks: [...document.querySelectorAll('a[href]')].filter(
                a => a.href.toLowerCase().startsWith('javascript:')).length,
        })""")
        assert found == {"scripts": ["/static/app.js"], "foreign": 0, "handlers": [], "jsLinks": 0}, path
    page.goto(server.url + "/reports/hostile-markup.txt")
    title = page.locator("h1").inner_text()
    assert "<script>alert(1)</script>" in title and "{{7*7}}" in title
    assert watched.dialogs == []


# --------------------------------------------------------------------------- keyboard


def focus_by_tab(page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def outline(page) -> str:
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return s.outlineStyle + ' ' + s.outlineWidth; }""")


def test_keyboard_only_search_and_facets(page, server):
    page.goto(server.url + "/")
    focus_by_tab(page, "#q")
    assert outline(page) != "none 0px"
    page.keyboard.type("bulletin")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?q=bulletin$"))
    wait_summary(page, "30 reports")
    focus_by_tab(page, "#facet-list-places a[href*='place=hajin']")
    assert outline(page).startswith("solid")               # a visible focus ring
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"place=hajin"))
    assert summary(page) == "15 reports"
    focus_by_tab(page, "a.chip-remove")
    assert outline(page).startswith("solid")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?q=bulletin$"))


# --------------------------------------------------------------------------- accessibility


def serious_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["/?q=Hajin", "/?q=bulletin&place=hajin&page=2",
                                  "/reports/hajin-offensive.txt?q=Daesh", "/", "/?q=zebra"])
def test_axe_finds_no_serious_violations(browser, server, path):
    need(AXE.exists(), f"{AXE} is missing: run `npm ci` at the repository root")
    # axe injects its script, which the page's CSP would block: check with CSP bypassed.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(server.url + path)
    assert serious_violations(page) == []
    context.close()


# --------------------------------------------------------------------------- screenshot


def test_screenshot_of_the_search_page(browser, tmp_path):
    """docs/screenshot-search.png: "Hajin" on the seeds, with the bundled gazetteer when
    search/entities.py is there."""
    gaz = real_gazetteer()
    if gaz is None:
        from conftest_web import tiny_gazetteer

        gaz = tiny_gazetteer()
    settings = build_index(tmp_path, [SEEDS], gaz)
    app = create_app(settings=settings, engine=Engine(settings, gaz), test_config=RELAXED)
    with Server(app) as running:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(running.url + "/?q=Hajin")
        assert page.locator(".hit").count() >= 1
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        context.close()
    assert SCREENSHOT.stat().st_size > 10_000
