"""Contract test of the GetFlows client against a local Observer server serving recorded flows."""

from __future__ import annotations

import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from l7suite.hubble.jsonpb import parse_lines
from l7suite.hubble.relay_client import FlowQuery, HubbleClient
from l7suite.protos.hubble_min_pb2 import GetFlowsResponse, Verdict
from l7suite.protos.hubble_min_pb2_grpc import ObserverServicer, add_ObserverServicer_to_server

DATA = Path(__file__).parent / "data"


class RecordedObserver(ObserverServicer):
    """Serves the recorded responses once, then (with follow) keeps the stream open until cancelled."""

    def __init__(self, responses: list[GetFlowsResponse]):
        self.responses = responses
        self.requests = []

    def GetFlows(self, request, context):  # noqa: N802 (gRPC's method name)
        self.requests.append(request)
        yield from self.responses
        deadline = time.monotonic() + 10  # bounded even if a client never cancels
        while request.follow and context.is_active() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def observer():
    # flows, node status and lost events interleaved, as Relay streams them
    responses = list(parse_lines((DATA / "hubble_mixed_stream.jsonl").read_text().splitlines()))
    servicer = RecordedObserver(responses)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    add_ObserverServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_get_flows_streams_every_recorded_flow_and_skips_non_flows(observer):
    servicer, target = observer
    with HubbleClient(target) as client:
        client.wait_ready(5)
        flows = client.flows(FlowQuery(namespace="starwars", since=1_700_000_000.5), timeout=5)
    assert [(Verdict.Name(f.verdict), f.l7.WhichOneof("record")) for f in flows] == [
        ("DROPPED", None), ("FORWARDED", None), ("DROPPED", "http"), ("FORWARDED", "dns"), ("FORWARDED", "http"),
        ("FORWARDED", "http")]
    request = servicer.requests[0]
    assert [list(w.source_pod) + list(w.destination_pod) for w in request.whitelist] == [["starwars/"], ["starwars/"]]
    assert (request.since.seconds, request.since.nanos, request.follow) == (1_700_000_000, 500_000_000, False)


def test_every_response_kind_crosses_the_wire_unchanged(observer):
    servicer, target = observer
    with HubbleClient(target) as client:
        received = list(client.responses(FlowQuery(), timeout=5))
    assert [r.WhichOneof("response_types") for r in received] == [
        "node_status", "flow", "lost_events", "flow", "flow", "node_status", "flow", "flow", "flow", "lost_events"]
    assert received == servicer.responses


def test_follow_stream_ends_at_the_deadline_with_what_it_saw(observer):
    _, target = observer
    with HubbleClient(target) as client:
        flows = client.flows(FlowQuery(follow=True), timeout=1.0)
    assert len(flows) == 6
