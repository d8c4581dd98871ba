"""Run the suite itself in a child process (for tests about the suite's own behaviour)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from l7suite import REPO_ROOT

# Most child runs are envoy-tier runs, which need two of the installed plugins: pytest-timeout (its ini
# options are in pyproject.toml, and --strict-config refuses them without it) and allure-pytest (the labels
# fixtures/reporting.py puts on every test are its markers); none of the others (xdist, pytest-html,
# pytest-kind-ng) and none of the e2e tier's (its options and plan, the kind cluster, --record): loading
# them would only add imports (together about a third of a child's start-up). Runs that use e2e options or
# write results (the report's sample runs) and the unit tests of the evidence in those results ask for every
# plugin with `all_plugins=True`.
ENVOY_TIER_ONLY = ("-p", "pytest_timeout", "-p", "allure_pytest.plugin", "-p", "no:fixtures.e2e_plan",
                   "-p", "no:fixtures.e2e_cluster", "-p", "no:fixtures.e2e_recording")
NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # installed plugins load only when named with -p


def pytest_command(*args: str, all_plugins: bool = False) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *(() if all_plugins else ENVOY_TIER_ONLY),
            *args]


def child_env(env: dict[str, str] | None, all_plugins: bool = False) -> dict[str, str]:
    return {**os.environ, **({} if all_plugins else NO_AUTOLOAD), **(env or {})}


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               all_plugins: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(pytest_command(*args, all_plugins=all_plugins), cwd=REPO_ROOT,
                          env=child_env(env, all_plugins), capture_output=True, text=True, timeout=timeout)


def start_pytest(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(pytest_command(*args), cwd=REPO_ROOT, env=child_env(env),
                                stdout=out, stderr=subprocess.STDOUT)
