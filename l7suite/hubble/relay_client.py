"""Hubble Relay's `observer.Observer/GetFlows` over gRPC (plaintext, as Relay serves on its Service port).

The caller provides the target (a port-forward to `svc/hubble-relay` in kube-system, port 80 -> 4245).
Every call has a deadline: a follow stream ends when the deadline passes, never hangs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from l7suite.protos.hubble_min_pb2 import Flow, FlowFilter, GetFlowsRequest, GetFlowsResponse
from l7suite.protos.hubble_min_pb2_grpc import ObserverStub


@dataclass(frozen=True)
class FlowQuery:
    """What to ask for: flows of a namespace (either end), since a time, optionally followed."""

    namespace: str = ""
    since: float | None = None  # unix seconds
    follow: bool = False
    number: int = 0

    def request(self) -> GetFlowsRequest:
        request = GetFlowsRequest(follow=self.follow, number=self.number)
        if self.namespace:
            # whitelist filters are ORed: a flow matches if either end is in the namespace
            request.whitelist.append(FlowFilter(source_pod=[f"{self.namespace}/"]))
            request.whitelist.append(FlowFilter(destination_pod=[f"{self.namespace}/"]))
        if self.since is not None:
            stamp = Timestamp()
            stamp.FromNanoseconds(int(self.since * 1e9))
            request.since.CopyFrom(stamp)
        return request


class HubbleUnavailable(RuntimeError):
    """No answer from Hubble Relay; the message names the target (`label`) and the deadline."""


class HubbleClient:
    def __init__(self, target: str, label: str = ""):
        self.target = target
        # what the target is, for messages (e.g. "Hubble Relay svc/hubble-relay:80 via port-forward ...")
        self.label = label or f"Hubble Relay at {target}"
        self._channel = grpc.insecure_channel(target)
        self._stub = ObserverStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> HubbleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def responses(self, query: FlowQuery, timeout: float) -> Iterator[GetFlowsResponse]:
        """Stream responses until the server ends the stream or `timeout` seconds pass."""
        call = self._stub.GetFlows(query.request(), timeout=timeout)
        try:
            yield from call
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # a follow stream ends this way
                raise HubbleUnavailable(f"{self.label}: GetFlows failed: {exc.code().name}: {exc.details()}") from None
        finally:
            call.cancel()

    def flows(self, query: FlowQuery, timeout: float) -> list[Flow]:
        return [r.flow for r in self.responses(query, timeout) if r.WhichOneof("response_types") == "flow"]

    def wait_ready(self, timeout: float) -> None:
        """Wait until the channel connects (Relay may still be starting behind the port-forward)."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:  # its message is empty: say what did not answer
            raise HubbleUnavailable(f"{self.label}: no gRPC connection within {timeout:g}s") from None
