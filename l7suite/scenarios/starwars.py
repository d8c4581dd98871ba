"""Star Wars (cilium/cilium examples/minikube/http-sw-app.yaml), the lab's first steps: e2e tier only, since
its checks are network policy verdicts, which only cilium-envoy and the datapath make."""

from l7suite.scenarios.declaration import Scenario

NAMESPACE = "starwars"

SCENARIO = Scenario(
    name="starwars",
    title="Star Wars: L3/L4, then L7 policy on the deathstar",
    description=(
        "The lab's opening: tiefighter (org=empire) and xwing (org=alliance) ask the deathstar to land. Under "
        "the L3/L4 policy xwing times out (curl exit 28) with an INGRESS DROPPED POLICY_DENIED flow and "
        "tiefighter lands with an L3_L4 FORWARDED flow; under the L7 policy PUT /v1/exhaust-port gets 403 "
        "\"Access denied\" with an L7 DROPPED flow and POST /v1/request-landing 200 with an L7 FORWARDED flow; "
        "with tiefighter's egress through Envoy, one X-Request-Id ties its egress and ingress flows together. "
        "Each stage waits for the policy revision on every agent, then for 3 expected answers in a row."),
    tiers=("e2e",),
    manifests="starwars",
    plan_notes=(
        "stages l4-policy, l7-policy, tiefighter-egress in order; curl from tiefighter and xwing, Hubble flows "
        "per step; PUT /v1/exhaust-port only after the L7 policy answered 403 to a harmless request",),
)
