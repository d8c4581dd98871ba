"""DaemonSet resilience (issue 11, defect k): its own namespace, no DNS lookup per request (`curl --resolve`
to the ClusterIP), the suite's leftover CiliumEnvoyConfigs removed before the restart, and every failed
request kept with its time as evidence."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

import suites.e2e.test_daemonset_resilience as resilience
from l7suite.cluster import tools
from l7suite.cluster.timeouts import Timeouts
from l7suite.manifests import available_scenarios, load_manifest_set
from l7suite.traffic.pod_probes import ExecResult
from l7suite.traffic.pod_probes.curl import STATUS_MARKER, CurlRequest
from l7suite.traffic.pod_probes.steady_in_pod import (
    envoy_configs_outside,
    parse_loop,
    resolve_option,
    steady_loop_script,
)

DATA = Path(__file__).parent / "data"
CLUSTER_IP = "10.96.12.34"
URL = "http://deathstar.resilience.svc.cluster.local/v1/request-landing"


def test_the_scenario_has_a_namespace_no_other_scenario_uses_and_its_policy_as_a_base_file():
    own = load_manifest_set("resilience")
    assert [o.name for o in own.of_kind("Namespace")] == ["resilience"]
    scenarios = set(available_scenarios()) - {"resilience", "cilium"}  # manifests/cilium: Helm values
    others = {o.name for name in scenarios
              for o in load_manifest_set(name, variables={"PROXY_ADDRESS": "192.0.2.1"}).of_kind("Namespace")}
    assert "resilience" not in others
    policy = own.get("CiliumNetworkPolicy", "resilience", "rule1")
    assert policy is not None and policy.source.parent == own.directory  # applied (and waited for) at setup
    assert policy.spec["ingress"][0]["toPorts"][0]["rules"] == {
        "http": [{"method": "POST", "path": "/v1/request-landing"}]}
    assert {o.namespace for o in own.objects if o.kind != "Namespace"} == {"resilience"}


@pytest.mark.parametrize("url, resolved", [
    (URL, f"deathstar.resilience.svc.cluster.local:80:{CLUSTER_IP}"),
    ("http://deathstar.resilience:8080/x", f"deathstar.resilience:8080:{CLUSTER_IP}"),
    ("https://api.example.org/x", f"api.example.org:443:{CLUSTER_IP}"),
])
def test_resolve_option(url, resolved):
    assert resolve_option(url, CLUSTER_IP) == resolved


def test_every_request_of_the_loop_skips_dns(tmp_path):
    # a stand-in curl that records its arguments and answers like curl's `-w '%{http_code} %{time_total}'`
    fake = tmp_path / "curl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/args\nprintf "200 0.004512"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    script = steady_loop_script(CurlRequest(URL, "POST", 15), max_seconds=1, interval=0.2,
                                stop_file=str(tmp_path / "never"), resolve=resolve_option(URL, CLUSTER_IP))
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env=env, check=False)
    loop = parse_loop(done.stdout)
    calls = (tmp_path / "args").read_text().splitlines()
    assert loop.ended and len(calls) == len(loop.ticks) >= 1
    assert all(f"--resolve deathstar.resilience.svc.cluster.local:80:{CLUSTER_IP}" in c for c in calls)
    assert {(t.exit_code, t.status, t.seconds) for t in loop.ticks} == {(0, 200, 0.004512)}


LOOP = "\n".join([
    "--l7suite-tick 1 1700000000 0 200 0.004",
    "--l7suite-tick 2 1700000012 56 000 3.201",
    "--l7suite-tick 3 1700000016 0 503 0.010",
    "--l7suite-tick 4 1700000030 0 200 0.005",
    "--l7suite-tick 5 1700000060 0 200 0.004",
    "--l7suite-end 5", ""])


def test_failed_requests_are_kept_with_their_times():
    loop = parse_loop(LOOP)
    assert loop.failed_records(restart_started=1700000010.0) == [
        {"seq": 2, "unix_time": 1700000012, "utc": "2023-11-14T22:13:32+00:00", "curl_exit": 56,
         "curl_says": "failure receiving data (connection reset)", "http_status": None, "seconds": 3.201,
         "since_restart_s": 2.0},
        {"seq": 3, "unix_time": 1700000016, "utc": "2023-11-14T22:13:36+00:00", "curl_exit": 0, "curl_says": "ok",
         "http_status": 503, "seconds": 0.01, "since_restart_s": 6.0}]
    assert loop.summary()["slowest_s"] == 3.201
    assert [json.loads(line)["seq"] for line in loop.log().splitlines()] == [1, 2, 3, 4, 5]


def managed(manager: str) -> list[dict]:
    # metadata.managedFields as the API server returns them (`kubectl get -o json --show-managed-fields`)
    return [{"manager": manager, "operation": "Apply", "apiVersion": "cilium.io/v2", "fieldsType": "FieldsV1",
             "time": "2026-11-24T10:00:00Z", "fieldsV1": {"f:spec": {}}}]


CEC_LISTING = {"apiVersion": "v1", "kind": "List", "items": [
    {"metadata": {"name": "deathstar-lb", "namespace": "exam", "managedFields": managed("l7suite")}},
    {"metadata": {"name": "cilium-envoy-lb-currencyservice", "namespace": "grpc",
                  "managedFields": managed("cilium-operator-generic")}},
    {"metadata": {"name": "mine", "namespace": "resilience", "managedFields": managed("l7suite")}},
]}


def test_other_envoy_configs_are_told_apart_by_who_applied_them():
    found = envoy_configs_outside(CEC_LISTING, "ciliumenvoyconfigs", "resilience")
    assert [str(c) for c in found] == [
        "ciliumenvoyconfig exam/deathstar-lb (left by the suite)",
        "ciliumenvoyconfig grpc/cilium-envoy-lb-currencyservice"]


class FakeKube:
    """The cluster seam of the restart step: a loop output, an agent DaemonSet that rolls out at once."""

    def __init__(self, loop_stdout: str):
        self.loop_stdout = loop_stdout
        self.timeouts = Timeouts()  # the defaults; the waits themselves are patched out
        self.kubectl_calls: list[list[str]] = []
        self.scripts: list[str] = []

    def kubectl(self, *args, timeout=None):
        self.kubectl_calls.append(list(args))
        if args[:2] == ("get", "ciliumenvoyconfigs"):
            return tools.Completed(args, 0, json.dumps(CEC_LISTING), "")
        if args[:2] == ("get", "ciliumclusterwideenvoyconfigs"):
            items = [{"metadata": {"name": "envoy-circuit-breaker", "managedFields": managed("l7suite")}}]
            return tools.Completed(args, 0, json.dumps({"items": items}), "")
        return tools.Completed(args, 0, "", "")

    def get(self, kind, namespace, name):
        if kind == "Service":
            return {"spec": {"clusterIP": CLUSTER_IP}}
        return json.loads((DATA / "k8s_daemonset_kube_proxy_ready.json").read_text())

    def exec(self, namespace, pod, argv, timeout):
        if argv[:2] == ["sh", "-c"]:
            self.scripts.append(argv[2])
            return ExecResult(0, self.loop_stdout, "")
        if argv[0] == "curl":
            return ExecResult(0, "Ship landed\n" + STATUS_MARKER + "200\n", "")
        return ExecResult(0, "", "")


class Evidence:
    def __init__(self):
        self.items: dict[str, object] = {}

    def json(self, name, data):
        self.items[name] = data

    def text(self, name, body):
        self.items[name] = body


def run_restart(monkeypatch, mode: str, keep_namespaces: bool = False):
    clock = iter([1700000010.0, 1700000040.0])
    monkeypatch.setattr(resilience.time, "sleep", lambda s: None)
    monkeypatch.setattr(resilience.time, "time", lambda: next(clock))
    monkeypatch.setattr(resilience, "wait_for_flows", lambda *a, **k: None)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    kube = FakeKube(LOOP)
    cluster_scenario = SimpleNamespace(kube=kube, progress=lambda line: None)
    plan = SimpleNamespace(options=SimpleNamespace(envoy_mode=mode, keep_namespaces=keep_namespaces))
    evidence = Evidence()
    flows = SimpleNamespace(restart=lambda: None, fetch=lambda: [])
    try:
        resilience.test_agent_restart_keeps_l7_traffic(cluster_scenario, plan, flows, evidence)
        outcome = "passed"
    except AssertionError as exc:
        outcome = str(exc)
    return kube, evidence, outcome


def test_a_failed_restart_shows_exactly_what_failed_and_when(monkeypatch):
    kube, evidence, outcome = run_restart(monkeypatch, "daemonset")
    assert outcome.startswith("2 of 5 requests failed across the agent restart (started 1700000010, "
                              "agents ready 1700000040):\n")
    assert '{"seq": 2, "unix_time": 1700000012, "utc": "2023-11-14T22:13:32+00:00", "curl_exit": 56' in outcome
    failed = evidence.items["failed requests (when, and what curl saw)"]
    assert [(f["seq"], f["since_restart_s"]) for f in failed] == [(2, 2.0), (3, 6.0)]
    assert evidence.items["requests during the agent restart"]["restart"] == {
        "restart started": 1700000010, "agents ready": 1700000040}
    assert "--resolve deathstar.resilience.svc.cluster.local:80:10.96.12.34" in kube.scripts[0]
    # the suite's leftovers elsewhere are removed before the restart; the operator's config stays
    deleted = [c for c in kube.kubectl_calls if c[0] == "delete"]
    assert [c[1:3] for c in deleted] == [["ciliumenvoyconfigs", "deathstar-lb"],
                                        ["ciliumclusterwideenvoyconfigs", "envoy-circuit-breaker"]]
    restart = kube.kubectl_calls.index(["-n", "kube-system", "rollout", "restart", "daemonset/cilium"])
    assert all(kube.kubectl_calls.index(c) < restart for c in deleted)
    assert evidence.items["other CiliumEnvoyConfigs at the restart"]["present during the restart"] == [
        "ciliumenvoyconfig grpc/cilium-envoy-lb-currencyservice"]


def test_embedded_mode_counts_failures_without_failing(monkeypatch):
    _, evidence, outcome = run_restart(monkeypatch, "embedded", keep_namespaces=True)
    assert outcome == "passed"
    assert len(evidence.items["failed requests (when, and what curl saw)"]) == 2
    assert evidence.items["other CiliumEnvoyConfigs at the restart"]["deleted (left by the suite)"] == []
