"""fortio runs in a client pod with their JSON result parsed (`fortio load -json -`: JSON on stdout).

Fields per fortio's RunnerResults/HTTPRunnerResults: RetCodes is an object keyed by the code as a
string ("-1" is a socket error); DurationHistogram holds Count/Min/Max/Avg and Percentiles (seconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from l7suite.traffic.pod_probes import Exec, ExecResult


@dataclass(frozen=True)
class Histogram:
    count: int
    min: float
    max: float
    avg: float
    percentiles: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FortioResult:
    url: str
    threads: int
    actual_qps: float
    ret_codes: dict[int, int]
    durations: Histogram
    version: str = ""

    @property
    def total(self) -> int:
        return sum(self.ret_codes.values())

    def share(self, code: int) -> float:
        return self.ret_codes.get(code, 0) / self.total if self.total else 0.0


class FortioOutputError(ValueError):
    pass


def fortio_argv(url: str, connections: int, requests: int, qps: float = 0) -> list[str]:
    return ["fortio", "load", "-json", "-", "-c", str(connections), "-qps", f"{qps:g}", "-n", str(requests), url]


def parse_fortio(text: str) -> FortioResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FortioOutputError(f"fortio printed no JSON result: {exc}: {text[:200]!r}") from None
    missing = [k for k in ("RetCodes", "DurationHistogram", "NumThreads", "ActualQPS") if k not in data]
    if missing:
        raise FortioOutputError(f"fortio JSON lacks {', '.join(missing)}")
    hist = data["DurationHistogram"]
    return FortioResult(
        url=str(data.get("URL", "")),
        threads=int(data["NumThreads"]),
        actual_qps=float(data["ActualQPS"]),
        ret_codes={int(code): int(n) for code, n in data["RetCodes"].items()},
        durations=Histogram(
            count=int(hist["Count"]), min=float(hist["Min"]), max=float(hist["Max"]), avg=float(hist["Avg"]),
            percentiles={float(p["Percentile"]): float(p["Value"]) for p in hist.get("Percentiles") or []},
        ),
        version=str(data.get("Version", "")),
    )


def fortio_load(run: Exec, namespace: str, pod: str, url: str, connections: int, requests: int) -> FortioResult:
    result: ExecResult = run(namespace, pod, fortio_argv(url, connections, requests), 300)
    if result.exit_code != 0:
        raise FortioOutputError(f"fortio exited {result.exit_code}: {result.stderr[-500:]}")
    return parse_fortio(result.stdout)
