"""The agent's rules for each Envoy resource of a CiliumEnvoyConfig, applied in place before Envoy sees it
(pkg/ciliumenvoyconfig/cec_resource_parser.go; the config source is pkg/envoy/xds_server.go
CiliumXDSConfigSource). Which names are qualified and how: l7suite/cilium/qualified_names.py.

Filled in:
- an unset RDS config source, the EDS config source of a `type: EDS` cluster and an unset SDS config source
  point at the agent's xDS server (here: the suite's ADS server), with initial_fetch_timeout 30 s
  (agent flag --proxy-initial-fetch-timeout, default 30, pkg/envoy/config/config.go);
- a Cluster without `circuit_breakers` gets one threshold with max_retries 128, max_connections 1024 and
  max_requests 1024: fillInCircuitBreakers, values from the agent flags --proxy-max-concurrent-retries
  (default 128), --proxy-cluster-max-connections (1024) and --proxy-cluster-max-requests (1024)
  (pkg/envoy/config/config.go; newCECResourceParser passes them); a Cluster that sets any is left alone.
Rewritten: in each filter chain only the first HttpConnectionManager or TcpProxy filter, and
`default_filter_chain` not at all (the parser walks `filter_chains` and stops at the first).
Refused: an internal-listener address of this config naming no internal listener of it ("missing internal
listener").
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

from l7suite.cilium.qualified_names import qualify
from l7suite.cilium.translated import Translated
from l7suite.envoy.resources import unpack
from l7suite.manifests import K8sObject

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
HEALTH_CHECK = "envoy.extensions.filters.http.health_check.v3.HealthCheck"
DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"

# Agent defaults (pkg/envoy/config/config.go flags; pkg/envoy/xds_server.go CiliumXDSConfigSource)
DEFAULT_MAX_CONCURRENT_RETRIES = 128  # --proxy-max-concurrent-retries
DEFAULT_CLUSTER_MAX_CONNECTIONS = 1024  # --proxy-cluster-max-connections
DEFAULT_CLUSTER_MAX_REQUESTS = 1024  # --proxy-cluster-max-requests
INITIAL_FETCH_TIMEOUT_S = 30  # --proxy-initial-fetch-timeout
EDS_TYPE = 3  # envoy.config.cluster.v3.Cluster.DiscoveryType EDS


class ConfigNames:
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


def rewrite_listener(msg: Message, cfg: ConfigNames) -> None:
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
                    rewrite_route(inner.route_config, cfg)
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


def rewrite_route(msg: Message, cfg: ConfigNames) -> None:
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


def rewrite_cluster(msg: Message, cfg: ConfigNames, out: Translated) -> None:
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
        rewrite_assignment(msg.load_assignment, cfg)
    msg.name = cfg.q(msg.name)
    if is_eds:
        out.eds_names[msg.name] = msg.eds_cluster_config.service_name or msg.name


def rewrite_assignment(cla: Message, cfg: ConfigNames) -> None:
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


def check_internal_addresses(cla: Message, cfg: ConfigNames, internal: set[str], where: str) -> None:
    for address in _internal_addresses(cla):
        name = address.server_listener_name
        parts = name.split("/", 2)
        if len(parts) == 3 and parts[:2] == [cfg.namespace, cfg.name] and name not in internal:
            raise cfg.obj.error(f"{where} refers to missing internal listener {parts[2]!r} (no listener of this "
                                "config with that name has internal_listener); the agent refuses the config")


def _transport_socket(ts: Message, cfg: ConfigNames) -> None:
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
