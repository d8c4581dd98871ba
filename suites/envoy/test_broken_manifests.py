"""Each scenario's assertions can fail: the suite run against a broken copy of its manifests
(`--manifests-dir`) fails, with a message a release engineer can read.

Broken copies of different scenarios share one child run (one manifests folder, their modules run one after
the other: a child's start-up is most of its cost); each test then finds its own module's failure and
message in that run's output. Copies of the same scenario need runs of their own; those runs are
independent (own manifests folder, own Envoys and ports), so they are started together.
"""

import importlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from subprocess import TimeoutExpired

import pytest

from l7suite import MANIFESTS_DIR, REPO_ROOT
from l7suite.scenarios import SUITE_SELF_CHECKS, Scenario, circuit_breaker, grpc_lb, weighted_lb
from suites.child_pytest import ForkedPytest, start_pytest

SCENARIO = SUITE_SELF_CHECKS
CHILD_TIMEOUT = 120  # seconds for one child run of a scenario module


@dataclass(frozen=True)
class Broken:
    scenario: Scenario  # its envoy-tier folder is copied and broken; its envoy-tier module must fail
    edits: dict[str, list[tuple[str, str]]]  # file -> [(old, new)]
    expected: str  # text the failure must show

    @property
    def folder(self) -> str:
        assert self.scenario.envoy_folder, f"scenario {self.scenario.name!r} has no envoy-tier folder"
        return self.scenario.envoy_folder

    @property
    def module(self) -> str:
        """The envoy-tier test module that declares the scenario (one: a case names the module that fails)."""
        modules = [str(p.relative_to(REPO_ROOT)) for p in sorted((REPO_ROOT / "suites" / "envoy").glob("test_*.py"))
                   if getattr(importlib.import_module(f"suites.envoy.{p.stem}"), "SCENARIO", None) is self.scenario]
        assert len(modules) == 1, f"scenario {self.scenario.name!r}: envoy-tier modules {modules}, expected one"
        return modules[0]


BROKEN = {
    "weighted-lb-50-50": Broken(weighted_lb.SCENARIO,
                                {"cec.yaml": [("weight: 80", "weight: 50"), ("weight: 20", "weight: 50")]},
                                "deathstar share"),
    "circuit-breaker-no-limits": Broken(circuit_breaker.SCENARIO,
                                        {"ccec.yaml": [("max_requests: 2", "max_requests: 1000"),
                                                       ("max_pending_requests: 1", "max_pending_requests: 1000")]},
                                        "no 503 at concurrency 4"),
    # a config Envoy rejects, in a third scenario: all three copies share one child run
    "grpc-lb-nack": Broken(grpc_lb.SCENARIO, {"cec.yaml": [("connectTimeout: 5s", "connectTimeout: -1s")]},
                           "Envoy rejected Cluster (NACK): Invalid duration"),
}


@dataclass
class ChildRun:
    process: ForkedPytest | None  # None: a copy could not be broken (see `problem`)
    log: Path
    problem: str = ""


def break_copy(case: Broken, root: Path) -> str:
    """Copy the scenario's folder under root and apply the edits; a message if an edit no longer applies."""
    shutil.copytree(MANIFESTS_DIR / case.folder, root / case.folder)
    for file, replacements in case.edits.items():
        path = root / case.folder / file
        text = path.read_text()
        for old, new in replacements:
            if old not in text:
                return f"{old!r} not in {path}: update this test with the manifest"
            text = text.replace(old, new)
        path.write_text(text)
    return ""


def child_groups() -> list[list[str]]:
    """The cases of each child run: no two copies of one folder in a run (they would share it)."""
    groups: list[list[str]] = []
    for name, case in BROKEN.items():
        group = next((g for g in groups if all(BROKEN[n].folder != case.folder for n in g)), None)
        if group is None:
            groups.append(group := [])
        group.append(name)
    return groups


@pytest.fixture(scope="module")
def child_runs(suite_envoy_version, tmp_path_factory):
    runs: dict[str, ChildRun] = {}
    try:
        for group in child_groups():
            root = tmp_path_factory.mktemp("broken")
            problem = "\n".join(p for p in (break_copy(BROKEN[name], root) for name in group) if p)
            modules = list(dict.fromkeys(BROKEN[name].module for name in group))
            process = None if problem else start_pytest(
                *modules, "-q", "-p", "no:pytest_kind", "--envoy-version", suite_envoy_version,
                "--manifests-dir", str(root), env={}, log=root / "child.log")
            runs.update({name: ChildRun(process, root / "child.log", problem) for name in group})
        yield runs
    finally:
        for run in runs.values():
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.process.wait()


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_manifests_fail_readably(name, child_runs):
    run, case = child_runs[name], BROKEN[name]
    if run.process is None:
        pytest.fail(run.problem, pytrace=False)
    try:
        returncode = run.process.wait(CHILD_TIMEOUT)
    except TimeoutExpired:
        run.process.kill()
        run.process.wait()
        pytest.fail(f"the child run did not end within {CHILD_TIMEOUT} s:\n{run.log.read_text()}", pytrace=False)
    output = run.log.read_text()
    assert returncode == 1, output
    # the failure is this scenario's: its module is in the -ra summary (FAILED, or ERROR when setup failed)
    assert re.search(rf"^(FAILED|ERROR) {re.escape(case.module)}::", output, re.MULTILINE), output
    assert case.expected in output, output
