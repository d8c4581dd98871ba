"""Rehearsal, the full run: every e2e scenario module ran and none passed (no stand-in may make a check pass),
each failure says what failed in words of its own, each scenario's namespace was created and deleted,
port-forwards were stopped, placeholders filled, and every call had an answer."""

from __future__ import annotations

from suites.rehearsal.planned import Planned
from suites.rehearsal.rehearsal_runs import E2E_MODULES, OWN_MESSAGE, failures_table, generic
from suites.rehearsal.runner import Run, results_of


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
