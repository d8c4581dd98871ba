"""Translate CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig objects into what Envoy receives from the agent.

Every rule below is one a CEC author can observe; each comes from the named cilium/cilium file and has a
unit test in suites/unit/test_translate*.py on a config of the test's own.

Names (pkg/policy/api/utils.go ResourceQualifiedName; pkg/ciliumenvoyconfig/cec_resource_parser.go):
- a name without `/` becomes `<namespace>/<config>/<name>`; a CCEC's namespace is empty (`/<ccec>/<name>`);
  an empty name stays empty;
- Listener names, RouteConfiguration names (resources, inline `route_config`, `rds.route_config_name`) and
  virtual host names are qualified with ForceNamespace: a name with `/` is kept only when its first part is
  the config's namespace (`grpc/currencyservice` in namespace grpc), otherwise it is prefixed too;
- Cluster names and the references to clusters (route `cluster`, `weighted_clusters`, `request_mirror_policies`,
  tcp_proxy `cluster` and `weighted_clusters`, the HealthCheck HTTP filter's `cluster_min_healthy_percentages`
  keys), Secret names and SDS secret references (listener filter-chain and cluster TLS contexts),
  ClusterLoadAssignment `cluster_name`s (resources and a cluster's `load_assignment`) and internal-listener
  addresses (`envoy_internal_address.server_listener_name`) keep a name with `/` as written (a Service);
- in each filter chain only the first HttpConnectionManager or TcpProxy filter is rewritten, and
  `default_filter_chain` is not rewritten at all (the parser walks `filter_chains` and stops at the first).
Filled in (cec_resource_parser.go; the config source is pkg/envoy/xds_server.go CiliumXDSConfigSource):
- an unset RDS config source, the EDS config source of a `type: EDS` cluster and an unset SDS config source
  point at the agent's xDS server (here: the suite's ADS server), with initial_fetch_timeout 30 s
  (agent flag --proxy-initial-fetch-timeout, default 30, pkg/envoy/config/config.go);
- a Cluster without `circuit_breakers` gets one threshold with max_retries 128, max_connections 1024 and
  max_requests 1024: fillInCircuitBreakers, values from the agent flags --proxy-max-concurrent-retries
  (default 128), --proxy-cluster-max-connections (1024) and --proxy-cluster-max-requests (1024)
  (pkg/envoy/config/config.go; newCECResourceParser passes them); a Cluster that sets any is left alone;
- a listener without an address (and not internal) gets a proxy port on 127.0.0.1 (GetLocalListenerAddresses;
  `::1` too when the cluster runs IPv6, off by default);
- a config with `spec.services` (or annotation cec.cilium.io/inject-cilium-filters: "true") and a non-internal
  listener: each of its Clusters gets HttpProtocolOptions with the upstream codec filter last and, when it sets
  no upstream protocol, `use_downstream_protocol_config` with HTTP/2 options (`auto_config` over TLS).
Refused, before Envoy sees anything (the agent logs it and applies nothing of the config):
- a Listener, RouteConfiguration, Cluster or Secret without a name, a ClusterLoadAssignment without
  `cluster_name` ("unspecified Listener name", ...); two resources of one type with one name after
  qualification ("duplicate Listener name ..."); a type other than the five a CEC may carry;
- an internal-listener address of this config naming no internal listener of it ("missing internal listener");
- an upstream HTTP filter after the codec filter, without a name or without typed_config.
- A resource protobuf's JSON parser rejects (unknown field, bad value) is dropped by the agent with the
  warning "Ignoring invalid CiliumEnvoyConfig JSON" (pkg/k8s/apis/cilium.io/v2/cec_types.go); here it is
  an error naming the file and field, since the rest of the config would run without it.
Services (pkg/ciliumenvoyconfig/controller.go getProxyRedirect, k8s_reflector.go; cec_types.go):
- `services[]`: traffic to the Service is redirected to the named listener (ForceNamespace-qualified) or,
  without `listener`, to the config's first listener (the CRD's rule; agent versions differ when there are
  several, so a note says so); `ports` limits which Service ports are redirected; a CEC's `services` are
  always in the CEC's own namespace (a different `namespace` is ignored, testdata/namespaced-cross.txtar);
  a CCEC's default to `default`;
- `backendServices[]`: endpoints are served, nothing is redirected; the namespace defaults to the config's
  (`default` for a CCEC); `number` filters ports;
- which EDS names the agent publishes for those Services: l7suite/cilium/eds_names.py.
- a CEC without metadata.namespace is in `default` (where `kubectl apply` puts it without a context
  namespace).
Network policies (pkg/policy/l4.go): a `toPorts[].listener` reference is qualified with ForceNamespace in the
policy's namespace, or the empty one for `kind: CiliumClusterwideEnvoyConfig`.

What upstream Envoy cannot show: the agent also injects cilium.bpf_metadata (listener filter), cilium.network
(before the HCM / tcp_proxy) and cilium.l7policy (before the router, and as an upstream HTTP filter); those
exist only in cilium-envoy, so this tier does not add them and does not enforce network policy. A listener
a network policy redirects traffic to gets Envoy's original_dst listener filter instead, which restores the
destination the client dialed as cilium.bpf_metadata does (`restore_original_destination`). The agent also
validates resources with Envoy's own validation rules; here Envoy applies those same rules and NACKs.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from l7suite.cilium.eds_names import ServiceRef
from l7suite.envoy.resources import (
    CLUSTER,
    ENDPOINTS,
    LISTENER,
    ROUTE,
    SECRET,
    SHORT,
    ResourceParseError,
    message_class,
    parse_resource,
    unpack,
)
from l7suite.manifests import CLUSTERWIDE_KINDS, K8sObject, display_path

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
HEALTH_CHECK = "envoy.extensions.filters.http.health_check.v3.HealthCheck"
DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
QUIC_UPSTREAM = "envoy.extensions.transport_sockets.quic.v3.QuicUpstreamTransport"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
UPSTREAM_CODEC = "envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"
UPSTREAM_CODEC_NAME = "envoy.filters.http.upstream_codec"
ORIGINAL_DST = "envoy.filters.listener.original_dst"
POLICY_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")
INJECT_FILTERS_ANNOTATION = "cec.cilium.io/inject-cilium-filters"  # pkg/annotation (CECInjectCiliumFilters)

# Agent defaults (pkg/envoy/config/config.go flags; pkg/envoy/xds_server.go CiliumXDSConfigSource)
DEFAULT_MAX_CONCURRENT_RETRIES = 128  # --proxy-max-concurrent-retries
DEFAULT_CLUSTER_MAX_CONNECTIONS = 1024  # --proxy-cluster-max-connections
DEFAULT_CLUSTER_MAX_REQUESTS = 1024  # --proxy-cluster-max-requests
INITIAL_FETCH_TIMEOUT_S = 30  # --proxy-initial-fetch-timeout
EDS_TYPE = 3  # envoy.config.cluster.v3.Cluster.DiscoveryType EDS


def qualify(namespace: str, config_name: str, name: str, force: bool = False) -> str:
    """The agent's ResourceQualifiedName (pkg/policy/api/utils.go); `force` is its ForceNamespace option."""
    slash = name.find("/")
    if not name or (slash >= 0 and (not force or name.split("/", 1)[0] == namespace)):
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
    # Services whose backends the agent syncs to Envoy (spec.services and spec.backendServices)
    services: list[ServiceRef] = field(default_factory=list)
    # spec.services: (namespace, service) -> qualified listener name that traffic is redirected to
    redirects: dict[tuple[str, str], str] = field(default_factory=dict)
    # ... and the Service ports redirected (empty: every port)
    redirect_ports: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    # EDS clusters: cluster name -> the name Envoy asks EDS for (eds_cluster_config.service_name or its name)
    eds_names: dict[str, str] = field(default_factory=dict)
    # what a config's author should know that is not an error
    notes: list[str] = field(default_factory=list)

    def add(self, type_url: str, name: str, msg: Message, origin: Origin) -> None:
        existing = self.origins.get((type_url, name))
        if existing is not None:
            if existing.config is origin.config:  # the agent's own check, within one config
                raise origin.config.error(
                    f"duplicate {SHORT.get(type_url, type_url)} name {name!r} after qualification (also "
                    f"spec.resources[{existing.index}]); the agent refuses the config",
                    f"spec.resources[{origin.index}]")
            if self.resources[type_url][name] == msg:
                return  # the same resource from two configs (a shared `ns/svc` cluster): one copy for Envoy
            raise origin.config.error(
                f"{name!r} is also defined, differently, in {existing.describe()}: the agent would keep only one "
                "of them (whichever it processed last)", f"spec.resources[{origin.index}]")
        self.resources.setdefault(type_url, {})[name] = msg
        self.origins[(type_url, name)] = origin

    def merge(self, other: Translated) -> None:
        for (type_url, name), origin in other.origins.items():
            self.add(type_url, name, other.resources[type_url][name], origin)
        self.listener_ports.update(other.listener_ports)
        self.services.extend(other.services)
        for service, listener in other.redirects.items():
            if self.redirects.get(service, listener) != listener:
                self.notes.append(f"Service {'/'.join(service)} is redirected by two configs (to "
                                  f"{self.redirects[service]} and to {listener}): the agent keeps one of them")
        self.redirects.update(other.redirects)
        self.redirect_ports.update(other.redirect_ports)
        self.eds_names.update(other.eds_names)
        self.notes.extend(other.notes)

    def origin_of(self, type_url: str, name: str) -> Origin | None:
        return self.origins.get((type_url, name))

    def configs(self) -> list[K8sObject]:
        seen: dict[int, K8sObject] = {}
        for origin in self.origins.values():
            seen.setdefault(id(origin.config), origin.config)
        return list(seen.values())


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Config:
    """One config being translated: its names and the agent's rules that need them."""

    def __init__(self, obj: K8sObject, set_config_source: Callable[[Message], None]):
        self.obj = obj
        self.namespace, self.name = obj.namespace, obj.name
        self._set_config_source = set_config_source

    def q(self, name: str, force: bool = False) -> str:
        return qualify(self.namespace, self.name, name, force)

    def config_source(self, source: Message) -> None:
        """Fill an unset ConfigSource as the agent does: its xDS server, initial_fetch_timeout 30 s."""
        self._set_config_source(source)
        if not source.HasField("initial_fetch_timeout"):
            source.initial_fetch_timeout.seconds = INITIAL_FETCH_TIMEOUT_S


