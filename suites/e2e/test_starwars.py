"""starwars on kind (the scenario: l7suite/scenarios/starwars.py): L3/L4 then L7 policy on the deathstar.

Answers are checked where users see them (curl exit code, HTTP status, body) and Hubble must show the
matching verdicts. Steps share one scenario (the module), in order: L3/L4 policy, L7 policy, then
egress through Envoy to tie one request's flows together by X-Request-Id.

After each stage, before any check: apply_stage waits until every Cilium agent runs the new policy
revision (l7suite/cluster/policy_revision.py, as cilium-cli's connectivity test does), then the step
converges on its expected answers (3 in a row within the `converge` deadline, every attempt logged and
kept as evidence), and only then asserts on fresh requests. `PUT /v1/exhaust-port` is sent once, and
only after the L7 policy answered 403 to a harmless request: starwars v2.1's deathstar panics and
restarts on it when nothing stops it (the lab's "Panic: deathstar exploded").
"""

from __future__ import annotations

import pytest

from l7suite.cluster.converge import converge
from l7suite.hubble.expect import FlowExpectation, header, wait_for_flows, with_request_id
from l7suite.scenarios import starwars
from l7suite.traffic.pod_probes.answers import all_of, answered, briefs, dropped
from l7suite.traffic.pod_probes.curl import CURL_TIMED_OUT, CurlRequest, curl

SCENARIO = starwars.SCENARIO
NS = starwars.NAMESPACE
pytestmark = pytest.mark.e2e

LANDING = CurlRequest(f"http://deathstar.{NS}.svc.cluster.local/v1/request-landing", method="POST", max_time=2)
EXHAUST = CurlRequest(f"http://deathstar.{NS}.svc.cluster.local/v1/exhaust-port", method="PUT", max_time=2)
# Harmless, and denied by the L7 policy (only POST /v1/request-landing): proves the policy is in force
# before the one request that would make the deathstar panic without it.
INFO = CurlRequest(f"http://deathstar.{NS}.svc.cluster.local/v1/", max_time=2)
LANDED = answered(200, "Ship landed")
ACCESS_DENIED = answered(403, "Access denied")


def settle(cluster_scenario, evidence, what: str, requests: list[tuple[str, CurlRequest]], checks) -> None:
    """Converge on `checks` (one per request) before the step asserts; the attempts become evidence."""
    names = [f"{pod} {req.method} {req.url.split('.local', 1)[-1]}" for pod, req in requests]
    result = converge(what, lambda: [curl(cluster_scenario.kube.exec, NS, pod, req) for pod, req in requests],
                      all_of(*checks), cluster_scenario.kube.timeouts.converge, describe=briefs(names),
                      log=cluster_scenario.progress)
    evidence.text(f"converged: {what}", result.lines())


def test_l3l4_policy_drops_xwing_and_lands_tiefighter(cluster_scenario, hubble_flows, evidence):
    cluster_scenario.apply_stage("l4-policy")
    settle(cluster_scenario, evidence, "L3/L4 policy", [("xwing", LANDING), ("tiefighter", LANDING)], [dropped, LANDED])
    hubble_flows.restart()

    xwing = curl(cluster_scenario.kube.exec, NS, "xwing", LANDING)
    tiefighter = curl(cluster_scenario.kube.exec, NS, "tiefighter", LANDING)

    assert (xwing.exit_code, xwing.status) == (CURL_TIMED_OUT, None)
    assert (tiefighter.exit_code, tiefighter.status, tiefighter.body.strip()) == (0, 200, "Ship landed")
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("xwing denied", source_pod=f"{NS}/xwing", destination_pod=f"{NS}/deathstar-",
                        verdict="DROPPED", drop_reason="POLICY_DENIED", traffic_direction="INGRESS"),
        FlowExpectation("tiefighter allowed", source_pod=f"{NS}/tiefighter", destination_pod=f"{NS}/deathstar-",
                        verdict="FORWARDED", flow_type="L3_L4", traffic_direction="INGRESS",
                        observation_point="TO_ENDPOINT"),
    ], cluster_scenario.kube.timeouts.flows)


def test_l7_policy_denies_exhaust_port_and_allows_landing(cluster_scenario, hubble_flows, evidence):
    cluster_scenario.apply_stage("l7-policy")
    settle(cluster_scenario, evidence, "L7 policy", [("tiefighter", INFO), ("tiefighter", LANDING)],
           [ACCESS_DENIED, LANDED])
    hubble_flows.restart()

    denied = curl(cluster_scenario.kube.exec, NS, "tiefighter", EXHAUST)
    landed = curl(cluster_scenario.kube.exec, NS, "tiefighter", LANDING)

    assert (denied.exit_code, denied.status, denied.body.strip()) == (0, 403, "Access denied")
    assert (landed.exit_code, landed.status, landed.body.strip()) == (0, 200, "Ship landed")
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("exhaust-port denied by Envoy", source_pod=f"{NS}/tiefighter",
                        destination_pod=f"{NS}/deathstar-", flow_type="L7", l7_type="REQUEST", verdict="DROPPED",
                        traffic_direction="INGRESS", http_method="PUT", http_path="/v1/exhaust-port"),
        FlowExpectation("landing forwarded by Envoy", source_pod=f"{NS}/tiefighter",
                        destination_pod=f"{NS}/deathstar-", flow_type="L7", l7_type="REQUEST",
                        verdict="FORWARDED", traffic_direction="INGRESS", http_method="POST",
                        http_path="/v1/request-landing"),
        FlowExpectation("traffic went to the proxy", source_pod=f"{NS}/tiefighter",
                        destination_pod=f"{NS}/deathstar-", flow_type="L3_L4", observation_point="TO_PROXY",
                        verdict="FORWARDED"),
    ], cluster_scenario.kube.timeouts.flows)


def test_request_id_ties_egress_and_ingress_flows(cluster_scenario, hubble_flows, evidence):
    cluster_scenario.apply_stage("tiefighter-egress")
    settle(cluster_scenario, evidence, "tiefighter egress policy", [("tiefighter", LANDING)], [LANDED])
    hubble_flows.restart()

    landed = curl(cluster_scenario.kube.exec, NS, "tiefighter", LANDING)
    assert (landed.status, landed.body.strip()) == (200, "Ship landed")

    egress_request = FlowExpectation("egress request", source_pod=f"{NS}/tiefighter", flow_type="L7",
                                     l7_type="REQUEST", traffic_direction="EGRESS", http_method="POST",
                                     http_path="/v1/request-landing", verdict="FORWARDED")
    report = wait_for_flows(hubble_flows.fetch, [egress_request], cluster_scenario.kube.timeouts.flows)
    request_id = header(report.found["egress request"], "X-Request-Id")
    assert request_id, "Envoy adds X-Request-Id to the request it forwards"

    tied = FlowExpectation("ingress request, same X-Request-Id", source_pod=f"{NS}/tiefighter",
                           flow_type="L7", l7_type="REQUEST", traffic_direction="INGRESS",
                           http_path="/v1/request-landing")
    wait_for_flows(lambda: with_request_id(hubble_flows.fetch(), request_id), [tied],
                   cluster_scenario.kube.timeouts.flows)
