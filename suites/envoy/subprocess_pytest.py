"""Run the suite itself in a child process (for tests about the suite's own behaviour)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from l7suite import REPO_ROOT


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(pytest_command(*args), cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def start_pytest(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(pytest_command(*args), cwd=REPO_ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
