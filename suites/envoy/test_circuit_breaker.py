"""circuit-breaker on real Envoy (the scenario: l7suite/scenarios/circuit_breaker.py): one client is always
served; four clients against a slowed backend overflow, and Envoy answers 503 x-envoy-overloaded.

Only the 4-client level runs against the slowed backend. The breaker counts requests in flight (active and
pending), not their duration: one client has at most one request in flight and two clients at most two,
within max_requests 2 whatever the backend's latency, so levels 1 and 2 show the same fact against the
backend at full speed (the delay made them last 50 x 20 ms each, 2 s of every Envoy version's run). At
level 4 the delay is what keeps more than 3 requests in flight, so it stays there, at 5 ms: a served request
holds its slot 5 ms, while a client's next request follows within a fraction of a millisecond, so the fourth
client nearly always finds both slots and the pending one taken. Measured (Envoy 1.38, 8 runs each): 153-180
of the 200 requests 503 in 0.07-0.17 s at 5 ms; at 20 ms the clients fell into lockstep (two served, two
rejected per 20 ms round: 100 503s in 1.07 s). A longer delay buys no more rejections, only time.
"""

import pytest

from l7suite.scenarios import circuit_breaker
from l7suite.scenarios.circuit_breaker import CLUSTER, LEVELS
from l7suite.traffic.http_load import run_requests

SCENARIO = circuit_breaker.SCENARIO
BACKEND_DELAY = 0.005  # seconds: slow enough that 4 clients keep more than 3 requests in flight
SLOWED_FROM = 4  # levels from this concurrency up run against the slowed backend (module docstring)


@pytest.fixture(scope="module")
def levels(envoy_run, report_lines):
    backends = envoy_run.backends("circuit-break", "echo-service")
    url = envoy_run.url_for_service("circuit-break", "echo-service") + "/"
    results = {}
    for c, n in LEVELS.items():
        for backend in backends:
            backend.delay = BACKEND_DELAY if c >= SLOWED_FROM else 0.0
        results[c] = run_requests(url, n, concurrency=c, host="echo-service:8080", deadline=60)
    for c, r in results.items():
        report_lines.add("circuit breaker 200/503 split per concurrency level",
                         f"{envoy_run.binary.parent.name}: -c {c} -n {r.requests}: {r.summary()['codes']}")
    return results


def test_one_client_is_always_served(levels, evidence):
    evidence.status_split("200/503 per concurrency level",
                          {c: {str(s): n for s, n in r.statuses.items()} for c, r in levels.items()})
    assert dict(levels[1].statuses) == {200: LEVELS[1]}, levels[1].summary()


def test_four_clients_overflow_with_503_overloaded(levels):
    """At least one 503 among 200 requests of 4 clients. False-failure rate: if each request at concurrency 4
    overflowed independently with probability q, none would with probability (1 - q)^200. The lab saw 11 of
    20 (q = 0.55: 1e-69); even q = 0.166, the one-sided 99.99% lower confidence bound of 11/20, gives
    1.8e-16. Here the 5 ms backend delay keeps the 2 active + 1 pending slots full: 172 of 200 were 503s
    on Envoy 1.38.3 (terminal summary, "200/503 split per concurrency level")."""
    four = levels[4]
    assert four.completed == LEVELS[4], four.summary()
    assert four.statuses[503] > 0, f"no 503 at concurrency 4: {four.summary()}"
    assert set(four.statuses) <= {200, 503}, four.summary()
    assert four.overloaded == four.statuses[503], "every 503 must carry x-envoy-overloaded: " + str(four.summary())


def test_overflow_counters_count_the_rejections(levels, envoy_run, evidence):
    # max_requests overflows count as upstream_rq_active_overflow, max_pending_requests ones as
    # upstream_rq_pending_overflow; each is one local 503.
    stats = envoy_run.cluster_stats(CLUSTER, r"upstream_rq_(active|pending)_overflow$")
    evidence.json("cluster overflow counters (admin /stats)", stats)
    overflow = stats.get("upstream_rq_active_overflow", 0) + stats.get("upstream_rq_pending_overflow", 0)
    assert overflow > 0, stats
    rejected = sum(r.statuses[503] for r in levels.values())
    assert overflow == rejected, f"{overflow} overflows counted by Envoy, {rejected} 503s seen: {stats}"
