"""gRPC L7 load balancing by Service annotation, the lab's currencyservice (seed 004).

Two folders, one scenario: the e2e tier applies manifests/grpc-lb-annotations (the Service, then its
annotations; the operator writes the CEC), the envoy tier runs manifests/grpc-lb, the CEC exactly as the
lab printed the operator's output, which the e2e tier also reads as its reference.
"""

from l7suite.scenarios.declaration import Needs, Scenario
from l7suite.standins.currency_service import CurrencyBackend

NAMESPACE, SERVICE = "grpc", "currencyservice"
CLUSTER = f"{NAMESPACE}/{SERVICE}"  # the operator names listener, route and cluster after the Service
# Envoy tier, LEAST_REQUEST vs ROUND_ROBIN: calls per algorithm. Power >= 0.999 to detect a slowed-replica
# share of 1/6 under LEAST_REQUEST against 1/3 under ROUND_ROBIN at this size (suites/unit/test_compare.py);
# observed: about 15% against 33%.
LB_CALLS = 800
GENERATED_CEC = "cilium-envoy-lb-currencyservice"  # the CEC the operator writes for the annotated Service
# The lab's image, and where newer tags of it live.
IMAGES = ("gcr.io/google-samples/microservices-demo/currencyservice",
          "us-central1-docker.pkg.dev/google-samples/microservices-demo/currencyservice")

SCENARIO = Scenario(
    name="grpc-lb",
    title="gRPC L7 load balancing by Service annotation (currencyservice)",
    description=(
        "The lab annotates Service grpc/currencyservice with service.cilium.io/lb-l7=enabled, then "
        "lb-l7-algorithm=least_request, and the operator writes CEC cilium-envoy-lb-currencyservice. The e2e "
        "tier does the same: before the annotation replies lack `server: envoy` and no flow goes to the proxy; "
        "after it the generated CEC contains the envoy tier's reference (manifests/grpc-lb/cec.yaml, every "
        "difference named), replies come from Envoy, TO_PROXY flows appear and every replica serves; after "
        "least_request the Cluster's lbPolicy is LEAST_REQUEST. The envoy tier runs that reference on real "
        "Envoy against 3 stand-in gRPC replicas: the operator's names are kept, GetSupportedCurrencies answers "
        "the lab's 33 currencies through Envoy, 90 calls reach every replica over HTTP/2 only, and with one "
        "replica slowed by 20 ms LEAST_REQUEST sends it a significantly smaller share of 800 calls than "
        "ROUND_ROBIN does (Fisher's exact test, one-sided, alpha 1e-4; power >= 0.999 against 1/6 vs 1/3)."),
    tiers=("envoy", "e2e"),
    manifests="grpc-lb-annotations",
    envoy_manifests="grpc-lb",
    standins={image: CurrencyBackend for image in IMAGES},
    cluster_side=("nicolaka/netshoot", "fullstorydev/grpcurl"),  # the lab's pod-worker; the e2e client
    needs=Needs(daemonset_admin=True),
    plan_notes=(
        "grpcurl (fullstorydev/grpcurl:v1.9.3-alpine, proto from a ConfigMap) calls GetSupportedCurrencies in one exec",
        f"before lb-l7: answers without `server: envoy`, no to-proxy flows; after: CEC {GENERATED_CEC} "
        "contains manifests/grpc-lb/cec.yaml (lbPolicy aside), `server: envoy`, to-proxy flows, every replica serves "
        "(rq_total per host in cilium-envoy /clusters on the client's node)",
        "after lb-l7-algorithm=least_request: the generated Cluster has lbPolicy LEAST_REQUEST and matches the "
        "reference",
    ),
)
