"""Real allure-pytest output for the report tests: the sample module run in a child pytest."""

from __future__ import annotations

import subprocess
from pathlib import Path

from suites.child_pytest import run_pytest

SAMPLE = "suites/report/data/sample_evidence.py"
SAMPLE_LABEL = "sample-weighted-split"  # the scenario label of the sample's results (its SCENARIO's name)
PASSING = "test_split_within_interval"
FAILING = "test_split_outside_interval"
CHART = "weighted split (chart)"  # an SVG attachment both checks carry


def make_run(run_dir: Path, *options: str, skip: bool = False, exit_code: int = 1) -> Path:
    """Run the sample into run_dir/allure-results (as a nightly run lays it out); returns that folder."""
    results = run_dir / "allure-results"
    done: subprocess.CompletedProcess = run_pytest(
        SAMPLE, "--alluredir", str(results), "--clean-alluredir", *options,
        env={"L7SUITE_SAMPLE": "skip" if skip else "run"}, all_plugins=True)  # e2e options, Allure, pytest-html
    # exit_code: 1 when the failing check runs (it fails on purpose), 0 when it is left out or skipped
    assert done.returncode == exit_code, f"sample run exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return results
