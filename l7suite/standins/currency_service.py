"""Stand-in for microservices-demo's currencyservice pods (their clients: l7suite/traffic/currency_calls.py).

Each stand-in is a real gRPC server on 127.0.0.1 implementing `hipstershop.CurrencyService`;
`GetSupportedCurrencies` answers the currency list the lab's grpcurl printed. It names itself in the
response's initial metadata (`x-pod-name`), so a client can count which replica answered, and its
answers can be slowed down (`delay`) to play an overloaded replica.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc

from l7suite.protos import hipstershop_pb2, hipstershop_pb2_grpc

# What `grpcurl ... hipstershop.CurrencyService/GetSupportedCurrencies` printed in the lab (seed 004).
CURRENCIES = ("EUR", "USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK",
              "HRK", "RUB", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR", "ILS", "INR", "KRW", "MXN", "MYR",
              "NZD", "PHP", "SGD", "THB", "ZAR")
METHOD = "/hipstershop.CurrencyService/GetSupportedCurrencies"
POD_HEADER = "x-pod-name"


class CurrencyBackend(hipstershop_pb2_grpc.CurrencyServiceServicer):
    """One currencyservice pod: a gRPC server on 127.0.0.1 (plaintext HTTP/2, as the lab's Service port 7000)."""

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
