"""circuit-breaker on kind (the scenario: l7suite/scenarios/circuit_breaker.py): fortio at concurrency 1, 2
and 4 from the fortio pod; one client is always served, four overflow with 503s, which cilium-envoy counts as
upstream_rq_{active,pending}_overflow. Which cilium-envoy: the one on the fortio pod's node, because
Cilium redirects a Service's L7 load balancing to the proxy where the connection starts
(l7suite/cluster/cilium_envoy_admin.py says where that was read).
"""

from __future__ import annotations

import pytest

from l7suite.cluster.cilium_envoy_admin import admin_near, dump_names_regex, dumped_names, overflow_counters
from l7suite.cluster.nodes import pod_of_deployment
from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.scenarios import circuit_breaker
from l7suite.scenarios.circuit_breaker import CLUSTER, LEVELS, LISTENER
from l7suite.traffic.pod_probes.fortio import FortioResult, fortio_load

SCENARIO = circuit_breaker.SCENARIO
NS = circuit_breaker.NAMESPACE
pytestmark = pytest.mark.e2e

URL = "http://echo-service:8080"


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
    """At least one 503 among LEVELS[4] = 200 requests of 4 clients. False-failure rate: if each request at
    concurrency 4 overflowed independently with probability q, none would with probability (1 - q)^200. The
    lab saw 11 of 20 at this level (q = 0.55: 1e-69); even q = 0.166, the one-sided 99.99% lower confidence
    bound of 11/20, gives 1.8e-16."""
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
    ], cluster_scenario.kube.timeouts.flows)


def test_overflow_counters_and_listener_on_the_client_node(daemonset_admin, levels, cluster_scenario, fortio_pod,
                                                          evidence):
    listener = LISTENER  # a CCEC's listener, qualified with an empty namespace
    with admin_near(cluster_scenario.kube, NS, fortio_pod) as admin:
        listeners = admin.listeners()
        counters = overflow_counters(admin.stats(r"upstream_rq_(active|pending)_overflow$"), CLUSTER)
        dump = admin.config_dump(dump_names_regex([listener, CLUSTER]))
    evidence.json("cilium-envoy overflow counters", counters)
    evidence.json("cilium-envoy /config_dump (envoy-circuit-breaker)", dump)
    assert listener in listeners, f"{listener} not among {sorted(listeners)}"
    assert {listener, CLUSTER} <= dumped_names(dump)
    assert sum(counters.values()) > 0, f"no overflow counted for {CLUSTER}: {counters}"
