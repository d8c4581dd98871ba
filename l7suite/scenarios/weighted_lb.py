"""Weighted L7 load balancing, the lab's exam (manifests/weighted-lb), and what both tiers share.

The exam's path into Envoy: not the Services (the CEC lists them under `backendServices`, EDS only), but
the empire-to-deathstar policy's `toPorts[].listener` redirect to lb-listener. Both tiers send their
requests where that policy sends org=empire traffic; why this shape, with the upstream files, is in
suites/e2e/test_weighted_lb.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from l7suite.cilium.policy_listeners import policy_listeners
from l7suite.manifests import K8sObject
from l7suite.scenarios.declaration import Needs, Scenario
from l7suite.standins.http_servers import StarwarsBackend

NAMESPACE = "exam"
POLICY = "empire-to-deathstar"
HOST = f"deathstar.{NAMESPACE}.svc.cluster.local"
LISTENER = f"{NAMESPACE}/deathstar-lb/lb-listener"  # as Envoy lists it (the agent qualifies the CEC's name)
REQUESTS = 1000  # power >= 0.999 against a 70/30 split at this size (suites/unit/test_stats.py)
EXPECTED_SHARES = {"deathstar": 0.8, "darkstar": 0.2}  # the CEC's route weights, per Deployment

SCENARIO = Scenario(
    name="weighted-lb",
    title="The lab's exam: CEC deathstar-lb splits requests 80/20 between deathstar and darkstar",
    description=(
        "The lab counts 100 curl answers by eye; here both tiers send 1,000 requests where the "
        "empire-to-deathstar policy sends tiefighter's (its listener redirect to lb-listener; the CEC lists "
        "the Services under backendServices, EDS only). Every request is answered, the deathstar share passes "
        "an exact two-sided binomial test against 80% (alpha 1e-4, the false-failure rate per run; power "
        ">= 0.999 against 70/30) and every replica answers. The envoy tier also checks the listener's name, "
        f"{LISTENER}, and that backendServices redirect nothing; the e2e tier wants TO_PROXY flows from "
        "tiefighter, xwing dropped (curl exit 28, an EGRESS DROPPED POLICY_DENIED flow) and the listener in "
        "cilium-envoy's admin API on tiefighter's node."),
    tiers=("envoy", "e2e"),
    manifests="weighted-lb",
    standins={"quay.io/cilium/starwars": StarwarsBackend},
    cluster_side=("quay.io/cilium/json-mock",),  # tiefighter and xwing: the clients
    needs=Needs(daemonset_admin=True),
    plan_notes=(
        "1,000 GET /v1/ from tiefighter in one exec: all 200, deathstar share 80% (exact binomial, alpha 1e-4), "
        "every replica answers; to-proxy flows",
        "xwing: curl exit 28 and an EGRESS DROPPED POLICY_DENIED flow",
        f"cilium-envoy admin on tiefighter's node: listener {LISTENER}, /config_dump kept",
    ),
)


def redirected_listener(objects: Sequence[K8sObject], namespace: str = NAMESPACE, policy: str = POLICY) -> str:
    """The qualified listener (as Envoy names it) that policy `namespace/policy` redirects traffic to."""
    found = [name for name, p in policy_listeners(list(objects)).items()
             if p.kind == "CiliumNetworkPolicy" and (p.namespace, p.name) == (namespace, policy)]
    if len(found) != 1:
        raise LookupError(f"policy {namespace}/{policy} should redirect to exactly one listener; it names {found}")
    return found[0]


def listener_url(run) -> str:
    """`http://127.0.0.1:PORT` of that listener in an envoy-tier run (l7suite.envoy.envoy_run.EnvoyRun)."""
    return f"http://127.0.0.1:{run.listener_port(redirected_listener(run.scenario.objects))}"


def on_these_manifests(name: str, title: str, description: str) -> Scenario:
    """An envoy-tier scenario that runs weighted-lb's folder (live-update, control-plane-loss): same
    manifests, same stand-ins, a name and a report column of its own."""
    return Scenario(name=name, title=title, description=description, tiers=("envoy",), manifests=SCENARIO.manifests,
                    standins=SCENARIO.standins, cluster_side=SCENARIO.cluster_side)
