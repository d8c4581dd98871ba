"""weighted-lb on kind (the scenario: l7suite/scenarios/weighted_lb.py), the lab's exam: CEC deathstar-lb
splits tiefighter's requests 80/20 between deathstar and darkstar; the empire-to-deathstar CNP sends them
through its lb-listener; xwing is dropped. 1,000 requests in one exec are checked with the envoy tier's exact
binomial test (l7suite/traffic/share_statistics.py).

Shape of the scenario: the CEC names deathstar and darkstar under `spec.backendServices`, not
`spec.services`, and traffic enters Envoy through the policy's listener redirect. From upstream source
(cilium/cilium):
- pkg/k8s/apis/cilium.io/v2/cec_types.go: `services` are Services "for which traffic is forwarded to an
  Envoy listener for L7 load balancing"; `backendServices` have their backends "synced to Envoy using
  EDS. Traffic for these services is not forwarded to an Envoy listener".
- bpf/bpf_lxc.c (handle_ipv4_from_lxc): when the Service lookup returned an L7 load-balancer proxy port,
  the packet is "forwarded to L7 LB first before applying network policy"; the listener then enforces
  policy itself (pkg/ciliumenvoyconfig/cec_resource_parser.go sets cilium.bpf_metadata `is_l7lb`, and
  `EnforcePolicyOnL7Lb` when the node has ingress IPs, for CECs with `services`:
  cec_manager.go passes `len(spec.Services) > 0`). With `services`, xwing would reach Envoy and meet its
  enforcement (a 403 or a reset), never the kernel drop the lab's exam shows.
- pkg/ciliumenvoyconfig/cec_manager.go: addK8sServiceRedirects registers the Service redirect for
  `services` only; `backendServices` are registered for EDS sync (syncCiliumEnvoyConfigService), and
  envoy_l7lb_backend_syncer.go publishes them as `ns/svc` (and `ns/svc:*`) when no port is given, the
  names of the route's weighted clusters. testdata/backendservices.txtar: no ProxyRedirect for them.
- The lab's exam (seed 004): the policy "redirects to the deathstar-lb CiliumEnvoyConfig, using the
  lb-listener listener", and xwing's requests "get dropped". With this shape tiefighter's connection is
  load-balanced by the kernel, allowed by egress policy and redirected to lb-listener, whose route picks
  deathstar or darkstar 80/20; xwing (org=alliance, no egress allow; the `dns` CNP selects every pod, so
  egress is default-deny) is dropped in bpf_lxc: curl exit 28, an EGRESS DROPPED POLICY_DENIED flow.
The envoy tier sends its requests to the same listener (suites/envoy/test_weighted_lb.py).

The policies are base files: the scenario's setup waits until every agent has them in force
(l7suite/cluster/policy_revision.py); each traffic check first converges (3 answers in a row).
"""

from __future__ import annotations

import pytest

from l7suite.cluster.cilium_envoy_admin import dumped_names, listeners_and_dump, qualified_listener
from l7suite.cluster.converge import converge
from l7suite.cluster.nodes import pod_of_deployment, ready_pods
from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.scenarios import weighted_lb
from l7suite.scenarios.weighted_lb import REQUESTS
from l7suite.traffic.pod_probes.answers import answered, brief, dropped
from l7suite.traffic.pod_probes.curl import CURL_TIMED_OUT, CurlRequest, curl
from l7suite.traffic.pod_probes.hostnames import groups, hostname_batch
from l7suite.traffic.share_statistics import check_share

SCENARIO = weighted_lb.SCENARIO
NS = weighted_lb.NAMESPACE
pytestmark = pytest.mark.e2e

EXPECTED = weighted_lb.EXPECTED_SHARES
URL = f"http://{weighted_lb.HOST}/v1/"


@pytest.fixture(scope="module")
def tiefighter(cluster_scenario) -> str:
    return pod_of_deployment(cluster_scenario.kube, NS, "tiefighter")


def settle(cluster_scenario, pod: str, check, what: str):
    """Converge on one client's answer before the step asserts (every attempt logged)."""
    return converge(what, lambda: curl(cluster_scenario.kube.exec, NS, pod, CurlRequest(URL, max_time=2)), check,
                    cluster_scenario.kube.timeouts.converge, describe=brief, log=cluster_scenario.progress)


