"""Live update without loss: under a steady request loop, the weighted-lb route changes from 80/20 to
50/50 over xDS (stage `split-50-50`, the edited CEC deathstar-lb). No request fails during the switch,
Envoy keeps its listener (a route update, nothing drained), and the new split holds afterwards.
"""

import json
import time

import pytest

from l7suite.cilium.cec_updates import stage_configs, translate_update
from l7suite.scenarios.weighted_lb import listener_url
from l7suite.traffic.share_stats import DEFAULT_ALPHA, check_share
from l7suite.traffic.steady_load import SteadyLoad, failures, summarize

SCENARIO = "weighted-lb"
STAGE = "split-50-50"
BEFORE = 200  # answers before the switch
AFTER = 1000  # answers counted for the new split (exact binomial test, false-failure rate <= 1e-4)
# Envoy ACKs once its main thread took the new route; workers get it a moment later. Requests sent in
# this window after the ACK are kept in the no-failure check but left out of the split.
SETTLE_S = 0.25
HOST = "deathstar.exam.svc.cluster.local"
LISTENER_COUNTERS = r"^listener_manager\.(listener_added|listener_modified|listener_removed|total_listeners_draining)$"


def group(status: int, body: bytes) -> str | None:
    return json.loads(body)["hostname"].split("-")[0] if status == 200 else None


@pytest.fixture(scope="module")
def switch(envoy_run, report_lines):
    run = envoy_run
    update = translate_update(run, stage_configs(run, STAGE))
    listeners_before = run.admin.listeners()
    counters_before = run.admin.stats(LISTENER_COUNTERS)
    url = listener_url(run) + "/v1/"  # where empire-to-deathstar redirects (weighted-lb CEC: backendServices)
    with SteadyLoad(url, key=group, host=HOST, workers=2, max_requests=BEFORE + AFTER + 5000,
                    max_seconds=90) as load:
        load.wait_for(BEFORE)
        pushed = time.monotonic()
        run.apply(update)
        run.wait_applied()
        acked = time.monotonic()
        load.wait_for(AFTER, sent_after=acked + SETTLE_S, timeout=60)
    records = load.stop()
    report_lines.add("load client requests/s", f"{run.binary.parent.name}: live update loop "
                     f"{load.rps():.0f} req/s ({len(records)} requests, 2 keep-alive connections)")
    return {"records": records, "pushed": pushed, "acked": acked, "listeners_before": listeners_before,
            "listeners_after": run.admin.listeners(), "counters_before": counters_before,
            "counters_after": run.admin.stats(LISTENER_COUNTERS)}


def test_no_request_fails_during_the_switch(switch, evidence):
    records = switch["records"]
    during = [r for r in records if r.sent <= switch["acked"] + SETTLE_S and r.answered >= switch["pushed"]]
    evidence.json("request loop across the xDS update", {"all": summarize(records), "during": summarize(during)})
    assert not failures(records), f"requests failed around the update: {summarize(failures(records))}"
    assert during, "no request was in flight while the update was applied: the loop did not overlap it"


def test_route_update_drains_no_listener(switch):
    assert switch["listeners_after"] == switch["listeners_before"]
    before, after = switch["counters_before"], switch["counters_after"]
    assert len(before) == 4, f"listener_manager counters missing from admin /stats: {before}"
    assert after == before, f"listener_manager counters changed by a route-only update: {before} -> {after}"


def test_new_split_is_50_50(switch, evidence):
    after = [r for r in switch["records"] if r.sent >= switch["acked"] + SETTLE_S and r.key]
    deathstar = sum(1 for r in after if r.key == "deathstar")
    darkstar = sum(1 for r in after if r.key == "darkstar")
    check = check_share("deathstar", deathstar, len(after), 0.5)
    evidence.weighted_split("split after the update", {"deathstar": deathstar, "darkstar": darkstar},
                            {"deathstar": 0.5, "darkstar": 0.5}, {"deathstar": check.interval})
    assert deathstar + darkstar == len(after) >= AFTER
    assert check.alpha == DEFAULT_ALPHA
    assert check.passed, "split after the update: " + check.describe()
