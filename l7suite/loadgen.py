"""A bounded HTTP request loop (count and deadline), with keep-alive connections, one per worker.

It plays the lab's `curl` loops and `fortio load -c N -n M`: exactly `requests` requests split over
`concurrency` workers, status codes counted, and a caller-supplied key (for example the backend's
hostname prefix) counted per response.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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


def run_requests(url: str, requests: int, concurrency: int = 1, method: str = "GET",
                 host: str | None = None, key: KeyFn | None = None, timeout: float = 5.0,
                 deadline: float = 60.0, headers: dict[str, str] | None = None) -> LoadResult:
    parts = urlsplit(url)
    path = parts.path or "/"
    hostname, port = parts.hostname or "127.0.0.1", parts.port
    result = LoadResult(requests=requests, concurrency=concurrency)
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline
    shares = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]
    send_headers = dict(headers or {})
    if host:
        send_headers["Host"] = host

    def worker(count: int) -> None:
        conn = http.client.HTTPConnection(hostname, port, timeout=timeout)
        try:
            for _ in range(count):
                if time.monotonic() > stop_at:
                    with lock:
                        result.errors["deadline reached"] += 1
                    return
                try:
                    conn.request(method, path, headers=send_headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    hdrs = {k.lower(): v for k, v in resp.getheaders()}
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(hostname, port, timeout=timeout)
                    with lock:
                        result.statuses[0] += 1
                        result.errors[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                    continue
                k = key(resp.status, hdrs, body) if key else None
                with lock:
                    result.statuses[resp.status] += 1
                    result.examples.setdefault(resp.status, Response(resp.status, hdrs, body[:2000]))
                    if k is not None:
                        result.keys[k] += 1
                    if hdrs.get("x-envoy-overloaded") == "true":
                        result.overloaded += 1
                if hdrs.get("connection", "").lower() == "close":
                    conn.close()
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