@pytest.fixture(scope="module")
def answers(cluster_scenario, tiefighter):
    settle(cluster_scenario, tiefighter, answered(200), "tiefighter through lb-listener")
    return hostname_batch(cluster_scenario.kube.exec, NS, tiefighter, CurlRequest(URL, max_time=2), REQUESTS)


def test_every_request_is_answered(answers, evidence):
    evidence.json("1,000 requests from tiefighter", {"statuses": {str(k): v for k, v in answers.statuses.items()},
                                                      "exit codes": dict(answers.exit_codes)})
    assert dict(answers.statuses) == {200: REQUESTS}, dict(answers.exit_codes)


def test_split_is_80_20(answers, evidence):
    """Exact two-sided binomial test at alpha 1e-4 (l7suite/traffic/share_statistics.py): a right split fails
    it with probability at most 1e-4 per run; at n = 1,000 it rejects a 70/30 split with probability >= 0.999
    (suites/unit/test_stats.py)."""
    counts = groups(answers)
    total = sum(counts.values())
    checks = {g: check_share(g, counts.get(g, 0), total, p) for g, p in EXPECTED.items()}
    evidence.weighted_split("weighted split (e2e)", counts, EXPECTED, {g: c.interval for g, c in checks.items()})
    assert set(counts) == set(EXPECTED), f"answers came from {counts}, expected only {sorted(EXPECTED)}"
    deathstar = checks["deathstar"]
    assert total == REQUESTS, counts
    assert deathstar.consistent, deathstar.describe()


def test_every_replica_answers(answers, cluster_scenario):
    """3 pods per Service, ROUND_ROBIN inside each weighted cluster. False-failure rate: a request goes to
    darkstar with probability 0.2 and then, at worst as if picked at random, misses a given darkstar pod with
    probability 2/3 (round robin from a random start per Envoy worker misses less); so some pod of the six
    gets none of the 1,000 with probability at most 3 (1 - 0.2/3)^1000 + 3 (1 - 0.8/3)^1000 = 3e-30."""
    pods = {p["metadata"]["name"] for d in ("deathstar", "darkstar")
            for p in ready_pods(cluster_scenario.kube, NS, f"class={d}")}
    served = {r.body for r in answers.records if r.status == 200}
    assert len(pods) == 6 and pods <= served, f"pods that never answered: {sorted(pods - served)}"


def test_tiefighter_goes_through_the_proxy(cluster_scenario, hubble_flows, tiefighter):
    hubble_flows.restart()
    answer = curl(cluster_scenario.kube.exec, NS, tiefighter, CurlRequest(URL, max_time=2))
    assert (answer.exit_code, answer.status) == (0, 200)
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("tiefighter redirected to Envoy", source_pod=f"{NS}/tiefighter-", verdict="FORWARDED",
                        observation_point="TO_PROXY", traffic_direction="EGRESS"),
    ], cluster_scenario.kube.timeouts.flows)


def test_xwing_is_dropped(cluster_scenario, hubble_flows, evidence):
    xwing = pod_of_deployment(cluster_scenario.kube, NS, "xwing")
    evidence.text("converged: xwing dropped", settle(cluster_scenario, xwing, dropped, "xwing dropped").lines())
    hubble_flows.restart()
    answer = curl(cluster_scenario.kube.exec, NS, xwing, CurlRequest(URL, max_time=2))
    assert (answer.exit_code, answer.status) == (CURL_TIMED_OUT, None)
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("xwing denied", source_pod=f"{NS}/xwing-", destination_pod=f"{NS}/deathstar-",
                        verdict="DROPPED", drop_reason="POLICY_DENIED", traffic_direction="EGRESS"),
    ], cluster_scenario.kube.timeouts.flows)


def test_envoy_admin_lists_the_listener(daemonset_admin, cluster_scenario, tiefighter, evidence):
    listener = qualified_listener(NS, "deathstar-lb", "lb-listener")
    listeners, dump = listeners_and_dump(cluster_scenario.kube, NS, tiefighter,
                                         [listener, "exam/deathstar", "exam/darkstar"])
    evidence.json("cilium-envoy /config_dump (deathstar-lb)", dump)
    evidence.json("cilium-envoy /listeners", listeners)
    assert listener in listeners, f"{listener} not among {sorted(listeners)}"
    assert {listener, "exam/deathstar", "exam/darkstar"} <= dumped_names(dump)
