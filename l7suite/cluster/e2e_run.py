"""`tox -e e2e`'s runner: the whole e2e run, or only its plan.

    python -m l7suite.cluster.e2e_run [pytest options...]

With `--plan`: only `pytest suites/e2e --plan ...`. No prerequisite check, no npm, no cluster, no
report: a plan needs none of Docker, kind, kubectl or helm (`tox -e e2e -- --plan` works without them).

Otherwise (the commands: l7suite/cluster/e2e_steps.py):
0. the prerequisite check (l7suite.cluster.prereqs): without Docker, kind, kubectl and helm the run stops
   here within seconds, with one message; then `npm ci` (Allure, for the report) when npm is on PATH;
1. `pytest suites/e2e -m "not disruptive" -n W --dist loadscope --keep-cluster ...`: modules (one
   scenario, one namespace each) spread over W xdist workers against one cluster. `--keep-cluster` keeps
   only the cluster for step 2: each scenario's namespace and stage objects are still deleted after it
   (`--keep-namespaces` is the user's, separate choice);
2. `pytest suites/e2e -m disruptive --kubeconfig <step 1's kubeconfig> ...`: the resilience test alone,
   on the cluster step 1 brought up, adopted as it is (no second kind, preload or Helm install). When
   step 1 ran no test, step 2 brings the cluster up itself; when step 1 failed to bring it up, step 2
   is skipped with that reason (step 1's failure is the run's);
3. `kind delete cluster` — always, even when a step failed or was interrupted, unless the user asked
   for `--keep-cluster` or brought a cluster with `--kubeconfig` (that one is never deleted);
4. the HTML report from `--alluredir`, written beside it (report.html), after a pass or a failure.

W comes from L7SUITE_E2E_WORKERS (default 2). The exit code is the first failing step's.

Ctrl-C or SIGTERM: each pytest step runs in a process group of its own, so a terminal's Ctrl-C reaches
this runner only; it forwards one SIGINT to the step, waits for the step's teardown (namespaces,
port-forwards, Docker containers; at most `child_cleanup` seconds), then removes the cluster. Signals
that arrive during that cleanup are ignored (tox forwards its own copy of the terminal's SIGINT;
tox.ini gives the cleanup time with interrupt_timeout).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from l7suite import REPO_ROOT
from l7suite.cluster import prereqs, record
from l7suite.cluster.cluster_removal import delete_kind_cluster
from l7suite.cluster.e2e_steps import cleanup, cluster_name, first_step, option_value, plan_step, second_step
from l7suite.cluster.shared_cluster import READY_ENV, ready_kubeconfig
from l7suite.cluster.timeouts import Timeouts, current

NO_TESTS_COLLECTED = 5  # pytest's exit code when a marker leaves nothing to run
INTERRUPTED = 2  # pytest's exit code after Ctrl-C
NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]


def step_one_cluster(args: Sequence[str], ready_file: Path) -> Path | None:
    """The kubeconfig of the cluster step 1 brought up and found ready, or None when there is none.

    Not "a kind cluster of that name exists": after a bring-up that failed past `kind create` (e.g. the
    Helm install), the half-made cluster exists too, and step 2 adopting it would fail every disruptive
    test with a misleading reason (and wait out `adopt_ready` first). The `cluster` fixture writes
    `ready_file` only once the cluster is ready (l7suite/cluster/shared_cluster.py mark_ready)."""
    if option_value(args, "--kubeconfig"):
        return None  # the user's cluster: both steps use it as given
    return ready_kubeconfig(ready_file)


def say(line: str) -> None:
    print(f"[l7suite] {line}", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_step(command: list[str], timeouts: Timeouts) -> int:
    """Run one pytest step in its own process group; on Ctrl-C/SIGTERM let it tear down, then re-raise."""
    proc = subprocess.Popen(command, process_group=0)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _ignore_signals()
        say(f"interrupted: letting the pytest step tear down (at most {timeouts.child_cleanup:g}s) ...")
        stop_step(proc, timeouts.child_cleanup)
        raise


def stop_step(proc: subprocess.Popen[bytes], grace: float) -> None:
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            say(f"the pytest step did not stop within {wait:g}s; sending {signal.Signals(sig).name}")


def npm_ci() -> int:
    if not shutil.which("npm") or not (REPO_ROOT / "package.json").is_file():
        say("npm not on PATH: the report will be pytest-html's instead of Allure's")
        return 0
    done = subprocess.run(NPM_CI, cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        say(f"`{' '.join(NPM_CI)}` failed (exit {done.returncode}): the report needs Allure from npm")
    return done.returncode


def run_steps(args: list[str], workers: int, timeouts: Timeouts) -> int:
    first = first_step(args, workers)
    say(f"e2e step 1: {' '.join(first[2:])}")
    with tempfile.TemporaryDirectory(prefix="l7suite-e2e-run-") as tmp:
        ready_file = Path(tmp) / "ready"
        os.environ[READY_ENV] = str(ready_file)  # step 1 (and its xdist workers) inherit it
        try:
            code = run_step(first, timeouts)
        finally:
            os.environ.pop(READY_ENV, None)
        adopt = step_one_cluster(args, ready_file)
    if adopt is None and code not in (0, NO_TESTS_COLLECTED) and not option_value(args, "--kubeconfig"):
        say("e2e step 2 (disruptive) skipped: step 1 left no cluster (its bring-up failed; see above)")
        return code
    second = second_step(args, adopt)
    say(f"e2e step 2: {' '.join(second[2:])}")
    result = run_step(second, timeouts)
    if code == NO_TESTS_COLLECTED:
        return result
    if result == NO_TESTS_COLLECTED:
        result = 0  # `-k` or `-m` left no disruptive test: nothing failed
    return code or result


def remove_cluster(args: list[str], timeouts: Timeouts) -> int:
    if cleanup(args) is None:
        return 0
    return delete_kind_cluster(cluster_name(args), timeouts.kind_delete, say)


def build_report(args: list[str]) -> int:
    results = option_value(args, "--alluredir")
    if not results or not Path(results).is_dir():
        return 0
    return subprocess.run([sys.executable, "-m", "l7suite.report", "html", results], check=False).returncode


def main(args: list[str]) -> int:
    try:
        timeouts = current()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 4  # pytest's usage-error code
    if "--plan" in args:
        return subprocess.run(plan_step(args), check=False).returncode
    if option_value(args, "--record"):  # the runner's own commands too (prerequisites, the cluster's removal)
        record.start(Path(str(option_value(args, "--record"))))
    message = prereqs.report(prereqs.check_all(existing_cluster=bool(option_value(args, "--kubeconfig"))))
    if message:
        print(message, file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    workers = int(os.environ.get("L7SUITE_E2E_WORKERS", "2"))
    code, interrupted = 0, False
    try:
        code = npm_ci() or run_steps(args, workers, timeouts)
    except KeyboardInterrupt:
        interrupted, code = True, INTERRUPTED
    finally:
        _ignore_signals()  # the cluster goes, whatever arrives now
        removal = remove_cluster(args, timeouts)
    if interrupted:
        say("interrupted: no report built")
        return code
    report = build_report(args)  # a failing run gets its report too
    return code or removal or report


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
