"""External destinations played locally: a name of "the internet" (`api.github.com`) as an HTTP or HTTPS
server that answers every GET with JSON naming the destination it plays, then closes the connection.

A client that gets `{"destination": "<name>", ...}` knows its request reached that destination, whatever
proxies and tunnels were in between. Over HTTPS (`certificate`), the answer also carries the SNI the client
sent, and a client that verifies the certificate proves it reached the name it asked for. `enter` creates
the listening socket elsewhere (inside a network namespace: NetNamespace.entered); the socket stays there.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from http.server import BaseHTTPRequestHandler
from typing import Any

from l7suite.standins.http_servers import LoopbackServer, ServedInThread, response_bytes
from l7suite.standins.tls_certs import Certificate


class Destination(ServedInThread):
    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0, certificate: Certificate | None = None,
                 enter: Callable[[], AbstractContextManager] | None = None):
        self.name = name
        self.requests = 0
        self.context: ssl.SSLContext | None = None
        self._sni: dict[int, str] = {}  # id(TLS socket) -> the SNI its client sent
        if certificate is not None:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(certificate.cert, certificate.key)
            self.context.sni_callback = self._remember_sni
        with enter() if enter else nullcontext():
            self._server = _DestinationServer(self, (host, port))
        self.host, self.port = host, int(self._server.server_address[1])
        self.address = f"{self.host}:{self.port}"

    def _remember_sni(self, tls_socket: Any, server_name: str | None, context: ssl.SSLContext) -> None:
        self._sni[id(tls_socket)] = server_name or ""

    def answer(self, request: BaseHTTPRequestHandler) -> dict[str, str]:
        if self.context is not None:
            return {"destination": self.name, "sni": self._sni.get(id(request.connection), "")}
        return {"destination": self.name, "host": request.headers.get("Host", ""), "path": request.path}


class _DestinationServer(LoopbackServer):
    def __init__(self, destination: Destination, address: tuple[str, int]):
        self.destination = destination
        super().__init__(address, _DestinationHandler)

    def get_request(self):
        sock, addr = self.socket.accept()
        context = self.destination.context
        if context is None:
            return sock, addr
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address) -> None:
        if self.destination.context is None:
            super().handle_error(request, client_address)
        # else: failed handshakes of refused or probing clients are expected


class _DestinationHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _DestinationServer

    def do_GET(self) -> None:  # noqa: N802
        destination = self.server.destination
        destination.requests += 1
        body = json.dumps(destination.answer(self)).encode()
        self.wfile.write(response_bytes(200, "application/json", body, close=True))
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass
