"""Processes the suite starts die with it (l7suite/lifecycle.py), also when it is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from l7suite import lifecycle
from l7suite.lifecycle import die_with_parent, dying_with_parent
from suites.processes import alive, wait_for

# A parent that starts `sleep 60` as the suite starts Envoy, prints the sleep's pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
from l7suite.lifecycle import dying_with_parent
cmd, preexec = dying_with_parent(["sleep", "60"])
child = subprocess.Popen(cmd, preexec_fn=preexec)
print(child.pid, flush=True)
time.sleep(60)
"""


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def test_a_command_started_dying_with_parent_dies_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        # setpriv execs it in the same process
        assert wait_for(lambda: comm(child) == "sleep", 5), f"pid {child} is {comm(child)!r}, not sleep"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_for(lambda: not alive(child), 5), f"sleep {child} outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if "child" in locals() and alive(child):
            os.kill(child, signal.SIGKILL)


def test_without_setpriv_the_preexec_fn_does_it(monkeypatch):
    monkeypatch.setattr(lifecycle.shutil, "which", lambda name: None)
    assert dying_with_parent(["envoy", "-c", "x"]) == (["envoy", "-c", "x"], die_with_parent)


def test_with_setpriv_no_preexec_fn_is_needed(monkeypatch):
    monkeypatch.setattr(lifecycle.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert dying_with_parent(["envoy"]) == (["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "envoy"], None)
