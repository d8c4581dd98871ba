"""`hubble observe -o jsonpb` lines into the same GetFlowsResponse messages the gRPC client yields.

Each line is one GetFlowsResponse in protobuf's JSON mapping with proto field names. Newer Hubble
versions add fields this minimal proto does not know (`emitter`, `node_labels`, `trace_reason`...):
they are ignored, not errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.protobuf import json_format

from l7suite.hubble.hubble_min_pb2 import Flow, GetFlowsResponse


class JsonpbError(ValueError):
    """A line is not a GetFlowsResponse; the message names the line number."""


def parse_line(line: str) -> GetFlowsResponse:
    response = GetFlowsResponse()
    json_format.Parse(line, response, ignore_unknown_fields=True)
    return response


def parse_lines(lines: Iterable[str]) -> Iterator[GetFlowsResponse]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except json_format.ParseError as exc:
            raise JsonpbError(f"line {number}: not a Hubble GetFlowsResponse: {exc}") from None


def flows_of(responses: Iterable[GetFlowsResponse]) -> list[Flow]:
    """Only the flows (node_status and lost_events responses carry none)."""
    return [r.flow for r in responses if r.WhichOneof("response_types") == "flow"]


def to_json(message: Flow | GetFlowsResponse) -> str:
    """The same JSON mapping `hubble observe -o jsonpb` prints (evidence attachments use it)."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None)
