"""Parallel runs: one cluster per run for all xdist workers (brought up once, failures shared), the
scenario plan of every e2e module, pod lookups, and the admin-output helpers."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR, REPO_ROOT
from l7suite.cluster import tools
from l7suite.cluster.cilium_envoy_admin import dump_names_regex, dumped_names, overflow_counters, qualified_listener
from l7suite.cluster.kube import Kube
from l7suite.cluster.nodes import PodNotFound, pod_of_deployment
from l7suite.cluster.plan import RunOptions, build_plan, render_plan
from l7suite.cluster.shared_cluster import SharedClusterFailed, attempted, read_state, shared_kubeconfig
from l7suite.manifests import load_manifest_set
from l7suite.scenarios import all_scenarios, proxy_redirect


def _worker(state_dir: str, counter: str, out: multiprocessing.Queue) -> None:
    def bring_up() -> Path:
        with open(counter, "a") as f:
            f.write("up\n")
        time.sleep(0.3)  # others must wait on the lock, not bring up a second cluster
        return Path("/tmp/kubeconfig-of-ci")

    out.put(shared_kubeconfig(Path(state_dir), "ci", bring_up))


def test_only_one_worker_brings_the_cluster_up(tmp_path):
    counter = tmp_path / "count"
    out: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_worker, args=(str(tmp_path / "state"), str(counter), out))
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    results = sorted(out.get(timeout=5) for _ in workers)
    assert counter.read_text() == "up\n"
    assert results == [(Path("/tmp/kubeconfig-of-ci"), False)] * 2 + [(Path("/tmp/kubeconfig-of-ci"), True)]
    assert read_state(tmp_path / "state", "ci")["created"] == "yes"


def test_a_failed_bring_up_fails_the_other_workers_at_once(tmp_path):
    def broken() -> Path:
        raise RuntimeError("helm exited 1")

    with pytest.raises(RuntimeError, match="helm exited 1"):
        shared_kubeconfig(tmp_path, "ci", broken)
    with pytest.raises(SharedClusterFailed, match="helm exited 1"):
        shared_kubeconfig(tmp_path, "ci", lambda: Path("never"))


def test_the_controller_deletes_a_cluster_whose_worker_died_mid_bring_up(tmp_path):
    # the attempt is recorded before bring-up starts: a worker killed with -9 records nothing after it
    during: dict[str, str] = {}

    def bring_up() -> Path:
        during.update(read_state(tmp_path, "ci"))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shared_kubeconfig(tmp_path, "ci", bring_up)
    assert attempted(during) and attempted(read_state(tmp_path, "ci"))
    assert not attempted(read_state(tmp_path, "never-started"))


def test_two_runs_with_two_clusters_share_no_state(tmp_path):
    assert shared_kubeconfig(tmp_path, "run-a", lambda: Path("a"))[1]
    assert shared_kubeconfig(tmp_path, "run-b", lambda: Path("b")) == (Path("b"), True)


def test_plan_lists_every_e2e_scenario_with_its_notes():
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/e2e", "--plan", "-p", "no:randomly"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    blocks: dict[str, list[str]] = {}  # scenario -> its lines (the name's line first)
    for line in done.stdout.split("\nscenarios:\n", 1)[1].splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            blocks[line.split(":", 1)[0].strip()] = []
        if blocks and line.startswith("  "):
            blocks[list(blocks)[-1]].append(line)
    e2e = [s for s in all_scenarios() if "e2e" in s.tiers]
    assert sorted(blocks) == sorted(s.name for s in e2e)
    assert {"starwars", "weighted-lb", "circuit-breaker", "grpc-lb", "proxy-redirect", "resilience"} <= set(blocks)
    for s in e2e:
        block = blocks[s.name]
        assert block[0].startswith(f"  {s.name}: namespaces ") and f"    manifests/{s.e2e_folder}/" in block
        notes = [f"    {note}" for note in (*s.plan_notes, *s.needs.lines("e2e"))]
        assert block[len(block) - len(notes):] == notes, block
    assert "    disruptive: runs alone (`-m disruptive`)" in blocks["resilience"]
    assert "    filled at run time: PROXY_ADDRESS" in blocks["proxy-redirect"]


def test_plan_keeps_placeholders_visible():
    declared = replace(proxy_redirect.SCENARIO, plan_notes=("note",))
    plan = build_plan(RunOptions(cilium_version="1.19.3"), MANIFESTS_DIR / "cilium", MANIFESTS_DIR, [declared])
    assert plan.scenarios[0].variables == ("PROXY_ADDRESS",)
    assert plan.scenarios[0].notes == ("note", *proxy_redirect.SCENARIO.needs.lines("e2e"))
    assert "    note" in render_plan(plan)


class Recorder:
    def __init__(self, answers: dict[str, object]):
        self.answers = answers

    def __call__(self, argv, timeout):
        for key, value in self.answers.items():
            if key in argv:
                return tools.Completed(tuple(argv), 0, json.dumps(value), "")
        return tools.Completed(tuple(argv), 0, "", "")


def _pod(name: str, ready: bool, deleting: bool = False) -> dict:
    meta: dict = {"name": name, **({"deletionTimestamp": "2026-11-22T00:00:00Z"} if deleting else {})}
    return {"metadata": meta, "spec": {"nodeName": "ci-worker"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_pod_of_deployment_takes_a_ready_pod_by_the_deployment_selector(tmp_path):
    # the exam's tiefighter Deployment as the suite applies it (the API server returns spec.selector as given)
    found = load_manifest_set("weighted-lb", MANIFESTS_DIR).get("Deployment", "exam", "tiefighter")
    assert found is not None
    deployment = found.data
    selector = deployment["spec"]["selector"]["matchLabels"]
    pods = {"items": [_pod("a-old", True, deleting=True), _pod("b-starting", False), _pod("c-ready", True)]}
    calls: list[list[str]] = []

    def run(argv, timeout):
        calls.append(list(argv))
        return Recorder({"Deployment": deployment, "pods": pods})(argv, timeout)

    kube = Kube(tmp_path / "kc", run)
    assert pod_of_deployment(kube, "exam", "tiefighter") == "c-ready"
    assert calls[-1][-2:] == ["-l", ",".join(f"{k}={v}" for k, v in sorted(selector.items()))]
    kube = Kube(tmp_path / "kc", Recorder({"Deployment": deployment, "pods": {"items": [_pod("x", False)]}}))
    with pytest.raises(PodNotFound, match="no ready pod"):
        pod_of_deployment(kube, "exam", "tiefighter")


def test_admin_helpers():
    listener = qualified_listener("", "envoy-circuit-breaker", "envoy-lb-listener")
    assert listener == "/envoy-circuit-breaker/envoy-lb-listener"
    stats = {"cluster.circuit-break/echo-service.upstream_rq_pending_overflow": 7,
             "cluster.circuit-break/echo-service.upstream_rq_active_overflow": 0,
             "cluster.circuit-break/echo-service.upstream_rq_total": 200,
             "cluster.other.upstream_rq_pending_overflow": 3}
    assert overflow_counters(stats, "circuit-break/echo-service") == {
        "upstream_rq_pending_overflow": 7, "upstream_rq_active_overflow": 0}
    name = "proxy/proxy-envoy/proxy-listener"
    dump = {"configs": [{"dynamic_listeners": [{"name": name, "active_state": {"listener": {"name": name}}}]},
                        {"dynamic_active_clusters": [{"cluster": {"name": "proxy/proxy-envoy/proxy-cluster"}}]}]}
    assert dumped_names(dump) == {"proxy/proxy-envoy/proxy-listener", "proxy/proxy-envoy/proxy-cluster"}
    assert dump_names_regex(["a/b", "c.d"]) == r".*a/b.*|.*c\.d.*"
