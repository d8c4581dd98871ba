"""The upstream HTTP filters the agent injects into a config's Clusters (cec_resource_parser.go
injectCiliumUpstreamL7Filter), without cilium.l7policy, which exists only in cilium-envoy.

A config with `spec.services` (or annotation cec.cilium.io/inject-cilium-filters: "true") and a non-internal
listener: each of its Clusters gets HttpProtocolOptions with the upstream codec filter last and, when it sets
no upstream protocol, `use_downstream_protocol_config` with HTTP/2 options (`auto_config` over TLS).
Refused: an upstream HTTP filter after the codec filter, without a name or without typed_config.
"""

from __future__ import annotations

from google.protobuf.message import Message

from l7suite.cilium.cec_resources import UPSTREAM_TLS, ConfigNames
from l7suite.envoy.resources import message_class
from l7suite.manifests import K8sObject

QUIC_UPSTREAM = "envoy.extensions.transport_sockets.quic.v3.QuicUpstreamTransport"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
UPSTREAM_CODEC = "envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"
UPSTREAM_CODEC_NAME = "envoy.filters.http.upstream_codec"
INJECT_FILTERS_ANNOTATION = "cec.cilium.io/inject-cilium-filters"  # pkg/annotation (CECInjectCiliumFilters)


def injects_cilium_filters(config: K8sObject) -> bool:
    """cec_resource_parser.go InjectCiliumEnvoyFilters: the annotation if it parses as a bool, else `services`."""
    value = str((config.data["metadata"].get("annotations") or {}).get(INJECT_FILTERS_ANNOTATION, "")).lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    return bool(config.spec.get("services"))


def add_upstream_protocol_options(cluster: Message, cfg: ConfigNames) -> None:
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
