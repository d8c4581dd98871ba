"""The lab's exam on kind: CEC deathstar-lb splits tiefighter's requests 80/20 between deathstar and
darkstar; the empire-to-deathstar CNP sends them through its lb-listener; xwing is dropped.

The lab counts 100 answers by eye; here 1,000 requests in one exec are checked with the envoy tier's
exact binomial test (l7suite/stats.py, alpha 1e-4: false-failure rate <= 1e-4 per run; at n = 1,000
it rejects a 70/30 split with probability >= 0.999, suites/unit/test_stats.py).
"""

from __future__ import annotations

import pytest

from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.probes.curl import CURL_TIMED_OUT, CurlRequest, curl
from l7suite.scenarios.envoy_admin import dumped_names, listeners_and_dump, qualified_listener
from l7suite.scenarios.hostnames import groups, hostname_batch
from l7suite.scenarios.nodes import pod_of_deployment, ready_pods
from l7suite.stats import DEFAULT_ALPHA, check_share

SCENARIO = "weighted-lb"
NS = "exam"
pytestmark = pytest.mark.e2e
PLAN_NOTES = (
    "1,000 GET /v1/ from tiefighter in one exec: all 200, deathstar share 80% (exact binomial, alpha 1e-4), "
    "every replica answers; to-proxy flows",
    "xwing: curl exit 28 and an EGRESS DROPPED POLICY_DENIED flow",
    "cilium-envoy admin on tiefighter's node: listener exam/deathstar-lb/lb-listener, /config_dump kept",
)

REQUESTS = 1000
EXPECTED = {"deathstar": 0.8, "darkstar": 0.2}
URL = f"http://deathstar.{NS}.svc.cluster.local/v1/"
FLOW_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def tiefighter(scenario) -> str:
    return pod_of_deployment(scenario.kube, NS, "tiefighter")


@pytest.fixture(scope="module")
def answers(scenario, tiefighter):
    return hostname_batch(scenario.kube.exec, NS, tiefighter, CurlRequest(URL, max_time=2), REQUESTS)


def test_every_request_is_answered(answers, evidence):
    evidence.json("1,000 requests from tiefighter", {"statuses": {str(k): v for k, v in answers.statuses.items()},
                                                      "exit codes": dict(answers.exit_codes)})
    assert dict(answers.statuses) == {200: REQUESTS}, dict(answers.exit_codes)


def test_split_is_80_20(answers, evidence):
    counts = groups(answers)
    total = sum(counts.values())
    checks = {g: check_share(g, counts.get(g, 0), total, p) for g, p in EXPECTED.items()}
    evidence.weighted_split("weighted split (e2e)", counts, EXPECTED, {g: c.interval for g, c in checks.items()})
    assert set(counts) == set(EXPECTED), f"answers came from {counts}, expected only {sorted(EXPECTED)}"
    deathstar = checks["deathstar"]
    assert deathstar.alpha == DEFAULT_ALPHA and total == REQUESTS
    assert deathstar.passed, deathstar.describe()


def test_every_replica_answers(answers, scenario):
    # 3 pods per Service; ROUND_ROBIN inside each weighted cluster: with 800/200 requests every pod answers.
    pods = {p["metadata"]["name"] for d in ("deathstar", "darkstar")
            for p in ready_pods(scenario.kube, NS, f"class={d}")}
    served = {r.body for r in answers.records if r.status == 200}
    assert len(pods) == 6 and pods <= served, f"pods that never answered: {sorted(pods - served)}"


def test_tiefighter_goes_through_the_proxy(scenario, hubble_flows, tiefighter):
    hubble_flows.restart()
    answer = curl(scenario.kube.exec, NS, tiefighter, CurlRequest(URL, max_time=2))
    assert (answer.exit_code, answer.status) == (0, 200)
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("tiefighter redirected to Envoy", source_pod=f"{NS}/tiefighter-", verdict="FORWARDED",
                        observation_point="TO_PROXY", traffic_direction="EGRESS"),
    ], FLOW_TIMEOUT)


def test_xwing_is_dropped(scenario, hubble_flows):
    hubble_flows.restart()
    xwing = pod_of_deployment(scenario.kube, NS, "xwing")
    answer = curl(scenario.kube.exec, NS, xwing, CurlRequest(URL, max_time=2))
    assert (answer.exit_code, answer.status) == (CURL_TIMED_OUT, None)
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("xwing denied", source_pod=f"{NS}/xwing-", destination_pod=f"{NS}/deathstar-",
                        verdict="DROPPED", drop_reason="POLICY_DENIED", traffic_direction="EGRESS"),
    ], FLOW_TIMEOUT)


def test_envoy_admin_lists_the_listener(scenario, tiefighter, e2e_plan, evidence):
    if e2e_plan.options.envoy_mode != "daemonset":
        pytest.skip("Envoy admin is reached through the cilium-envoy DaemonSet's pods (--envoy-mode daemonset)")
    listener = qualified_listener(NS, "deathstar-lb", "lb-listener")
    listeners, dump = listeners_and_dump(scenario.kube, NS, tiefighter, [listener, "exam/deathstar", "exam/darkstar"])
    evidence.json("cilium-envoy /config_dump (deathstar-lb)", dump)
    evidence.json("cilium-envoy /listeners", listeners)
    assert listener in listeners, f"{listener} not among {sorted(listeners)}"
    assert {listener, "exam/deathstar", "exam/darkstar"} <= dumped_names(dump)
