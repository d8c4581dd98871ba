"""`hubble observe -o jsonpb` lines parse into the minimal proto's messages, whatever fields they add."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from l7suite.hubble.expect import observe
from l7suite.hubble.jsonpb import JsonpbError, flows_of, parse_lines, to_json
from l7suite.protos.hubble_min_pb2 import Flow, Layer7

DATA = Path(__file__).parent / "data"


def recorded_flows() -> list[Flow]:
    return flows_of(parse_lines((DATA / "hubble_observe.jsonl").read_text().splitlines()))


def test_every_recorded_line_parses_into_a_flow():
    assert len(recorded_flows()) == 5


def test_policy_denied_line_keeps_what_a_test_checks():
    xwing = recorded_flows()[1]
    seen = observe(xwing)
    assert {k: seen[k] for k in ("source_pod", "destination_pod", "verdict", "drop_reason")} == {
        "source_pod": "default/xwing", "destination_pod": "default/deathstar-7848d6c4d5-th9v2",
        "verdict": "DROPPED", "drop_reason": "POLICY_DENIED"}
    assert (xwing.l4.TCP.destination_port, xwing.l4.TCP.flags.SYN) == (80, True)


def test_newer_hubble_fields_are_ignored_not_errors():
    eks = recorded_flows()[2]
    assert (observe(eks)["traffic_direction"], observe(eks)["observation_point"], eks.uuid) == (
        "EGRESS", "TO_ENDPOINT", "56dced30-2f83-4c15-9370-cd7ab1e1e048")
    assert eks.is_reply.value is False and eks.HasField("is_reply")


def test_l7_flow_of_another_protocol_keeps_type_latency_and_record():
    kafka = recorded_flows()[4]
    assert (observe(kafka)["flow_type"], kafka.l7.type, kafka.l7.latency_ns, kafka.l7.WhichOneof("record"),
            kafka.l7.kafka.api_key) == ("L7", 1, 10, "kafka", "1234")


@pytest.mark.parametrize("name, expected", [
    pytest.param("seed_l7_request.json", ("REQUEST", "POST", "/v1/request-landing", None), id="request"),
    pytest.param("seed_l7_response.json", ("RESPONSE", "POST", "/v1/request-landing", 200), id="response"),
])
def test_seed_l7_records_parse_into_layer7(name, expected):
    l7 = json_format.Parse((DATA / name).read_text(), Layer7())
    seen = observe(Flow(l7=l7))
    assert (seen["l7_type"], seen["http_method"], seen["http_path"], seen["http_code"]) == expected


def test_round_trip_prints_proto_field_names_like_hubble():
    line = json.loads(to_json(recorded_flows()[1]))
    assert line["drop_reason_desc"] == "POLICY_DENIED" and line["source"]["pod_name"] == "xwing"


def test_a_bad_line_names_its_number():
    with pytest.raises(JsonpbError, match="line 2"):
        list(parse_lines(['{"flow": {}}', '{"flow": {"verdict": ']))
