"""pytest in a child process on a folder of its own, with the suite's e2e plugins (fixtures.e2e_plan and
fixtures.e2e_cluster) and nothing else of the repository's configuration: for tests of the e2e fixtures
themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from l7suite import REPO_ROOT

PLUGIN = ["-p", "fixtures.manifest_options", "-p", "fixtures.e2e_plan", "-p", "fixtures.e2e_cluster",
          "-p", "no:pytest-kind-ng", "-p", "no:cacheprovider", "-p", "no:randomly", "-o", "markers=e2e", "-q"]


def run_e2e_plugin(cwd: Path, *args: str, path: str = "", env: dict[str, str] | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """`path` goes before the interpreter's own folder on PATH (stand-in tools); nothing else is on it."""
    python_dir = str(Path(sys.executable).parent)
    full_env = {"PATH": f"{path}:{python_dir}" if path else python_dir, "HOME": str(cwd),
                "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest", *args, *PLUGIN], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
