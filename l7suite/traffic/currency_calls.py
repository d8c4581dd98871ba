"""gRPC calls to `hipstershop.CurrencyService` (the lab's grpcurl), one at a time or a bounded loop through
Envoy, counted by status code and by the pod that answered (the stand-ins name themselves in the
`x-pod-name` trailing metadata: l7suite/standins/currency_service.py).

The loop's clients are grpc.aio channels on the process's gRPC loop (l7suite/grpc_loop.py), the loop the
stand-ins answer on: why, and what it saves, in that module.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc

from l7suite.grpc_loop import on_loop
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
    return on_loop(_call_once(target, timeout), timeout=timeout + 5)


async def _call_once(target: str, timeout: float) -> Answer:
    async with grpc.aio.insecure_channel(target) as channel:
        return await _call_on_loop(hipstershop_pb2_grpc.CurrencyServiceStub(channel).GetSupportedCurrencies, timeout)


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
    """Exactly `calls` calls over `concurrency` clients, each with its own channel (HTTP/2 connection) and one
    call in flight at a time; bounded by `deadline` seconds (calls not made by then are counted as code
    DEADLINE_OF_LOOP)."""
    result = CallResult(calls=calls, concurrency=concurrency)
    started = time.monotonic()
    on_loop(_calls(target, result, even_shares(calls, concurrency), timeout, started + deadline),
            timeout=deadline + timeout + 5)
    result.duration = time.monotonic() - started
    return result


async def _calls(target: str, result: CallResult, shares: list[int], timeout: float, stop_at: float) -> None:
    async def client(count: int) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            method = hipstershop_pb2_grpc.CurrencyServiceStub(channel).GetSupportedCurrencies
            for done in range(count):
                if time.monotonic() > stop_at:
                    result.codes["DEADLINE_OF_LOOP"] += count - done
                    return
                answer = await _call_on_loop(method, timeout)
                result.codes[answer.code] += 1  # one thread, the loop's: no lock
                if answer.code == "OK":
                    result.pods[answer.pod or "?"] += 1
                    result.servers[answer.headers.get("server", "(none)")] += 1

    await asyncio.gather(*(client(n) for n in shares if n))


async def _call_on_loop(method, timeout: float) -> Answer:
    call = method(hipstershop_pb2.Empty(), timeout=timeout)
    try:
        response = await call
    except grpc.aio.AioRpcError as exc:
        pod = dict(exc.trailing_metadata() or ()).get(POD_HEADER)
        return Answer(exc.code().name, pod, dict(exc.initial_metadata() or ()), details=str(exc.details())[:200])
    headers = {k: v for k, v in await call.initial_metadata() if isinstance(v, str)}
    trailers = dict(await call.trailing_metadata())
    return Answer("OK", trailers.get(POD_HEADER), headers, tuple(response.currency_codes))
