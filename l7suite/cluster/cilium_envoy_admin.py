"""cilium-envoy's admin API on a chosen node, through a port-forward to the pod (Helm
envoy.debug.admin: 127.0.0.1:9901 in the pod, as the lab reaches it, seed 004).

Which node: Cilium redirects a Service's L7 load balancing and an egress policy's listener on the node
where the connection starts. bpf_lxc's per-packet service translation runs in the client's endpoint
program (cilium/cilium bpf/bpf_lxc.c: "services with L7 LB flag ... must check for those via per
packet LB"), and egress policy is the client's endpoint's; so the counters and listeners that matter
live in the cilium-envoy on the client's node, not the backend's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from l7suite.cilium.qualified_names import qualify
from l7suite.cluster.failure_evidence import ENVOY_ADMIN_PORT
from l7suite.cluster.kube import Kube
from l7suite.cluster.nodes import envoy_pod_on, node_of
from l7suite.envoy.admin_client import AdminClient


def qualified_listener(namespace: str, config: str, listener: str) -> str:
    """Cilium's name for a CEC listener (pkg/ciliumenvoyconfig: `<ns>/<cec>/<listener>`; a CCEC has ns "")."""
    return qualify(namespace, config, listener, force=True)


@contextmanager
def admin_on(kube: Kube, envoy_pod: str) -> Iterator[AdminClient]:
    with kube.port_forward("kube-system", f"pod/{envoy_pod}", ENVOY_ADMIN_PORT) as port:
        yield AdminClient(f"http://127.0.0.1:{port}", timeout=30,
                          label=f"admin API of kube-system/{envoy_pod} (127.0.0.1:{ENVOY_ADMIN_PORT} in the pod, "
                                f"port-forward 127.0.0.1:{port}; Helm envoy.debug.admin.enabled)")


@contextmanager
def admin_near(kube: Kube, namespace: str, client_pod: str) -> Iterator[AdminClient]:
    """The admin API of the cilium-envoy on the node of `client_pod`."""
    with admin_on(kube, envoy_pod_on(kube, node_of(kube, namespace, client_pod))) as admin:
        yield admin


OVERFLOW = re.compile(r"upstream_rq_(active|pending)_overflow$")


def overflow_counters(stats: dict[str, int], cluster: str) -> dict[str, int]:
    """`cluster.<name>.upstream_rq_{active,pending}_overflow` from admin /stats (Envoy's circuit-breaker
    counters), keyed by the short counter name."""
    prefix = f"cluster.{cluster}."
    return {name[len(prefix):]: value for name, value in stats.items()
            if name.startswith(prefix) and OVERFLOW.search(name)}


def dump_names_regex(names: list[str]) -> str:
    """A `/config_dump?name_regex=` matching any of the scenario's resource names."""
    return "|".join(f".*{re.escape(n)}.*" for n in names)


def dumped_names(dump: dict[str, Any]) -> set[str]:
    """Names of the listeners, clusters and route configs a (filtered) /config_dump holds."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("listener", "cluster", "route_config"):
                inner = node.get(key)
                if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                    found.add(inner["name"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(dump)
    return found


def listeners_and_dump(kube: Kube, namespace: str, client_pod: str,
                       dump_names: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The active listeners (name -> address) of the cilium-envoy on the client's node, and its
    /config_dump filtered to the scenario's names (kept as evidence by the caller)."""
    with admin_near(kube, namespace, client_pod) as admin:
        return admin.listeners(), admin.config_dump(dump_names_regex(dump_names))
