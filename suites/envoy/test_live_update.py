"""live-update (the scenario: l7suite/scenarios/live_update.py): under a steady request loop, weighted-lb's
route changes from 80/20 to 50/50 over xDS; nothing fails, nothing drains, the new split holds.
"""

import time

import pytest

from l7suite.scenarios import live_update
from l7suite.scenarios.live_update import EXPECTED_SHARES, STAGE
from l7suite.scenarios.weighted_lb import HOST, listener_url
from l7suite.traffic.answering_pods import answering_deployment
from l7suite.traffic.http_load import HttpLoad, failures, summarize
from l7suite.traffic.share_statistics import check_share

SCENARIO = live_update.SCENARIO
BEFORE = 200  # answers before the switch
AFTER = 1000  # answers counted for the new split (exact binomial test, false-failure rate <= 1e-4)
# Envoy ACKs once its main thread took the new route; workers get it a moment later. Requests sent in
# this window after the ACK are kept in the no-failure check but left out of the split.
SETTLE_S = 0.25
# Requests/s of the loop from the push until SETTLE_S after the ACK: the window needs covering, not loading
# (test_no_request_fails_during_the_switch); back to back before and after it, where answers are counted.
SWITCH_RATE = 1000.0
LISTENER_COUNTERS = r"^listener_manager\.(listener_added|listener_modified|listener_removed|total_listeners_draining)$"


@pytest.fixture(scope="module")
def switch(envoy_run, report_lines):
    run = envoy_run
    update = run.stage_update(STAGE)
    listeners_before = run.admin.listeners()
    counters_before = run.admin.stats(LISTENER_COUNTERS)
    url = listener_url(run) + "/v1/"  # where empire-to-deathstar redirects (weighted-lb CEC: backendServices)
    with HttpLoad(url, key=answering_deployment, host=HOST, workers=2, max_requests=BEFORE + AFTER + 5000,
                  max_seconds=90) as load:
        load.wait_for(BEFORE)
        load.pace(SWITCH_RATE)
        pushed = time.monotonic()
        run.apply(update)
        run.wait_applied()
        acked = time.monotonic()
        time.sleep(max(0.0, acked + SETTLE_S - time.monotonic()))
        load.pace(None)
        load.wait_for(AFTER, sent_after=acked + SETTLE_S, timeout=60)
    records = load.stop()
    report_lines.add("load client requests/s", f"{run.binary.parent.name}: live update loop "
                     f"{load.rps():.0f} req/s ({len(records)} requests, 2 keep-alive connections)")
    return {"records": records, "pushed": pushed, "acked": acked, "listeners_before": listeners_before,
            "listeners_after": run.admin.listeners(), "counters_before": counters_before,
            "counters_after": run.admin.stats(LISTENER_COUNTERS)}


def test_no_request_fails_during_the_switch(switch, evidence):
    """Requests in flight during the switch: any request sent between the push and SETTLE_S after the ACK
    counts, a window of at least 0.25 s. Through it the loop sends up to SWITCH_RATE = 1,000 requests/s on
    two keep-alive connections (back to back before and after it, where the answers are counted); even as a
    Poisson stream of only 100 requests/s it would leave such a window empty with probability
    e^-25 = 1.4e-11. Only a stall of the whole load client for the window (not a sampling error) fails this
    part."""
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
    """Exact two-sided binomial test at alpha 1e-4 on at least AFTER answers: false-failure rate <= 1e-4."""
    after = [r for r in switch["records"] if r.sent >= switch["acked"] + SETTLE_S and r.key]
    deathstar = sum(1 for r in after if r.key == "deathstar")
    darkstar = sum(1 for r in after if r.key == "darkstar")
    check = check_share("deathstar", deathstar, len(after), EXPECTED_SHARES["deathstar"])
    evidence.weighted_split("split after the update", {"deathstar": deathstar, "darkstar": darkstar},
                            EXPECTED_SHARES, {"deathstar": check.interval})
    assert deathstar + darkstar == len(after) >= AFTER
    assert check.consistent, "split after the update: " + check.describe()
