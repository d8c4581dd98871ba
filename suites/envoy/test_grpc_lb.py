"""grpc-lb on real Envoy (the scenario: l7suite/scenarios/grpc_lb.py): the CEC
cilium-envoy-lb-currencyservice that the operator generates for a Service annotated lb-l7=enabled and
lb-l7-algorithm=least_request, as the lab printed it (manifests/grpc-lb/).

Real gRPC calls (`hipstershop.CurrencyService/GetSupportedCurrencies`, as the lab's grpcurl makes them)
go through Envoy to 3 stand-in replicas over HTTP/2. With one replica slowed down, LEAST_REQUEST sends it
a significantly smaller share of the calls than ROUND_ROBIN (what the operator generates without the
algorithm annotation) does: Fisher's exact test, one-sided, at alpha 1e-4.
"""

import copy

import pytest

from l7suite.envoy.resources import CLUSTER
from l7suite.scenarios import grpc_lb
from l7suite.scenarios.grpc_lb import CLUSTER as CLUSTER_NAME
from l7suite.scenarios.grpc_lb import LB_CALLS, NAMESPACE, SERVICE
from l7suite.standins.currency_service import CURRENCIES
from l7suite.traffic.currency_calls import call_once, run_calls
from l7suite.traffic.share_statistics import compare_shares

SCENARIO = grpc_lb.SCENARIO
SPREAD_CALLS = 90  # 30 per replica on average; every replica must answer
# LEAST_REQUEST vs ROUND_ROBIN: calls per algorithm (LB_CALLS, its power: l7suite/scenarios/grpc_lb.py),
# clients in parallel, delay of the slowed replica.
LB_CONCURRENCY = 8
SLOW_DELAY_S = 0.02


@pytest.fixture(scope="module")
def target(envoy_run) -> str:
    return envoy_run.url_for_service(NAMESPACE, SERVICE).removeprefix("http://")


def test_listener_route_and_cluster_keep_the_operators_names(envoy_run):
    assert "grpc/currencyservice" in envoy_run.admin.listeners()
    assert set(envoy_run.translated.resources[CLUSTER]) == {CLUSTER_NAME}


def test_grpcurl_call_answers_the_currency_list_through_envoy(target, evidence):
    answer = call_once(target)
    evidence.json("GetSupportedCurrencies through Envoy", {"code": answer.code, "headers": answer.headers,
                                                           "currencyCodes": list(answer.currencies)})
    assert answer.code == "OK", answer.details
    assert answer.currencies == CURRENCIES
    assert answer.headers.get("server") == "envoy", f"response headers: {answer.headers}"
    assert "x-envoy-upstream-service-time" in answer.headers, f"response headers: {answer.headers}"


def test_calls_reach_every_replica_over_http2(target, envoy_run, evidence):
    """Every one of 3 replicas answers some of SPREAD_CALLS = 90 calls. False-failure rate: the manifest's
    LEAST_REQUEST picks two hosts at random and keeps the first unless the second has fewer requests in
    flight, so a replica that got nothing yet is taken whenever it is picked first: it is passed over with
    probability at most 2/3 per call, and some replica gets none of the 90 with probability at most
    3 (2/3)^90 = 4e-16."""
    result = run_calls(target, SPREAD_CALLS, concurrency=3)
    evidence.json("calls per replica", result.summary())
    assert dict(result.codes) == {"OK": SPREAD_CALLS}, result.summary()
    assert dict(result.servers) == {"envoy": SPREAD_CALLS}, result.summary()
    pods = {b.name for b in envoy_run.backends(NAMESPACE, SERVICE)}
    assert set(result.pods) == pods, f"replicas that never answered: {sorted(pods - set(result.pods))}"
    # useDownstreamProtocolConfig: gRPC (HTTP/2) downstream -> HTTP/2 upstream, never HTTP/1.1
    stats = envoy_run.cluster_stats(CLUSTER_NAME, r"upstream_cx_http[12]_total$")
    assert stats.get("upstream_cx_http2_total", 0) > 0 and stats.get("upstream_cx_http1_total", 0) == 0, stats


@pytest.fixture(scope="module")
def lb_shares(envoy_run, target, report_lines):
    """Calls per replica under ROUND_ROBIN, then under the manifest's own cluster with one replica slowed.

    ROUND_ROBIN's calls are made before the replica is slowed: it picks the replicas in turn whatever their
    latency or the calls they have in flight (Envoy's load balancer docs: "each available upstream host is
    selected in round robin order"), so the slowed replica's share under it is the same with and without
    the delay (267 of 800 both ways, Envoy 1.36 to 1.40), and the comparison is the same. Without the delay
    its 800 calls take about half the time: with it, a third of them waited 20 ms each."""
    run = envoy_run
    manifest = run.translated
    round_robin = copy.deepcopy(manifest)
    round_robin.resources[CLUSTER][CLUSTER_NAME].ClearField("lb_policy")  # the operator's default
    slow = sorted(run.backends(NAMESPACE, SERVICE), key=lambda b: b.name)[0]
    results = {}
    try:
        for label, config, delay in (("ROUND_ROBIN", round_robin, 0.0), ("manifest", manifest, SLOW_DELAY_S)):
            run.apply(config)
            run.wait_applied()
            slow.delay = delay
            results[label] = run_calls(target, LB_CALLS, concurrency=LB_CONCURRENCY, deadline=60)
    finally:
        slow.delay = 0.0
        run.apply(manifest)
        run.wait_applied()
    cluster = manifest.resources[CLUSTER][CLUSTER_NAME]
    policy = cluster.LbPolicy.Name(cluster.lb_policy)
    for label, r in results.items():
        report_lines.add("gRPC calls to the slowed replica (slowed under the manifest's policy only)",
                         f"{run.binary.parent.name}: {label}: "
                         f"{r.pods[slow.name]}/{r.completed} ({r.rps():.0f} calls/s, -c {LB_CONCURRENCY})")
    return results, slow.name, policy


def test_least_request_sends_the_slowed_replica_a_smaller_share(lb_shares, evidence):
    results, slow, policy = lb_shares
    evidence.replica_distribution("calls per replica, one replica slowed",
                                  {label: dict(r.pods) for label, r in results.items()})
    for label, r in results.items():
        assert dict(r.codes) == {"OK": LB_CALLS}, f"{label}: {r.summary()}"
    rr, mine = results["ROUND_ROBIN"], results["manifest"]
    comparison = compare_shares(f"slowed replica {slow}", "ROUND_ROBIN", rr.pods[slow], rr.completed,
                                f"the manifest's lbPolicy {policy}", mine.pods[slow], mine.completed)
    assert comparison.larger_shown, comparison.describe()
