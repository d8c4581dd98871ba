"""Flow expectations and the matcher's failure listing, on flows built from the lab's recorded parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import json_format

from l7suite.hubble.expect import (
    FlowExpectation,
    FlowsNotSeen,
    describe,
    header,
    match,
    wait_for_flows,
    with_request_id,
)
from l7suite.hubble.jsonpb import flows_of, parse_lines
from l7suite.protos.hubble_min_pb2 import Endpoint, Flow, Layer7

DATA = Path(__file__).parent / "data"
XWING_DENIED = FlowExpectation("xwing denied", source_pod="default/xwing", destination_pod="default/deathstar-",
                               verdict="DROPPED", drop_reason="POLICY_DENIED")


def recorded() -> list[Flow]:
    return flows_of(parse_lines((DATA / "hubble_observe.jsonl").read_text().splitlines()))


def lab_l7_flow(record: str, direction: str) -> Flow:
    """An L7 flow as the lab prints it: endpoints from its compact lines, `l7` from its jsonpb extract."""
    flow = Flow(Type=2, verdict=1, traffic_direction={"INGRESS": 1, "EGRESS": 2}[direction],
                source=Endpoint(namespace="default", pod_name="tiefighter", identity=1623),
                destination=Endpoint(namespace="default", pod_name="deathstar-b4b8ccfb5-lvbnx", identity=58295))
    flow.l7.CopyFrom(json_format.Parse((DATA / record).read_text(), Layer7()))
    return flow


def test_recorded_policy_drop_meets_the_expectation():
    report = match([XWING_DENIED], recorded())
    assert report.missing == [] and report.found["xwing denied"].destination.pod_name.startswith("deathstar-")


def test_a_missing_flow_lists_every_flow_with_why_it_missed():
    wanted = FlowExpectation("landing forwarded", source_pod="default/tiefighter", flow_type="L7",
                             verdict="FORWARDED", http_path="/v1/request-landing")
    report = match([XWING_DENIED, wanted], recorded())
    listing = report.render()
    assert [e.name for e in report.missing] == ["landing forwarded"]
    assert "found   xwing denied" in listing and "MISSING landing forwarded" in listing
    xwing_line = next(line for line in listing.splitlines() if line.startswith("  default/xwing ->"))
    assert "+xwing denied" in xwing_line
    assert "-landing forwarded: source_pod default/xwing != default/tiefighter*; verdict DROPPED != FORWARDED; " \
           "flow_type UNKNOWN_TYPE != L7; http_path - != /v1/request-landing" in xwing_line
    assert listing.count("-landing forwarded:") == 5  # one mark per flow seen


def test_wait_gives_up_at_the_deadline_and_raises_the_listing():
    calls = []

    def fetch():
        calls.append(1)
        return recorded()[:1]

    with pytest.raises(FlowsNotSeen) as failure:
        wait_for_flows(fetch, [XWING_DENIED], timeout=0.3, interval=0.1)
    assert "flows not seen within 0.3s: xwing denied" in str(failure.value) and 2 <= len(calls) <= 5


def test_wait_returns_once_a_later_fetch_has_the_flow():
    batches = iter([[], recorded()])
    report = wait_for_flows(lambda: next(batches), [XWING_DENIED], timeout=5, interval=0.01)
    assert report.missing == []


def test_request_and_response_are_told_apart_by_l7_fields():
    request, response = lab_l7_flow("seed_l7_request.json", "INGRESS"), lab_l7_flow("seed_l7_response.json", "INGRESS")
    expectation = FlowExpectation("landing request", source_pod="default/tiefighter", flow_type="L7",
                                  l7_type="REQUEST", http_method="POST", http_path="/v1/request-landing")
    assert (expectation.mismatches(request), expectation.mismatches(response)) == ([], ["l7_type RESPONSE != REQUEST"])
    assert describe(response) == ("default/tiefighter -> default/deathstar-b4b8ccfb5-lvbnx INGRESS L7 "
                                  "RESPONSE POST /v1/request-landing 200 FORWARDED")


def test_x_request_id_ties_the_flows_of_one_request():
    egress, ingress = lab_l7_flow("seed_l7_request.json", "EGRESS"), lab_l7_flow("seed_l7_request.json", "INGRESS")
    other = lab_l7_flow("seed_l7_response.json", "INGRESS")
    request_id = header(egress, "x-request-id")
    assert request_id == "298a0581-a614-406d-9fb7-f3dd2aff38a2"
    assert with_request_id([egress, other, ingress], request_id) == [egress, ingress]


def test_enum_values_newer_than_our_proto_show_as_numbers_not_errors():
    # proto3 enums are open: a newer Cilium's verdict, observation point or drop reason reaches us over
    # gRPC as a bare number, and the listing must still render (and say which number it was).
    newer = Flow(verdict=8, trace_observation_point=14, drop_reason_desc=209, source=Endpoint(
        namespace="default", pod_name="xwing"))
    expectation = FlowExpectation("xwing dropped", source_pod="default/xwing", verdict="DROPPED")
    assert (expectation.mismatches(newer), describe(newer)) == (
        ["verdict 8 != DROPPED"], "default/xwing -> ? TRAFFIC_DIRECTION_UNKNOWN UNKNOWN_TYPE 14 209 8")
