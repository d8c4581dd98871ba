"""The four outcomes of loading CiliumEnvoyConfigs into an Envoy, as every envoy-tier report states them.

- ACK: Envoy acknowledged every resource and its listeners are active.
- NACK: Envoy rejected a resource; the details carry Envoy's own error text, the file and the resource.
- NO ACK in N s: Envoy neither accepted nor rejected within N seconds; the details say which types and names
  were never acknowledged (or listeners never became active) and which names Envoy asked for that nobody
  serves (an EDS cluster waiting for endpoints the agent would not publish, a route name nobody defines).
- INVALID: the manifest cannot be translated as the agent would (bad YAML, a missing or unknown field, a
  rule of the agent's parser); found before Envoy is started, named by file and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    ACK = "ACK"
    NACK = "NACK"
    NO_ACK = "NO ACK"
    INVALID = "INVALID"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    details: str = ""
    timeout: float | None = None  # the wait of a NO ACK, in seconds

    @property
    def label(self) -> str:
        """`ACK`, `NACK`, `INVALID` or `NO ACK in 15 s`: what tables and messages print."""
        if self.verdict is Verdict.NO_ACK and self.timeout is not None:
            return f"NO ACK in {self.timeout:g} s"
        return self.verdict.value

    def describe(self) -> str:
        return f"{self.label}: {self.details}" if self.details else self.label

    def as_json(self) -> dict:
        return {"verdict": self.verdict.value, "label": self.label, "details": self.details,
                "timeout_s": self.timeout}


ACK = Outcome(Verdict.ACK)
