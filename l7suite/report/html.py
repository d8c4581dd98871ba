"""One HTML file per run, from its Allure results folder.

- With Node: Allure 3 (npm `allure`, pinned in package.json, installed by `npm ci`) in single-file
  mode. Its template always adds a Google Tag Manager script (analyticsEnable is hard-wired to true
  in @allurereport/plugin-awesome 3.18); it is cut out here, and the build fails if the page still
  mentions it, so an Allure upgrade that moves it cannot silently bring the analytics back.
- Without Node, or without the installed Allure (no `npm ci`: e2e_run goes on without npm): the
  self-contained pytest-html report that fixtures/reporting.py wrote into the
  results folder during the run (PYTEST_HTML_FILE), with the same evidence.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from l7suite import REPO_ROOT
from l7suite.report.environment import RUN_FILE, RunInfo

ALLURE_BIN = REPO_ROOT / "node_modules" / ".bin" / "allure"
PYTEST_HTML_FILE = "pytest-html.html"
ENGINES = ("auto", "allure", "pytest-html")
GROUP_BY = "tier,scenario"  # labels written by fixtures/reporting.py: the report's tree
ANALYTICS = re.compile(
    r'<script async src="https://www\.googletagmanager\.com/gtag/js\?id=[^"]*"></script>\s*'
    r"<script>\s*window\.dataLayer = window\.dataLayer \|\| \[\];.*?</script>", re.DOTALL)
ANALYTICS_TRACES = ("googletagmanager", "gtag(")


class ReportError(RuntimeError):
    """The report cannot be built; the message says why and what to do."""


def strip_analytics(html: str) -> str:
    stripped = ANALYTICS.sub("<!-- analytics removed by l7suite.report: the report makes no network request -->",
                             html, count=1)
    left = [t for t in ANALYTICS_TRACES if t in stripped]
    if left:
        raise ReportError(f"the Allure page still contains {left} after removing its analytics script: "
                          "the template changed; update l7suite/report/html.py ANALYTICS")
    return stripped


def report_name(results: Path) -> str:
    run_file = results / RUN_FILE
    if not run_file.exists():
        return "Cilium L7 conformance"
    info = RunInfo.read(run_file)
    return f"Cilium L7 conformance: {', '.join(info.tiers)} tier ({info.finished})"


def build_with_allure(results: Path, output: Path, allure: Path = ALLURE_BIN, keep_analytics: bool = False) -> None:
    """keep_analytics: Allure's page as it comes, for the browser test's control case only."""
    if not allure.exists():
        raise ReportError(f"{allure} is missing: run `npm ci` in {REPO_ROOT} (package.json pins Allure)")
    with tempfile.TemporaryDirectory(prefix="l7suite-allure-") as tmp:
        # cwd: a folder of our own, so no allurerc or history of the caller's folder is picked up
        done = subprocess.run([str(allure), "awesome", str(results), "--output", str(Path(tmp) / "out"),
                               "--single-file", "--report-name", report_name(results), "--group-by", GROUP_BY],
                              cwd=tmp, capture_output=True, text=True, timeout=300)
        page = Path(tmp) / "out" / "index.html"
        if done.returncode != 0 or not page.exists():
            raise ReportError(f"allure awesome failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        html = page.read_text(encoding="utf-8")
        output.write_text(html if keep_analytics else strip_analytics(html), encoding="utf-8")


def build_fallback(results: Path, output: Path) -> None:
    source = results / PYTEST_HTML_FILE
    if not source.exists():
        raise ReportError(f"Allure is not available (Node + `npm ci`) and {source} does not exist: the run "
                          "wrote no pytest-html report (install the suite's package, which pins pytest-html, "
                          "and rerun with --alluredir)")
    shutil.copyfile(source, output)


def build(results: Path, output: Path, engine: str = "auto", allure: Path = ALLURE_BIN) -> str:
    """Write the report; returns the engine used ("allure" or "pytest-html"). `auto` takes Allure only when
    both Node and the installed Allure are there: Node alone (npm absent, or `npm ci` not run) means the
    pytest-html report the run wrote, not a failure to build any report."""
    if not any(results.glob("*-result.json")):
        raise ReportError(f"{results}: no Allure results (*-result.json): was pytest run with --alluredir {results}?")
    if engine == "auto":
        engine = "allure" if shutil.which("node") and allure.exists() else "pytest-html"
    output.parent.mkdir(parents=True, exist_ok=True)
    if engine == "allure":
        build_with_allure(results, output, allure)
    elif engine == "pytest-html":
        build_fallback(results, output)
    else:
        raise ReportError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    return engine
