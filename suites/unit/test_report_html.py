"""Building the single file: analytics removed or the build fails; the fallback and its errors."""

import pytest

from l7suite.report import html
from suites.report.sample_run import make_run

# As @allurereport/plugin-awesome 3.18 writes it (generators.js template, analyticsEnable: true)
ALLURE_TAIL = """    <script defer src="data:text/javascript;base64,AAAA"></script>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', {
          "report": "awesome",
          "allureVersion": "3.18.0",
          "reportUuid": "ddff127b",
          "single_file": "true"
        });
    </script>
    <script async>window.allureReportData = {};</script>
"""


def test_the_analytics_script_is_cut_and_the_rest_kept():
    page = html.strip_analytics(ALLURE_TAIL)
    assert "googletagmanager" not in page and "gtag" not in page
    assert 'src="data:text/javascript;base64,AAAA"' in page and "window.allureReportData" in page


def test_an_analytics_script_in_another_shape_fails_the_build():
    moved = ALLURE_TAIL.replace("<script async src=", "<script defer src=")
    with pytest.raises(html.ReportError, match="template changed"):
        html.strip_analytics(moved)


def test_without_results_the_build_says_what_is_missing(tmp_path):
    with pytest.raises(html.ReportError, match="no Allure results"):
        html.build(tmp_path, tmp_path / "r.html")


def test_fallback_copies_the_runs_pytest_html_report(tmp_path):
    results = make_run(tmp_path / "run")
    assert html.build(results, tmp_path / "r.html", engine="pytest-html") == "pytest-html"
    assert (tmp_path / "r.html").read_bytes() == (results / html.PYTEST_HTML_FILE).read_bytes()


def test_fallback_without_a_pytest_html_report_explains(tmp_path):
    results = make_run(tmp_path / "run")
    (results / html.PYTEST_HTML_FILE).unlink()
    with pytest.raises(html.ReportError, match="wrote no pytest-html report"):
        html.build(results, tmp_path / "r.html", engine="pytest-html")


def test_node_without_installed_allure_builds_the_pytest_html_report(tmp_path, monkeypatch):
    # e2e_run goes on without npm (it says "the report will be pytest-html's"); Node alone on PATH must
    # not pick Allure and then fail on node_modules/.bin/allure being absent.
    monkeypatch.setattr(html.shutil, "which", lambda name: f"/usr/bin/{name}")  # node is there
    results = make_run(tmp_path / "run")
    assert html.build(results, tmp_path / "r.html", allure=tmp_path / "no-allure") == "pytest-html"
