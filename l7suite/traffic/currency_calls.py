"""gRPC calls to `hipstershop.CurrencyService` (the lab's grpcurl), one at a time or a bounded loop through
Envoy, counted by status code and by the pod that answered (the stand-ins name themselves in the
`x-pod-name` trailing metadata: l7suite/standins/currency_service.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc

from l7suite.protos import hipstershop_pb2, hipstershop_pb2_grpc
from l7suite.standins.currency_service import POD_HEADER
from l7suite.traffic.http_load import even_shares


@dataclass
class Answer:
    """One call as a client sees it."""

    code: str  # grpc.StatusCode name, "OK" on success
    pod: str | None
    headers: dict[str, str]
    currencies: tuple[str, ...] = ()
    details: str = ""


def call_once(target: str, timeout: float = 5.0) -> Answer:
    """One `GetSupportedCurrencies` call over a fresh plaintext channel (grpcurl -plaintext)."""
    with grpc.insecure_channel(target) as channel:
        return _call(hipstershop_pb2_grpc.CurrencyServiceStub(channel), timeout)


def _call(stub, timeout: float) -> Answer:
    try:
        response, call = stub.GetSupportedCurrencies.with_call(hipstershop_pb2.Empty(), timeout=timeout)
    except grpc.RpcError as exc:
        failed = exc if hasattr(exc, "initial_metadata") else None  # a call's error carries its metadata
        headers = dict(failed.initial_metadata() or ()) if failed else {}
        pod = dict(failed.trailing_metadata() or ()).get(POD_HEADER) if failed else None
        return Answer(exc.code().name, pod, headers, details=str(exc.details())[:200])
    headers = {k: v for k, v in call.initial_metadata() if isinstance(v, str)}
    return Answer("OK", dict(call.trailing_metadata()).get(POD_HEADER), headers, tuple(response.currency_codes))


@dataclass
class CallResult:
    calls: int
    concurrency: int
    codes: Counter = field(default_factory=Counter)
    pods: Counter = field(default_factory=Counter)
    servers: Counter = field(default_factory=Counter)  # the `server` response header of each OK call
    duration: float = 0.0

    @property
    def completed(self) -> int:
        return sum(self.codes.values())

    def rps(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    def summary(self) -> dict:
        return {"calls": self.calls, "concurrency": self.concurrency, "duration_s": round(self.duration, 3),
                "codes": dict(self.codes), "pods": dict(self.pods), "server headers": dict(self.servers)}


def run_calls(target: str, calls: int, concurrency: int = 1, timeout: float = 5.0,
              deadline: float = 60.0) -> CallResult:
    """Exactly `calls` calls over `concurrency` workers, each with its own channel (HTTP/2 connection);
    bounded by `deadline` seconds (calls not made by then are counted as code DEADLINE_OF_LOOP)."""
    result = CallResult(calls=calls, concurrency=concurrency)
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline
    shares = even_shares(calls, concurrency)

    def worker(count: int) -> None:
        with grpc.insecure_channel(target) as channel:
            stub = hipstershop_pb2_grpc.CurrencyServiceStub(channel)
            for done in range(count):
                if time.monotonic() > stop_at:
                    with lock:
                        result.codes["DEADLINE_OF_LOOP"] += count - done
                    return
                answer = _call(stub, timeout)
                with lock:
                    result.codes[answer.code] += 1
                    if answer.code == "OK":
                        result.pods[answer.pod or "?"] += 1
                        result.servers[answer.headers.get("server", "(none)")] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True, name=f"grpc-load-{i}")
               for i, n in enumerate(shares) if n]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + timeout + 1)
    result.duration = time.monotonic() - started
    return result
