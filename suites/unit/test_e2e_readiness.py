"""Readiness predicates on recorded API objects (and variants of them that a rollout passes through)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from l7suite.cluster import tools
from l7suite.cluster.kube import is_transient
from l7suite.cluster.readiness import (
    Component,
    NotReady,
    Readiness,
    cilium_components,
    readiness,
    wait_ready,
)

DATA = Path(__file__).parent / "data"
DS = Component("DaemonSet", "kube-system", "kube-proxy")
DEPLOY = Component("Deployment", "kube-system", "metrics-server")


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_rolled_out_daemonset_is_ready():
    assert readiness(DS, recorded("k8s_daemonset_kube_proxy_ready.json")) == Readiness(
        DS, True, "desired 1, updated 1, ready 1, available 1")


@pytest.mark.parametrize("change, detail", [
    pytest.param({"metadata": {"generation": 2}}, "controller has not seen generation 2 yet (observed 1)",
                 id="new-spec"),
    pytest.param({"status": {"desiredNumberScheduled": 3}}, "desired 3, updated 1, ready 1, available 1",
                 id="new-nodes"),
    pytest.param({"status": {"updatedNumberScheduled": 0}}, "desired 1, updated 0, ready 1, available 1",
                 id="old-pods"),
    pytest.param({"status": {"numberReady": 0, "numberAvailable": 0}}, "desired 1, updated 1, ready 0, available 0",
                 id="not-ready"),
    pytest.param({"status": {"desiredNumberScheduled": 0, "updatedNumberScheduled": 0, "numberReady": 0,
                             "numberAvailable": 0}}, "no node scheduled (desired 0)", id="no-nodes"),
])
def test_daemonset_mid_rollout_is_not_ready(change, detail):
    obj = copy.deepcopy(recorded("k8s_daemonset_kube_proxy_ready.json"))
    for part, values in change.items():
        obj[part].update(values)
    assert readiness(DS, obj) == Readiness(DS, False, detail)


def test_rolled_out_deployment_is_ready():
    assert readiness(DEPLOY, recorded("k8s_deployment_metrics_server_ready.json")).ready


def test_deployment_the_controller_has_not_seen_is_not_ready():
    mongo = Component("Deployment", "soajs", "mongo")
    assert readiness(mongo, recorded("k8s_deployment_mongo_unobserved.json")) == Readiness(
        mongo, False, "controller has not seen generation 1 yet (observed 0)")


def test_scaled_deployment_waits_for_new_replicas():
    obj = recorded("k8s_deployment_metrics_server_ready.json")
    obj["spec"]["replicas"] = 2
    assert readiness(DEPLOY, obj) == Readiness(DEPLOY, False, "replicas 2, updated 1, ready 1, available 1")


def test_missing_object_is_not_ready():
    assert readiness(DEPLOY, None) == Readiness(DEPLOY, False, "not found")


def test_components_depend_on_envoy_mode():
    assert [c.name for c in cilium_components("daemonset")] == [
        "cilium", "cilium-envoy", "cilium-operator", "hubble-relay", "coredns"]
    assert "cilium-envoy" not in [c.name for c in cilium_components("embedded")]


def test_wait_reports_progress_and_returns_once_ready():
    states = iter([None, recorded("k8s_deployment_mongo_unobserved.json"),
                   recorded("k8s_deployment_metrics_server_ready.json")])
    lines: list[str] = []
    result = wait_ready(lambda c: next(states), [DEPLOY], timeout=5, interval=0.01, progress=lines.append)
    assert result[0].ready and len(lines) == 3 and lines[0].endswith("metrics-server: not found")


def test_wait_is_bounded_and_names_what_is_pending():
    with pytest.raises(NotReady, match=r"deployment/metrics-server \(kube-system\): not found"):
        wait_ready(lambda c: None, [DEPLOY], timeout=0.2, interval=0.05)


# --- transient API errors: retried within the deadline; real ones end the wait at once ----------------

ERRORS = json.loads((DATA / "kubectl_errors.json").read_text())


def kubectl_failure(stderr: str) -> tools.CommandFailed:
    return tools.CommandFailed(tools.Completed(("kubectl", "get", "deployment"), 1, "", stderr + "\n"))


@pytest.mark.parametrize("recorded", ERRORS, ids=[e["source"] for e in ERRORS])
def test_kubectl_errors_are_told_transient_or_real(recorded):
    assert is_transient(kubectl_failure(recorded["stderr"])) is recorded["transient"]


def test_kubectl_that_hung_is_transient_and_other_exceptions_are_not():
    hung = tools.Completed(("kubectl",), 124, "", "kubectl ...: no answer within 30s")  # tools.run's timeout
    assert is_transient(tools.CommandFailed(hung))
    assert not is_transient(ValueError("Expecting value: line 1 column 1 (char 0)"))


def test_wait_retries_while_the_api_server_restarts():
    transient = [e["stderr"] for e in ERRORS if e["transient"]]
    answers: list = [kubectl_failure(line) for line in transient]
    answers.append(recorded("k8s_deployment_metrics_server_ready.json"))
    lines: list[str] = []

    def get(component):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = wait_ready(get, [DEPLOY], timeout=5, interval=0.01, progress=lines.append)
    assert result == [Readiness(DEPLOY, True, "replicas 1, updated 1, ready 1, available 1")]
    assert answers == [] and "metrics-server: API error, retrying: " in lines[0]


def test_a_real_api_error_ends_the_wait_at_once():
    forbidden = next(e["stderr"] for e in ERRORS if "Forbidden" in e["stderr"])
    calls: list[Component] = []

    def get(component):
        calls.append(component)
        raise kubectl_failure(forbidden)

    with pytest.raises(tools.CommandFailed, match="cannot list resource"):
        wait_ready(get, [DEPLOY], timeout=5, interval=0.01)
    assert calls == [DEPLOY]


def test_an_api_that_never_answers_names_what_is_pending_and_the_last_error():
    refused = ERRORS[0]["stderr"]
    states = {DS: recorded("k8s_daemonset_kube_proxy_ready.json")}

    def get(component):
        if component in states:
            return states[component]
        raise kubectl_failure(refused)

    with pytest.raises(NotReady) as failed:
        wait_ready(get, [DS, DEPLOY], timeout=0.3, interval=0.05)
    lines = str(failed.value).splitlines()
    assert lines[0] == "not ready after 0.3s:"
    assert lines[1] == "  deployment/metrics-server (kube-system): never read"
    assert lines[2].startswith("  last API error (retried until the deadline): `kubectl get deployment` exited 1: "
                               "The connection to the server 127.0.0.1:6443 was refused")
