"""weighted-lb on real Envoy (the scenario: l7suite/scenarios/weighted_lb.py): 1,000 requests to the
listener the empire-to-deathstar policy redirects to, split 80/20 between the stand-in replicas.
Why requests enter there and not through the Services: suites/e2e/test_weighted_lb.py.

The requests go over CLIENTS keep-alive connections, not one after the other as the lab's curl loop sends
them: Envoy picks the weighted cluster for each request on its own (a random draw per request), whatever
connection it came on, so the count per Deployment is Binomial(1,000, 0.8) either way. (envoyproxy/envoy:
source/common/http/conn_manager_impl.cc gives each stream `stream_id_ = random_generator_.random()` and
routes it with that value; pickWeightedCluster (source/common/router/weighted_cluster_specifier.cc on main) takes
it modulo the total weight when no hash policy or random-value header is set, as in this CEC.) The stand-ins,
Envoy and the client work at once instead of in turn: the 1,000 requests (with Envoy's start)
took 0.43 s instead of 0.68 s on Envoy 1.38.3, on an otherwise idle machine.
"""

import pytest

from l7suite.scenarios import weighted_lb
from l7suite.scenarios.weighted_lb import HOST, REQUESTS, listener_url, redirected_listener
from l7suite.traffic.answering_pods import answering_pod, per_deployment
from l7suite.traffic.http_load import run_requests
from l7suite.traffic.share_statistics import check_share

SCENARIO = weighted_lb.SCENARIO
EXPECTED = weighted_lb.EXPECTED_SHARES
CLIENTS = 2


@pytest.fixture(scope="module")
def answers(envoy_run):
    return run_requests(listener_url(envoy_run) + "/v1/", REQUESTS, concurrency=CLIENTS, host=HOST,
                        key=answering_pod, deadline=60)


def test_every_request_is_answered(answers, evidence):
    evidence.json("requests through lb-listener", answers.summary())
    assert dict(answers.statuses) == {200: REQUESTS}, answers.summary()


def test_split_is_80_20(answers, evidence):
    """Exact two-sided binomial test at alpha 1e-4 (l7suite/traffic/share_statistics.py): a right split fails
    it with probability at most 1e-4 per run of this test."""
    counts = per_deployment(answers.keys)  # the lab's `cut -d'-' -f1` of each answer's hostname
    checks = {g: check_share(g, counts.get(g, 0), answers.completed, p) for g, p in EXPECTED.items()}
    evidence.weighted_split("weighted split", counts, EXPECTED, {g: c.interval for g, c in checks.items()})
    assert set(counts) == set(EXPECTED), f"answers came from {counts}, expected only {sorted(EXPECTED)}"
    deathstar = checks["deathstar"]
    assert deathstar.consistent, deathstar.describe()


def test_every_replica_serves(answers, envoy_run):
    """Within each weighted cluster, ROUND_ROBIN over the Service's 3 pods. False-failure rate: each request
    goes to darkstar with probability 0.2 and then, at worst as if picked at random, misses a given darkstar
    pod with probability 2/3 (round robin from a random start per worker misses less); so a darkstar pod gets
    none of the 1,000 with probability at most (1 - 0.2/3)^1000, and some pod of the six at most
    3 (1 - 0.2/3)^1000 + 3 (1 - 0.8/3)^1000 = 3e-30."""
    served = set(answers.keys)
    pods = {b.name for svc in ("deathstar", "darkstar") for b in envoy_run.backends("exam", svc)}
    assert pods == served, f"pods that never answered: {sorted(pods - served)}"


def test_listener_is_named_like_cilium_names_it(envoy_run):
    assert redirected_listener(envoy_run.scenario.objects) == "exam/deathstar-lb/lb-listener"
    assert "exam/deathstar-lb/lb-listener" in envoy_run.admin.listeners()
