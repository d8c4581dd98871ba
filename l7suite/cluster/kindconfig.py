"""kind's cluster config for Cilium: no default CNI, no kube-proxy, one control-plane and two workers.

After Cilium's kind docs (Documentation/installation/kind-config.yaml: `disableDefaultCNI: true`) and
kind's configuration docs (`kubeProxyMode: "none"` disables kube-proxy); the pod subnet is the one
cilium/cilium's kind CI uses.
"""

from __future__ import annotations

from typing import Any

import yaml

POD_SUBNET = "10.244.0.0/16"


def kind_config(cluster_name: str, node_image: str, workers: int = 2) -> dict[str, Any]:
    nodes = [{"role": "control-plane", "image": node_image}]
    nodes += [{"role": "worker", "image": node_image} for _ in range(workers)]
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": cluster_name,
        "nodes": nodes,
        "networking": {"disableDefaultCNI": True, "kubeProxyMode": "none", "podSubnet": POD_SUBNET},
    }


def render(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False)