def translate(
    config: K8sObject,
    set_config_source: Callable[[Message], None],
    allocate_port: Callable[[], int] = free_loopback_port,
) -> Translated:
    """Translate one CEC/CCEC. `set_config_source` points an unset ConfigSource at the tier's xDS server."""
    out = Translated()
    cfg = _Config(config, set_config_source)
    if config.kind not in CLUSTERWIDE_KINDS and not config.data["metadata"].get("namespace"):
        out.notes.append(_note(config, "no metadata.namespace: `kubectl apply` puts it in the current namespace; "
                                       "checked as `default`"))
    listeners: list[Message] = []
    clusters: list[Message] = []
    assignments: list[tuple[int, Message]] = []
    for index, raw in enumerate(config.spec["resources"]):
        try:
            msg = parse_resource(raw)
        except ResourceParseError as exc:
            raise config.error(f"Envoy's API rejects this resource: {exc} (the agent would drop this resource "
                               "with the warning \"Ignoring invalid CiliumEnvoyConfig JSON\" and apply the rest)",
                               f"spec.resources[{index}]") from None
        type_url = "type.googleapis.com/" + msg.DESCRIPTOR.full_name
        where = f"spec.resources[{index}]"
        if type_url == LISTENER:
            _require(config, msg.name, "unspecified Listener name", where + ".name")
            _listener(msg, cfg)
            listeners.append(msg)
        elif type_url == ROUTE:
            _require(config, msg.name, "unspecified RouteConfiguration name", where + ".name")
            _route(msg, cfg)
        elif type_url == CLUSTER:
            _require(config, msg.name, "unspecified Cluster name", where + ".name")
            _cluster(msg, cfg, out)
            clusters.append(msg)
        elif type_url == ENDPOINTS:
            _require(config, msg.cluster_name, "unspecified ClusterLoadAssignment cluster_name",
                     where + ".cluster_name")
            _assignment(msg, cfg)
            assignments.append((index, msg))
        elif type_url == SECRET:
            _require(config, msg.name, "unspecified Secret name", where + ".name")
            msg.name = cfg.q(msg.name)
        else:
            raise config.error(f"unsupported type: {type_url} (a CiliumEnvoyConfig carries Listener, "
                               "RouteConfiguration, Cluster, ClusterLoadAssignment and Secret)", where + ".@type")
        name = msg.cluster_name if type_url == ENDPOINTS else msg.name
        out.add(type_url, name, msg, Origin(config, index))

    # Ports only after every other error, as the agent allocates them.
    for listener in listeners:
        if not listener.HasField("address") and not listener.HasField("internal_listener"):
            listener.address.socket_address.address = "127.0.0.1"
            listener.address.socket_address.port_value = allocate_port()
        if listener.address.HasField("socket_address"):
            out.listener_ports[listener.name] = listener.address.socket_address.port_value

    internal = {lst.name for lst in listeners if lst.HasField("internal_listener")}
    for cluster in clusters:
        if cluster.HasField("load_assignment"):
            _check_internal_addresses(cluster.load_assignment, cfg, internal, f"Cluster {cluster.name!r}")
    for index, cla in assignments:
        _check_internal_addresses(cla, cfg, internal, f"spec.resources[{index}]")

    if _injects_cilium_filters(config) and any(not lst.HasField("internal_listener") for lst in listeners):
        for cluster in clusters:
            _upstream_protocol_options(cluster, cfg)

    _services(config, cfg, listeners, out)
    return out


