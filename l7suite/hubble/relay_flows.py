"""A scenario namespace's flows from Hubble Relay on the e2e cluster, read through a kubectl port-forward.

The Relay is reached at the port its Service declares, as read from the cluster (l7suite/cluster/observed.py:
80 by the chart's default, 443 with relay TLS); each fetch opens the port-forward, waits for the gRPC
connection and asks for the namespace's flows since the last `restart()`, all within the deadline
`hubble` (l7suite/cluster/timeouts.py). What a fetch returned is kept with `--record`.
"""

from __future__ import annotations

import time

from l7suite.cluster.kube import Kube
from l7suite.cluster.record import hubble_flows as record_flows
from l7suite.hubble.jsonpb import to_json
from l7suite.hubble.relay_client import FlowQuery, HubbleClient
from l7suite.protos.hubble_min_pb2 import Flow

DEFAULT_RELAY_PORT = 80  # the chart's hubble-relay Service port without relay TLS


class HubbleFlows:
    """Flows of one namespace from Hubble Relay, from `since` (set at creation and by `restart()`) on."""

    def __init__(self, kube: Kube, namespace: str, relay_port: int | None = DEFAULT_RELAY_PORT,
                 relay_source: str = ""):
        self.kube = kube
        self.namespace = namespace
        self.relay_port = relay_port
        self.relay_source = relay_source  # where the port was read, for the message when there is none
        self.since = time.time()

    def fetch(self, timeout: float | None = None) -> list[Flow]:
        timeout = self.kube.timeouts.hubble if timeout is None else timeout
        if self.relay_port is None:
            raise RuntimeError(f"Hubble Relay: no port to forward to ({self.relay_source})")
        with self.kube.port_forward("kube-system", "svc/hubble-relay", self.relay_port) as port, \
                HubbleClient(f"127.0.0.1:{port}", label=f"Hubble Relay (kube-system/svc/hubble-relay:{self.relay_port} "
                             f"via port-forward 127.0.0.1:{port}; deadline `hubble`)") as client:
            client.wait_ready(timeout)
            flows = client.flows(FlowQuery(namespace=self.namespace, since=self.since), timeout)
        record_flows(self.namespace, flows)
        return flows

    def restart(self) -> None:
        """Only flows from now on (a new step of the scenario)."""
        self.since = time.time()

    def as_jsonpb(self) -> str:
        return "\n".join(to_json(f) for f in self.fetch())
