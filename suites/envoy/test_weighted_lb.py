"""Weighted L7 load balancing, the lab's exam: CEC deathstar-lb sends 80% to deathstar, 20% to darkstar.

The lab counts 100 curl answers by eye; here 1,000 requests are checked with an exact binomial test.
Requests go where Cilium sends tiefighter's: the listener that the empire-to-deathstar policy redirects
to (`toPorts[].listener`); the CEC lists the Services under `backendServices` (EDS only, no Service
redirect). Why that shape: suites/e2e/test_weighted_lb.py.
"""

import json

import pytest

from l7suite.scenarios.weighted_lb import HOST, listener_url, redirected_listener
from l7suite.traffic.http_requests import run_requests
from l7suite.traffic.share_stats import DEFAULT_ALPHA, check_share

SCENARIO = "weighted-lb"
REQUESTS = 1000  # power >= 0.999 against a 70/30 split at this size (suites/unit/test_stats.py)
EXPECTED = {"deathstar": 0.8, "darkstar": 0.2}


def hostname(status: int, headers: dict, body: bytes) -> str | None:
    return json.loads(body)["hostname"] if status == 200 else None


@pytest.fixture(scope="module")
def answers(envoy_run):
    return run_requests(listener_url(envoy_run) + "/v1/", REQUESTS, host=HOST, key=hostname, deadline=60)


def groups(answers) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, n in answers.keys.items():
        prefix = name.split("-")[0]  # the lab's `cut -d'-' -f1`
        counts[prefix] = counts.get(prefix, 0) + n
    return counts


def test_every_request_is_answered(answers, evidence):
    evidence.json("requests through lb-listener", answers.summary())
    assert dict(answers.statuses) == {200: REQUESTS}, answers.summary()


def test_split_is_80_20(answers, evidence):
    counts = groups(answers)
    checks = {g: check_share(g, counts.get(g, 0), answers.completed, p) for g, p in EXPECTED.items()}
    evidence.weighted_split("weighted split", counts, EXPECTED, {g: c.interval for g, c in checks.items()})
    assert set(counts) == set(EXPECTED), f"answers came from {counts}, expected only {sorted(EXPECTED)}"
    deathstar = checks["deathstar"]
    assert deathstar.alpha == DEFAULT_ALPHA
    assert deathstar.passed, deathstar.describe()


def test_every_replica_serves(answers, envoy_run):
    # Within each weighted cluster, ROUND_ROBIN over the Service's 3 pods.
    served = set(answers.keys)
    pods = {b.name for svc in ("deathstar", "darkstar") for b in envoy_run.backends("exam", svc)}
    assert pods == served, f"pods that never answered: {sorted(pods - served)}"


def test_listener_is_named_like_cilium_names_it(envoy_run):
    assert redirected_listener(envoy_run.scenario.objects) == "exam/deathstar-lb/lb-listener"
    assert "exam/deathstar-lb/lb-listener" in envoy_run.admin.listeners()


def test_backend_services_are_not_redirected(envoy_run):
    # backendServices: the agent serves their endpoints over EDS and registers no Service redirect
    # (pkg/ciliumenvoyconfig/cec_manager.go: addK8sServiceRedirects reads spec.services only).
    with pytest.raises(KeyError):
        envoy_run.url_for_service("exam", "deathstar")
