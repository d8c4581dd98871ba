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

from l7suite.manifests import ManifestError


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


class ScenarioConfigError(RuntimeError):
    """Envoy did not take a scenario's configuration (NACK, or NO ACK in time); names the manifest files and
    Envoy's own error. `outcome` holds the verdict."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(outcome.describe())


def outcome_of(error: Exception) -> Outcome:
    """The verdict a failed start stands for: INVALID for a manifest the agent would refuse (found before Envoy
    starts), the NACK / NO ACK of a ScenarioConfigError."""
    if isinstance(error, ScenarioConfigError):
        return error.outcome
    if isinstance(error, ManifestError):
        return Outcome(Verdict.INVALID, str(error))
    raise TypeError(f"no verdict for {error!r}")
