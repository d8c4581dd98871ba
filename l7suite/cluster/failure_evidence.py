"""What to keep when an e2e test fails: the scenario namespace's pod logs and events, `cilium-dbg
status` from the agents, cilium-envoy's admin `/listeners` and `/config_dump` (port-forward to the
admin port, envoy.debug.admin.port), and the scenario's Hubble flows. Each item is collected on its
own: one that cannot be had is reported as such and does not hide the others.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any

from l7suite.cluster.kube import Kube
from l7suite.cluster.nodes import AGENT_SELECTOR, ENVOY_SELECTOR
from l7suite.traffic.pod_probes import ExecResult

ENVOY_ADMIN_PORT = 9901


def _safely(name: str, produce: Callable[[], str]) -> tuple[str, str]:
    try:
        return name, produce()
    except Exception as exc:  # evidence collection must never raise over the test's own failure
        return name, f"(could not collect {name}: {type(exc).__name__}: {exc})"


def envoy_admin(kube: Kube, pod: str, path: str) -> str:
    with kube.port_forward("kube-system", f"pod/{pod}", ENVOY_ADMIN_PORT) as port, \
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
        return str(answer.read().decode())


def cilium_status(kube: Kube, pod: str) -> ExecResult:
    """`cilium-dbg status --verbose` in the Cilium agent `pod` (kube-system)."""
    return kube.exec("kube-system", pod, ["cilium-dbg", "status", "--verbose"], 60)


def _cilium_status_text(kube: Kube, pod: str) -> str:
    return cilium_status(kube, pod).stdout


def _pods(kube: Kube, namespace: str, selector: str, items: dict[str, str]) -> list[dict[str, Any]]:
    try:
        return kube.pods(namespace, selector)
    except Exception as exc:  # noqa: BLE001 (see _safely)
        items[f"pods {namespace} {selector}".rstrip()] = f"(could not list pods: {exc})"
        return []


def collect(kube: Kube, namespace: str, flows_json: Callable[[], str], envoy_mode: str) -> dict[str, str]:
    items: dict[str, str] = {}
    for pod in _pods(kube, namespace, "", items):
        name = pod["metadata"]["name"]
        items.update([_safely(f"logs {namespace}/{name}", partial(kube.logs, namespace, name))])
    items.update([_safely(f"events {namespace}", lambda: kube.events(namespace))])
    for pod in _pods(kube, "kube-system", AGENT_SELECTOR, items):
        name = pod["metadata"]["name"]
        items.update([_safely(f"cilium-dbg status {name}", partial(_cilium_status_text, kube, name))])
    if envoy_mode == "daemonset":
        for pod in _pods(kube, "kube-system", ENVOY_SELECTOR, items):
            name = pod["metadata"]["name"]
            for path in ("/listeners", "/config_dump"):
                items.update([_safely(f"envoy {name} {path}", partial(envoy_admin, kube, name, path))])
    items.update([_safely(f"hubble flows {namespace}", flows_json)])
    return items
