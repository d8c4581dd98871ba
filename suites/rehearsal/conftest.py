"""The rehearsal says what it is at the top of its output: a test of the harness, not a result."""

from __future__ import annotations

from suites.rehearsal.runner import BANNER


def pytest_report_header() -> str:
    return BANNER
