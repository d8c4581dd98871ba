"""Stand-in for microservices-demo's currencyservice pods, and a bounded gRPC call loop through Envoy.

Each stand-in is a real gRPC server on 127.0.0.1 implementing `hipstershop.CurrencyService`;
`GetSupportedCurrencies` answers the currency list the lab's grpcurl printed. It names itself in the
response's initial metadata (`x-pod-name`), so a client can count which replica answered, and its
answers can be slowed down (`delay`) to play an overloaded replica.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from l7suite.protos import hipstershop_pb2, hipstershop_pb2_grpc

# What `grpcurl ... hipstershop.CurrencyService/GetSupportedCurrencies` printed in the lab (seed 004).
CURRENCIES = ("EUR", "USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK",
              "HRK", "RUB", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR", "ILS", "INR", "KRW", "MXN", "MYR",
              "NZD", "PHP", "SGD", "THB", "ZAR")
METHOD = "/hipstershop.CurrencyService/GetSupportedCurrencies"
POD_HEADER = "x-pod-name"
# Image repositories whose pods this stand-in plays (the lab's tag, and where newer tags live).
IMAGE_REPOSITORIES = ("gcr.io/google-samples/microservices-demo/currencyservice",
                      "us-central1-docker.pkg.dev/google-samples/microservices-demo/currencyservice")


class CurrencyBackend(hipstershop_pb2_grpc.CurrencyServiceServicer):
    """One currencyservice pod: a gRPC server on 127.0.0.1 (plaintext HTTP/2, as the lab's Service port 7000)."""

    kind = "grpc-currency"

    def __init__(self, name: str, delay: float = 0.0, workers: int = 32):
        self.name = name
        self.delay = delay
        self.requests = 0
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"cur-{name}"),
                                   options=[("grpc.so_reuseport", 0)])
        hipstershop_pb2_grpc.add_CurrencyServiceServicer_to_server(self, self._server)
        self.host = "127.0.0.1"
        self.port = self._server.add_insecure_port(f"{self.host}:0")
        if not self.port:
            raise RuntimeError(f"stand-in {name}: could not bind a port on {self.host}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def GetSupportedCurrencies(self, request, context):  # noqa: N802 (gRPC method name)
        with self._lock:
            self.requests += 1
        context.send_initial_metadata(((POD_HEADER, self.name),))
        if self.delay:
            time.sleep(self.delay)
        return hipstershop_pb2.GetSupportedCurrenciesResponse(currency_codes=list(CURRENCIES))

    def start(self) -> CurrencyBackend:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)


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
        headers = dict(exc.initial_metadata() or ()) if hasattr(exc, "initial_metadata") else {}
        return Answer(exc.code().name, headers.get(POD_HEADER), headers, details=str(exc.details())[:200])
    headers = {k: v for k, v in call.initial_metadata() if isinstance(v, str)}
    return Answer("OK", headers.get(POD_HEADER), headers, tuple(response.currency_codes))


@dataclass
class CallResult:
    calls: int
    concurrency: int
    codes: Counter = field(default_factory=Counter)
    pods: Counter = field(default_factory=Counter)
    servers: Counter = field(default_factory=Counter)  # the `server` response header of each OK call
    duration: float = 0.0
    examples: dict[str, Answer] = field(default_factory=dict)

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
    shares = [calls // concurrency + (1 if i < calls % concurrency else 0) for i in range(concurrency)]

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
                    result.examples.setdefault(answer.code, answer)
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
