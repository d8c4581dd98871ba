"""Circuit breaker, the lab's CiliumClusterwideEnvoyConfig envoy-circuit-breaker (manifests/circuit-breaker)."""

from l7suite.scenarios.declaration import Needs, Scenario
from l7suite.standins.http_servers import EchoBackend

NAMESPACE = "circuit-break"
CLUSTER = f"{NAMESPACE}/echo-service"
LISTENER = "/envoy-circuit-breaker/envoy-lb-listener"  # a CCEC's names are qualified with an empty namespace
# concurrency -> requests, as `fortio load -c N -n M` (the lab runs 20 each; more makes 503s at 4 certain)
LEVELS = {1: 50, 2: 100, 4: 200}

SCENARIO = Scenario(
    name="circuit-breaker",
    title="Circuit breaker: at most 2 requests and 1 pending to echo-service",
    description=(
        "The lab's CCEC envoy-circuit-breaker allows at most 2 concurrent requests and 1 pending to "
        f"{CLUSTER}. At concurrency 1, 2 and 4 ({LEVELS[1]}, {LEVELS[2]} and {LEVELS[4]} requests, as "
        "`fortio load -c N -n M`), one client is always served (100% 200) and four clients overflow: only 200 "
        "and 503, at least one 503. The envoy tier slows the backend by 5 ms at that level, wants "
        "x-envoy-overloaded on every 503 and Envoy's upstream_rq_active_overflow + "
        "upstream_rq_pending_overflow equal to the 503s seen; the e2e tier runs fortio in the fortio pod, "
        "wants TO_PROXY flows and overflow counters > 0 in the cilium-envoy on fortio's node."),
    tiers=("envoy", "e2e"),
    manifests="circuit-breaker",
    standins={"quay.io/cilium/json-mock": EchoBackend},  # echo-service
    cluster_side=("fortio/fortio",),  # the client
    needs=Needs(daemonset_admin=True),
    plan_notes=(
        "fortio -c 1/-n 50, -c 2/-n 100, -c 4/-n 200 to echo-service:8080 (JSON parsed): 100% 200 at 1, 503s at 4; "
        "200/503 split per level kept as evidence; to-proxy flows",
        f"cilium-envoy admin on fortio's node: {LISTENER} listed, overflow counters > 0",
    ),
)
