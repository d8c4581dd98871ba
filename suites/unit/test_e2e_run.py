"""The e2e runner: parallel first, disruptive alone on the same cluster, the cluster removed unless
asked to stay; `--plan` through tox.ini's own command lines with no tools installed; a Ctrl-C lets the
pytest step tear its scenarios down before the runner goes on."""

from __future__ import annotations

import configparser
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from l7suite import REPO_ROOT
from l7suite.cluster.e2e_run import run_step
from l7suite.cluster.e2e_steps import cleanup, steps
from l7suite.cluster.timeouts import Timeouts

RESULTS = ["--alluredir", "reports/e2e/allure-results", "--clean-alluredir"]
BASE = [sys.executable, "-m", "pytest", "suites/e2e"]


def test_parallel_then_disruptive_on_the_cluster_step_one_left():
    kubeconfig = Path("/work/.pytest-kind/l7suite/kubeconfig")
    first, second = steps(["--cilium-version", "1.19.3", "--preload-images", *RESULTS], workers=3, adopt=kubeconfig)
    # --keep-cluster keeps the cluster for step 2 only: namespaces are not kept (no --keep-namespaces)
    assert first == [*BASE, "-m", "not disruptive", "-n", "3", "--dist", "loadscope", "--keep-cluster",
                     "--cilium-version", "1.19.3", "--preload-images", *RESULTS]
    # step 2 adopts that cluster as it is: no second kind, preload or Helm install
    assert second == [*BASE, "-m", "disruptive", "--cilium-version", "1.19.3",
                      "--alluredir", "reports/e2e/allure-results", "--kubeconfig", str(kubeconfig)]


def test_step_two_brings_a_cluster_up_when_step_one_left_none():
    _, second = steps(["--cilium-version", "1.19.3"], workers=2, adopt=None)
    assert second == [*BASE, "-m", "disruptive", "--keep-cluster", "--cilium-version", "1.19.3"]


def test_a_users_cluster_and_choices_pass_through_unchanged():
    args = ["--kubeconfig", "/tmp/big-cluster.yaml", "--keep-namespaces"]
    first, second = steps(args, workers=1, adopt=None)
    assert first == [*BASE, "-m", "not disruptive", "--keep-cluster", *args]
    assert second == [*BASE, "-m", "disruptive", "--keep-cluster", *args]


def test_one_worker_runs_without_xdist():
    first, _ = steps([], workers=1)
    assert "-n" not in first


def test_plan_is_one_step_writes_no_results_and_removes_nothing():
    assert steps(["--plan", *RESULTS], workers=3) == [[*BASE, "--plan"]]
    assert cleanup(["--plan"]) is None


def test_cluster_is_removed_unless_kept_or_brought():
    assert cleanup([]) == ["kind", "delete", "cluster", "--name=l7suite"]
    assert cleanup(["--cluster-name", "nightly-1"]) == ["kind", "delete", "cluster", "--name=nightly-1"]
    assert cleanup(["--cluster-name=nightly-2"]) == ["kind", "delete", "cluster", "--name=nightly-2"]
    assert cleanup(["--keep-cluster"]) is None
    assert cleanup(["--keep-namespaces"]) == ["kind", "delete", "cluster", "--name=l7suite"]
    assert cleanup(["--kubeconfig", "/tmp/big-cluster.yaml"]) is None


def tox_commands(env: str) -> list[str]:
    """The command lines tox runs for `env`, in order (commands_pre, commands, commands_post)."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO_ROOT / "tox.ini")
    section = ini[f"testenv:{env}"]
    return [line.strip() for key in ("commands_pre", "commands", "commands_post")
            for line in section.get(key, "").splitlines() if line.strip()]


def test_plan_through_tox_needs_no_docker_kind_kubectl_or_helm(tmp_path):
    # `tox -e e2e -- --plan` as the README says, on a PATH with none of the tools (nor npm)
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    outputs = []
    for line in tox_commands("e2e"):
        line = line.replace("{toxinidir}/reports", str(tmp_path / "reports")).replace("{toxinidir}", str(REPO_ROOT))
        argv = [sys.executable if word == "python" else word
                for word in shlex.split(line.replace("{posargs}", "--plan --cluster-name planned"))]
        done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        outputs.append(done.stdout)
    out = "".join(outputs)
    assert "e2e run plan (nothing was started)" in out and "kind cluster 'planned'" in out
    assert "prerequisites" not in out
    assert not (tmp_path / "reports").exists()  # a plan writes no results and no report


def test_an_interrupted_step_tears_down_before_the_runner_goes_on(tmp_path):
    # the step (here a stand-in for pytest) runs in its own process group and gets exactly one SIGINT
    child = tmp_path / "step.py"
    child.write_text(
        "import signal, sys, time\n"
        f"open({str(tmp_path / 'started')!r}, 'w').close()\n"
        "def stop(signum, frame):\n"
        "    time.sleep(0.5)  # a teardown that takes a while\n"
        f"    open({str(tmp_path / 'torn-down')!r}, 'w').write(str(signum))\n"
        "    sys.exit(2)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "time.sleep(30)\n")
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    # Python's own handler for this in-process Ctrl-C: the session's (fixtures/interrupted_tests.py) would
    # take it for the user's and end the session after this test
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_when_started() -> None:
        deadline = time.monotonic() + 10
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)  # what a terminal's Ctrl-C does to the runner

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_step([sys.executable, str(child)], Timeouts(child_cleanup=20))
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # the runner's own cleanup is not cut
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert (tmp_path / "torn-down").read_text() == str(int(signal.SIGINT))
    assert time.monotonic() - started < 15


def _runner_with(monkeypatch, first_step_outcome):
    """run_steps with its pytest steps replaced: step 1 does `first_step_outcome`, step 2 is recorded."""
    from l7suite.cluster import e2e_run

    commands: list[list[str]] = []

    def fake_step(command, timeouts):
        commands.append(command)
        return first_step_outcome() if len(commands) == 1 else 0

    monkeypatch.setattr(e2e_run, "run_step", fake_step)
    return e2e_run, commands


def test_half_made_cluster_of_a_failed_bring_up_is_not_adopted_by_step_two(monkeypatch, tmp_path):
    # Step 1's Helm install failed after `kind create`: the cluster exists, but it never became ready.
    # Before the fix the runner asked `kind get clusters`, found it, and step 2 adopted it.
    from l7suite.cluster import tools

    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    e2e_run, commands = _runner_with(monkeypatch, lambda: 1)
    listed = tools.Completed(("kind", "get", "clusters"), 0, "l7suite\n", "")
    monkeypatch.setattr(tools, "run", lambda argv, timeout: listed)  # kind does list the half-made cluster
    assert e2e_run.run_steps(["--cilium-version", "1.19.3"], 1, Timeouts()) == 1
    assert len(commands) == 1, "step 2 must be skipped: step 1 left no ready cluster"


def test_step_two_adopts_the_cluster_step_one_marked_ready(monkeypatch, tmp_path):
    from l7suite.cluster.shared_cluster import mark_ready

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")

    def ready_then_a_failing_test():
        mark_ready(kubeconfig)  # what the `cluster` fixture does once Cilium is ready
        return 1

    e2e_run, commands = _runner_with(monkeypatch, ready_then_a_failing_test)
    assert e2e_run.run_steps([], 1, Timeouts()) == 1
    assert commands[1][-2:] == ["--kubeconfig", str(kubeconfig)]
