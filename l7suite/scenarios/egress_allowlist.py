"""An Envoy egress proxy with an allowlist, driven by the suite's control plane (seed 003).

The allowlist is a list of names. The control plane turns it into one listener with a TLS inspector and
one filter chain per allowed name, matched on the TLS SNI (`server_names`), each tunnelling the
connection (tcp_proxy, TLS untouched) to that destination's cluster. A name outside the list matches no
filter chain: Envoy closes the connection and counts it in `listener.<stat_prefix>.no_filter_chain_match`.

Locally every destination is a TLS server on 127.0.0.1 with a certificate for its name, so a client
that verifies the certificate proves it reached the destination it asked for.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from google.protobuf.message import Message

from l7suite.envoy.resources import CLUSTER, LISTENER, parse_resource
from l7suite.manifests import ManifestError, ManifestSet
from l7suite.standins.http_servers import LoopbackServer, ServedInThread
from l7suite.standins.tls_certs import Certificate

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


class TlsTarget(ServedInThread):
    """An external HTTPS destination played locally: answers `{"destination": <name>, "sni": <sni>}`."""

    def __init__(self, name: str, certificate: Certificate):
        self.name = name
        self.requests = 0
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert, certificate.key)
        seen: dict[int, str] = {}  # id(TLS socket) -> the SNI its client sent
        target = self

        def remember_sni(tls_socket, server_name, ctx) -> None:
            seen[id(tls_socket)] = server_name or ""

        context.sni_callback = remember_sni

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                target.requests += 1
                body = json.dumps({"destination": target.name, "sni": seen.get(id(self.connection), "")}).encode()
                self.wfile.write((f"HTTP/1.1 200 {HTTPStatus.OK.phrase}\r\nContent-Type: application/json\r\n"
                                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)

            def log_message(self, *args) -> None:
                pass

        class TlsServer(LoopbackServer):
            def get_request(self):
                sock, addr = self.socket.accept()
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

            def handle_error(self, request, client_address) -> None:
                pass  # failed handshakes of refused or probing clients are expected

        self._server = TlsServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"



@dataclass
class Attempt:
    name: str
    ok: bool
    answer: dict | None = None
    error: str = ""


def https_get(port: int, name: str, ca_file: str, timeout: float = 5.0) -> Attempt:
    """GET https://<name>/ with the connection made to the egress listener (SNI and Host = name),
    verifying the destination's certificate for that name."""
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    except (OSError, ssl.SSLError) as exc:
        return Attempt(name, False, error=f"{type(exc).__name__}: {exc}"[:160])
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return Attempt(name, False, error=f"unexpected answer: {head[:80]!r}")
    return Attempt(name, True, json.loads(body))
