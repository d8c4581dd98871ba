"""An Envoy egress proxy with an allowlist, driven by the suite's control plane (seed 003).

The allowlist is a list of names. The control plane turns it into one listener with a TLS inspector and
one filter chain per allowed name, matched on the TLS SNI (`server_names`), each tunnelling the
connection (tcp_proxy, TLS untouched) to that destination's cluster. A name outside the list matches no
filter chain: Envoy closes the connection and counts it in `listener.<stat_prefix>.no_filter_chain_match`.

Locally every destination is a TLS server on 127.0.0.1 with a certificate for its name
(l7suite/standins/destinations.py), so a client that verifies the certificate proves it reached the
destination it asked for.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from google.protobuf.message import Message

from l7suite.envoy.resources import CLUSTER, LISTENER, parse_resource
from l7suite.manifests import ManifestError, ManifestSet
from l7suite.scenarios.declaration import Needs, Scenario
from l7suite.traffic.http1_client import Fetch, fetch_json

SCENARIO = Scenario(
    name="egress-allowlist",
    title="Egress allowlist: a list of names becomes SNI-matched filter chains, pushed over xDS",
    description=(
        "Seed 003's pattern: an Envoy egress proxy whose allowed destinations (ConfigMap egress/egress-allowlist, "
        "one name a line) become one listener with a TLS inspector and one filter chain per name matched on "
        "SNI, pushed by the suite's own control plane (l7suite/scenarios/egress_allowlist.py) to local HTTPS "
        "destinations with a throw-away certificate. control_plane.connected_state reads 1; every allowed name "
        "passes and the client verifies the destination's certificate for it; google.com is refused and "
        "listener.egress_allowlist.no_filter_chain_match grows by exactly 1; adding registry.npmjs.org over "
        "xDS lets it through with the same Envoy process, the names allowed before still passing."),
    tiers=("envoy",),
    manifests="egress-allowlist",
    needs=Needs(programs=("openssl",)),
)
LISTENER_NAME = "egress-allowlist"
STAT_PREFIX = "egress_allowlist"
TLS_INSPECTOR = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"


def allowlist_from(scenario: ManifestSet) -> list[str]:
    """The names in ConfigMap egress-allowlist (`data.allowed`, one a line)."""
    config = scenario.get("ConfigMap", "egress", "egress-allowlist")
    if config is None:
        raise ManifestError(scenario.directory, "no ConfigMap egress/egress-allowlist in this scenario")
    raw = (config.data.get("data") or {}).get("allowed")
    if not isinstance(raw, str):
        raise config.error("required field is missing (names, one a line)", "data.allowed")
    names = [line.strip() for line in raw.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not names:
        raise config.error("the allowlist is empty", "data.allowed")
    return names


def cluster_name(name: str) -> str:
    return f"egress/{name}"


def allowlist_resources(allowed: dict[str, str], port: int) -> dict[str, dict[str, Message]]:
    """xDS resources for an allowlist: name -> `host:port` of that destination."""
    chains: list[dict[str, Any]] = []
    clusters: dict[str, Message] = {}
    for name in sorted(allowed):
        host, dest_port = allowed[name].rsplit(":", 1)
        chains.append({
            "name": name,
            "filter_chain_match": {"server_names": [name], "transport_protocol": "tls"},
            "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {
                "@type": TCP_PROXY, "stat_prefix": f"egress_{name}", "cluster": cluster_name(name)}}],
        })
        clusters[cluster_name(name)] = parse_resource({
            "@type": CLUSTER, "name": cluster_name(name), "type": "STATIC", "connect_timeout": "2s",
            "load_assignment": {"cluster_name": cluster_name(name), "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": host, "port_value": int(dest_port)}}}}]}]},
        })
    listener = parse_resource({
        "@type": LISTENER, "name": LISTENER_NAME, "stat_prefix": STAT_PREFIX,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "listener_filters": [{"name": "envoy.filters.listener.tls_inspector",
                              "typed_config": {"@type": TLS_INSPECTOR}}],
        "filter_chains": chains,
    })
    return {LISTENER: {LISTENER_NAME: listener}, CLUSTER: clusters}


def https_get(port: int, name: str, ca_file: str, timeout: float = 5.0) -> Fetch:
    """GET https://<name>/ with the connection made to the egress listener (SNI and Host = name),
    verifying the destination's certificate for that name."""
    context = ssl.create_default_context(cafile=ca_file)

    def connect() -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            return context.wrap_socket(raw, server_hostname=name)
        except BaseException:
            raw.close()
            raise

    return fetch_json(name, f"127.0.0.1:{port}", connect)
