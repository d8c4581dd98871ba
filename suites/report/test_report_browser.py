"""The single-file report and the matrix page, opened from disk in headless Chromium (Debian's package).

A person must see the scenarios, each check's status and a chart, and the page must not attempt a
single network request (l7suite.report.browser watches DevTools and a counting proxy). The control
case opens Allure's page with its analytics left in, to prove the watch sees such a request.
By default the report is built here from a sample run; `--report-file PATH` checks an existing one
(its results: the allure-results folder beside it), e.g. the envoy tier's reports/envoy/report.html.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from l7suite.report import html
from l7suite.report.browser import BrowserError, chromium, find_chromium
from l7suite.report.matrix import REPORT_FILE, write_matrix
from l7suite.report.results import read_results
from suites.report.sample_run import make_run

RENDER_TIMEOUT = 30.0  # seconds for Allure's app to unpack its data and draw the tree
LEAVES = """[...document.querySelectorAll('[data-testid=tree-leaf]')].map(l => [
  l.querySelector('[data-testid=tree-leaf-title]')?.innerText ?? l.innerText.split('\\n').find(t => t.length > 2),
  (l.querySelector('[data-testid^=tree-leaf-status-]')?.dataset.testid ?? '').replace('tree-leaf-status-', '')])"""
CLICK_TEXT = """(text => { const el = [...document.querySelectorAll('*')].find(e => e.children.length === 0 &&
  e.textContent.trim() === text); if (el) el.click(); return !!el; })(%s)"""
# Allure collapses the tree when a run has more than a few checks: open every closed section (one
# without its tree-content beside it) until none is left.
EXPAND_ALL = """(() => { const closed = [...document.querySelectorAll('[data-testid=tree-section]')]
  .filter(s => !s.nextElementSibling); closed.forEach(s => s.querySelector('[data-testid=tree-arrow]').click());
  return closed.length; })()"""
RENDERED_IMAGE = "[...document.querySelectorAll('img')].some(i => i.alt === %s && i.naturalWidth > 0)"


@pytest.fixture(scope="session", autouse=True)
def need_chromium():
    if not find_chromium():
        pytest.fail("no Chromium: apt-get install -y chromium (the report's browser test needs it)", pytrace=False)


def need_allure():
    if not shutil.which("node") or not html.ALLURE_BIN.exists():
        pytest.fail(f"Allure 3 is not installed: run `npm ci` in {html.REPO_ROOT} (Node 20+)", pytrace=False)


@pytest.fixture(scope="module")
def report(pytestconfig, tmp_path_factory) -> tuple[Path, Path]:
    """(report file, its Allure results folder)."""
    given = pytestconfig.getoption("--report-file")
    if given:
        path = Path(given).resolve()
        results = path.parent / "allure-results"
        if not path.exists() or not results.is_dir():
            pytest.fail(f"--report-file {path}: missing, or no allure-results folder beside it", pytrace=False)
        return path, results
    need_allure()
    run = tmp_path_factory.mktemp("run")
    results = make_run(run)
    html.build(results, run / REPORT_FILE, engine="allure")
    return run / REPORT_FILE, results


@dataclass
class Seen:
    leaves: list[list[str]]
    chart: str | None           # the attachment opened
    chart_rendered: bool
    network: list[str]
    text: str


def open_report(path: Path, chart: tuple[str, str, str] | None) -> Seen:
    """chart: (test name, attachment name, attachment source) to open and look at."""
    with chromium() as browser:
        page = browser.new_page()
        page.navigate(path.as_uri())
        page.wait_for("document.querySelectorAll('[data-testid=tree-section]').length > 0", RENDER_TIMEOUT)
        for _ in range(10):  # tier > scenario > ...: a few levels at most
            if not page.evaluate(EXPAND_ALL):
                break
            time.sleep(0.3)  # let the opened sections render their children
        leaves, text = page.evaluate(LEAVES), page.text()  # before a test result replaces the tree
        rendered = False
        if chart:
            test, name, source = chart
            assert page.evaluate(CLICK_TEXT % json.dumps(test)), f"no tree entry {test!r}"
            assert page.wait_for(CLICK_TEXT % json.dumps(name), RENDER_TIMEOUT), f"no attachment {name!r}"
            rendered = bool(page.wait_for(RENDERED_IMAGE % json.dumps(source), RENDER_TIMEOUT))
        return Seen(leaves, chart[1] if chart else None, rendered, browser.network_attempts(page), text)


def a_chart(results: Path) -> tuple[str, str, str] | None:
    for path in sorted(results.glob("*-result.json")):
        data = json.loads(path.read_text())
        for a in data.get("attachments", []):
            if a.get("type") == "image/svg+xml":
                return data["name"], a["name"], a["source"]
    return None


@pytest.fixture(scope="module")
def seen(report) -> Seen:
    path, results = report
    return open_report(path, a_chart(results))


def test_scenarios_and_every_check_with_its_status_are_shown(report, seen):
    checks = read_results(report[1])
    assert checks, "the report's results folder holds no results"
    assert {c.scenario for c in checks} <= set(seen.text.splitlines())
    assert {(c.name, c.status) for c in checks} <= {tuple(leaf) for leaf in seen.leaves}


def test_a_chart_is_drawn(report, seen):
    assert seen.chart is not None, "no check of this run attached a chart"
    assert seen.chart_rendered, f"attachment {seen.chart!r} opened but no image was drawn"


def test_no_network_request_is_attempted(seen):
    assert seen.network == []


def test_control_the_watch_sees_allures_own_analytics_request(tmp_path):
    need_allure()
    results = make_run(tmp_path / "run")
    raw = tmp_path / "raw.html"
    html.build_with_allure(results, raw, keep_analytics=True)
    attempts = open_report(raw, None).network
    assert any("googletagmanager.com" in a for a in attempts), attempts


def test_matrix_page_shows_verdicts_links_to_reports_and_stays_offline(tmp_path):
    root = tmp_path / "nightly"
    make_run(root / "a", "--cilium-version", "1.18.9", "--envoy-mode", "daemonset", "-k", "within", exit_code=0)
    make_run(root / "b", "--cilium-version", "1.19.3", "--envoy-mode", "daemonset")
    (root / "a" / REPORT_FILE).write_text("<html><body><h1>report of run a</h1></body></html>")
    out = tmp_path / "matrix.html"
    write_matrix(root, out, "now")
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.navigate(out.as_uri())
            cells = page.wait_for("[...document.querySelectorAll('#matrix tbody tr')].map(r => "
                                  "[...r.cells].map(c => c.className || c.innerText))", RENDER_TIMEOUT)
            assert [[row[0], row[-1]] for row in cells] == [["1.18.9", "pass"], ["1.19.3", "fail"]]
            # clicked after evaluate has answered: a click that navigates within evaluate can lose its answer
            assert page.evaluate("setTimeout(() => document.querySelector('#matrix td.pass a').click(), 0) || true")
            assert page.wait_for("document.body?.innerText === 'report of run a'", RENDER_TIMEOUT)
            assert browser.network_attempts(page) == []
    except BrowserError as exc:
        pytest.fail(f"browser: {exc}", pytrace=False)


def test_fallback_report_shows_checks_and_chart_offline(tmp_path):
    results = make_run(tmp_path / "run")
    out = tmp_path / "fallback.html"
    html.build(results, out, engine="pytest-html")
    with chromium() as browser:
        page = browser.new_page()
        page.navigate(out.as_uri())
        rows = page.wait_for("[...document.querySelectorAll('#results-table tbody.results-table-row')]"
                             ".map(r => r.innerText)", RENDER_TIMEOUT)
        assert any("Passed" in r and "test_split_within_interval" in r for r in rows), rows
        assert any("Failed" in r and "test_split_outside_interval" in r for r in rows), rows
        assert page.wait_for("[...document.querySelectorAll('img')].some(i => i.naturalWidth === 640)", RENDER_TIMEOUT)
        assert browser.network_attempts(page) == []
