"""One evidence path: what the envoy tier attaches when a test fails (Envoy's log, its xDS history) reaches
the pytest-html fallback report too, not only Allure (fixtures/envoy_runs.py attaches through
l7suite.report.attach, which fixtures/evidence.py mirrors into pytest-html)."""

import base64
import html

from suites.child_pytest import run_pytest
from suites.unit.data.envoy_failure_probe import LOG_LINE


def test_failing_envoy_tier_test_shows_its_evidence_in_the_pytest_html_fallback(tmp_path):
    results = tmp_path / "allure-results"
    done = run_pytest("suites/unit/data/envoy_failure_probe.py", "-p", "no:randomly", "--alluredir", str(results),
                      timeout=60, all_plugins=True)
    assert done.returncode == 1, f"the probe must fail:\n{done.stdout}\n{done.stderr}"
    report = html.unescape((results / "pytest-html.html").read_text())  # the fallback, when Node is absent
    body = base64.b64encode(LOG_LINE.encode()).decode()  # pytest-html embeds text extras as base64 data
    assert '"name": "envoy log (tail)"' in report and body in report, "Envoy's log is not in the pytest-html report"
    assert '"name": "xDS ACK/NACK history"' in report
