"""Flow expectations as data, a matcher that waits for them, and a failure listing of every flow seen.

An expectation names only the fields it cares about; a flow satisfies it when every named field is
equal. On failure the listing shows each observed flow on one line with a mark per expectation:
`+name` where it matched, and for expectations never met, why this flow was not one (`-name: verdict
FORWARDED != DROPPED`), so the nearest miss is visible without re-running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from l7suite.protos.hubble_min_pb2 import (
    DropReason,
    Endpoint,
    Flow,
    FlowType,
    L7FlowType,
    TraceObservationPoint,
    TrafficDirection,
    Verdict,
)


@dataclass(frozen=True)
class FlowExpectation:
    """One flow that must be seen. Pods are `namespace/name-prefix` (a Deployment's pods share a prefix)."""

    name: str
    source_pod: str | None = None
    destination_pod: str | None = None
    verdict: str | None = None  # FORWARDED, DROPPED, ...
    flow_type: str | None = None  # L3_L4 or L7
    traffic_direction: str | None = None  # INGRESS or EGRESS
    observation_point: str | None = None  # TO_PROXY, TO_ENDPOINT, ... (trace events only)
    drop_reason: str | None = None  # POLICY_DENIED, ...
    l7_type: str | None = None  # REQUEST or RESPONSE
    http_method: str | None = None
    http_path: str | None = None
    http_code: int | None = None

    def mismatches(self, flow: Flow) -> list[str]:
        """Why `flow` is not this expectation: `field observed != expected` per differing field."""
        observed = observe(flow)
        out = []
        for f in fields(self):
            if f.name == "name":
                continue
            want = getattr(self, f.name)
            if want is None:
                continue
            got = observed[f.name]
            if f.name in ("source_pod", "destination_pod"):
                if not _pod_matches(str(got), want):
                    out.append(f"{f.name} {got or '-'} != {want}*")
            elif got != want:
                out.append(f"{f.name} {got if got not in (None, '') else '-'} != {want}")
        return out

    def __str__(self) -> str:
        named = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                 if f.name != "name" and getattr(self, f.name) is not None]
        return f"{self.name}: " + " ".join(named)


def _pod_matches(observed: str, wanted: str) -> bool:
    namespace, _, prefix = wanted.partition("/")
    got_namespace, _, got_pod = observed.partition("/")
    return got_namespace == namespace and got_pod.startswith(prefix) and bool(got_pod)


def _pod(endpoint: Endpoint) -> str:
    return f"{endpoint.namespace}/{endpoint.pod_name}" if endpoint.pod_name else ""


def observe(flow: Flow) -> dict[str, object]:
    """The flow's values under the expectation's field names (enum names, path without host)."""
    http = flow.l7.http if flow.l7.WhichOneof("record") == "http" else None
    return {
        "source_pod": _pod(flow.source),
        "destination_pod": _pod(flow.destination),
        "verdict": _enum_name(Verdict, flow.verdict),
        "flow_type": _enum_name(FlowType, flow.Type),
        "traffic_direction": _enum_name(TrafficDirection, flow.traffic_direction),
        "observation_point": _enum_name(TraceObservationPoint, flow.trace_observation_point),
        "drop_reason": _enum_name(DropReason, flow.drop_reason_desc),
        "l7_type": _enum_name(L7FlowType, flow.l7.type) if flow.HasField("l7") else None,
        "http_method": http.method if http else None,
        "http_path": urlsplit(http.url).path if http else None,
        "http_code": (http.code or None) if http else None,
    }


def _enum_name(enum: Any, number: int) -> str:
    """The value's name, or its number when our proto does not name it: proto3 enums are open, so a
    newer Cilium's value (a new drop reason, observation point, verdict) arrives as a bare number."""
    try:
        return str(enum.Name(number))
    except ValueError:
        return str(number)


def describe(flow: Flow) -> str:
    """One line, close to `hubble observe` compact output."""
    seen = observe(flow)
    src = seen["source_pod"] or flow.IP.source or "?"
    dst = seen["destination_pod"] or flow.IP.destination or "?"
    parts = [f"{src} -> {dst}", str(seen["traffic_direction"]), str(seen["flow_type"])]
    if flow.HasField("l7"):
        parts.append(f"{seen['l7_type']} {seen['http_method'] or ''} {seen['http_path'] or ''}"
                     f"{' ' + str(seen['http_code']) if seen['http_code'] else ''}".rstrip())
    elif flow.trace_observation_point:
        parts.append(str(seen["observation_point"]))
    if flow.drop_reason_desc:
        parts.append(str(seen["drop_reason"]))
    parts.append(str(seen["verdict"]))
    return " ".join(parts)


@dataclass
class MatchReport:
    expectations: Sequence[FlowExpectation]
    flows: Sequence[Flow]
    found: dict[str, Flow] = field(default_factory=dict)

    @property
    def missing(self) -> list[FlowExpectation]:
        return [e for e in self.expectations if e.name not in self.found]

    def render(self) -> str:
        lines = [f"expected ({len(self.expectations)}):"]
        lines += [f"  {'found  ' if e.name in self.found else 'MISSING'} {e}" for e in self.expectations]
        lines.append(f"flows seen ({len(self.flows)}):")
        missing = self.missing
        for flow in self.flows:
            marks = [f"+{e.name}" for e in self.expectations if not e.mismatches(flow)]
            marks += [f"-{e.name}: {'; '.join(e.mismatches(flow))}" for e in missing]
            lines.append(f"  {describe(flow)}    [{' | '.join(marks) or 'no expectation'}]")
        if not self.flows:
            lines.append("  (none)")
        return "\n".join(lines)


def match(expectations: Sequence[FlowExpectation], flows: Sequence[Flow]) -> MatchReport:
    report = MatchReport(expectations=expectations, flows=flows)
    for expectation in expectations:
        for flow in flows:
            if not expectation.mismatches(flow):
                report.found[expectation.name] = flow
                break
    return report


class FlowsNotSeen(AssertionError):
    def __init__(self, report: MatchReport, timeout: float):
        self.report = report
        names = ", ".join(e.name for e in report.missing)
        super().__init__(f"flows not seen within {timeout:g}s: {names}\n{report.render()}")


def wait_for_flows(fetch: Callable[[], Sequence[Flow]], expectations: Sequence[FlowExpectation],
                   timeout: float, interval: float = 2.0) -> MatchReport:
    """Fetch flows until every expectation is met or `timeout` passes; then raise with the listing."""
    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
                        retry=retry_if_result(lambda report: bool(report.missing)), reraise=True)
    try:
        report = retrying(lambda: match(expectations, list(fetch())))
    except RetryError as exc:  # the deadline passed with expectations still missing
        report = exc.last_attempt.result()
    if report.missing:
        raise FlowsNotSeen(report, timeout)
    return report


def header(flow: Flow, key: str) -> str | None:
    """An HTTP header of an L7 flow, case-insensitively (Envoy adds `X-Request-Id`)."""
    for h in flow.l7.http.headers:
        if h.key.lower() == key.lower():
            return h.value
    return None


def with_request_id(flows: Sequence[Flow], request_id: str) -> list[Flow]:
    """Every L7 flow carrying this `X-Request-Id`: one request's egress and ingress records."""
    return [f for f in flows if header(f, "X-Request-Id") == request_id]