def _note(config: K8sObject, text: str) -> str:
    return f"{display_path(config.source)} ({config.ref}): {text}"


def _require(config: K8sObject, value: str, agent_error: str, field_path: str) -> None:
    if not value:
        raise config.error(f"required field is missing: the agent refuses the config (\"{agent_error}\")", field_path)


def _injects_cilium_filters(config: K8sObject) -> bool:
    """cec_resource_parser.go InjectCiliumEnvoyFilters: the annotation if it parses as a bool, else `services`."""
    value = str((config.data["metadata"].get("annotations") or {}).get(INJECT_FILTERS_ANNOTATION, "")).lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    return bool(config.spec.get("services"))


def _listener(msg: Message, cfg: _Config) -> None:
    for chain in msg.filter_chains:  # not default_filter_chain: the agent does not rewrite it
        if chain.HasField("transport_socket"):
            _transport_socket(chain.transport_socket, cfg)
        for flt in chain.filters:
            if not flt.HasField("typed_config"):
                continue
            kind = flt.typed_config.TypeName()
            if kind == HCM:
                inner = unpack(flt.typed_config)
                if inner.HasField("rds"):
                    if inner.rds.route_config_name:
                        inner.rds.route_config_name = cfg.q(inner.rds.route_config_name, force=True)
                    if not inner.rds.HasField("config_source"):
                        cfg.config_source(inner.rds.config_source)
                if inner.HasField("route_config"):
                    _route(inner.route_config, cfg)
                for http_filter in inner.http_filters:
                    if http_filter.HasField("typed_config") and http_filter.typed_config.TypeName() == HEALTH_CHECK:
                        health = unpack(http_filter.typed_config)
                        renamed = {cfg.q(k): v for k, v in health.cluster_min_healthy_percentages.items()}
                        health.ClearField("cluster_min_healthy_percentages")
                        for key, value in renamed.items():
                            health.cluster_min_healthy_percentages[key].CopyFrom(value)
                        http_filter.typed_config.Pack(health)
            elif kind == TCP_PROXY:
                inner = unpack(flt.typed_config)
                if inner.cluster:
                    inner.cluster = cfg.q(inner.cluster)
                for wc in inner.weighted_clusters.clusters:
                    wc.name = cfg.q(wc.name)
            else:
                continue
            flt.typed_config.Pack(inner)
            break  # the agent rewrites the first HCM or tcp_proxy of a chain only
    msg.name = cfg.q(msg.name, force=True)


