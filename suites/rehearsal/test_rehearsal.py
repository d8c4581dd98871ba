"""REHEARSAL of `tox -e e2e` on a machine without Docker: the harness, not Cilium, is under test.

tox.ini's [testenv:e2e] commands run as tox runs them (l7suite.cluster.e2e_run: both pytest steps,
xdist workers, fixtures, `--record`, the report) with stand-in docker/kind/kubectl/helm alone on PATH
(suites/rehearsal/bin; standins/ says what they answer). They answer the bring-up and the API reads
from recorded formats, and never a probe: every scenario must fail, each with its own message. The
assertions read the stand-ins' call log, the allure results, the `--record` folder and the output.

Four runs, started together at the first test (they are independent: own cluster names, folders,
TMPDIRs), so the whole rehearsal costs about as long as the longest of them:
- plan: `--plan --preload-images`, what the run must then do (`--plan` with no tools at all:
  suites/unit/test_e2e_run.py);
- full: `--preload-images --record DIR`, a bring-up that works and scenarios that all fail;
- failed bring-up: the stand-in helm refuses the install;
- interrupted: a bring-up slower than `-o timeout=2` (it must not be cut by the per-test timeout),
  then SIGINT to the whole process group (a terminal's Ctrl-C) as soon as a scenario is applied.
Nothing is written under reports/e2e/: results and reports go to the runs' temp folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from l7suite import REPO_ROOT
from l7suite.cluster.e2e_run import option_value
from l7suite.cluster.helm_values import without_digest
from l7suite.cluster.plan import CHART_ENVOY
from l7suite.cluster.record import Replay, normalized
from suites.rehearsal.planned import Planned
from suites.rehearsal.runner import Run, results_of, session_processes

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


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    root = tmp_path_factory.mktemp("rehearsal")
    pid = os.getpid()
    r = Rehearsal(root, reports_before=snapshot(REPO_ROOT / "reports" / "e2e"))
    r.start("plan", Run(root / "plan", ["--plan", "--preload-images", "--cluster-name", f"rehearsal-{pid}"]))
    r.start("full", Run(root / "full", ["--preload-images", "--cluster-name", f"rehearsal-{pid}",
                                        "--record", str(root / "full" / "record")],
                        {"L7SUITE_E2E_WORKERS": "2"}))
    r.start("failed", Run(root / "failed", ["--cluster-name", f"rehearsal-fail-{pid}"],
                          # one worker: xdist's path is the full run's and the interrupted run's; a failed
                          # bring-up shared by workers is suites/unit/test_e2e_parallel.py's
                          {"L7SUITE_E2E_WORKERS": "1", "L7SUITE_REHEARSAL_FAIL": "helm-install"}))
    r.start("interrupted", Run(root / "interrupted", ["--cluster-name", f"rehearsal-int-{pid}", "-o",
                                                      f"timeout={PER_TEST_TIMEOUT}"],
                               {"L7SUITE_E2E_WORKERS": "2", "L7SUITE_REHEARSAL_KIND_CREATE": str(SLOW_KIND_CREATE)}),
            interrupt_when=scenario_applied)
    yield r
    for name in r.threads:
        r.threads[name].join(RUN_TIMEOUT)
    for name in ("full", "failed", "interrupted", "plan"):  # pytest-kind-ng's kubeconfig folder, per cluster
        cluster = {"full": f"rehearsal-{pid}", "plan": f"rehearsal-{pid}", "failed": f"rehearsal-fail-{pid}",
                   "interrupted": f"rehearsal-int-{pid}"}[name]
        shutil.rmtree(REPO_ROOT / ".pytest-kind" / cluster, ignore_errors=True)


@pytest.fixture(scope="module")
def planned(rehearsal: Rehearsal) -> Planned:
    run = rehearsal.get("plan")
    assert run.codes == [0], f"`tox -e e2e -- --plan` failed:\n{run.output[-4000:]}"
    return Planned.parse(run.output)


@pytest.fixture(scope="module")
def full(rehearsal: Rehearsal) -> Run:
    return rehearsal.get("full")


def generic(message: str) -> str:
    """A message without what differs between runs: pod-name suffixes and hashes, ports, addresses."""
    message = re.sub(r"-[0-9a-f]{8,10}-[0-9a-z]{5}\b", "-*", message)
    message = re.sub(r"-[0-9a-z]{5}\b", "-*", message)
    return re.sub(r"\b\d+(\.\d+){0,3}(:\d+)?\b", "N", message)


def failures_table(results: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {r['status']:7} {r['fullName']}: {r.get('statusDetails', {}).get('message', '')[:300]!r}"
                     for r in results)


# --- the plan -----------------------------------------------------------------------------------------
def test_plan_only_reads(rehearsal: Rehearsal, planned: Planned) -> None:
    calls = rehearsal.get("plan").calls()
    allowed = {("kind", "version")}
    assert [str(c) for c in calls.calls if (c.tool, *c.words[:1]) not in allowed] == []


# --- the full run: bring-up as planned ----------------------------------------------------------------
def test_one_kind_create_with_the_planned_config(full: Run, planned: Planned) -> None:
    creates = full.calls().of("kind", "create", "cluster")
    assert len(creates) == 1, [str(c) for c in creates]
    config = creates[0].files.get(str(option_value(creates[0].argv, "--config")))
    assert config is not None, f"kind create got no --config file: {creates[0]}"
    assert yaml.safe_load(config) == planned.kind_config


def test_one_helm_install_with_the_planned_values(full: Run, planned: Planned) -> None:
    installs = [c for c in full.calls().of("helm", "upgrade") if "--install" in c.argv]
    assert len(installs) == 1, [str(c) for c in installs]
    (values,) = installs[0].files.values()
    assert yaml.safe_load(values) == planned.values


def test_preloaded_images_are_the_planned_ones(full: Run, planned: Planned) -> None:
    calls = full.calls()
    chart_envoy = [c for c in calls.of("helm", "show", "values") if c.exit == 0]
    resolved = []
    for image in planned.preload:
        if CHART_ENVOY in image:
            assert chart_envoy, "the plan lists the chart's cilium-envoy image but the run never read it"
            envoy = yaml.safe_load(chart_envoy[0].end["stdout"])["envoy"]["image"]  # type: ignore[index]
            image = f"{envoy['repository']}:{envoy['tag']}"
        resolved.append(image)
    pulled = [c.words[1] for c in calls.of("docker", "pull") if c.exit == 0]
    loaded = [image for c in calls.of("kind", "load") if c.exit == 0 for image in c.notes.get("images", [])]
    assert sorted(pulled) == sorted(resolved)
    assert sorted(loaded) == sorted(without_digest(i) for i in resolved)


# --- the full run: every scenario reached, and failed ---------------------------------------------------
def test_every_scenario_module_ran_and_none_passed(full: Run) -> None:
    results = results_of(full.results)
    modules = sorted({r["fullName"].split("#")[0].rsplit(".", 1)[-1] for r in results})
    assert modules == E2E_MODULES, failures_table(results)
    passed = [r for r in results if r["status"] == "passed"]
    assert passed == [], "a stand-in made a check pass (no stand-in may):\n" + failures_table(passed)


def test_each_failure_carries_its_own_message(full: Run) -> None:
    results = [r for r in results_of(full.results) if r["status"] != "skipped"]
    bare = [r for r in results if not OWN_MESSAGE.match(r.get("statusDetails", {}).get("message", ""))]
    assert bare == [], "failures without a message of their own (a bare exception):\n" + failures_table(bare)
    by_module: dict[str, set[str]] = {}
    for r in results:
        first_line = r["statusDetails"]["message"].splitlines()[0]
        by_module.setdefault(r["fullName"].split("#")[0], set()).add(generic(first_line))
    not_own = [m for m, msgs in by_module.items()
               if msgs <= {msg for other, theirs in by_module.items() if other != m for msg in theirs}]
    assert not_own == [], "modules whose every failure message is another module's too:\n" + failures_table(results)


def test_skips_say_why(full: Run) -> None:
    skipped = [r for r in results_of(full.results) if r["status"] == "skipped"]
    assert [r for r in skipped if not r.get("statusDetails", {}).get("message")] == []


def test_each_scenario_namespace_created_and_deleted(full: Run, planned: Planned) -> None:
    calls = full.calls()
    created = [ns for c in calls.kubectl("apply") for kind, _, ns in c.notes.get("applied", []) if kind == "Namespace"]
    deleted = [ns for c in calls.kubectl("delete") for kind, _, ns in c.notes.get("deleted", []) if kind == "Namespace"]
    expected = sorted({ns for names in planned.namespaces.values() for ns in names})
    assert sorted(set(created)) == expected
    assert sorted(deleted) == sorted(created), "every namespace a scenario created is deleted after it"
    (removal,) = calls.of("kind", "delete", "cluster")
    assert removal.notes.get("leftovers") == [], "objects of the run still on the cluster when it was deleted"


def test_port_forwards_started_and_stopped(full: Run) -> None:
    forwards = [c for c in full.calls().calls if c.tool == "kubectl" and c.words[:1] == ["port-forward"]]
    targets = {c.notes.get("target", "").split("/")[1] for c in forwards}
    assert {"svc", "pod"} <= targets, f"Hubble Relay (svc) and cilium-envoy admin (pod) port-forwards: {targets}"
    not_stopped = [str(c) for c in forwards if c.forwarding is None or c.notes.get("stopped_by") not in ("SIGTERM",
                                                                                                      "SIGINT")]
    assert not_stopped == [], "port-forwards that never printed their line or were never stopped"


def test_placeholders_filled_before_apply(full: Run) -> None:
    unfilled = [f"{c}: {c.notes['unfilled_placeholders']}" for c in full.calls().kubectl("apply")
                if c.notes.get("unfilled_placeholders")]
    assert unfilled == []


def test_every_call_had_an_answer(full: Run) -> None:
    assert [str(c) for c in full.calls().unhandled()] == [], "calls the stand-ins have no answer for"


# --- the end of every run: cluster gone, nothing left -------------------------------------------------
def _ended_clean(run: Run) -> None:
    calls = run.calls()
    removals = calls.of("kind", "delete", "cluster")
    assert removals, f"no `kind delete cluster` at the end:\n{run.output[-3000:]}"
    assert calls.calls[-1] is removals[-1], f"calls after the cluster's removal: {calls.calls[-1]}"
    state = (run.folder / "standins" / "state.json").read_text()
    assert '"clusters": {}' in state and '"containers": {}' in state, "a cluster or container is left"
    assert session_processes(run.session) == [], "processes of the run still running"
    alive = [pid for pid in calls.pids() if Path(f"/proc/{pid}").exists()
             and "client.py" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert alive == [], f"stand-ins still running: {alive}"
    left = sorted(p.name for p in run.tmp.iterdir() if not p.name.startswith("pytest-of-"))
    assert left == [], f"temp folders of the run left in TMPDIR: {left}"  # pytest's own basetemp aside


def _no_stray_output(run: Run) -> None:
    assert "warnings summary" not in run.output and not re.search(r"\b\w+Warning: ", run.output), (
        "a warning escaped:\n" + "\n".join(line for line in run.output.splitlines() if "Warning" in line)[:4000])
    assert TRACEBACK not in run.output and "INTERNALERROR" not in run.output, (
        "a bare traceback in the run's output:\n" + run.output[run.output.find(TRACEBACK) - 2000:][:6000])


def test_full_run_ends_clean(full: Run) -> None:
    assert full.codes[-1] != 0, "every scenario failed, so the run must fail"
    _ended_clean(full)
    _no_stray_output(full)
    assert full.report.is_file() and full.report.stat().st_size > 0, f"no report at {full.report}"


def test_failed_bring_up_fails_every_test_with_its_reason(rehearsal: Rehearsal) -> None:
    run = rehearsal.get("failed")
    calls = run.calls()
    assert len(calls.of("kind", "create", "cluster")) == 1 and len(calls.of("helm", "upgrade")) == 1, (
        "one bring-up attempt for the run, however many workers")
    results = results_of(run.results)
    assert results and all(r["status"] == "failed" for r in results), failures_table(results)
    reasons = {r["statusDetails"]["message"] for r in results}
    assert all("INSTALLATION FAILED" in m and "helm" in m for m in reasons), failures_table(results)
    assert run.codes[-1] != 0
    _ended_clean(run)
    _no_stray_output(run)
    assert run.report.is_file(), "a failing run gets its report too"


def test_slow_bring_up_is_not_cut_by_the_per_test_timeout(rehearsal: Rehearsal) -> None:
    run = rehearsal.get("interrupted")
    create = run.calls().of("kind", "create", "cluster")
    assert create and create[0].end and create[0].end["duration"] >= SLOW_KIND_CREATE > PER_TEST_TIMEOUT
    assert run.interrupted_at is not None, (
        f"no scenario was applied after a {SLOW_KIND_CREATE:g}s kind create under `-o timeout={PER_TEST_TIMEOUT}`: "
        f"the bring-up was cut\n{run.output[-4000:]}")


def test_interrupted_run_cleans_up(rehearsal: Rehearsal) -> None:
    run = rehearsal.get("interrupted")
    assert run.interrupted_at is not None, "the run was never interrupted (see the slow bring-up test)"
    calls = run.calls()
    removals = [c for c in calls.of("kind", "delete", "cluster") if c.notes.get("existed")]
    assert len(removals) == 1 and removals[0].time > run.interrupted_at, [str(c) for c in removals]
    created = [ns for c in calls.kubectl("apply") for kind, _, ns in c.notes.get("applied", []) if kind == "Namespace"]
    deleted = [ns for c in calls.kubectl("delete") for kind, _, ns in c.notes.get("deleted", []) if kind == "Namespace"]
    assert sorted(deleted) == sorted(created), "namespaces of interrupted scenarios are deleted too"
    forwards = [c for c in calls.calls if c.tool == "kubectl" and c.words[:1] == ["port-forward"]]
    assert [str(c) for c in forwards if c.end is None] == []
    assert run.codes[-1] != 0
    _ended_clean(run)


# --- --record --------------------------------------------------------------------------------------------
def test_record_keeps_every_command(full: Run) -> None:
    folder = full.folder / "record"
    recorded = [json_line for path in sorted((folder / "commands").glob("*.jsonl"))
                for json_line in map(_json, path.read_text().splitlines()) if json_line]
    fields = {"argv", "exit_code", "stdout", "stderr", "duration", "started", "timeout", "kind"}
    assert [r for r in recorded if set(r) != fields] == []
    made = sorted((normalized(c.argv), c.exit) for c in full.calls().calls)
    kept = sorted((normalized(r["argv"]), r["exit_code"]) for r in recorded)
    missing = [m for m in made if m not in kept]
    assert missing == [], f"{len(missing)} commands of the run not in the record, e.g. {missing[:5]}"
    assert len({p.name for p in (folder / "commands").glob("*.jsonl")}) >= 3, "one file per process"


def test_record_keeps_cecs_and_agent_status(full: Run, planned: Planned) -> None:
    folder = full.folder / "record"
    labels = {re.sub(r"-[^-]+-\d+\.yaml$", "", p.name) for p in (folder / "cec").glob("*.yaml")}
    dumped_after = sorted({label.rsplit("-", 1)[-1] for label in labels if label != "session-end"})
    assert dumped_after == E2E_MODULES and "session-end" in labels, sorted(labels)
    ccec = [yaml.safe_load(p.read_text()) for p in (folder / "cec").glob("circuit-breaker-*.yaml")]
    assert ccec and all(any(i["metadata"]["name"] == "envoy-circuit-breaker" for i in doc["items"]) for doc in ccec)
    agents = {c.notes["exec"]["pod"] for c in full.calls().kubectl("exec")
              if c.notes.get("exec", {}).get("command", [])[:2] == ["cilium-dbg", "status"]}
    kept = {re.sub(r"-[^-]+-\d+\.txt$", "", p.name) for p in (folder / "cilium-dbg-status").glob("*.txt")}
    assert agents and kept == agents


def test_record_is_replayed_by_the_standins(full: Run, tmp_path: Path) -> None:
    """A recorded folder answers the stand-ins' read-only calls: a user's recording becomes fixtures."""
    folder = full.folder / "record"
    replay = Replay(folder)
    reads = [a for a in replay.answers if a[0] == "kubectl" and "daemonset" in a]
    assert reads, "the record holds no kube-system DaemonSet read to replay"
    probe = Run(tmp_path / "replay", [])
    kubeconfig = tmp_path / "kubeconfig"
    argv = [a if a != "<path>" else str(kubeconfig) for a in reads[0]]
    env = {**probe.env(), "L7SUITE_REHEARSAL_REPLAY": str(folder)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    expected = replay.answers[reads[0]]
    assert (done.returncode, done.stdout) == (expected.returncode, expected.stdout)


def _json(line: str) -> dict[str, Any] | None:
    return json.loads(line) if line.strip() else None


def test_nothing_written_where_results_go(rehearsal: Rehearsal) -> None:
    """Last: once every run has ended, reports/e2e/ is as it was (a rehearsal is never a result)."""
    for name in rehearsal.threads:
        rehearsal.get(name)
    assert snapshot(REPO_ROOT / "reports" / "e2e") == rehearsal.reports_before, "the rehearsal wrote into reports/e2e/"
