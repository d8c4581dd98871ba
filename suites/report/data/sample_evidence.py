"""A tiny run for the report tests (run in a child pytest, never collected by the suite itself):
one passing and one failing check, each attaching evidence through the `evidence` fixture.
L7SUITE_SAMPLE=skip skips both (a run whose scenario was skipped)."""

import os

import pytest

from l7suite.scenarios import Scenario

SCENARIO = Scenario(name="sample-weighted-split", title="A sample run for the report tests (not a scenario)",
                    description="One passing and one failing check, each with evidence.", tiers=("envoy",),
                    suite_check=True)
pytestmark = pytest.mark.skipif(os.environ.get("L7SUITE_SAMPLE") == "skip", reason="asked to skip (L7SUITE_SAMPLE)")


def test_split_within_interval(evidence):
    evidence.weighted_split("weighted split", {"deathstar": 801, "darkstar": 199},
                            {"deathstar": 0.8, "darkstar": 0.2}, {"deathstar": (757, 842), "darkstar": (158, 243)})
    evidence.status_split("200/503 per concurrency level", {1: {"200": 50}, 2: {"200": 97, "503": 3},
                                                            4: {"200": 70, "503": 130}})
    evidence.replica_distribution("gRPC calls per replica", {
        "round_robin": {"currency-0": 100, "currency-1": 100, "currency-2": 100},
        "random": {"currency-0": 87, "currency-1": 121, "currency-2": 92}})


def test_split_outside_interval(evidence):
    counts = {"deathstar": 512, "darkstar": 488}
    evidence.weighted_split("weighted split", counts, {"deathstar": 0.8, "darkstar": 0.2},
                            {"deathstar": (757, 842), "darkstar": (158, 243)})
    evidence.json_lines("hubble flows", [{"flow": {"verdict": "FORWARDED", "l7": {"http": {"code": 200}}}}])
    assert counts["deathstar"] >= 757, f"deathstar got {counts['deathstar']} of 1000, accepted 757..842"