def _route(msg: Message, cfg: _Config) -> None:
    msg.name = cfg.q(msg.name, force=True)
    for vhost in msg.virtual_hosts:
        vhost.name = cfg.q(vhost.name, force=True)
        for route in vhost.routes:
            if not route.HasField("route"):
                continue
            action = route.route
            if action.cluster:
                action.cluster = cfg.q(action.cluster)
            for mirror in action.request_mirror_policies:
                if mirror.cluster:
                    mirror.cluster = cfg.q(mirror.cluster)
            for wc in action.weighted_clusters.clusters:
                wc.name = cfg.q(wc.name)


def _cluster(msg: Message, cfg: _Config, out: Translated) -> None:
    if msg.HasField("transport_socket"):
        _transport_socket(msg.transport_socket, cfg)
    if not msg.HasField("circuit_breakers"):
        threshold = msg.circuit_breakers.thresholds.add()
        threshold.max_retries.value = DEFAULT_MAX_CONCURRENT_RETRIES
        threshold.max_connections.value = DEFAULT_CLUSTER_MAX_CONNECTIONS
        threshold.max_requests.value = DEFAULT_CLUSTER_MAX_REQUESTS
    is_eds = msg.WhichOneof("cluster_discovery_type") == "type" and msg.type == EDS_TYPE
    if is_eds and not msg.eds_cluster_config.HasField("eds_config"):
        cfg.config_source(msg.eds_cluster_config.eds_config)
    if msg.HasField("load_assignment"):
        _assignment(msg.load_assignment, cfg)
    msg.name = cfg.q(msg.name)
    if is_eds:
        out.eds_names[msg.name] = msg.eds_cluster_config.service_name or msg.name


