"""Every kind of response a GetFlows stream carries (flow, node status, lost events) parses from
`hubble observe -o jsonpb` lines with its enums by name, prints back the same way, and a recorded
stream replays to exactly its flows, in order (the e2e `--record` mode relies on that)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from google.protobuf.wrappers_pb2 import Int32Value

from l7suite.hubble.expect import describe
from l7suite.hubble.jsonpb import JsonpbError, parse_line, replay_flows, response_line, to_json
from l7suite.protos.hubble_min_pb2 import Flow, GetFlowsResponse, LostEvent, NodeStatusEvent

DATA = Path(__file__).parent / "data"
STREAM = DATA / "hubble_mixed_stream.jsonl"  # provenance: data/README.md

# Recorded: `hubble observe ... -o json` on a node's agent, from a public blog post on Cilium
# (search index file 58419181512). `num_events_lost` is a uint64, so protojson writes a string.
RING_BUFFER_LOSS = ('{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"},'
                    '"node_name":"kubernetes/worker1","time":"2025-09-28T08:25:44.749505064Z"}')

# Written from upstream names: a datapath drop while an endpoint's policy program is not loaded yet
# (after an agent restart), DropReason DROP_EP_NOT_READY = 203, a drop notification (event type 1)
# whose sub type is the drop reason.
EP_NOT_READY_DROP = (
    '{"flow":{"time":"2024-08-12T06:31:02.004311870Z","verdict":"DROPPED","drop_reason":203,'
    '"IP":{"source":"10.244.1.112","destination":"10.244.1.24","ipVersion":"IPv4"},'
    '"l4":{"TCP":{"source_port":60412,"destination_port":80,"flags":{"SYN":true}}},'
    '"source":{"ID":1355,"identity":1623,"namespace":"default","pod_name":"tiefighter"},'
    '"destination":{"identity":58295,"namespace":"default","pod_name":"deathstar-b4b8ccfb5-lvbnx"},'
    '"Type":"L3_L4","node_name":"kind-kind/kind-worker","event_type":{"type":1,"sub_type":203},'
    '"traffic_direction":"INGRESS","drop_reason_desc":"DROP_EP_NOT_READY","Summary":"TCP Flags: SYN"},'
    '"node_name":"kind-kind/kind-worker","time":"2024-08-12T06:31:02.004311870Z"}')

# What Hubble prints and our minimal proto leaves out. Everything else must come back unchanged.
OMITTED_FROM_FLOW = {"drop_reason", "ethernet", "trace_reason", "interface"}
OMITTED_FROM_ENDPOINT = {"cluster_name", "workloads"}


def stream_lines(kind: str) -> list[str]:
    return [line for line in STREAM.read_text().splitlines() if kind in json.loads(line)]


def kept(line: str) -> dict:
    """The line as a document, without the fields our proto omits: what parse then to_json returns."""
    document = copy.deepcopy(json.loads(line))
    flow = document.get("flow", {})
    for key in OMITTED_FROM_FLOW:
        flow.pop(key, None)
    for end in ("source", "destination"):
        for key in OMITTED_FROM_ENDPOINT:
            flow.get(end, {}).pop(key, None)
    return document


def reprinted(line: str) -> dict:
    return json.loads(to_json(parse_line(line)))


def test_node_status_lines_keep_state_nodes_and_message():
    lines = stream_lines("node_status")
    assert [reprinted(line) for line in lines] == [kept(line) for line in lines]


def test_lost_events_lines_keep_source_count_and_cpu():
    lines = [RING_BUFFER_LOSS, *stream_lines("lost_events")]
    assert [reprinted(line) for line in lines] == [kept(line) for line in lines]
    perf = parse_line(lines[-1]).lost_events
    assert (perf.num_events_lost, perf.HasField("cpu"), perf.cpu.value) == (3, True, 1)


def test_flow_lines_keep_every_field_but_the_omitted_ones():
    # HTTP and DNS records from the proxy, a policy drop, a trace to the proxy, a drop reason newer
    # than the first minimal proto, and an ICMPv6 drop recorded from Cilium's docs.
    icmpv6 = (DATA / "hubble_observe.jsonl").read_text().splitlines()[0]
    lines = [*stream_lines("flow"), EP_NOT_READY_DROP, icmpv6]
    assert [reprinted(line) for line in lines] == [kept(line) for line in lines]


def test_round_trip_keeps_enum_names_and_values_our_proto_does_not_name():
    responses = [
        GetFlowsResponse(node_status=NodeStatusEvent(state_change="NODE_ERROR", node_names=["kind-kind/kind-worker"],
                                                     message="rpc error: code = Unavailable")),
        GetFlowsResponse(lost_events=LostEvent(source="OBSERVER_EVENTS_QUEUE", num_events_lost=7, cpu=Int32Value())),
        # 209: a drop reason newer than every Cilium this proto knows (proto3 enums are open)
        GetFlowsResponse(flow=Flow(verdict="DROPPED", drop_reason_desc=209, trace_observation_point="FROM_CRYPTO")),
    ]
    printed = [to_json(r) for r in responses]
    assert [json.loads(line) for line in printed] == [
        {"node_status": {"state_change": "NODE_ERROR", "node_names": ["kind-kind/kind-worker"],
                         "message": "rpc error: code = Unavailable"}},
        {"lost_events": {"source": "OBSERVER_EVENTS_QUEUE", "num_events_lost": "7", "cpu": 0}},
        {"flow": {"verdict": "DROPPED", "drop_reason_desc": 209, "trace_observation_point": "FROM_CRYPTO"}},
    ]
    assert [parse_line(line) for line in printed] == responses


def test_replaying_a_recorded_stream_gives_exactly_its_flows_in_order():
    expected = [
        "default/xwing -> default/deathstar-b4b8ccfb5-wc4vr INGRESS L3_L4 POLICY_DENIED DROPPED",
        "default/tiefighter -> default/deathstar-b4b8ccfb5-lvbnx INGRESS L3_L4 TO_PROXY FORWARDED",
        "default/tiefighter -> default/deathstar-b4b8ccfb5-lvbnx INGRESS L7 REQUEST PUT /v1/exhaust-port DROPPED",
        "kube-system/coredns-7db6d8ff4d-8x2kq -> default/tiefighter EGRESS L7 RESPONSE FORWARDED",
        "default/tiefighter -> default/deathstar-b4b8ccfb5-wc4vr INGRESS L7 REQUEST POST /v1/request-landing "
        "FORWARDED",
        "default/deathstar-b4b8ccfb5-wc4vr -> default/tiefighter INGRESS L7 RESPONSE POST /v1/request-landing 200 "
        "FORWARDED",
    ]
    from_file = replay_flows(STREAM)
    assert [describe(f) for f in from_file] == expected
    assert replay_flows(STREAM.read_text().splitlines()) == from_file
    assert [f.l7.dns.query for f in from_file if f.l7.WhichOneof("record") == "dns"] == [
        "deathstar.default.svc.cluster.local."]


def test_a_recording_written_with_response_line_replays_to_the_same_flows(tmp_path):
    flows = replay_flows(STREAM)
    recording = tmp_path / "flows.jsonl"
    recording.write_text("".join(response_line(f) + "\n" for f in flows))
    assert replay_flows(recording) == flows
    assert [json.loads(line) for line in recording.read_text().splitlines()] == [
        kept(line) for line in stream_lines("flow")]


def test_a_bare_flow_in_a_recording_is_refused_with_its_file_and_line(tmp_path):
    recording = tmp_path / "flows.jsonl"
    node_status, flow = stream_lines("node_status")[0], replay_flows(STREAM)[0]
    recording.write_text(f"{node_status}\n{to_json(flow)}\n")
    with pytest.raises(JsonpbError, match=f"^{re.escape(str(recording))}: line 2: a bare Flow, not a GetFlowsResponse"):
        replay_flows(recording)
