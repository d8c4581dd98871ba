"""grpc-lb on kind (the scenario: l7suite/scenarios/grpc_lb.py), the lab's currencyservice steps.

Before: plain answers, no `server: envoy`, no to-proxy flows. After `service.cilium.io/lb-l7=enabled`:
the operator's CEC `cilium-envoy-lb-currencyservice` appears and contains the envoy tier's reference
(manifests/grpc-lb/, compared field by field, every difference named), replies come from Envoy, to-proxy
flows appear and every replica serves. After `lb-l7-algorithm=least_request`: lbPolicy LEAST_REQUEST.
Steps run in order on one scenario (module scope).
"""

from __future__ import annotations

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from l7suite.cluster.cec_compare import compare_specs, render
from l7suite.cluster.cilium_envoy_admin import admin_near
from l7suite.cluster.nodes import ready_pods
from l7suite.hubble.expect import FlowExpectation, match, wait_for_flows
from l7suite.manifests import load_manifest_set
from l7suite.scenarios import grpc_lb
from l7suite.scenarios.grpc_lb import CLUSTER
from l7suite.traffic.pod_probes.grpcurl import grpc_calls, host_requests

SCENARIO = grpc_lb.SCENARIO
NS = grpc_lb.NAMESPACE
pytestmark = pytest.mark.e2e

CLIENT = "grpc-client"
TARGET = f"currencyservice.{NS}.svc.cluster.local:7000"
GENERATED = grpc_lb.GENERATED_CEC
CALLS = 30
# The Cluster of the reference says LEAST_REQUEST; after only lb-l7=enabled the operator leaves the
# default (ROUND_ROBIN, not printed): that one field is compared in the last step.
LB_POLICY = f"spec.resources[Cluster {CLUSTER}].lbPolicy"


@pytest.fixture(scope="module")
def reference(manifests_dir) -> dict:
    cec = load_manifest_set(SCENARIO.envoy_folder, manifests_dir).get("CiliumEnvoyConfig", NS, GENERATED)
    assert cec is not None, f"manifests/{SCENARIO.envoy_folder}/ has no CiliumEnvoyConfig {NS}/{GENERATED}"
    return cec.data


def generated_cec(kube, want_lb_policy: str | None = None) -> dict:
    """The operator's CEC, waited for (and for the given lbPolicy, when the annotation just changed)."""
    def fetch():
        return kube.get("CiliumEnvoyConfig", NS, GENERATED)

    def not_yet(obj) -> bool:
        if obj is None:
            return True
        clusters = [r for r in obj["spec"].get("resources", []) if r.get("name") == CLUSTER]
        return want_lb_policy is not None and (not clusters or clusters[0].get("lbPolicy") != want_lb_policy)

    deadline = kube.timeouts.cec_generated  # l7suite/cluster/timeouts.py
    obj = Retrying(stop=stop_after_delay(deadline), wait=wait_fixed(2), retry=retry_if_result(not_yet),
                   retry_error_callback=lambda state: state.outcome.result())(fetch)
    assert obj is not None, f"CEC {NS}/{GENERATED} did not appear within {deadline:g}s (deadline cec_generated)"
    return obj


def test_before_annotation_plain_grpc(cluster_scenario, hubble_flows, evidence):
    hubble_flows.restart()
    answers = grpc_calls(cluster_scenario.kube.exec, NS, CLIENT, TARGET, 3)
    evidence.text("grpcurl -v before lb-l7", answers[0].text)
    assert [a.exit_code for a in answers] == [0, 0, 0]
    assert all("USD" in a.contents[0]["currencyCodes"] for a in answers), answers[0].text
    assert not any(a.via_envoy for a in answers), "a reply carried `server: envoy` before the annotation"
    assert cluster_scenario.kube.get("CiliumEnvoyConfig", NS, GENERATED) is None
    proxied = FlowExpectation("to-proxy", source_pod=f"{NS}/{CLIENT}", observation_point="TO_PROXY")
    # the client's flows are there (the TO_ENDPOINT ones), and none of them went to the proxy
    wait_for_flows(hubble_flows.fetch, [FlowExpectation("direct", source_pod=f"{NS}/{CLIENT}",
                                                        observation_point="TO_ENDPOINT")],
                   cluster_scenario.kube.timeouts.flows)
    report = match([proxied], hubble_flows.fetch())
    assert not report.found, "to-proxy flow before the annotation:\n" + report.render()


