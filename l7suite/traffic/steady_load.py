"""A steady background request loop with a record per request, for checks made *while* something changes
(an xDS update, the control plane going away).

Bounded in count and time: it stops at `max_requests`, at `max_seconds`, or when stopped, whichever comes
first. Each record keeps when the request was sent and answered, so a test can look at the requests
before, during and after an event. It runs as fast as the workers go, or at most at `pace(rate)`
requests per second while a test only waits for something else (traffic keeps flowing without a core
spent on it).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from l7suite.traffic.http_requests import Http1Connection, request_bytes


@dataclass(frozen=True)
class Record:
    sent: float  # time.monotonic()
    answered: float
    status: int  # 0 = transport error
    key: str | None  # e.g. the answering pod's hostname
    error: str = ""


class SteadyLoad:
    def __init__(self, url: str, key: Callable[[int, bytes], str | None] | None = None, host: str | None = None,
                 workers: int = 2, max_requests: int = 20000, max_seconds: float = 60.0, timeout: float = 5.0):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.request = request_bytes("GET", self.path, f"{self.host}:{self.port}", {"Host": host} if host else {})
        self.key = key
        self.workers = workers
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.records: list[Record] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0
        self.stopped = 0.0
        self.rate: float | None = None  # requests per second over all workers; None: as fast as they go

    def pace(self, rate: float | None) -> None:
        """From now on send at most `rate` requests per second (over all workers); None: as fast as they go."""
        self.rate = rate

    def __enter__(self) -> SteadyLoad:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._worker, daemon=True, name=f"steady-{i}")
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()

    def stop(self) -> list[Record]:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 2)
        self._threads = []
        if not self.stopped:
            self.stopped = time.monotonic()
        with self._lock:
            return list(self.records)

    def _budget_left(self) -> bool:
        return (not self._stop.is_set() and len(self.records) < self.max_requests
                and time.monotonic() - self.started < self.max_seconds)

    def _worker(self) -> None:
        conn = Http1Connection(self.host, self.port, timeout=self.timeout)
        try:
            while True:
                with self._lock:
                    if not self._budget_left():
                        return
                sent = time.monotonic()
                try:
                    status, _, body = conn.request(self.request)
                    record = Record(sent, time.monotonic(), status, self.key(status, body) if self.key else None)
                except (OSError, http.client.HTTPException) as exc:
                    record = Record(sent, time.monotonic(), 0, None, f"{type(exc).__name__}: {exc}"[:120])
                with self._lock:
                    self.records.append(record)
                    self._lock.notify_all()
                rate = self.rate
                if rate:
                    self._stop.wait(max(0.0, sent + self.workers / rate - time.monotonic()))
        finally:
            conn.close()

    # ---- waiting and reading ----------------------------------------------------------------
    def wait_for(self, count: int, sent_after: float = 0.0, timeout: float = 30.0) -> int:
        """Wait until `count` requests sent after `sent_after` were answered; return how many there are.
        Raises TimeoutError if the loop does not get there in time (or ran out of its own budget)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                done = sum(1 for r in self.records if r.sent >= sent_after)
                if done >= count:
                    return done
                left = deadline - time.monotonic()
                if left <= 0 or (not self._budget_left() and not any(t.is_alive() for t in self._threads)):
                    raise TimeoutError(f"request loop: {done}/{count} answers after t={sent_after:.3f} "
                                       f"within {timeout:.0f}s ({len(self.records)} in all)")
                self._lock.wait(min(left, 0.2))

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def rps(self) -> float:
        end = self.stopped or time.monotonic()
        return len(self.records) / (end - self.started) if end > self.started else 0.0


def failures(records: list[Record]) -> list[Record]:
    return [r for r in records if not 200 <= r.status < 300]


def summarize(records: list[Record]) -> dict:
    statuses = Counter(r.status for r in records)
    errors = Counter(r.error for r in records if r.error)
    return {"requests": len(records), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": dict(errors.most_common(5))}
