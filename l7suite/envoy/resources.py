"""Parse the Envoy resources of a CiliumEnvoyConfig (YAML dicts with `@type`) into protobuf messages.

Envoy's own API protos come from PyPI `xds-protos`. A `@type` names a message; the module that
defines it is imported on demand from the message's package, so `json_format` can resolve nested
`typed_config` Any fields too. Both camelCase (as `kubectl get -o yaml` prints CEC specs) and
snake_case field names are accepted, as Cilium accepts both.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message

TYPE_PREFIX = "type.googleapis.com/"
LISTENER = TYPE_PREFIX + "envoy.config.listener.v3.Listener"
ROUTE = TYPE_PREFIX + "envoy.config.route.v3.RouteConfiguration"
CLUSTER = TYPE_PREFIX + "envoy.config.cluster.v3.Cluster"
ENDPOINTS = TYPE_PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment"
SECRET = TYPE_PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret"

# The order a make-before-break control plane sends types in: clusters and their endpoints
# before the listeners and routes that use them.
TYPE_ORDER = (CLUSTER, ENDPOINTS, LISTENER, ROUTE, SECRET)
SHORT = {LISTENER: "Listener", ROUTE: "RouteConfiguration", CLUSTER: "Cluster",
         ENDPOINTS: "ClusterLoadAssignment", SECRET: "Secret"}

# cilium-envoy's own protos (cilium/proxy: cilium.L7Policy, cilium.BpfMetadata, cilium.NetworkFilter, ...)
CILIUM_PACKAGE = "cilium."

_imported_packages: set[str] = set()


class ResourceParseError(ValueError):
    """Envoy's API does not accept a resource; the message is protobuf's, naming the field."""


def _import_package_of(full_name: str) -> None:
    """Import every *_pb2 module in the Python package that holds proto message `full_name`."""
    package = full_name.rsplit(".", 1)[0]
    # Nested messages (Foo.Bar) live in the package of the outermost message; walk up until a
    # Python package exists.
    parts = package.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in _imported_packages:
            return
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            parts.pop()
            continue
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if info.name.endswith("_pb2"):
                importlib.import_module(f"{candidate}.{info.name}")
        _imported_packages.add(candidate)
        return


def _collect_types(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        type_url = node.get("@type")
        if isinstance(type_url, str) and type_url.startswith(TYPE_PREFIX):
            found.add(type_url[len(TYPE_PREFIX):])
        for value in node.values():
            _collect_types(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_types(value, found)


def message_class(full_name: str) -> type[Message]:
    _import_package_of(full_name)
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise ResourceParseError(f"unknown @type {TYPE_PREFIX}{full_name}: no such Envoy API message") from None
    return message_factory.GetMessageClass(descriptor)


def parse_resource(resource: dict[str, Any]) -> Message:
    """One `spec.resources[]` entry -> its protobuf message (ResourceParseError if Envoy's API rejects it)."""
    names: set[str] = set()
    _collect_types(resource, names)
    cilium_only = sorted(n for n in names if n.startswith(CILIUM_PACKAGE))
    if cilium_only:
        raise ResourceParseError(
            f"@type {TYPE_PREFIX}{cilium_only[0]} is one of cilium-envoy's own extensions (cilium.*): upstream "
            "Envoy has no such type, so this tier cannot load it (cilium-envoy may well accept it)")
    for name in names:
        _import_package_of(name)
    type_url = str(resource["@type"])
    cls = message_class(type_url.removeprefix(TYPE_PREFIX))
    body = {k: v for k, v in resource.items() if k != "@type"}
    try:
        return json_format.ParseDict(body, cls())
    except json_format.ParseError as exc:
        raise ResourceParseError(str(exc)) from None


def unpack(any_msg: Any) -> Message:
    msg = message_class(any_msg.TypeName())()
    any_msg.Unpack(msg)
    return msg


def to_dict(msg: Message) -> dict[str, Any]:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)
