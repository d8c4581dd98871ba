"""`hubble observe -o jsonpb` lines into the same GetFlowsResponse messages the gRPC client yields.

Each line is one GetFlowsResponse in protobuf's JSON mapping with proto field names, enums by name and
64-bit integers as strings (Hubble marshals with protojson `UseProtoNames`: cilium/cilium
`api/v1/observer/observer.pb.json.go`). A line holds a `flow`, a `node_status` or a `lost_events`
(`hubble/pkg/printer/printer.go`, `WriteGetFlowsResponse`: node status lines go to stderr, and only
NODE_ERROR / NODE_UNAVAILABLE ones unless `--debug`; a GetFlows stream over gRPC carries them all).
Fields and enum names newer than our minimal proto (`emitter`, `node_labels`, `trace_reason`...) are
ignored, not errors; an enum name our proto lacks leaves that field at its zero value.

`replay_flows` reads a recorded stream back (the e2e `--record` mode keeps Hubble's responses as jsonl);
`to_json` / `response_line` write such lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from google.protobuf import json_format

from l7suite.protos.hubble_min_pb2 import Flow, GetFlowsResponse

# Top-level keys only a Flow has: a line made of these is a bare Flow (what `to_json(flow)` writes),
# which would parse as an empty GetFlowsResponse and drop out of a replay unnoticed.
_FLOW_ONLY_KEYS = frozenset(f.name for f in Flow.DESCRIPTOR.fields) - frozenset(
    f.name for f in GetFlowsResponse.DESCRIPTOR.fields)


class JsonpbError(ValueError):
    """A line is not a GetFlowsResponse; the message names the line number (and the file, if any)."""


def parse_line(line: str) -> GetFlowsResponse:
    response = GetFlowsResponse()
    json_format.Parse(line, response, ignore_unknown_fields=True)
    return response


def parse_lines(lines: Iterable[str], origin: str = "") -> Iterator[GetFlowsResponse]:
    """Every response in order, blank lines skipped. `origin` (a file name) prefixes errors."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{origin + ': ' if origin else ''}line {number}"
        try:
            response = parse_line(line)
        except json_format.ParseError as exc:
            raise JsonpbError(f"{where}: not a Hubble GetFlowsResponse: {exc}") from None
        if _is_bare_flow(line):
            raise JsonpbError(f"{where}: a bare Flow, not a GetFlowsResponse: write lines with "
                              "response_line(flow) or to_json(response)")
        yield response


def _is_bare_flow(line: str) -> bool:
    document = json.loads(line)
    return isinstance(document, dict) and bool(document.keys() & _FLOW_ONLY_KEYS)


def flows_of(responses: Iterable[GetFlowsResponse]) -> list[Flow]:
    """Only the flows (node_status and lost_events responses carry none)."""
    return [r.flow for r in responses if r.WhichOneof("response_types") == "flow"]


def replay_flows(source: Path | Iterable[str]) -> list[Flow]:
    """The flows of a recorded jsonl stream (a file, or its lines), in recorded order; node status and
    lost events lines are read and skipped, a bad line raises JsonpbError naming file and line."""
    if isinstance(source, Path):
        with source.open(encoding="utf-8") as lines:
            return flows_of(parse_lines(lines, origin=str(source)))
    return flows_of(parse_lines(source))


def to_json(message: Flow | GetFlowsResponse) -> str:
    """One compact line in the JSON mapping `hubble observe -o jsonpb` prints: proto field names,
    enums by name (a number where our proto has no name for it), 64-bit integers as strings."""
    as_dict = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return json.dumps(as_dict, separators=(",", ":"), ensure_ascii=False)


def response_line(flow: Flow) -> str:
    """The jsonpb line of the GetFlowsResponse that carries `flow`: Hubble stamps that response with
    the flow's own time and node name (cilium/cilium `pkg/hubble/observer/local_observer.go`)."""
    return to_json(GetFlowsResponse(flow=flow, node_name=flow.node_name, time=flow.time))