def _assignment(cla: Message, cfg: _Config) -> None:
    cla.cluster_name = cfg.q(cla.cluster_name)
    for address in _internal_addresses(cla):
        if address.server_listener_name:
            address.server_listener_name = cfg.q(address.server_listener_name)


def _internal_addresses(cla: Message) -> list[Message]:
    found = []
    for locality in cla.endpoints:
        for lb_endpoint in locality.lb_endpoints:
            endpoint = lb_endpoint.endpoint
            for address in [endpoint.address, *(a.address for a in endpoint.additional_addresses)]:
                if address.HasField("envoy_internal_address"):
                    found.append(address.envoy_internal_address)
    return found


def _check_internal_addresses(cla: Message, cfg: _Config, internal: set[str], where: str) -> None:
    for address in _internal_addresses(cla):
        name = address.server_listener_name
        parts = name.split("/", 2)
        if len(parts) == 3 and parts[:2] == [cfg.namespace, cfg.name] and name not in internal:
            raise cfg.obj.error(f"{where} refers to missing internal listener {parts[2]!r} (no listener of this "
                                "config with that name has internal_listener); the agent refuses the config")


def _transport_socket(ts: Message, cfg: _Config) -> None:
    """fillInTransportSocketXDS: SDS secret names qualified, unset SDS config sources filled."""
    if not ts.HasField("typed_config") or ts.typed_config.TypeName() not in (DOWNSTREAM_TLS, UPSTREAM_TLS):
        return
    tls = unpack(ts.typed_config)
    common = tls.common_tls_context
    sds = [*common.tls_certificate_sds_secret_configs]
    if common.HasField("validation_context_sds_secret_config"):
        sds.append(common.validation_context_sds_secret_config)
    if common.combined_validation_context.HasField("validation_context_sds_secret_config"):
        sds.append(common.combined_validation_context.validation_context_sds_secret_config)
    if ts.typed_config.TypeName() == DOWNSTREAM_TLS and tls.HasField("session_ticket_keys_sds_secret_config"):
        sds.append(tls.session_ticket_keys_sds_secret_config)
    for secret in sds:
        if not secret.HasField("sds_config"):
            cfg.config_source(secret.sds_config)
        secret.name = cfg.q(secret.name)
    ts.typed_config.Pack(tls)


def _upstream_protocol_options(cluster: Message, cfg: _Config) -> None:
    """injectCiliumUpstreamL7Filter, without cilium.l7policy (cilium-envoy only)."""
    where = f"Cluster {cluster.name!r}"
    options = message_class(HTTP_PROTOCOL_OPTIONS)()
    packed = cluster.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS)
    if packed is not None:
        packed.Unpack(options)
    codec = -1
    for i, flt in enumerate(options.http_filters):
        problem = ("a filter after the upstream codec filter" if codec >= 0
                   else "a filter without a name" if not flt.name
                   else "a filter without typed_config" if not flt.HasField("typed_config") else "")
        if problem:
            raise cfg.obj.error(f"{where}: upstream HTTP filters have {problem} (http_filters[{i}]); the agent "
                                "refuses the config (\"failed to inject upstream filters\")")
        if flt.typed_config.TypeName() == UPSTREAM_CODEC:
            codec = i
    if codec < 0:
        added = options.http_filters.add(name=UPSTREAM_CODEC_NAME)
        added.typed_config.Pack(message_class(UPSTREAM_CODEC)())
    if options.WhichOneof("upstream_protocol_options") is None:
        if cluster.HasField("transport_socket") and not cluster.transport_socket.HasField("typed_config"):
            raise cfg.obj.error(f"{where}: transport_socket has no typed_config; the agent refuses the config "
                                "(\"Transport socket has no type\")")
        alpn = cluster.transport_socket.typed_config.TypeName() in (UPSTREAM_TLS, QUIC_UPSTREAM)
        if alpn:
            options.auto_config.SetInParent()
        else:
            options.use_downstream_protocol_config.http2_protocol_options.SetInParent()
    cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Pack(options)


