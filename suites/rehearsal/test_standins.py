"""The stand-ins refuse to stand in for the real tools outside the rehearsal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BIN = Path(__file__).parent / "bin"


@pytest.mark.parametrize("tool", ["kubectl", "kind", "helm", "docker"])
def test_a_standin_outside_the_rehearsal_refuses_and_says_why(tool: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("L7SUITE_REHEARSAL_")}
    done = subprocess.run([str(BIN / tool), "version"], env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    assert (done.returncode, done.stdout) == (127, "")
    assert done.stderr.strip() == (f"{tool}: the rehearsal's stand-in (suites/rehearsal/bin), not the real tool; "
                                   "it runs only inside the rehearsal")