def test_lb_l7_generates_the_reference_cec(cluster_scenario, reference, evidence):
    cluster_scenario.apply_stage("lb-l7")
    cec = generated_cec(cluster_scenario.kube)
    evidence.json("generated CEC (lb-l7=enabled)", cec.get("spec"))
    differences = compare_specs(reference, cec, ignore=[LB_POLICY])
    assert not differences, render(differences)


def test_lb_l7_replies_come_from_envoy(cluster_scenario, hubble_flows):
    hubble_flows.restart()
    # the agent applies the CEC: answers converge on coming from Envoy (deadline converge)
    answers = Retrying(stop=stop_after_delay(cluster_scenario.kube.timeouts.converge), wait=wait_fixed(2),
                       retry=retry_if_result(lambda a: not a[0].via_envoy),
                       retry_error_callback=lambda state: state.outcome.result())(
        lambda: grpc_calls(cluster_scenario.kube.exec, NS, CLIENT, TARGET, 1))
    assert answers[0].via_envoy, "no `server: envoy` after lb-l7=enabled:\n" + answers[0].text
    answers = grpc_calls(cluster_scenario.kube.exec, NS, CLIENT, TARGET, CALLS)
    assert [a.exit_code for a in answers] == [0] * CALLS
    assert all(a.via_envoy for a in answers)
    wait_for_flows(hubble_flows.fetch, [FlowExpectation("to-proxy", source_pod=f"{NS}/{CLIENT}",
                                                        observation_point="TO_PROXY", verdict="FORWARDED")],
                   cluster_scenario.kube.timeouts.flows)


def test_lb_l7_calls_reach_every_replica(daemonset_admin, cluster_scenario, evidence):
    """Envoy's per-host rq_total counts the calls of the previous step (CALLS = 30, and any before it via
    Envoy), made under the generated Cluster's ROUND_ROBIN by the cilium-envoy of the client's node. False-
    failure rate: round robin from a random start per Envoy worker passes a replica over with probability at
    most 2/3 per call, as if it picked at random; so some replica of 3 gets none of 30 calls with probability
    at most 3 (2/3)^30 = 1.6e-5."""
    with admin_near(cluster_scenario.kube, NS, CLIENT) as admin:
        listeners = admin.listeners()
        per_host = host_requests(admin.get_json("/clusters"), CLUSTER)
    pods = {f"{p['status']['podIP']}:7000": p["metadata"]["name"]
            for p in ready_pods(cluster_scenario.kube, NS, "app=currencyservice")}
    per_replica = {pods.get(host, host): n for host, n in per_host.items()}
    evidence.replica_distribution("calls per currencyservice replica", {"round_robin": per_replica})
    # The operator names the generated listener `<namespace>/<service>` (cilium/cilium
    # operator/pkg/ciliumenvoyconfig/envoy_config.go, getName), and the agent keeps a name whose first part is
    # the CEC's namespace as it is (pkg/policy/api/utils.go ResourceQualifiedName with ForceNamespace), as
    # seed 004 shows: grpc/currencyservice::127.0.0.1:14107
    assert CLUSTER in listeners, sorted(listeners)
    assert len(pods) == 3 and set(pods.values()) <= {k for k, v in per_replica.items() if v > 0}, per_replica


def test_least_request_annotation_sets_lb_policy(cluster_scenario, reference, evidence):
    cluster_scenario.apply_stage("least-request")
    cec = generated_cec(cluster_scenario.kube, want_lb_policy="LEAST_REQUEST")
    evidence.json("generated CEC (least_request)", cec.get("spec"))
    differences = compare_specs(reference, cec)
    assert not differences, render(differences)
    answers = grpc_calls(cluster_scenario.kube.exec, NS, CLIENT, TARGET, 3)
    assert [(a.exit_code, a.via_envoy) for a in answers] == [(0, True)] * 3
