"""REHEARSAL of `tox -e e2e` on a machine without Docker: the harness, not Cilium, is under test.

tox.ini's [testenv:e2e] commands run as tox runs them (l7suite.cluster.e2e_run: both pytest steps,
xdist workers, fixtures, `--record`, the report) with stand-in docker/kind/kubectl/helm alone on PATH
(suites/rehearsal/bin; standins/ says what they answer). They answer the bring-up and the API reads
from recorded formats, and never a probe: every scenario must fail, each with its own message. The
assertions read the stand-ins' call log, the allure results, the `--record` folder and the output.

Four runs, started together at the first test that needs one (conftest.py's `rehearsal` fixture; they are
independent: own cluster names, folders, TMPDIRs), so the whole rehearsal costs about as long as the longest
of them:
- plan: `--plan --preload-images`, what the run must then do (`--plan` with no tools at all:
  suites/unit/test_e2e_run.py);
- full: `--preload-images --record DIR`, a bring-up that works and scenarios that all fail;
- failed bring-up: the stand-in helm refuses the install;
- interrupted: a bring-up slower than `-o timeout=2` (it must not be cut by the per-test timeout),
  then SIGINT to the whole process group (a terminal's Ctrl-C) as soon as a scenario is applied.
Nothing is written under reports/e2e/: results and reports go to the runs' temp folders.
The tests, by what they read: test_rehearsal_plan.py (the plan and the bring-up it announced),
test_rehearsal_scenarios.py (every scenario reached, and failed with its own message),
test_rehearsal_endings.py (how each run ends: cluster gone, nothing left, nothing passed when interrupted),
test_rehearsal_record.py (`--record`). This module holds the runs and what the tests share.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l7suite import REPO_ROOT
from suites.rehearsal.runner import Run

RUN_TIMEOUT = 420.0  # one rehearsal command at most (a hung harness fails the rehearsal, it does not hang it)
SLOW_KIND_CREATE = 3.0  # seconds the stand-in `kind create cluster` takes in the interrupted run ...
PER_TEST_TIMEOUT = 2  # ... against this per-test timeout (`-o timeout=2`)
E2E_MODULES = sorted(p.stem for p in (REPO_ROOT / "suites" / "e2e").glob("test_*.py"))
# exception types a failing e2e test may end with: assertions and pytest's outcomes carry the test's own
# message; the suite's own exception classes (l7suite.*, fixtures.*) are written to say what failed
OWN_MESSAGE = re.compile(r"^(AssertionError|Failed|[A-Za-z_]*(Error|Failed|NotSeen|NotReady|NotFound|NotInForce)"
                         r"|(l7suite|fixtures|suites)\.[\w.]+): ")
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Rehearsal:
    """The four runs, each in a thread of its own."""

    root: Path
    reports_before: dict[str, float] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    threads: dict[str, threading.Thread] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)

    def start(self, name: str, run: Run, interrupt_when: Callable[[Run], bool] | None = None) -> None:
        def target() -> None:
            try:
                run.run(RUN_TIMEOUT, interrupt_when)
            except BaseException as exc:  # noqa: BLE001 (reported by the test that needs this run)
                self.errors[name] = exc

        self.runs[name] = run
        self.threads[name] = threading.Thread(target=target, name=f"rehearsal-{name}", daemon=True)
        self.threads[name].start()

    def get(self, name: str) -> Run:
        self.threads[name].join(RUN_TIMEOUT * 3)
        assert name not in self.errors, f"rehearsal run {name!r} could not run: {self.errors[name]!r}"
        assert not self.threads[name].is_alive(), f"rehearsal run {name!r} did not end"
        return self.runs[name]


def scenario_applied(run: Run) -> bool:
    return any(kind == "Namespace" for c in run.calls().kubectl("apply") for kind, _, _ in c.notes.get("applied", []))


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")} if folder.exists() else {}


def start_all(root: Path) -> Rehearsal:
    """The four runs, started (each in a thread); `cluster_names()` says which kind clusters they use."""
    names = cluster_names()
    r = Rehearsal(root, reports_before=snapshot(REPO_ROOT / "reports" / "e2e"))
    r.start("plan", Run(root / "plan", ["--plan", "--preload-images", "--cluster-name", names["plan"]]))
    r.start("full", Run(root / "full", ["--preload-images", "--cluster-name", names["full"],
                                        "--record", str(root / "full" / "record")],
                        {"L7SUITE_E2E_WORKERS": "2"}))
    r.start("failed", Run(root / "failed", ["--cluster-name", names["failed"]],
                          # one worker: xdist's path is the full run's and the interrupted run's; a failed
                          # bring-up shared by workers is suites/unit/test_e2e_parallel.py's
                          {"L7SUITE_E2E_WORKERS": "1", "L7SUITE_REHEARSAL_FAIL": "helm-install"}))
    r.start("interrupted", Run(root / "interrupted", ["--cluster-name", names["interrupted"], "-o",
                                                      f"timeout={PER_TEST_TIMEOUT}"],
                               {"L7SUITE_E2E_WORKERS": "2", "L7SUITE_REHEARSAL_KIND_CREATE": str(SLOW_KIND_CREATE)}),
            interrupt_when=scenario_applied)
    return r


def cluster_names() -> dict[str, str]:
    pid = os.getpid()
    return {"plan": f"rehearsal-{pid}", "full": f"rehearsal-{pid}", "failed": f"rehearsal-fail-{pid}",
            "interrupted": f"rehearsal-int-{pid}"}


def generic(message: str) -> str:
    """A message without what differs between runs: pod-name suffixes and hashes, ports, addresses."""
    message = re.sub(r"-[0-9a-f]{8,10}-[0-9a-z]{5}\b", "-*", message)
    message = re.sub(r"-[0-9a-z]{5}\b", "-*", message)
    return re.sub(r"\b\d+(\.\d+){0,3}(:\d+)?\b", "N", message)


def failures_table(results: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {r['status']:7} {r['fullName']}: {r.get('statusDetails', {}).get('message', '')[:300]!r}"
                     for r in results)
