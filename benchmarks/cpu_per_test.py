"""pytest plugin of the envoy-tier benchmark (`-p benchmarks.cpu_per_test`): the CPU time of each test, as a
`cpu_s` property of its JUnit XML testcase.

CPU time of a test: user + sys seconds, from the start of its setup to the end of its teardown, of the
process that runs it (an xdist worker: the test's threads, its stand-ins, its ADS server) and of the
children that process reaped meanwhile (Envoys, child pytest runs, `l7suite check`). A module's fixtures
start with its first test and stop with its last, so the sum over a module's tests of one Envoy version is
that scenario's whole cost on that version. A child counts once reaped; the suite waits for every child
it starts (EnvoyProcess.stop, subprocess.run / Popen.wait). Child pytest runs forked from the forkserver
(suites/child_pytest.py) are reaped by it, not by this process: they count with the CPU time each reports as
it ends (FORKED_CPU; one killed with -9 reports none).
"""

from __future__ import annotations

import resource

import pytest

from suites.child_pytest import FORKED_CPU

STARTED = pytest.StashKey[float]()


def reaped_children_cpu() -> float:
    """User + sys seconds of the children this process has reaped."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def process_cpu() -> float:
    """User + sys seconds of this process, of its reaped children and of its forked child runs."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + reaped_children_cpu() + FORKED_CPU[0]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    item.stash[STARTED] = process_cpu()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when == "teardown" and STARTED in item.stash:
        report.user_properties.append(("cpu_s", f"{process_cpu() - item.stash[STARTED]:.3f}"))
    return report
