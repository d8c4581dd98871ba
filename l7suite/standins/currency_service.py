"""Stand-in for microservices-demo's currencyservice pods (their clients: l7suite/traffic/currency_calls.py).

Each stand-in is a real gRPC server on 127.0.0.1 implementing `hipstershop.CurrencyService`;
`GetSupportedCurrencies` answers the currency list the lab's grpcurl printed. It names itself in the
answer's trailing metadata (`x-pod-name`), so a client can count which replica answered, and its answers can
be slowed down (`delay`) to play an overloaded replica.

The stand-ins are grpc.aio servers on the process's gRPC loop (l7suite/grpc_loop.py), where the suite's
client also calls from: an answer is written on the thread that reads the call. The pod's name goes with the
status and the answer is serialized once.
"""

from __future__ import annotations

import asyncio

import grpc

from l7suite.grpc_loop import on_loop
from l7suite.protos import hipstershop_pb2

# What `grpcurl ... hipstershop.CurrencyService/GetSupportedCurrencies` printed in the lab (seed 004).
CURRENCIES = ("EUR", "USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK",
              "HRK", "RUB", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR", "ILS", "INR", "KRW", "MXN", "MYR",
              "NZD", "PHP", "SGD", "THB", "ZAR")
SERVICE, METHOD_NAME = "hipstershop.CurrencyService", "GetSupportedCurrencies"
METHOD = f"/{SERVICE}/{METHOD_NAME}"
POD_HEADER = "x-pod-name"
ANSWER = hipstershop_pb2.GetSupportedCurrenciesResponse(currency_codes=CURRENCIES).SerializeToString()


class CurrencyBackend:
    """One currencyservice pod: a gRPC server on 127.0.0.1 (plaintext HTTP/2, as the lab's Service port 7000)."""

    def __init__(self, name: str, delay: float = 0.0):
        self.name = name
        self.delay = delay
        self.requests = 0  # counted on the loop's thread only
        self.host = "127.0.0.1"
        self._trailer = ((POD_HEADER, name),)
        self._server, self.port = on_loop(self._create())
        if not self.port:
            raise RuntimeError(f"stand-in {name}: could not bind a port on {self.host}")

    async def _create(self) -> tuple[grpc.aio.Server, int]:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        # no (de)serializers: the request (hipstershop.Empty) is not read, the answer is ANSWER's bytes
        handler = grpc.unary_unary_rpc_method_handler(self._answer)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD_NAME: handler}),))
        return server, server.add_insecure_port(f"{self.host}:0")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _answer(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        self.requests += 1
        context.set_trailing_metadata(self._trailer)
        if self.delay:
            await asyncio.sleep(self.delay)
        return ANSWER

    def start(self) -> CurrencyBackend:
        on_loop(self._server.start())
        return self

    def stop(self) -> None:
        on_loop(self._server.stop(None))
