"""Which endpoint (EDS) names the Cilium agent publishes for the Services a CiliumEnvoyConfig references.

The agent syncs the backends of every Service named in `spec.services` or `spec.backendServices` to Envoy
as ClusterLoadAssignments (pkg/ciliumenvoyconfig/controller.go, computeLoadAssignments; the reflector
k8s_reflector.go collects the port filters):
- a Service referenced with no port filter gets `<ns>/<svc>:*` and, for backward compatibility, `<ns>/<svc>`,
  both with the backends of every port;
- a port filter (`services[].ports`: numbers; `backendServices[].number`: numbers or port names) gives one
  `<ns>/<svc>:<filter>` per filter entry instead, with the backends of the Service port of that number or
  name (addresses are pod IP and target port); `<ns>/<svc>` is then NOT published;
- the filters of every config that references a Service are merged: one config naming port 8080 turns
  `<ns>/<svc>` off for all of them;
- a filter that matches no port of the Service, and a Service without ready backends, publish nothing.
So a Cluster asking for `default/echo-service:8080` gets endpoints only when some config names port 8080
(cilium/cilium#38158 changed the circuit-breaker example for exactly this). An EDS name nobody publishes
leaves Envoy's cluster warming until the config source's initial_fetch_timeout, then empty (503s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANY_PORT = "*"


@dataclass(frozen=True)
class ServiceRef:
    """A Service a config asks the agent to sync backends of (and, from `services`, to redirect)."""

    namespace: str
    name: str
    ports: tuple[str, ...]  # port filter as the agent compares it: "8080" or "http"; empty = every port
    field: str  # where it was written: `spec.services[0]`, `spec.backendServices[1]`
    config: Any  # the K8sObject of the config


@dataclass(frozen=True)
class Published:
    namespace: str
    service: str
    port: str  # ANY_PORT or a filter entry


def port_filters(refs: list[ServiceRef]) -> dict[tuple[str, str], set[str]]:
    """(namespace, service) -> union of the port filters of every reference (empty set: every port)."""
    out: dict[tuple[str, str], set[str]] = {}
    for ref in refs:
        out.setdefault((ref.namespace, ref.name), set()).update(ref.ports)
    return out


def published_names(refs: list[ServiceRef]) -> dict[str, Published]:
    """Every EDS name the agent publishes for these references (if the Services exist and have backends)."""
    names: dict[str, Published] = {}
    for (namespace, service), ports in sorted(port_filters(refs).items()):
        if not ports:
            names[f"{namespace}/{service}:{ANY_PORT}"] = Published(namespace, service, ANY_PORT)
            names[f"{namespace}/{service}"] = Published(namespace, service, ANY_PORT)
        for port in sorted(ports):
            names[f"{namespace}/{service}:{port}"] = Published(namespace, service, port)
    return names


def service_ports(service: Any) -> list[dict]:
    return [p for p in (service.spec.get("ports") or []) if isinstance(p, dict)]


def port_matches(service: Any, port: str) -> bool:
    """Does a port filter entry pick a port of this Service (by number or by name)?"""
    if port == ANY_PORT:
        return True
    return any(port in (str(p.get("port", "")), str(p.get("name", ""))) for p in service_ports(service))


def explain_unserved(name: str, refs: list[ServiceRef]) -> str:
    """Why the agent would publish no endpoints under an EDS name a cluster asks for."""
    base, _, port = name.partition(":")
    if base.count("/") != 1:
        return (f"{name!r} is not a Service name (<namespace>/<service>[:<port>]): the agent publishes endpoints "
                "only for Services listed in spec.services or spec.backendServices")
    namespace, service = base.split("/")
    filters = port_filters(refs).get((namespace, service))
    if filters is None:
        return (f"no config lists Service {namespace}/{service} in spec.services or spec.backendServices, so the "
                "agent publishes no endpoints for it")
    offered = sorted(n for n, p in published_names(refs).items() if (p.namespace, p.service) == (namespace, service))
    why = ("no config names a port of it" if not filters
           else f"its configs name port(s) {', '.join(sorted(filters))}")
    hint = ""
    if port and port != ANY_PORT and not filters:
        hint = f"; name the port (spec.services[].ports: [{port}] or spec.backendServices[].number: [\"{port}\"])"
    elif not port and filters:
        hint = "; ask for one of those names, or name no ports"
    return f"Service {namespace}/{service}: {why}, so the agent publishes {', '.join(offered)}{hint}"