def _services(config: K8sObject, cfg: _Config, listeners: list[Message], out: Translated) -> None:
    namespaced = config.kind not in CLUSTERWIDE_KINDS
    with_address = [lst.name for lst in listeners if lst.address.HasField("socket_address")]
    for i, svc in enumerate(_entries(config, "services")):
        where = f"spec.services[{i}]"
        name = _service_name(config, svc, where)
        written = str(svc.get("namespace") or "")
        namespace = config.namespace if namespaced else (written or "default")
        if namespaced and written and written != namespace:
            out.notes.append(_note(config, f"{where}.namespace {written!r} is ignored: a CiliumEnvoyConfig "
                                           f"redirects Services of its own namespace only ({namespace}/{name})"))
        ports = _ports(config, svc.get("ports"), f"{where}.ports", numbers_only=True)
        wanted = str(svc.get("listener") or "")
        if wanted:
            target = cfg.q(wanted, force=True)
            if target not in with_address:
                raise config.error(f"no listener {wanted!r} ({target}) in this config's resources: the agent "
                                   "redirects nothing for this Service", f"{where}.listener")
        elif with_address:
            target = with_address[0]
            if len(with_address) > 1:
                out.notes.append(_note(config, f"{where} names no listener and the config has {len(with_address)}; "
                                               f"checked with the first ({target}), but Cilium versions differ on "
                                               "which one gets the traffic: name it"))
        else:
            out.notes.append(_note(config, f"{where}: the config has no listener, so the agent redirects nothing "
                                           f"for {namespace}/{name} (it still serves its endpoints)"))
            target = ""
        if target:
            out.redirects[(namespace, name)] = target
            out.redirect_ports[(namespace, name)] = tuple(int(p) for p in ports)
        out.services.append(ServiceRef(namespace, name, ports, where, config))
    for i, svc in enumerate(_entries(config, "backendServices")):
        where = f"spec.backendServices[{i}]"
        name = _service_name(config, svc, where)
        namespace = str(svc.get("namespace") or (config.namespace if namespaced else "default"))
        ports = _ports(config, svc.get("number"), f"{where}.number", numbers_only=False)
        out.services.append(ServiceRef(namespace, name, ports, where, config))


def _entries(config: K8sObject, key: str) -> list[dict]:
    entries = config.spec.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise config.error("expected a list of {name, namespace, ...} entries", f"spec.{key}")
    return entries


def _service_name(config: K8sObject, svc: dict, where: str) -> str:
    name = svc.get("name")
    if not name:
        raise config.error("required field is missing", f"{where}.name")
    return str(name)


def _ports(config: K8sObject, raw: Any, where: str, numbers_only: bool) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise config.error("expected a list", where)
    out = []
    for j, port in enumerate(raw):
        if numbers_only and not (isinstance(port, int) and 0 < port < 65536):
            raise config.error(f"expected a port number (1-65535), got {port!r}", f"{where}[{j}]")
        if not numbers_only and not isinstance(port, (str, int)):
            raise config.error(f"expected a port number or name, got {port!r}", f"{where}[{j}]")
        out.append(str(port))
    return tuple(out)


def policy_listeners(objects: list[K8sObject]) -> dict[str, K8sObject]:
    """Listeners that network policies redirect traffic to (`toPorts[].listener`): qualified name -> policy.

    As pkg/policy/l4.go qualifies them: ForceNamespace in the policy's namespace, or the empty namespace for
    `envoyConfig.kind: CiliumClusterwideEnvoyConfig`. A clusterwide policy cannot use a namespaced config.
    """
    found: dict[str, K8sObject] = {}
    for policy in (o for o in objects if o.kind in POLICY_KINDS):
        specs = [policy.spec, *(policy.data.get("specs") or [])]
        for spec in specs:
            for direction in ("egress", "ingress"):
                for i, rule in enumerate(spec.get(direction) or []):
                    for j, to_ports in enumerate(rule.get("toPorts") or []):
                        ref = to_ports.get("listener")
                        if not ref:
                            continue
                        config = ref.get("envoyConfig") or {}
                        kind = config.get("kind") or "CiliumEnvoyConfig"
                        namespace = policy.namespace
                        if kind == "CiliumClusterwideEnvoyConfig":
                            namespace = ""
                        elif not namespace:
                            raise policy.error(f"Listener {ref.get('name')!r} in a clusterwide policy can not use "
                                               "Kind CiliumEnvoyConfig (the agent refuses the policy)",
                                               f"spec.{direction}[{i}].toPorts[{j}].listener.envoyConfig.kind")
                        name = qualify(namespace, str(config.get("name", "")), str(ref.get("name", "")), force=True)
                        found[name] = policy
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

