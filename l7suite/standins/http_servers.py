"""HTTP servers on loopback that stand in for the scenarios' pods.

A stand-in speaks just the HTTP/1.1 its clients (Envoy, the suite) use: keep-alive requests with a
Content-Length body or none, answered in one write with Nagle off. It parses the request itself instead of
through http.server, whose header parsing (the email package) costs about as much CPU per request as the
rest of the request's trip through Envoy and the client, and the envoy tier sends tens of thousands.
"""

from __future__ import annotations

import json
import selectors
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from typing import Self

MAX_LINE = 65536  # longest request or header line accepted (as http.server's _MAXLINE)
MAX_HEADERS = 100  # as http.client's _MAXHEADERS


class LoopbackServer(socketserver.ThreadingTCPServer):
    """A server of the suite's, one thread per connection, that never holds the suite up on stop()."""

    daemon_threads = True
    block_on_close = False  # keep-alive handler threads must not hold up stop()
    allow_reuse_address = True


def response_bytes(status: int, ctype: str, payload: bytes, close: bool = False) -> bytes:
    """A whole HTTP/1.1 answer with a Content-Length body, written in one go."""
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(payload)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
    return head.encode() + payload


class ServedInThread:
    """start()/stop() of a socketserver (`self._server`) on a thread of its own. stop() wakes the thread at
    once (a socket pair in its selector) instead of waiting out a poll interval."""

    name: str
    _server: socketserver.BaseServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._wake_out, self._wake_in = socket.socketpair()
        self._server.timeout = 0.5  # handle_request() never blocks for long, should a connection vanish
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"{type(self).__name__}-{self.name}")
        self._thread.start()
        return self

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._server, selectors.EVENT_READ)  # type: ignore[arg-type]
            selector.register(self._wake_out, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in selector.select()]
                if self._wake_out in ready:
                    return
                self._server.handle_request()  # readable: accepts and hands the connection to a thread

    def stop(self) -> None:
        if self._thread is not None:
            self._wake_in.send(b"x")
            self._thread.join(5)
            self._thread = None
            self._wake_in.close()
            self._wake_out.close()
        self._server.server_close()


class _Http1Handler(socketserver.StreamRequestHandler):
    """Keep-alive HTTP/1.1 requests on one connection, each answered by `self.server.backend.respond()`."""

    disable_nagle_algorithm = True
    server: _BackendServer

    def handle(self) -> None:
        while self.handle_one():
            pass

    def handle_one(self) -> bool:
        """One request and its answer; False when the connection is done."""
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        parts = line.decode("latin-1").split()
        if len(line) > MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.answer(HTTPStatus.BAD_REQUEST, "text/plain", b"bad request line\n", close=True)
            return False
        method, path, version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip()] = value.strip()
        else:
            self.answer(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "text/plain", b"too many headers\n", close=True)
            return False
        lower = {k.lower(): v for k, v in headers.items()}
        if "transfer-encoding" in lower:  # no client of the suite sends a chunked body
            self.answer(HTTPStatus.NOT_IMPLEMENTED, "text/plain", b"chunked bodies not supported\n", close=True)
            return False
        length = int(lower.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        backend = self.server.backend
        with backend._lock:
            backend.requests += 1
        status, ctype, payload = backend.respond(method, path, headers, body)
        close = lower.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        self.answer(status, ctype, payload, close)
        return not close

    def answer(self, status: int, ctype: str, payload: bytes, close: bool = False) -> None:
        self.wfile.write(response_bytes(status, ctype, payload, close))


class _BackendServer(LoopbackServer):
    def __init__(self, backend: HttpBackend):
        self.backend = backend
        super().__init__(("127.0.0.1", 0), _Http1Handler)


class HttpBackend(ServedInThread):
    """One pod: a name (its hostname) and an HTTP server on 127.0.0.1."""

    def __init__(self, name: str):
        self.name = name
        self.requests = 0
        self._lock = threading.Lock()
        self._server = _BackendServer(self)
        self.host, self.port = "127.0.0.1", int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, str, bytes]:
        raise NotImplementedError


class StarwarsBackend(HttpBackend):
    """quay.io/cilium/starwars: the deathstar API of the Star Wars demo and the lab's exam."""

    def respond(self, method, path, headers, body):
        if method == "POST" and path.startswith("/v1/request-landing"):
            return 200, "text/plain", b"Ship landed\n"
        if method == "PUT" and path.startswith("/v1/exhaust-port"):
            return 503, "text/plain", b"Panic: deathstar exploded\n"
        if method == "GET" and path.rstrip("/") in ("/v1", ""):
            doc = {"name": "Death Star", "hostname": self.name, "model": "DS-1 Orbital Battle Station"}
            return 200, "application/json", json.dumps(doc).encode()
        return 404, "text/plain", b"Not found\n"


class EchoBackend(HttpBackend):
    """quay.io/cilium/json-mock as an echo service: answers every request, after `delay` seconds."""

    def __init__(self, name: str, delay: float = 0.0):
        super().__init__(name)
        self.delay = delay

    def respond(self, method, path, headers, body):
        if self.delay:
            time.sleep(self.delay)
        doc = {"hostname": self.name, "method": method, "path": path, "headers": headers}
        return 200, "application/json", json.dumps(doc).encode()
