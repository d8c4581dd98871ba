"""A test cut by Ctrl-C is recorded as broken with a message, never as passed: allure-pytest 2.16 alone
writes "passed" for it (no call report is made on KeyboardInterrupt; the status of the passed setup
stays), and a later report built from those results would show a check that never ran as a pass.
fixtures/interrupted_tests.py says why catching KeyboardInterrupt is not enough."""

import json

from fixtures.interrupted_tests import INTERRUPTED_MESSAGE
from suites.child_pytest import run_pytest


def results_of(probe: str, tmp_path) -> tuple[int, list[tuple[str, str, str]], str]:
    results = tmp_path / "allure-results"
    done = run_pytest(f"suites/unit/data/{probe}", "-p", "no:randomly", "--alluredir", str(results), timeout=60,
                      all_plugins=True)
    recorded = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    return (done.returncode, sorted((r["name"], r["status"], r.get("statusDetails", {}).get("message", ""))
                                   for r in recorded), f"{done.stdout}\n{done.stderr}")


def test_interrupted_test_is_broken_not_passed(tmp_path):
    code, recorded, output = results_of("interrupted_probe.py", tmp_path)
    assert code == 2, f"expected pytest's 'interrupted' exit code:\n{output}"
    assert recorded == [("test_cut_by_ctrl_c", "broken", INTERRUPTED_MESSAGE)]


def test_interrupt_replaced_by_another_exception_still_ends_the_run(tmp_path):
    # Without noting the SIGINT itself: the first test reads "failed" (RuntimeError) and the second one
    # runs after the interrupt and reads "passed".
    code, recorded, output = results_of("interrupt_replaced_probe.py", tmp_path)
    assert code == 2, f"expected pytest's 'interrupted' exit code:\n{output}"
    assert recorded == [("test_interrupt_replaced_on_its_way_out", "broken", INTERRUPTED_MESSAGE)], output
