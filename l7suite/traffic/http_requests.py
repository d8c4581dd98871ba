"""A bounded HTTP request loop (count and deadline), with keep-alive connections, one per worker.

It plays the lab's `curl` loops and `fortio load -c N -n M`: exactly `requests` requests split over
`concurrency` workers, status codes counted, and a caller-supplied key (for example the backend's
hostname prefix) counted per response.

The connections are `Http1Connection`s: a keep-alive HTTP/1.1 client that sends a request prepared once
and reads the answer (Content-Length, chunked or close-delimited body) with a few string operations.
http.client parses every answer's headers with the email package, which cost more CPU than Envoy spent
on the request; errors are still http.client's exception types, so they read the same.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 65536  # bytes of status line and headers accepted in one answer

KeyFn = Callable[[int, dict[str, str], bytes], str | None]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    statuses: Counter = field(default_factory=Counter)  # int status -> count; 0 = transport error
    keys: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    overloaded: int = 0  # responses carrying x-envoy-overloaded (circuit breaker / overflow)
    duration: float = 0.0
    examples: dict[int, Response] = field(default_factory=dict)  # first response per status

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return sum(c for s, c in self.statuses.items() if not 200 <= s < 300)

    def rps(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    def summary(self) -> dict:
        """What fortio prints: codes with percentages, plus keys and errors."""
        total = self.completed or 1
        return {
            "requests": self.requests, "concurrency": self.concurrency, "duration_s": round(self.duration, 3),
            "codes": {str(s): f"{c} ({c / total:.1%})" for s, c in sorted(self.statuses.items())},
            "keys": dict(self.keys), "errors": dict(self.errors), "overloaded": self.overloaded,
        }


def request_bytes(method: str, path: str, host: str, headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request without a body, with the headers http.client would send (Host, Accept-Encoding
    identity, Content-Length 0 for methods that expect a body) and the caller's."""
    extra = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    lines = [f"{method} {path} HTTP/1.1", f"Host: {(headers or {}).get('Host', host)}", "Accept-Encoding: identity",
             *(["Content-Length: 0"] if method in ("POST", "PUT", "PATCH") else []),
             *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Http1Connection:
    """One keep-alive HTTP/1.1 client connection, opened on the first request and again after the server
    closed it (`Connection: close`, or an error: the caller decides whether to go on)."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def request(self, data: bytes, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        """Send one prepared request (`request_bytes`); the answer's status, headers (lower-case names) and
        body. OSError or http.client.HTTPException (the connection is then closed)."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=self.timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(data)
            while True:
                status, headers, version = self._head()
                if status >= 200:
                    break  # 1xx answers precede the real one
            if head or status in (204, 304):
                body = b""
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = self._chunked()
            elif "content-length" in headers:
                body = self._exactly(int(headers["content-length"]))
            else:
                body = self._until_close()
            if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
                self.close()
            return status, headers, body
        except BaseException:
            self.close()
            raise

    def _fill(self, first: bool = False) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            if first:
                raise http.client.RemoteDisconnected("Remote end closed connection without response")
            raise http.client.IncompleteRead(self.buffer)
        self.buffer += chunk

    def _head(self) -> tuple[int, dict[str, str], str]:
        first = True
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise http.client.LineTooLong("status line and headers")
            self._fill(first and not self.buffer)
            first = False
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4:]
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise http.client.BadStatusLine(lines[0])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(rest[:3]), headers, version

    def _exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill()
        line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
        return line

    def _chunked(self) -> bytes:
        parts = []
        while size := int(self._line().split(b";", 1)[0], 16):
            parts.append(self._exactly(size))
            self._line()
        while self._line():  # trailers, up to the empty line
            pass
        return b"".join(parts)

    def _until_close(self) -> bytes:
        assert self.sock is not None
        while chunk := self.sock.recv(65536):
            self.buffer += chunk
        body = self.buffer
        self.close()
        return body


def run_requests(url: str, requests: int, concurrency: int = 1, method: str = "GET",
                 host: str | None = None, key: KeyFn | None = None, timeout: float = 5.0,
                 deadline: float = 60.0, headers: dict[str, str] | None = None) -> LoadResult:
    parts = urlsplit(url)
    hostname, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = LoadResult(requests=requests, concurrency=concurrency)
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline
    shares = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]
    send_headers = dict(headers or {})
    if host:
        send_headers["Host"] = host
    data = request_bytes(method, parts.path or "/", f"{hostname}:{port}", send_headers)

    def worker(count: int) -> None:
        conn = Http1Connection(hostname, port, timeout=timeout)
        try:
            for _ in range(count):
                if time.monotonic() > stop_at:
                    with lock:
                        result.errors["deadline reached"] += 1
                    return
                try:
                    status, hdrs, body = conn.request(data, head=method == "HEAD")
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        result.statuses[0] += 1
                        result.errors[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                    continue
                k = key(status, hdrs, body) if key else None
                with lock:
                    result.statuses[status] += 1
                    result.examples.setdefault(status, Response(status, hdrs, body[:2000]))
                    if k is not None:
                        result.keys[k] += 1
                    if hdrs.get("x-envoy-overloaded") == "true":
                        result.overloaded += 1
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in shares if n]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + timeout)
    result.duration = time.monotonic() - started
    return result
