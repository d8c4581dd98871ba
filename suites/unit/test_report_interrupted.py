"""A test cut by Ctrl-C is recorded as broken with a message, never as passed: allure-pytest 2.16 alone
writes "passed" for it (no call report is made on KeyboardInterrupt; the status of the passed setup
stays), and a later report built from those results would show a check that never ran as a pass."""

import json

from fixtures.reporting import INTERRUPTED_MESSAGE
from suites.envoy.subprocess_pytest import run_pytest


def test_interrupted_test_is_broken_not_passed(tmp_path):
    results = tmp_path / "allure-results"
    done = run_pytest("suites/unit/data/interrupted_probe.py", "--alluredir", str(results), timeout=60)
    assert done.returncode == 2, f"expected pytest's 'interrupted' exit code:\n{done.stdout}\n{done.stderr}"
    recorded = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert [(r["name"], r["status"], r["statusDetails"]["message"]) for r in recorded] == [
        ("test_cut_by_ctrl_c", "broken", INTERRUPTED_MESSAGE)]
