"""Run by test_report_interrupted.py in a child pytest (never collected by the suite itself): Ctrl-C
reaches the test, but on its way out the KeyboardInterrupt is replaced by another exception (as
pytest-timeout's `Failed` at the per-test limit, or a command whose child died of the same SIGINT,
replace it in an e2e run); the next test must not start, let alone read as passed."""

import os
import signal
import time


def test_interrupt_replaced_on_its_way_out():
    try:
        os.kill(os.getpid(), signal.SIGINT)  # what the terminal sends the run
        time.sleep(5)  # never reached in full: the interrupt arrives first
    finally:
        raise RuntimeError("cleanup failed after the interrupt")  # replaces the KeyboardInterrupt


def test_after_the_interrupt():
    pass
