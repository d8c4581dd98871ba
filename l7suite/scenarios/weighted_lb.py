"""The exam's path into Envoy (manifests/weighted-lb): not the Services (the CEC lists them under
`backendServices`, EDS only), but the empire-to-deathstar policy's `toPorts[].listener` redirect to
lb-listener. Both tiers send their requests where that policy sends org=empire traffic; why this shape,
with the upstream files, is in suites/e2e/test_weighted_lb.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from l7suite.cilium.cec_translation import policy_listeners
from l7suite.manifests import K8sObject

NAMESPACE = "exam"
POLICY = "empire-to-deathstar"
HOST = f"deathstar.{NAMESPACE}.svc.cluster.local"


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
