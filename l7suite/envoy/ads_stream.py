"""One Envoy's ADS stream, state of the world, as the suite's xDS server (xds_server.py) keeps it: per type,
the names Envoy asked for and what was last sent with which nonce; the ACKs and NACKs read from Envoy's
requests; and which responses are due after a request or a new snapshot (in the order a make-before-break
control plane sends them: clusters and endpoints before the listeners and routes that use them).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf.any_pb2 import Any as AnyMessage

from l7suite.envoy.resources import TYPE_ORDER
from l7suite.envoy.xds_events import XdsEvent

Snapshot = Callable[[str], tuple[str, dict[str, AnyMessage]]]  # type -> (version, resources by name)


def content_version(resources: dict[str, AnyMessage]) -> str:
    """A type's version: a digest of its resources, so an unchanged type keeps its version."""
    digest = hashlib.sha256()
    for name in sorted(resources):
        digest.update(name.encode())
        digest.update(resources[name].SerializeToString(deterministic=True))
    return digest.hexdigest()[:12]


@dataclass
class _TypeState:
    names: set[str] = field(default_factory=set)  # requested names; empty means wildcard (LDS/CDS)
    nonce: str = ""
    sent_version: str = ""
    sent_names: frozenset[str] = frozenset()
    acked_nonce: str = ""
    resend: bool = False  # Envoy asked again for what it already ACKed (a warming cluster's EDS)


class AdsStream:
    def __init__(self, snapshot: Snapshot, record: Callable[[XdsEvent], None],
                 requested: Callable[[str, set[str]], None]):
        self._snapshot = snapshot  # the server's current snapshot of a type
        self._record = record  # an ACK or NACK, for the server's history
        self._requested = requested  # the names Envoy asked for, for the server's waits
        self._states: dict[str, _TypeState] = {}

    def on_request(self, request: discovery_pb2.DiscoveryRequest) -> None:
        state = self._states.setdefault(request.type_url, _TypeState())
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
        self._requested(request.type_url, set(request.resource_names))

    def responses_due(self) -> Iterator[discovery_pb2.DiscoveryResponse]:
        """What to send now, for every type Envoy subscribed to: the types whose snapshot changed since they
        were last sent, or that Envoy asked for again."""
        for type_url in sorted(self._states, key=_order):
            response = self.response_if_due(type_url)
            if response is not None:
                yield response

    def response_if_due(self, type_url: str) -> discovery_pb2.DiscoveryResponse | None:
        state = self._states[type_url]
        version, available = self._snapshot(type_url)
        names = sorted(available) if not state.names else sorted(n for n in state.names if n in available)
        if state.nonce and version == state.sent_version and frozenset(names) == state.sent_names and not state.resend:
            return None
        state.resend = False
        if not version and not state.nonce:
            version = content_version({})
        response = discovery_pb2.DiscoveryResponse(
            version_info=version, type_url=type_url, nonce=uuid.uuid4().hex[:16],
            resources=[available[n] for n in names],
        )
        state.nonce, state.sent_version, state.sent_names = response.nonce, version, frozenset(names)
        return response


def _order(type_url: str) -> int:
    return TYPE_ORDER.index(type_url) if type_url in TYPE_ORDER else len(TYPE_ORDER)
