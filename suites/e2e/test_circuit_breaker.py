"""The lab's circuit breaker on kind: CCEC envoy-circuit-breaker (max 2 requests, 1 pending) in front of
echo-service; fortio at concurrency 1, 2 and 4 from the fortio pod.

One client is always served; four clients overflow and get 503s, which cilium-envoy counts as
upstream_rq_{active,pending}_overflow. Which cilium-envoy: the one on the fortio pod's node, because
Cilium redirects a Service's L7 load balancing to the proxy where the connection starts
(l7suite/cluster/cilium_envoy_admin.py says where that was read).
"""

from __future__ import annotations

import pytest

from l7suite.cluster.cilium_envoy_admin import (
    admin_near,
    dump_names_regex,
    dumped_names,
    overflow_counters,
    qualified_listener,
)
from l7suite.cluster.nodes import pod_of_deployment
from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.traffic.pod_probes.fortio import FortioResult, fortio_load

SCENARIO = "circuit-breaker"
NS = "circuit-break"
pytestmark = pytest.mark.e2e
PLAN_NOTES = (
    "fortio -c 1/-n 50, -c 2/-n 100, -c 4/-n 200 to echo-service:8080 (JSON parsed): 100% 200 at 1, 503s at 4; "
    "200/503 split per level kept as evidence; to-proxy flows",
    "cilium-envoy admin on fortio's node: /envoy-circuit-breaker/envoy-lb-listener listed, overflow counters > 0",
)

CLUSTER = "circuit-break/echo-service"
URL = "http://echo-service:8080"
LEVELS = {1: 50, 2: 100, 4: 200}  # concurrency -> requests (the lab runs 20 each; more makes 503s at 4 certain)
FLOW_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def fortio_pod(cluster_scenario) -> str:
    return pod_of_deployment(cluster_scenario.kube, NS, "fortio-deploy")


@pytest.fixture(scope="module")
def levels(cluster_scenario, fortio_pod) -> dict[int, FortioResult]:
    return {c: fortio_load(cluster_scenario.kube.exec, NS, fortio_pod, URL, c, n) for c, n in LEVELS.items()}


def test_one_client_is_always_served(levels, evidence):
    evidence.status_split("200/503 per concurrency level (e2e)",
                          {c: {str(code): n for code, n in r.ret_codes.items()} for c, r in levels.items()})
    assert levels[1].ret_codes == {200: LEVELS[1]}, levels[1].ret_codes


def test_four_clients_overflow_with_503(levels):
    four = levels[4]
    assert four.total == LEVELS[4], four.ret_codes
    assert set(four.ret_codes) <= {200, 503}, four.ret_codes
    assert four.ret_codes.get(503, 0) > 0, f"no 503 at concurrency 4: {four.ret_codes}"


def test_traffic_goes_through_the_proxy(cluster_scenario, hubble_flows, fortio_pod):
    hubble_flows.restart()
    fortio_load(cluster_scenario.kube.exec, NS, fortio_pod, URL, 1, 5)
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("fortio redirected to Envoy", source_pod=f"{NS}/fortio-deploy-", verdict="FORWARDED",
                        observation_point="TO_PROXY"),
    ], FLOW_TIMEOUT)


def test_overflow_counters_and_listener_on_the_client_node(levels, cluster_scenario, fortio_pod, e2e_plan, evidence):
    if e2e_plan.options.envoy_mode != "daemonset":
        pytest.skip("Envoy admin is reached through the cilium-envoy DaemonSet's pods (--envoy-mode daemonset)")
    listener = qualified_listener("", "envoy-circuit-breaker", "envoy-lb-listener")
    with admin_near(cluster_scenario.kube, NS, fortio_pod) as admin:
        listeners = admin.listeners()
        counters = overflow_counters(admin.stats(r"upstream_rq_(active|pending)_overflow$"), CLUSTER)
        dump = admin.config_dump(dump_names_regex([listener, CLUSTER]))
    evidence.json("cilium-envoy overflow counters", counters)
    evidence.json("cilium-envoy /config_dump (envoy-circuit-breaker)", dump)
    assert listener in listeners, f"{listener} not among {sorted(listeners)}"
    assert {listener, CLUSTER} <= dumped_names(dump)
    assert sum(counters.values()) > 0, f"no overflow counted for {CLUSTER}: {counters}"
