"""Which pod runs where: a Deployment's pod (exec needs a pod name), a pod's node, and the Cilium
pods on that node (agent `k8s-app=cilium`, Envoy DaemonSet `k8s-app=cilium-envoy`).
"""

from __future__ import annotations

import json
from typing import Any

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube

AGENT_SELECTOR = "k8s-app=cilium"
ENVOY_SELECTOR = "k8s-app=cilium-envoy"


class PodNotFound(AssertionError):
    pass


def is_ready(pod: dict[str, Any]) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    if pod.get("status", {}).get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions", []))


def selector_of(deployment: dict[str, Any]) -> str:
    labels = deployment.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    if not labels:
        raise PodNotFound(f"deployment {deployment['metadata']['name']} has no matchLabels selector")
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def ready_pods(kube: Kube, namespace: str, selector: str) -> list[dict[str, Any]]:
    return sorted((p for p in kube.pods(namespace, selector) if is_ready(p)), key=lambda p: p["metadata"]["name"])


def pod_of_deployment(kube: Kube, namespace: str, name: str) -> str:
    """The name of a ready pod of Deployment `namespace/name` (the lab's `kubectl exec deploy/NAME`)."""
    deployment = kube.get("Deployment", namespace, name)
    if deployment is None:
        raise PodNotFound(f"no deployment {namespace}/{name}")
    pods = ready_pods(kube, namespace, selector_of(deployment))
    if not pods:
        raise PodNotFound(f"deployment {namespace}/{name} has no ready pod")
    return str(pods[0]["metadata"]["name"])


def node_of(kube: Kube, namespace: str, pod: str) -> str:
    obj = kube.get("Pod", namespace, pod)
    node = (obj or {}).get("spec", {}).get("nodeName")
    if not node:
        raise PodNotFound(f"pod {namespace}/{pod} is not scheduled")
    return str(node)


def pod_on_node(pods: list[dict[str, Any]], node: str, what: str) -> str:
    found = [p["metadata"]["name"] for p in pods if p.get("spec", {}).get("nodeName") == node and is_ready(p)]
    if len(found) != 1:
        raise PodNotFound(f"expected one ready {what} pod on node {node}, found {found or 'none'}")
    return str(found[0])


def envoy_pod_on(kube: Kube, node: str) -> str:
    return pod_on_node(kube.pods("kube-system", ENVOY_SELECTOR), node, "cilium-envoy")


def agent_pod_on(kube: Kube, node: str) -> str:
    return pod_on_node(kube.pods("kube-system", AGENT_SELECTOR), node, "cilium agent")


def nodes(kube: Kube) -> list[str]:
    done = tools.check(kube.kubectl("get", "nodes", "-o", "json", timeout=30))
    return sorted(n["metadata"]["name"] for n in json.loads(done.stdout)["items"])
