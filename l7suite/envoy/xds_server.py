"""The suite's own xDS control plane: state-of-the-world ADS over gRPC, as the Cilium agent serves Envoy.

It holds one snapshot of resources per type, versioned by content (an unchanged type keeps its version,
so Envoy is not sent what it already has), answers every subscription on the ADS stream, records every
ACK and NACK per type, and pushes a new snapshot to connected Envoys. It can be stopped and started
again on the same port, to play the agent restarts the DaemonSet mode is meant to survive.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import Message

from l7suite.envoy.ads_stream import AdsStream, content_version
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER
from l7suite.envoy.xds_events import Settlement, XdsEvent, XdsNack, XdsPending

_WAKE = object()  # queued to a stream when the snapshot changed
WILDCARD = (CLUSTER, LISTENER)  # types Envoy subscribes to as a whole; it asks for the others by name
# How long a starting Envoy's cluster waits at least for the endpoints it asked for, and so how long Envoy asks
# for no listener, when nobody serves them: Envoy's default ConfigSource.initial_fetch_timeout
# (config_source.proto); clusters translated from a CEC get the agent's 30 s (l7suite/cilium/cec_resources.py).
INITIAL_FETCH_TIMEOUT = 15.0


def ads_config_source(source: Message) -> None:
    """Point a ConfigSource at the ADS stream (xDS v3), as the agent's CiliumXDSConfigSource points at its own."""
    source.ads.SetInParent()
    source.resource_api_version = 2  # V3


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
                self._versions[type_url] = content_version(self._resources[type_url])
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
        answers for those, and the stream is ordered: types nobody uses are never asked for and not awaited.

        Called as Envoy starts, with a timeout under INITIAL_FETCH_TIMEOUT, it returns as soon as the pending
        types cannot be answered before the timeout (`_startup_stuck`), not at the timeout: the same result."""
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
                if timeout < INITIAL_FETCH_TIMEOUT and CLUSTER not in pending and self._startup_stuck():
                    return Settlement(nacked, pending)
                left = deadline - time.monotonic()
                if left <= 0:
                    return Settlement(nacked, pending)
                self._lock.wait(min(left, 0.2))

    def _startup_stuck(self) -> bool:
        """Envoy's start-up waits for endpoints (EDS) that the snapshot does not hold, and Envoy has not asked
        for listeners: it asks for them only once every cluster has its endpoints, and a cluster waits for
        them at least INITIAL_FETCH_TIMEOUT. Until then no listener can be ACKed or NACKed (the caller holds the lock;
        the clusters were answered, so no NACK of theirs is still to come)."""
        asked = self.requested.get(ENDPOINTS, set())
        return LISTENER not in self.requested and bool(asked - set(self._resources.get(ENDPOINTS, {})))

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
        stream = self.new_stream()
        try:
            while True:
                item = inbox.get()
                if item is None:
                    return
                if item is not _WAKE:
                    stream.on_request(item)
                yield from stream.responses_due()
        finally:
            with self._lock:
                if inbox in self._streams:
                    self._streams.remove(inbox)

    def new_stream(self) -> AdsStream:
        """The protocol state of one more ADS stream of this server's (StreamAggregatedResources' own)."""
        return AdsStream(self._snapshot, self._record, self._note_request)

    def _snapshot(self, type_url: str) -> tuple[str, dict[str, AnyMessage]]:
        with self._lock:
            return self._versions.get(type_url, ""), dict(self._resources.get(type_url, {}))

    def _note_request(self, type_url: str, names: set[str]) -> None:
        with self._lock:
            self.requested[type_url] = names
            self._lock.notify_all()
