"""Run by test_report_interrupted.py in a child pytest (never collected by the suite itself): a test
whose body is cut by Ctrl-C, as a user's Ctrl-C cuts an e2e check mid-way."""

import os
import signal
import time


def test_cut_by_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)  # what the terminal sends the run
    time.sleep(5)  # never reached in full: the interrupt arrives first
