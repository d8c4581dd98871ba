"""HTTP servers on loopback that stand in for the scenarios' pods.

Responses leave in one write with Nagle off: Python's http.server otherwise writes headers and body
separately and waits for the delayed ACK, which caps a keep-alive loop at about 28 requests/s.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive handler threads must not hold up stop()
    allow_reuse_address = True


class ServedInThread:
    """start()/stop() of an http.server (`self._server`) on a thread of its own."""

    name: str
    _server: ThreadingHTTPServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"{type(self).__name__}-{self.name}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()


class HttpBackend(ServedInThread):
    """One pod: a name (its hostname) and an HTTP server on 127.0.0.1."""

    kind = "http"

    def __init__(self, name: str):
        self.name = name
        self.requests = 0
        self._lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with backend._lock:
                    backend.requests += 1
                status, ctype, payload = backend.respond(self.command, self.path, dict(self.headers), body)
                head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                        f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
                self.wfile.write(head + payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.host, self.port = "127.0.0.1", int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, str, bytes]:
        raise NotImplementedError



class StarwarsBackend(HttpBackend):
    """quay.io/cilium/starwars: the deathstar API of the Star Wars demo and the lab's exam."""

    kind = "starwars"

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

    kind = "echo"

    def __init__(self, name: str, delay: float = 0.0):
        super().__init__(name)
        self.delay = delay

    def respond(self, method, path, headers, body):
        if self.delay:
            time.sleep(self.delay)
        doc = {"hostname": self.name, "method": method, "path": path, "headers": headers}
        return 200, "application/json", json.dumps(doc).encode()
