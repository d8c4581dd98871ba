"""Rehearsal: how each run ends. The cluster is deleted last, nothing of the run is left (state, processes,
stand-ins, temp folders), no warning or bare traceback escapes; a failed bring-up fails every test with its
reason; a slow bring-up is not cut by the per-test timeout; an interrupted run cleans up and records no
check as passed; and no run writes where conformance results go."""

from __future__ import annotations

import re
from pathlib import Path

from l7suite import REPO_ROOT
from suites.rehearsal.rehearsal_runs import (
    PER_TEST_TIMEOUT,
    SLOW_KIND_CREATE,
    TRACEBACK,
    Rehearsal,
    failures_table,
    snapshot,
)
from suites.rehearsal.runner import Run, results_of, session_processes


def _ended_clean(run: Run) -> None:
    calls = run.calls()
    removals = calls.of("kind", "delete", "cluster")
    assert removals, f"no `kind delete cluster` at the end:\n{run.output[-3000:]}"
    assert calls.calls[-1] is removals[-1], f"calls after the cluster's removal: {calls.calls[-1]}"
    state = (run.folder / "standins" / "state.json").read_text()
    assert '"clusters": {}' in state and '"containers": {}' in state, "a cluster or container is left"
    assert session_processes(run.session) == [], "processes of the run still running"
    alive = [pid for pid in calls.pids() if Path(f"/proc/{pid}").exists()
             and "standin_client.py" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
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
    # A check the interrupt reached reads broken, whatever exception (or none) ended it in its worker
    # (fixtures/interrupted_tests.py); before, one was once recorded as passed in CI.
    passed = [r for r in results_of(run.results) if r["status"] == "passed"]
    assert passed == [], "a check cut by the interrupt is recorded as passed:\n" + failures_table(passed)
    _ended_clean(run)


def test_nothing_written_where_results_go(rehearsal: Rehearsal) -> None:
    """Once every run has ended, reports/e2e/ is as it was (a rehearsal is never a result)."""
    for name in rehearsal.threads:
        rehearsal.get(name)
    assert snapshot(REPO_ROOT / "reports" / "e2e") == rehearsal.reports_before, "the rehearsal wrote into reports/e2e/"
