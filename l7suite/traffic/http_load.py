"""The suite's HTTP load: `workers` keep-alive connections sending one prepared request until a budget is
spent, with a record per request. Two uses:

- a fixed count, `run_requests` (the lab's `curl` loops and `fortio load -c N -n M`): exactly `requests`
  requests split evenly over `concurrency` connections (each sends its own share, as fortio's do: a
  connection that gets fast 503s does not take requests from one waiting for a slow 200), counted by
  status and by a key of the answer (the answering pod);
- a steady background loop, `HttpLoad` in a `with` block, for checks made *while* something changes (an xDS
  update, the control plane going away): each record keeps when the request was sent and answered, so a
  test can look at the requests before, during and after an event. It runs as fast as the workers go, or
  at most at `pace(rate)` requests per second while a test only waits for something else (traffic keeps
  flowing without a core spent on it).

Both are bounded in count and time: a load stops at `max_requests`, at `max_seconds`, or when stopped,
whichever comes first.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from l7suite.lifecycle import StartedInWith
from l7suite.traffic.http1_client import Http1Connection, request_bytes

KeyFn = Callable[[int, bytes], str | None]  # (status, body) -> what to count the answer as, e.g. its pod


def even_shares(total: int, workers: int) -> list[int]:
    """`total` split over `workers` as fortio splits `-n` over `-c`: the first `total % workers` get one more."""
    return [total // workers + (1 if i < total % workers else 0) for i in range(workers)]


@dataclass(frozen=True)
class Record:
    sent: float  # time.monotonic()
    answered: float
    status: int  # 0 = transport error
    key: str | None  # e.g. the answering pod's hostname
    error: str = ""
    overloaded: bool = False  # the answer carried x-envoy-overloaded (circuit breaker / overflow)


class HttpLoad(StartedInWith):
    def __init__(self, url: str, key: KeyFn | None = None, host: str | None = None, workers: int = 2,
                 max_requests: int = 20000, max_seconds: float = 60.0, timeout: float = 5.0,
                 method: str = "GET", headers: dict[str, str] | None = None, even_split: bool = False):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.method = method
        self.request = request_bytes(method, self.path, f"{self.host}:{self.port}",
                                     {**(headers or {}), **({"Host": host} if host else {})})
        self.key = key
        self.workers = workers
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.records: list[Record] = []
        self.out_of_time = 0  # workers that stopped because max_seconds had passed
        self._claimed = 0  # requests a worker has started (at most max_requests)
        # even_split: requests each worker may still start (its own share of max_requests); else one budget
        self._quotas = even_shares(max_requests, workers) if even_split else None
        self._lock = threading.Condition()
        # A waiter (wait_for) is woken once this many records exist, not on every request: each wake-up is a
        # thread switch, and a loop answers thousands of requests per second.
        self._wake_at = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0
        self.stopped = 0.0
        self.rate: float | None = None  # requests per second over all workers; None: as fast as they go

    def pace(self, rate: float | None) -> None:
        """From now on send at most `rate` requests per second (over all workers); None: as fast as they go."""
        self.rate = rate

    def start(self) -> None:
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._worker, args=(i,), daemon=True, name=f"http-load-{i}")
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()

    def finish(self) -> list[Record]:
        """Wait for the budget to be spent (every request sent and answered, or max_seconds), then stop."""
        for t in self._threads:
            t.join(max(0.0, self.started + self.max_seconds - time.monotonic()) + self.timeout)
        return self.stop()

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
        return not self._stop.is_set() and self._claimed < self.max_requests and not self._out_of_time()

    def _out_of_time(self) -> bool:
        return time.monotonic() - self.started >= self.max_seconds

    def _claim(self, worker: int) -> bool:
        """Take one request of the budget for this worker; False when the budget (or its share) is spent."""
        with self._lock:
            share_left = self._quotas is None or self._quotas[worker] > 0
            if share_left and self._budget_left():
                self._claimed += 1
                if self._quotas is not None:
                    self._quotas[worker] -= 1
                return True
            if share_left and self._out_of_time() and not self._stop.is_set() and self._claimed < self.max_requests:
                self.out_of_time += 1
            return False

    def _worker(self, index: int) -> None:
        conn = Http1Connection(self.host, self.port, timeout=self.timeout)
        try:
            while self._claim(index):
                sent = time.monotonic()
                try:
                    status, headers, body = conn.request(self.request, head=self.method == "HEAD")
                    record = Record(sent, time.monotonic(), status, self.key(status, body) if self.key else None,
                                    overloaded=headers.get("x-envoy-overloaded") == "true")
                except (OSError, http.client.HTTPException) as exc:
                    record = Record(sent, time.monotonic(), 0, None, f"{type(exc).__name__}: {exc}"[:120])
                with self._lock:
                    self.records.append(record)
                    if len(self.records) >= self._wake_at:
                        self._lock.notify_all()
                rate = self.rate
                if rate:
                    self._stop.wait(max(0.0, sent + self.workers / rate - time.monotonic()))
        finally:
            conn.close()

    # ---- waiting and reading ----------------------------------------------------------------
    def wait_for(self, count: int, sent_after: float = 0.0, timeout: float = 30.0) -> int:
        """Wait until `count` requests sent after `sent_after` were answered; return how many there are.
        Raises TimeoutError if the loop does not get there in time (or ran out of its own budget). One waiter
        at a time (the test's thread)."""
        deadline = time.monotonic() + timeout
        done = seen = 0  # counted incrementally, over the records appended since the last look
        with self._lock:
            try:
                while True:
                    done += sum(1 for r in self.records[seen:] if r.sent >= sent_after)
                    seen = len(self.records)
                    if done >= count:
                        return done
                    left = deadline - time.monotonic()
                    if left <= 0 or (not self._budget_left() and not any(t.is_alive() for t in self._threads)):
                        raise TimeoutError(f"request loop: {done}/{count} answers after t={sent_after:.3f} "
                                           f"within {timeout:.0f}s ({len(self.records)} in all)")
                    # each new record adds at most one: no point in looking before count - done more came
                    self._wake_at = seen + count - done
                    self._lock.wait(min(left, 0.2))
            finally:
                self._wake_at = 0

    def rps(self) -> float:
        end = self.stopped or time.monotonic()
        return len(self.records) / (end - self.started) if end > self.started else 0.0


@dataclass
class LoadResult:
    """What a fixed-count load got, as fortio reports it."""

    requests: int
    concurrency: int
    statuses: Counter = field(default_factory=Counter)  # int status -> count; 0 = transport error
    keys: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    overloaded: int = 0  # responses carrying x-envoy-overloaded (circuit breaker / overflow)
    duration: float = 0.0

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

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
    """Exactly `requests` requests over `concurrency` keep-alive connections (fewer if `deadline` passes)."""
    load = HttpLoad(url, key, host, workers=concurrency, max_requests=requests, max_seconds=deadline,
                    timeout=timeout, method=method, headers=headers, even_split=True)
    load.start()
    records = load.finish()
    result = LoadResult(requests, concurrency, duration=load.stopped - load.started)
    for record in records:
        result.statuses[record.status] += 1
        if record.key is not None:
            result.keys[record.key] += 1
        if record.error:
            result.errors[record.error] += 1
        result.overloaded += record.overloaded
    if load.out_of_time:
        result.errors["deadline reached"] += load.out_of_time
    return result


def failures(records: list[Record]) -> list[Record]:
    return [r for r in records if not 200 <= r.status < 300]


def summarize(records: list[Record]) -> dict:
    statuses = Counter(r.status for r in records)
    errors = Counter(r.error for r in records if r.error)
    return {"requests": len(records), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": dict(errors.most_common(5))}
