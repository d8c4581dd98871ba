"""Translate CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig objects into what Envoy receives.

Mirrors the Cilium agent's parser (pkg/ciliumenvoyconfig/cec_resource_parser.go):
- listener, route and cluster names without a `/` become `<namespace>/<cec-name>/<name>`; a CCEC has
  an empty namespace, so `/<ccec-name>/<name>`; names that already hold a `/` are kept as written
  (`exam/deathstar` is the Service exam/deathstar, `grpc/currencyservice` stays as it is);
- references to those names (`rds.route_config_name`, route and tcp_proxy clusters) are qualified alike;
- unset config sources (RDS of a listener, EDS of a cluster) point at the agent's own xDS server
  (here: the suite's ADS server);
- a listener without an address gets a proxy port on 127.0.0.1.

What upstream Envoy cannot show: Cilium also injects cilium.bpf_metadata (listener filter),
cilium.network and cilium.l7policy (network/HTTP filters); those exist only in cilium-envoy, so this
tier does not add them and does not enforce network policy. A listener that a network policy redirects
traffic to (`toPorts[].listener`) gets Envoy's original_dst listener filter instead, which restores the
destination the client dialed as cilium.bpf_metadata does (`restore_original_destination`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf.message import Message

from l7suite.envoy_resources import (
    CLUSTER,
    ENDPOINTS,
    LISTENER,
    ROUTE,
    SECRET,
    ResourceParseError,
    message_class,
    parse_resource,
    unpack,
)
from l7suite.manifests import K8sObject

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ORIGINAL_DST = "envoy.filters.listener.original_dst"
POLICY_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")


def qualify(namespace: str, config_name: str, name: str) -> str:
    if "/" in name:
        return name
    return f"{namespace}/{config_name}/{name}"


@dataclass(frozen=True)
class Origin:
    """Where an Envoy resource came from, for error messages."""

    config: K8sObject
    index: int

    def describe(self) -> str:
        return f"{self.config.source} ({self.config.ref}, spec.resources[{self.index}])"


@dataclass
class Translated:
    """Envoy resources by type URL and name, and what the suite needs to drive them."""

    resources: dict[str, dict[str, Message]] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    listener_ports: dict[str, int] = field(default_factory=dict)
    # EDS clusters whose endpoints are a Kubernetes Service's pods: cluster name -> (namespace, service)
    service_clusters: dict[str, tuple[str, str]] = field(default_factory=dict)
    # CEC `services`: (namespace, service) -> qualified listener name that traffic is redirected to
    redirects: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, type_url: str, name: str, msg: Message, origin: Origin) -> None:
        existing = self.origins.get((type_url, name))
        if existing is not None:
            raise origin.config.error(
                f"{name!r} is defined twice (also in {existing.describe()})", f"spec.resources[{origin.index}].name"
            )
        self.resources.setdefault(type_url, {})[name] = msg
        self.origins[(type_url, name)] = origin

    def merge(self, other: Translated) -> None:
        for (type_url, name), origin in other.origins.items():
            self.add(type_url, name, other.resources[type_url][name], origin)
        self.listener_ports.update(other.listener_ports)
        self.service_clusters.update(other.service_clusters)
        self.redirects.update(other.redirects)

    def origin_of(self, type_url: str, name: str) -> Origin | None:
        return self.origins.get((type_url, name))


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def translate(
    config: K8sObject,
    set_config_source: Callable[[Message], None],
    allocate_port: Callable[[], int] = free_loopback_port,
) -> Translated:
    """Translate one CEC/CCEC. `set_config_source` fills an unset ConfigSource (xDS server of the tier)."""
    out = Translated()
    namespace, cname = config.namespace, config.name

    def q(name: str) -> str:
        return qualify(namespace, cname, name)

    listeners: list[str] = []
    for index, raw in enumerate(config.spec["resources"]):
        try:
            msg = parse_resource(raw)
        except ResourceParseError as exc:
            raise config.error(f"Envoy's API rejects this resource: {exc}", f"spec.resources[{index}]") from None
        type_url = "type.googleapis.com/" + msg.DESCRIPTOR.full_name
        origin = Origin(config, index)
        if type_url == LISTENER:
            _listener(msg, q, set_config_source, allocate_port, out)
            listeners.append(msg.name)
        elif type_url == ROUTE:
            _route(msg, q)
        elif type_url == CLUSTER:
            _cluster(msg, q, set_config_source, out)
        elif type_url == ENDPOINTS:
            msg.cluster_name = q(msg.cluster_name)
        elif type_url != SECRET:
            raise config.error(f"a CiliumEnvoyConfig cannot carry {type_url}", f"spec.resources[{index}].@type")
        else:
            msg.name = q(msg.name)
        name = msg.cluster_name if type_url == ENDPOINTS else msg.name
        out.add(type_url, name, msg, origin)

    for i, svc in enumerate(config.spec.get("services") or []):
        wanted = svc.get("listener") or ""
        if wanted:
            target = q(wanted)
            if target not in listeners:
                raise config.error(f"no listener {wanted!r} in this config", f"spec.services[{i}].listener")
        elif listeners:
            target = listeners[0]  # Cilium's default: the first listener of the config
        else:
            raise config.error("services need a listener and this config has none", f"spec.services[{i}]")
        out.redirects[(svc["namespace"], svc["name"])] = target
    return out


def _listener(msg, q, set_config_source, allocate_port, out: Translated) -> None:
    msg.name = q(msg.name)
    if not msg.HasField("address"):
        port = allocate_port()
        msg.address.socket_address.address = "127.0.0.1"
        msg.address.socket_address.port_value = port
    out.listener_ports[msg.name] = msg.address.socket_address.port_value
    for chain in [*msg.filter_chains, *([msg.default_filter_chain] if msg.HasField("default_filter_chain") else [])]:
        for flt in chain.filters:
            if not flt.HasField("typed_config"):
                continue
            inner = unpack(flt.typed_config)
            name = inner.DESCRIPTOR.full_name
            if name == HCM and inner.HasField("rds"):
                inner.rds.route_config_name = q(inner.rds.route_config_name)
                if not inner.rds.HasField("config_source"):
                    set_config_source(inner.rds.config_source)
            elif name == HCM and inner.HasField("route_config"):
                _route(inner.route_config, q)
            elif name == TCP_PROXY:
                if inner.cluster:
                    inner.cluster = q(inner.cluster)
                for wc in inner.weighted_clusters.clusters:
                    wc.name = q(wc.name)
            flt.typed_config.Pack(inner)


def policy_listeners(objects: list[K8sObject]) -> dict[str, K8sObject]:
    """Listeners that network policies redirect traffic to (`toPorts[].listener`): qualified name -> policy.

    A CiliumEnvoyConfig reference is in the policy's namespace, a CiliumClusterwideEnvoyConfig one has an
    empty namespace, as the agent qualifies them.
    """
    found: dict[str, K8sObject] = {}
    for policy in (o for o in objects if o.kind in POLICY_KINDS):
        specs = [policy.spec, *(policy.data.get("specs") or [])]
        for spec in specs:
            for rule in [*(spec.get("egress") or []), *(spec.get("ingress") or [])]:
                for to_ports in rule.get("toPorts") or []:
                    ref = to_ports.get("listener")
                    if not ref:
                        continue
                    config = ref.get("envoyConfig") or {}
                    namespace = "" if config.get("kind") == "CiliumClusterwideEnvoyConfig" else policy.namespace
                    found[qualify(namespace, str(config.get("name", "")), str(ref.get("name", "")))] = policy
    return found


def restore_original_destination(listener: Message) -> bool:
    """Give a listener that receives transparently redirected traffic Envoy's original_dst listener filter,
    first: the part of cilium.bpf_metadata (cilium-envoy only) that makes the connection's local address
    the one the client dialed, so `%DOWNSTREAM_LOCAL_ADDRESS%` and original-destination clusters see it.
    Returns False if the listener already has it."""
    if any(f.name == ORIGINAL_DST for f in listener.listener_filters):
        return False
    current = list(listener.listener_filters)
    del listener.listener_filters[:]
    added = listener.listener_filters.add(name=ORIGINAL_DST)
    added.typed_config.Pack(message_class("envoy.extensions.filters.listener.original_dst.v3.OriginalDst")())
    listener.listener_filters.extend(current)
    return True


def _route(msg, q) -> None:
    msg.name = q(msg.name)
    for vhost in msg.virtual_hosts:
        for route in vhost.routes:
            if not route.HasField("route"):
                continue
            action = route.route
            if action.cluster:
                action.cluster = q(action.cluster)
            for wc in action.weighted_clusters.clusters:
                wc.name = q(wc.name)


def _cluster(msg, q, set_config_source, out: Translated) -> None:
    original = msg.name
    msg.name = q(original)
    # Cluster.DiscoveryType EDS == 3
    if msg.WhichOneof("cluster_discovery_type") == "type" and msg.type == 3:
        if not msg.eds_cluster_config.HasField("eds_config"):
            set_config_source(msg.eds_cluster_config.eds_config)
        if "/" in original and original.count("/") == 1:
            namespace, service = original.split("/")
            out.service_clusters[msg.name] = (namespace, service.split(":")[0])
