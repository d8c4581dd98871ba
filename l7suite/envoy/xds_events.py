"""What Envoy tells the suite's xDS server (ACK, NACK per type and version), and what waiting for it finds."""

from __future__ import annotations

from dataclasses import dataclass

from l7suite.envoy.resources import SHORT


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
