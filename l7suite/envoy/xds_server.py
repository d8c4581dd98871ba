"""The suite's own xDS control plane: state-of-the-world ADS over gRPC, as the Cilium agent serves Envoy.

It holds one snapshot of resources per type, versioned by content (an unchanged type keeps its version,
so Envoy is not sent what it already has), answers every subscription on the ADS stream, records every
ACK and NACK per type, and pushes a new snapshot to connected Envoys. It can be stopped and started
again on the same port, to play the agent restarts the DaemonSet mode is meant to survive.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import Message

from l7suite.envoy.resources import CLUSTER, LISTENER, SHORT, TYPE_ORDER

_WAKE = object()  # queued to a stream when the snapshot changed
WILDCARD = (CLUSTER, LISTENER)  # types Envoy subscribes to as a whole; it asks for the others by name


@dataclass(frozen=True)
class XdsEvent:
    """One thing Envoy told the control plane."""

    at: float
    type_url: str
    kind: str  # "ACK" | "NACK"
    version: str  # the version this ACK/NACK answers (the one the server sent with that nonce)
    error: str = ""

    def describe(self) -> str:
        text = f"{SHORT.get(self.type_url, self.type_url)} version {self.version}: {self.kind}"
        return f"{text}: {self.error}" if self.error else text


class XdsNack(RuntimeError):
    def __init__(self, events: list[XdsEvent]):
        self.events = events
        super().__init__("Envoy rejected the configuration (NACK): " + "; ".join(e.describe() for e in events))


class XdsPending(TimeoutError):
    """Envoy neither ACKed nor NACKed some types in time. `unacked`: type -> names Envoy has not acknowledged;
    `unserved`: type -> names Envoy asked for that the snapshot does not hold."""

    def __init__(self, timeout: float, unacked: dict[str, list[str]], unserved: dict[str, list[str]]):
        self.timeout, self.unacked, self.unserved = timeout, unacked, unserved
        names = ", ".join(SHORT.get(t, t) for t in unacked)
        super().__init__(f"Envoy did not acknowledge {names} within {timeout:g}s")


@dataclass(frozen=True)
class Settlement:
    """Where each expected type stands after a wait: NACK events at the wanted version, and types still pending."""

    nacks: list[XdsEvent]
    pending: list[str]


def _version_of(resources: dict[str, AnyMessage]) -> str:
    digest = hashlib.sha256()
    for name in sorted(resources):
        digest.update(name.encode())
        digest.update(resources[name].SerializeToString(deterministic=True))
    return digest.hexdigest()[:12]



class _TypeState:
    def __init__(self) -> None:
        self.names: set[str] = set()  # requested names; empty means wildcard (LDS/CDS)
        self.nonce = ""
        self.sent_version = ""
        self.sent_names: frozenset[str] = frozenset()
        self.acked_nonce = ""
        self.resend = False  # Envoy asked again for what it already ACKed (a warming cluster's EDS)


class AdsServer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self._lock = threading.Condition()
        self._resources: dict[str, dict[str, AnyMessage]] = {}
        self._versions: dict[str, str] = {}
        self._streams: list[queue.Queue] = []
        self._server: grpc.Server | None = None
        self.events: list[XdsEvent] = []
        self.connections = 0  # streams opened since start, for reconnection checks
        # type -> names Envoy asked for in its latest request of that type (empty: wildcard, all of them)
        self.requested: dict[str, set[str]] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> int:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="ads"))
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(self, server)
        bound = server.add_insecure_port(self.address)
        if bound == 0:
            raise RuntimeError(f"xDS server could not bind {self.address}")
        if not self.unix:
            self.port = bound
        server.start()
        self._server = server
        return bound

    def stop(self, grace: float = 0.5) -> None:
        server, self._server = self._server, None
        with self._lock:
            for q in self._streams:
                q.put(None)  # end every open stream
            self._streams.clear()
        if server is not None:
            server.stop(grace).wait(grace + 2)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def unix(self) -> bool:
        """Served on a Unix socket (`host="unix:/path"`): reachable from Envoys in other network namespaces."""
        return self.host.startswith("unix:")

    @property
    def address(self) -> str:
        return self.host if self.unix else f"{self.host}:{self.port}"

    # ---- state -----------------------------------------------------------------------------
    def set_resources(self, resources: dict[str, dict[str, Message]]) -> dict[str, str]:
        """Replace the snapshot; returns the version of every type. Only changed types are pushed."""
        packed: dict[str, dict[str, AnyMessage]] = {}
        for type_url, by_name in resources.items():
            packed[type_url] = {}
            for name, msg in by_name.items():
                any_msg = AnyMessage()
                any_msg.Pack(msg)
                packed[type_url][name] = any_msg
        with self._lock:
            for type_url in set(self._resources) | set(packed):
                self._resources[type_url] = packed.get(type_url, {})
                self._versions[type_url] = _version_of(self._resources[type_url])
            for q in self._streams:
                q.put(_WAKE)
            return dict(self._versions)

    def versions(self) -> dict[str, str]:
        with self._lock:
            return dict(self._versions)

    def nacks(self) -> list[XdsEvent]:
        with self._lock:
            return [e for e in self.events if e.kind == "NACK"]

    def wait_applied(self, versions: dict[str, str], timeout: float = 10.0, expect: set[str] | None = None) -> None:
        """Wait until Envoy ACKed each expected type at the given version: XdsNack at the first NACK of one,
        XdsPending when time runs out (see wait_settled for which types are expected)."""
        settled = self.wait_settled(versions, timeout, expect, stop_at_nack=True)
        if settled.nacks:
            raise XdsNack(settled.nacks)
        if settled.pending:
            raise XdsPending(timeout, self.unacknowledged(settled.pending), self.unserved())

    def wait_settled(self, versions: dict[str, str], timeout: float, expect: set[str] | None = None,
                     stop_at_nack: bool = False) -> Settlement:
        """Wait until each expected type is ACKed or NACKed at its version (or the first NACK, or timeout).

        Expected, unless `expect` names the types: listeners and clusters (Envoy subscribes to all of them),
        then, once those are answered, every other type Envoy has asked for by then. Envoy subscribes to
        routes, endpoints and secrets while it processes the listeners and clusters that use them, before it
        answers for those, and the stream is ordered: types nobody uses are never asked for and not awaited."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                answered = {(e.type_url, e.version) for e in self.events}
                if expect is not None:
                    wanted = {t: v for t, v in versions.items() if t in expect}
                else:
                    wanted = {t: versions[t] for t in WILDCARD if t in versions and self._resources.get(t)}
                    if all((t, v) in answered for t, v in wanted.items()):
                        wanted.update({t: versions[t] for t in self.requested if t not in WILDCARD and t in versions})
                nacked = [e for e in self.events if e.kind == "NACK" and wanted.get(e.type_url) == e.version]
                pending = [t for t, v in wanted.items() if (t, v) not in answered]
                if (nacked and stop_at_nack) or not pending:
                    return Settlement(nacked, pending)
                left = deadline - time.monotonic()
                if left <= 0:
                    return Settlement(nacked, pending)
                self._lock.wait(min(left, 0.2))

    def unacknowledged(self, types: list[str]) -> dict[str, list[str]]:
        """Names of these types Envoy has not acknowledged: all of them for LDS/CDS (wildcard), the requested
        ones that exist for the others (all of them if Envoy never asked for the type)."""
        with self._lock:
            out = {}
            for type_url in types:
                available = set(self._resources.get(type_url, {}))
                asked = self.requested.get(type_url)
                out[type_url] = sorted(available & asked if asked else available)
            return out

    def unserved(self) -> dict[str, list[str]]:
        """Names Envoy asked for (RDS, EDS, SDS) that the snapshot does not hold."""
        with self._lock:
            out = {}
            for type_url, asked in self.requested.items():
                missing = sorted(asked - set(self._resources.get(type_url, {})))
                if missing:
                    out[type_url] = missing
            return out

    def _record(self, event: XdsEvent) -> None:
        with self._lock:
            self.events.append(event)
            self._lock.notify_all()

    # ---- the ADS stream --------------------------------------------------------------------
    def StreamAggregatedResources(self, request_iterator, context) -> Iterator[discovery_pb2.DiscoveryResponse]:
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            self._streams.append(inbox)
            self.connections += 1

        def read() -> None:
            try:
                for request in request_iterator:
                    inbox.put(request)
            except grpc.RpcError:
                pass  # the stream ended (Envoy went away or the server is stopping)
            inbox.put(None)

        threading.Thread(target=read, daemon=True, name="ads-reader").start()
        states: dict[str, _TypeState] = {}
        try:
            while True:
                item = inbox.get()
                if item is None:
                    return
                if item is not _WAKE:
                    self._on_request(item, states)
                for type_url in sorted(states, key=_order):
                    response = self._response_if_due(type_url, states[type_url])
                    if response is not None:
                        yield response
        finally:
            with self._lock:
                if inbox in self._streams:
                    self._streams.remove(inbox)

    def _on_request(self, request: discovery_pb2.DiscoveryRequest, states: dict[str, _TypeState]) -> None:
        state = states.setdefault(request.type_url, _TypeState())
        if request.response_nonce:
            if request.response_nonce != state.nonce:
                return  # an answer to a response that was superseded: ignore, as xDS says
            if request.HasField("error_detail"):
                self._record(XdsEvent(time.time(), request.type_url, "NACK", state.sent_version,
                                      request.error_detail.message.strip()))
            elif state.acked_nonce == state.nonce:
                # The same nonce a second time is no ACK but a new request: a cluster updated over CDS
                # warms with a new EDS subscription and waits (and holds its CDS ACK) until it gets an
                # answer, even an unchanged one.
                state.resend = True
            else:
                state.acked_nonce = state.nonce
                self._record(XdsEvent(time.time(), request.type_url, "ACK", state.sent_version))
        state.names = set(request.resource_names)
        with self._lock:
            self.requested[request.type_url] = set(request.resource_names)

    def _response_if_due(self, type_url: str, state: _TypeState) -> discovery_pb2.DiscoveryResponse | None:
        with self._lock:
            version = self._versions.get(type_url, "")
            available = self._resources.get(type_url, {})
            names = sorted(available) if not state.names else sorted(n for n in state.names if n in available)
            if (state.nonce and version == state.sent_version and frozenset(names) == state.sent_names
                    and not state.resend):
                return None
            state.resend = False
            if not version and not state.nonce:
                version = _version_of({})
            response = discovery_pb2.DiscoveryResponse(
                version_info=version, type_url=type_url, nonce=uuid.uuid4().hex[:16],
                resources=[available[n] for n in names],
            )
            state.nonce, state.sent_version, state.sent_names = response.nonce, version, frozenset(names)
            return response


def _order(type_url: str) -> int:
    return TYPE_ORDER.index(type_url) if type_url in TYPE_ORDER else len(TYPE_ORDER)
