"""A keep-alive HTTP/1.1 client connection for the suite's own requests, and one-off JSON GETs with it.

`Http1Connection` sends a request prepared once (`request_bytes`) and reads the answer (Content-Length,
chunked or close-delimited body) with a few string operations. http.client parses every answer's headers
with the email package, which cost more CPU than Envoy spent on the request; errors are still http.client's
exception types, so they read the same.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

MAX_HEAD = 65536  # bytes of status line and headers accepted in one answer


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

    def __init__(self, host: str = "", port: int = 0, timeout: float = 5.0,
                 connect: Callable[[], socket.socket] | None = None):
        self.address = (host, port)
        self.timeout = timeout
        # opens the connection, when it is not a plain TCP one to (host, port): from a network namespace,
        # over TLS
        self.connect = connect
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
                self.sock = self.connect() if self.connect else socket.create_connection(self.address, self.timeout)
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


def get_once(connect: Callable[[], socket.socket], host: str, path: str = "/") -> tuple[int, bytes]:
    """One GET (Host `host`, `Connection: close`) on a connection `connect()` opens: status and body.
    OSError or http.client.HTTPException if there is no complete answer."""
    conn = Http1Connection(connect=connect)
    try:
        status, _, body = conn.request(request_bytes("GET", path, host, {"Connection": "close"}))
    finally:
        conn.close()
    return status, body


@dataclass
class Fetch:
    """What a one-off GET of a JSON answer got (`fetch_json`): ok for a 200 with a JSON body."""

    name: str  # the name asked for (Host; over TLS also the SNI)
    dialed: str  # the address the connection was made to
    ok: bool
    status: int = 0
    answer: dict | None = None
    error: str = ""


def fetch_json(name: str, dialed: str, connect: Callable[[], socket.socket], path: str = "/") -> Fetch:
    """GET `path` with Host `name` on a connection `connect()` opens to `dialed`; never raises for what the
    network or the server did (the Fetch says it)."""
    try:
        status, body = get_once(connect, name, path)
    except (OSError, http.client.HTTPException) as exc:
        return Fetch(name, dialed, False, error=f"{type(exc).__name__}: {exc}"[:160])
    if status != 200:
        return Fetch(name, dialed, False, status, error=f"answer: HTTP {status} {body[:80]!r}")
    try:
        answer = json.loads(body)
    except ValueError:
        return Fetch(name, dialed, False, status, error=f"answer is not JSON: {body[:80]!r}")
    return Fetch(name, dialed, True, status, answer)
