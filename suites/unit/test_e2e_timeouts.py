"""Deadlines: pytest-timeout's per-test limit bounds test bodies only (the suite's own pytest settings,
run for real), so a slow bring-up in a fixture is bounded by its own named deadline instead."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from l7suite import REPO_ROOT
from l7suite.cluster.timeouts import ENV, Timeouts, current, names, parse

SLOW_FIXTURE = '''
import time

import pytest


@pytest.fixture(scope="module")
def bring_up():
    time.sleep(2.5)  # longer than the per-test limit below: a cluster bring-up, shrunk
    return "up"


def test_after_a_slow_bring_up(bring_up):
    assert bring_up == "up"


def test_a_slow_body_is_still_cut():
    time.sleep(10)
'''


def test_the_per_test_timeout_counts_the_test_body_not_its_fixtures(tmp_path):
    (tmp_path / "test_slow.py").write_text(SLOW_FIXTURE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(REPO_ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         str(tmp_path / "test_slow.py"), "-o", "timeout=1", "-p", "no:randomly", "-q", "-rA"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout
    assert "PASSED test_slow.py::test_after_a_slow_bring_up" in out, out
    assert re.search(r"FAILED test_slow.py::test_a_slow_body_is_still_cut - Failed: Timeout", out), out


def test_no_timeout_marker_turns_fixture_time_back_on():
    # a `timeout` marker resets func_only to the ini default unless it repeats it (pytest-timeout 2.4 docs)
    offenders = [f"{path.relative_to(REPO_ROOT)}: {line.strip()}"
                 for path in (REPO_ROOT / "suites").rglob("*.py") if path.name != Path(__file__).name
                 for line in path.read_text().splitlines()
                 if "mark.timeout(" in line and "func_only=True" not in line]
    assert offenders == []


def test_deadlines_can_be_given_more_time_by_name(monkeypatch):
    monkeypatch.setenv(ENV, "kind_create=900, cilium_ready=1200")
    assert current() == Timeouts(kind_create=900.0, cilium_ready=1200.0)
    monkeypatch.delenv(ENV)
    assert current() == Timeouts()


@pytest.mark.parametrize("text, message", [
    ("kind_creat=900", "unknown deadline 'kind_creat'; known: " + ", ".join(names())),
    ("kind_create=ten", "kind_create='ten' is not a number of seconds"),
    ("kind_create=0", "kind_create=0 must be more than 0 seconds"),
])
def test_a_bad_deadline_override_is_refused_with_the_known_names(text, message):
    with pytest.raises(ValueError) as failed:
        parse(text)
    assert str(failed.value) == f"{ENV}: {message}"
