"""Run the suite itself in a child process (for tests about the suite's own behaviour)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from l7suite import REPO_ROOT

# Child runs are envoy-tier runs: the e2e tier's plugins (its options and plan, the kind cluster, --record)
# would only add their imports, about a fifth of a child's start-up, to each of them.
NO_E2E_PLUGINS = ("-p", "no:fixtures.e2e_plan", "-p", "no:fixtures.e2e_cluster", "-p", "no:fixtures.e2e_recording")


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *NO_E2E_PLUGINS, *args]


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(pytest_command(*args), cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def start_pytest(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(pytest_command(*args), cwd=REPO_ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
