"""Envoy as its own DaemonSet across an agent restart (seed 002's "Embedded Envoy" vs "Separate DaemonSet"):
e2e tier only, disruptive. Upstream's position and the isolation rules: suites/e2e/test_daemonset_resilience.py."""

from l7suite.scenarios.declaration import Needs, Scenario

NAMESPACE = "resilience"

SCENARIO = Scenario(
    name="resilience",
    title="DaemonSet vs embedded Envoy across an agent restart",
    description=(
        "The lab restarts the Cilium agent with Envoy embedded in it and as its own DaemonSet. Here, in a "
        "namespace of its own with the L7 policy in force on every agent, one exec in tiefighter loops POST "
        "/v1/request-landing (every 0.5 s, 15 s per request, at most 10 minutes) while `kubectl rollout "
        "restart ds/cilium` runs. With the DaemonSet no request of the loop fails (cilium/cilium#42150's "
        "claim: L7 traffic is not impacted by an agent restart alone), cilium-envoy runs one pod per node and "
        "no Envoy process runs in the agents; embedded, the placement is the reverse and the failures are "
        "counted and kept as evidence, not asserted away. Every failed request is kept with its UTC time, "
        "seconds since the restart, curl's exit code and duration; afterwards the L7 policy still answers."),
    tiers=("e2e",),
    manifests="resilience",
    needs=Needs(runs_alone=True),
    plan_notes=(
        "own namespace, L7 policy in force first; one exec loops POST /v1/request-landing from tiefighter "
        "(every 0.5 s, 15 s each, curl --resolve to the ClusterIP, at most 10 min) while `kubectl rollout "
        "restart ds/cilium`; other CiliumEnvoyConfigs the suite left are deleted first; daemonset: zero failed "
        "requests; embedded: failures counted; every failed request kept with its time",
        "placement: cilium-envoy one pod per node and no Envoy process in the agents (embedded: the reverse)",
    ),
)
