"""Run the suite itself in a child process (for tests about the suite's own behaviour)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from l7suite import REPO_ROOT

# Most child runs are envoy-tier runs: the e2e tier's plugins (its options and plan, the kind cluster,
# --record) would only add their imports, about a fifth of a child's start-up. Runs that use e2e options
# (the report's sample runs) ask for them with `e2e_plugins=True`.
NO_E2E_PLUGINS = ("-p", "no:fixtures.e2e_plan", "-p", "no:fixtures.e2e_cluster", "-p", "no:fixtures.e2e_recording")


def pytest_command(*args: str, e2e_plugins: bool = False) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *(() if e2e_plugins else NO_E2E_PLUGINS), *args]


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               e2e_plugins: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(pytest_command(*args, e2e_plugins=e2e_plugins), cwd=REPO_ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)


def start_pytest(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(pytest_command(*args), cwd=REPO_ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
