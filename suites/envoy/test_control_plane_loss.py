"""Control-plane loss: the agent restarts while Envoy runs on (the reason Cilium moved Envoy into its own
DaemonSet, seed 002). Under a steady request loop through the weighted-lb listener, the suite's xDS server
stops and later starts again on the same port. No request fails while it is gone;
`control_plane.connected_state` drops to 0 and returns to 1; after reconnecting Envoy keeps the same
listeners and drains none of them.

The loop runs as fast as it goes while the control plane is gone (the 300 answers of that window), and at
RECONNECT_RATE while the test waits for Envoy to reconnect and ACK (about half a second): requests keep
flowing across the reconnection, a few hundred of them, without a core spent on a wait.
"""

import json
import time

import pytest

from l7suite.scenarios.weighted_lb import listener_url
from l7suite.traffic.steady_load import SteadyLoad, failures, summarize

SCENARIO = "weighted-lb"
HOST = "deathstar.exam.svc.cluster.local"
WHILE_DOWN = 300  # answers that must arrive while the control plane is gone
RECONNECT_RATE = 1000.0  # requests/s of the loop while Envoy reconnects (module docstring)
STATE_TIMEOUT_S = 15.0  # for connected_state to follow (Envoy reconnects with 0.1-0.5 s back-off)
STREAK_INTERVAL_S = 0.1  # between the consecutive readings that must all show the wanted state
FIRST_POLL_S = 0.02  # between readings until the first one shows it
LISTENER_COUNTERS = r"^listener_manager\.(listener_added|listener_modified|listener_removed|total_listeners_draining)$"


def connected_state(run) -> int:
    return run.admin.stat("control_plane.connected_state")


def wait_state(run, wanted: int, consecutive: int = 5, timeout: float = STATE_TIMEOUT_S) -> list[tuple[float, int]]:
    """Poll the gauge until it reads `wanted` `consecutive` times in a row, 0.1 s apart; return the readings
    (time, value) as evidence. Envoy sets the gauge to 1 when it opens a stream, before the connection is
    up, so a reconnection attempt to a server that is not there shows as a short 1: one reading is not enough.
    Until the first `wanted` reading the gauge is polled every 0.02 s, so the streak starts as soon as it can.
    """
    readings: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    streak = 0
    while True:
        value = connected_state(run)
        readings.append((round(time.monotonic(), 3), value))
        streak = streak + 1 if value == wanted else 0
        if streak >= consecutive:
            return readings
        if time.monotonic() > deadline:
            raise AssertionError(f"control_plane.connected_state did not read {wanted} {consecutive} times in a row "
                                 f"within {timeout:.0f}s; last readings: {readings[-8:]}")
        time.sleep(STREAK_INTERVAL_S if streak else FIRST_POLL_S)


def wait_acks(run, since: float, timeout: float = STATE_TIMEOUT_S) -> list[str]:
    """Wait until Envoy ACKed, on the new stream, every type the snapshot holds; return them."""
    wanted = {t for t, v in run.ads.versions().items() if v}
    deadline = time.monotonic() + timeout
    while True:
        acked = {e.type_url for e in list(run.ads.events) if e.kind == "ACK" and e.at >= since}
        if wanted <= acked:
            return sorted(acked)
        if time.monotonic() > deadline:
            raise AssertionError(f"after the restart Envoy ACKed only {sorted(acked)} of {sorted(wanted)}")
        time.sleep(FIRST_POLL_S)


def pod(status: int, body: bytes) -> str | None:
    return json.loads(body)["hostname"] if status == 200 else None


@pytest.fixture(scope="module")
def outage(envoy_run, report_lines):
    run = envoy_run
    url = listener_url(run) + "/v1/"  # where empire-to-deathstar redirects (weighted-lb CEC: backendServices)
    readings = {"before": wait_state(run, 1, consecutive=1)}
    listeners_before = run.admin.listeners()
    counters_before = run.admin.stats(LISTENER_COUNTERS)
    connections_before = run.ads.connections
    with SteadyLoad(url, key=pod, host=HOST, workers=2, max_requests=20000, max_seconds=90) as load:
        load.wait_for(100)
        stopped = time.monotonic()
        run.ads.stop()
        readings["down"] = wait_state(run, 0, consecutive=1)
        load.wait_for(WHILE_DOWN, sent_after=time.monotonic())
        load.pace(RECONNECT_RATE)
        restarted, restarted_wall = time.monotonic(), time.time()
        run.ads.start()  # same port: Envoy's bootstrap still points there
        readings["back"] = wait_state(run, 1)
        resubscribed = wait_acks(run, since=restarted_wall)
        load.pace(None)
        load.wait_for(100, sent_after=time.monotonic())
    records = load.stop()
    report_lines.add("load client requests/s", f"{run.binary.parent.name}: control-plane loss loop "
                     f"{load.rps():.0f} req/s ({len(records)} requests)")
    return {"records": records, "stopped": stopped, "restarted": restarted, "readings": readings,
            "listeners_before": listeners_before, "listeners_after": run.admin.listeners(),
            "counters_before": counters_before, "counters_after": run.admin.stats(LISTENER_COUNTERS),
            "new_streams": run.ads.connections - connections_before, "resubscribed": resubscribed}


def test_no_request_fails_while_the_control_plane_is_gone(outage, evidence):
    records = outage["records"]
    down = [r for r in records if outage["stopped"] <= r.sent <= outage["restarted"]]
    evidence.json("request loop across the outage", {"all": summarize(records), "while down": summarize(down)})
    assert len(down) >= WHILE_DOWN
    assert not failures(records), f"requests failed around the outage: {summarize(failures(records))}"


def test_connected_state_drops_to_0_and_returns_to_1(outage, evidence):
    evidence.json("control_plane.connected_state readings", outage["readings"])
    assert outage["readings"]["down"][-1][1] == 0
    assert outage["readings"]["back"][-1][1] == 1
    assert outage["new_streams"] >= 1, "Envoy opened no new ADS stream after the restart"
    assert outage["resubscribed"], "Envoy ACKed nothing on the new stream"


def test_listeners_are_kept_without_draining(outage, evidence):
    before, after = outage["counters_before"], outage["counters_after"]
    evidence.json("listener_manager counters before/after", {"before": before, "after": after})
    assert outage["listeners_after"] == outage["listeners_before"]
    assert len(before) == 4, f"listener_manager counters missing from admin /stats: {before}"
    assert after == before, f"listeners were added, modified, removed or drained across the reconnection: " \
                            f"{before} -> {after}"
