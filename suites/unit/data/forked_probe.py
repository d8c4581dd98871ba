"""Run by test_child_pytest.py in a forked child pytest (never collected by the suite itself): uses the CPU
time it is told, then passes, fails or waits to be interrupted, as told."""

import os
import time
from pathlib import Path


def test_probe():
    seconds = float(os.environ["L7SUITE_PROBE_CPU_S"])
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    mode = os.environ["L7SUITE_PROBE_MODE"]
    if mode == "fail":
        raise AssertionError(f"deliberate failure after {seconds} s of CPU")
    if mode == "hang":
        Path(os.environ["L7SUITE_PROBE_OUT"]).touch()
        time.sleep(60)  # the test interrupts us long before
