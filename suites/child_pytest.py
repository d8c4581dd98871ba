"""Run the suite itself in a child process (for tests about the suite's own behaviour).

Envoy-tier child runs are forked from a process that has already imported pytest and the suite's library
(multiprocessing's forkserver, with a preload list), not started as a new interpreter. A trivial child run
then costs about 0.15 s of CPU instead of 0.6 s (the rest was imports); the envoy tier makes six on 2 cores.
A forked child is still a process of its own and ends as `python -m pytest` would: pytest.main's exit code,
Ctrl-C as KeyboardInterrupt (the forkserver restores the default SIGINT handler in its children), kill -9 as
-9. multiprocessing's rule applies to whatever starts one: a script's top level must be guarded by
`if __name__ == "__main__"` (pytest's own entry points are). Runs with every plugin (`all_plugins=True`)
start a new interpreter: pytest marks every installed plugin's modules for assertion rewriting there, and
warns (an error under this project's filterwarnings) about those the forkserver had already imported.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from l7suite import REPO_ROOT

# Most child runs are envoy-tier runs, which need two of the installed plugins: pytest-timeout (its ini
# options are in pyproject.toml, and --strict-config refuses them without it) and allure-pytest (the labels
# fixtures/reporting.py puts on every test are its markers); none of the others (xdist, pytest-html,
# pytest-kind-ng) and none of the e2e tier's (its options and plan, the kind cluster, --record): loading
# them would only add imports (together about a third of a child's start-up). The two are handed to
# pytest.main as plugin objects rather than named with -p, which reads every installed package's entry points
# to look the name up (py-spy: the biggest part of a forked child's start-up left). Runs that use e2e options
# or write results (the report's sample runs) and the unit tests of the evidence in those results ask for
# every plugin with `all_plugins=True`.
ENVOY_TIER_PLUGINS = ("pytest_timeout", "allure_pytest.plugin")
NOT_E2E = ("-p", "no:fixtures.e2e_plan", "-p", "no:fixtures.e2e_cluster", "-p", "no:fixtures.e2e_recording")
NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # installed plugins load only when named
# What the forkserver imports once for every envoy-tier child. Not conftest.py's fixtures.* or the test
# modules: pytest imports those itself, to rewrite their asserts (the two plugins above, registered as
# objects, are not rewritten either way).
PRELOAD = ["pytest", *ENVOY_TIER_PLUGINS, "allure", "allure_commons.logger", "allure_pytest.listener",
           "l7suite.envoy.envoy_run", "l7suite.report.environment", "l7suite.scenarios", "l7suite.versions"]


def pytest_args(*args: str, all_plugins: bool = False) -> list[str]:
    return ["-p", "no:cacheprovider", *(() if all_plugins else NOT_E2E), *args]


def child_env(env: dict[str, str] | None, all_plugins: bool = False) -> dict[str, str]:
    return {**os.environ, **({} if all_plugins else NO_AUTOLOAD), **(env or {})}


# CPU seconds (user + sys, with their Envoys) of the forked children that ended here. A forked child is reaped
# by the forkserver, so its CPU time reaches this process's RUSAGE_CHILDREN only when the forkserver is reaped,
# as this process ends; each child writes its own next to its log as it ends (not one killed with -9), and
# benchmarks/cpu_per_test.py adds it to the test that ran it.
FORKED_CPU = [0.0]


@functools.cache
def forkserver() -> multiprocessing.context.BaseContext:
    """The forkserver context, its preload set before the server starts (on the first child)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    atexit.register(_stop_forkserver)
    return context


def _stop_forkserver() -> None:
    """Stop and reap the forkserver as this process ends, so that its CPU time (and its children's) is counted
    as this process's children's (benchmarks/envoy_tier.py reads it so) and it never outlives this process.
    Without it the server would only stop when it sees this process gone. `_stop` is what CPython's own tests
    use to stop it (Lib/multiprocessing/forkserver.py, 3.11)."""
    stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


class ForkedPytest:
    """An envoy-tier child run forked from the forkserver, with the part of subprocess.Popen's interface the
    suite's tests use (pid, poll, wait, send_signal, kill)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        # what it runs, for messages: the same as this command, with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
        self.args = ["python", "-m", "pytest", *(a for name in ENVOY_TIER_PLUGINS for a in ("-p", name)),
                     *args]
        context = forkserver()
        # daemon: should a test leave one running, the worker stops it on its way out rather than wait for it
        # (and child runs do not nest: multiprocessing lets no daemonic process start children of its own)
        self._process = context.Process(target=_pytest_main, args=(args, env, str(log)), daemon=True,
                                        name="child-pytest")
        self._process.start()
        self._cpu_file = Path(f"{log}.cpu")
        self._counted = False

    @property
    def pid(self) -> int:
        assert self._process.pid is not None  # started in __init__
        return self._process.pid

    def poll(self) -> int | None:
        return self._ended(self._process.exitcode)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._ended(self._process.exitcode)

    def _ended(self, exitcode: int | None) -> int | None:
        if exitcode is not None and not self._counted:
            self._counted = True
            with contextlib.suppress(OSError, ValueError):  # none written: killed
                FORKED_CPU[0] += float(self._cpu_file.read_text())
        return exitcode

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()


def _pytest_main(args: list[str], env: dict[str, str], log: str) -> None:
    """In the forked child: output to the log, the run's environment, and pytest as `python -m pytest`."""
    import pytest

    # The forkserver's objects (every preloaded module's) are left out of this process's garbage collections,
    # which would otherwise walk them all again (and copy their memory pages) in each child: gc.freeze's
    # documented use before a fork without exec.
    gc.freeze()
    plugins = [importlib.import_module(name) for name in ENVOY_TIER_PLUGINS]
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # as cached by the forkserver: found again from this run's TMPDIR
    os.chdir(REPO_ROOT)
    sys.argv = ["pytest", *args]
    try:
        sys.exit(pytest.main(args, plugins=plugins))
    finally:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        Path(f"{log}.cpu").write_text(f"{own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime:.3f}")


def start_pytest(*args: str, env: dict[str, str], log: Path) -> ForkedPytest:
    """An envoy-tier child run, its output (stdout and stderr) going to `log`."""
    return ForkedPytest(pytest_args(*args), child_env(env), log)


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               all_plugins: bool = False) -> subprocess.CompletedProcess:
    """A child run to its end, its output in `stdout` (an envoy-tier run's stderr is in it too)."""
    if all_plugins:
        return subprocess.run([sys.executable, "-m", "pytest", *pytest_args(*args, all_plugins=True)],
                              cwd=REPO_ROOT, env=child_env(env, all_plugins=True), capture_output=True, text=True,
                              timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="child-pytest-") as folder:
        log = Path(folder) / "log"
        child = start_pytest(*args, env=env or {}, log=log)
        try:
            returncode = child.wait(timeout)
        finally:
            child.kill()
            child.wait()
        output = log.read_text() if log.exists() else \
            f"(no output: the forked child ended with {returncode} before pytest started; see this run's stderr)"
        return subprocess.CompletedProcess(child.args, returncode, output, "")
