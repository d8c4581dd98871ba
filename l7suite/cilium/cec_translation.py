"""Translate CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig objects into what Envoy receives from the agent.

Every rule is one a CEC author can observe; each comes from the named cilium/cilium file and has a unit
test in suites/unit/test_translate*.py on a config of the test's own. The rules live by topic:
names (qualified_names.py), each resource's rewrites and filled-in defaults (cec_resources.py), the
upstream filters injected for `spec.services` (upstream_filters.py), Service redirects and synced backends
(cec_services.py), the EDS names published for them (eds_names.py), and listeners that network policies
send traffic to (policy_listeners.py). This module walks a config's resources in the agent's order.

Refused here, before Envoy sees anything (the agent logs it and applies nothing of the config):
- a Listener, RouteConfiguration, Cluster or Secret without a name, a ClusterLoadAssignment without
  `cluster_name` ("unspecified Listener name", ...); two resources of one type with one name after
  qualification ("duplicate Listener name ..."); a type other than the five a CEC may carry;
- a resource protobuf's JSON parser rejects (unknown field, bad value) is dropped by the agent with the
  warning "Ignoring invalid CiliumEnvoyConfig JSON" (pkg/k8s/apis/cilium.io/v2/cec_types.go); here it is
  an error naming the file and field, since the rest of the config would run without it.
Filled in: a listener without an address (and not internal) gets a proxy port on 127.0.0.1
(GetLocalListenerAddresses; `::1` too when the cluster runs IPv6, off by default). A CEC without
metadata.namespace is in `default` (where `kubectl apply` puts it without a context namespace).

What upstream Envoy cannot show: the agent also injects cilium.bpf_metadata (listener filter), cilium.network
(before the HCM / tcp_proxy) and cilium.l7policy (before the router, and as an upstream HTTP filter); those
exist only in cilium-envoy, so this tier does not add them and does not enforce network policy. A listener
a network policy redirects traffic to gets Envoy's original_dst listener filter instead (policy_listeners.py).
The agent also validates resources with Envoy's own validation rules; here Envoy applies those same rules
and NACKs.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

from l7suite.cilium.cec_resources import (
    ConfigNames,
    check_internal_addresses,
    rewrite_assignment,
    rewrite_cluster,
    rewrite_listener,
    rewrite_route,
)
from l7suite.cilium.cec_services import add_services, note
from l7suite.cilium.policy_listeners import policy_listeners, restore_original_destination
from l7suite.cilium.translated import Origin, Translated
from l7suite.cilium.upstream_filters import add_upstream_protocol_options, injects_cilium_filters
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SECRET, ResourceParseError, parse_resource
from l7suite.loopback_ports import free_loopback_port
from l7suite.manifests import CLUSTERWIDE_KINDS, K8sObject

SetConfigSource = Callable[[Message], None]  # points an unset ConfigSource at the tier's xDS server
AllocatePort = Callable[[str], int]  # the proxy port for an address-less listener (its qualified name)

# The port translations that only validate give address-less listeners: Envoy never sees those, so no
# loopback port is reserved for them (a reserved one stays bound until release_ports or RESERVATION_S).
PLACEHOLDER_PORT = 10000


def reserve_port(listener: str) -> int:
    """A fresh free loopback port, reserved until Envoy listens on it (l7suite/loopback_ports.py)."""
    return free_loopback_port()


def placeholder_port(listener: str) -> int:
    """For translations Envoy never receives: reserves nothing."""
    return PLACEHOLDER_PORT


def translate(config: K8sObject, set_config_source: SetConfigSource,
              allocate_port: AllocatePort = reserve_port) -> Translated:
    """Translate one CEC/CCEC; `allocate_port(qualified listener name)` gives an address-less listener its
    proxy port."""
    out = Translated()
    cfg = ConfigNames(config, set_config_source)
    if config.kind not in CLUSTERWIDE_KINDS and not config.data["metadata"].get("namespace"):
        out.notes.append(note(config, "no metadata.namespace: `kubectl apply` puts it in the current namespace; "
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
            rewrite_listener(msg, cfg)
            listeners.append(msg)
        elif type_url == ROUTE:
            _require(config, msg.name, "unspecified RouteConfiguration name", where + ".name")
            rewrite_route(msg, cfg)
        elif type_url == CLUSTER:
            _require(config, msg.name, "unspecified Cluster name", where + ".name")
            rewrite_cluster(msg, cfg, out)
            clusters.append(msg)
        elif type_url == ENDPOINTS:
            _require(config, msg.cluster_name, "unspecified ClusterLoadAssignment cluster_name",
                     where + ".cluster_name")
            rewrite_assignment(msg, cfg)
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
            listener.address.socket_address.port_value = allocate_port(listener.name)
        if listener.address.HasField("socket_address"):
            out.listener_ports[listener.name] = listener.address.socket_address.port_value

    internal = {lst.name for lst in listeners if lst.HasField("internal_listener")}
    for cluster in clusters:
        if cluster.HasField("load_assignment"):
            check_internal_addresses(cluster.load_assignment, cfg, internal, f"Cluster {cluster.name!r}")
    for index, cla in assignments:
        check_internal_addresses(cla, cfg, internal, f"spec.resources[{index}]")

    if injects_cilium_filters(config) and any(not lst.HasField("internal_listener") for lst in listeners):
        for cluster in clusters:
            add_upstream_protocol_options(cluster, cfg)

    add_services(config, listeners, out)
    return out


def translate_configs(configs: list[K8sObject], objects: list[K8sObject],
                      set_config_source: SetConfigSource, allocate_port: AllocatePort = reserve_port) -> Translated:
    """Translate configs as the agent does and give the listeners that `objects`' network policies redirect to
    their original destination back (what cilium.bpf_metadata does). `allocate_port`: as for translate();
    placeholder_port for a translation only validated."""
    merged = Translated()
    for config in configs:
        merged.merge(translate(config, set_config_source, allocate_port))
    listeners = merged.resources.get(LISTENER, {})
    for name in policy_listeners(objects):
        if name in listeners:
            restore_original_destination(listeners[name])
    return merged


def _require(config: K8sObject, value: str, agent_error: str, field_path: str) -> None:
    if not value:
        raise config.error(f"required field is missing: the agent refuses the config (\"{agent_error}\")", field_path)
