"""control-plane-loss (the scenario: l7suite/scenarios/control_plane_loss.py): under a steady request loop
through weighted-lb's listener, the suite's xDS server stops and later starts again on the same port.

The loop runs as fast as it goes while the control plane is gone (the 300 answers of that window), and at
RECONNECT_RATE while the test waits for Envoy to reconnect and ACK (a few tenths of a second): requests keep
flowing across the reconnection, without a core spent on a wait.

Reconnected means: a new ADS stream on the server, Envoy's ACK of every type of the snapshot on it, then
connected_state read 1. Envoy sets the gauge to 1 as it opens a stream, before the connection is up, so a
1 read alone could be an attempt at a server that is not there (read_state); read after the ACKs came over
the new stream, it cannot be: one reading says what five readings 0.1 s apart said before, 0.4 s sooner.
"""

import time

import pytest

from l7suite.scenarios import control_plane_loss
from l7suite.scenarios.weighted_lb import HOST, listener_url
from l7suite.traffic.answering_pods import answering_pod
from l7suite.traffic.http_load import HttpLoad, failures, summarize

SCENARIO = control_plane_loss.SCENARIO
WHILE_DOWN = 300  # answers that must arrive while the control plane is gone
RECONNECT_RATE = 1000.0  # requests/s of the loop while Envoy reconnects (module docstring)
STATE_TIMEOUT_S = 15.0  # for connected_state to follow (Envoy reconnects with 0.1-0.5 s back-off)
STREAK_INTERVAL_S = 0.1  # between the consecutive readings that must all show the wanted state
FIRST_POLL_S = 0.02  # between readings until the first one shows it
BACK_STREAK = 1  # readings of 1 after the ACKs on the new stream (module docstring: why one is enough then)
LISTENER_COUNTERS = r"^listener_manager\.(listener_added|listener_modified|listener_removed|total_listeners_draining)$"


def connected_state(run) -> int:
    return run.admin.stat("control_plane.connected_state")


def read_state(run, wanted: int, consecutive: int = 5, timeout: float = STATE_TIMEOUT_S) -> list[tuple[float, int]]:
    """Poll the gauge until it reads `wanted` `consecutive` times in a row, 0.1 s apart, or `timeout` passes;
    return the readings (time, value): the tests judge them (`held`). Envoy sets the gauge to 1 when it opens
    a stream, before the connection is up, so a reconnection attempt to a server that is not there shows as a
    short 1: one reading is not enough. Until the first `wanted` reading the gauge is polled every 0.02 s, so
    the streak starts as soon as it can.
    """
    readings: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    streak = 0
    while streak < consecutive and time.monotonic() <= deadline:
        value = connected_state(run)
        readings.append((round(time.monotonic(), 3), value))
        streak = streak + 1 if value == wanted else 0
        if streak < consecutive:
            time.sleep(STREAK_INTERVAL_S if streak else FIRST_POLL_S)
    return readings


def held(readings: list[tuple[float, int]], wanted: int, consecutive: int) -> bool:
    """The last `consecutive` readings all show `wanted`."""
    return len(readings) >= consecutive and all(value == wanted for _, value in readings[-consecutive:])


def acks_on_new_stream(run, since: float, timeout: float = STATE_TIMEOUT_S) -> tuple[list[str], list[str]]:
    """(the types the snapshot holds, the types Envoy ACKed since `since`), once the second covers the
    first or `timeout` passed."""
    wanted = {t for t, v in run.ads.versions().items() if v}
    deadline = time.monotonic() + timeout
    while True:
        acked = {e.type_url for e in list(run.ads.events) if e.kind == "ACK" and e.at >= since}
        if wanted <= acked or time.monotonic() > deadline:
            return sorted(wanted), sorted(acked)
        time.sleep(FIRST_POLL_S)


@pytest.fixture(scope="module")
def outage(envoy_run, report_lines):
    run = envoy_run
    url = listener_url(run) + "/v1/"  # where empire-to-deathstar redirects (weighted-lb CEC: backendServices)
    readings = {"before": read_state(run, 1, consecutive=1)}
    listeners_before = run.admin.listeners()
    counters_before = run.admin.stats(LISTENER_COUNTERS)
    connections_before = run.ads.connections
    with HttpLoad(url, key=answering_pod, host=HOST, workers=2, max_requests=20000, max_seconds=90) as load:
        load.wait_for(100)
        stopped = time.monotonic()
        run.ads.stop()
        readings["down"] = read_state(run, 0, consecutive=1)
        load.wait_for(WHILE_DOWN, sent_after=time.monotonic())
        load.pace(RECONNECT_RATE)
        restarted, restarted_wall = time.monotonic(), time.time()
        run.ads.start()  # same port: Envoy's bootstrap still points there
        snapshot_types, resubscribed = acks_on_new_stream(run, since=restarted_wall)
        readings["back"] = read_state(run, 1, consecutive=BACK_STREAK)
        load.pace(None)
        load.wait_for(100, sent_after=time.monotonic())
    records = load.stop()
    report_lines.add("load client requests/s", f"{run.binary.parent.name}: control-plane loss loop "
                     f"{load.rps():.0f} req/s ({len(records)} requests)")
    return {"records": records, "stopped": stopped, "restarted": restarted, "readings": readings,
            "listeners_before": listeners_before, "listeners_after": run.admin.listeners(),
            "counters_before": counters_before, "counters_after": run.admin.stats(LISTENER_COUNTERS),
            "new_streams": run.ads.connections - connections_before, "resubscribed": resubscribed,
            "snapshot_types": snapshot_types}


def test_no_request_fails_while_the_control_plane_is_gone(outage, evidence):
    records = outage["records"]
    down = [r for r in records if outage["stopped"] <= r.sent <= outage["restarted"]]
    evidence.json("request loop across the outage", {"all": summarize(records), "while down": summarize(down)})
    assert len(down) >= WHILE_DOWN
    assert not failures(records), f"requests failed around the outage: {summarize(failures(records))}"


def test_connected_state_drops_to_0_and_returns_to_1(outage, evidence):
    readings = outage["readings"]
    evidence.json("control_plane.connected_state readings", readings)
    def seen(phase: str) -> str:
        return f"within {STATE_TIMEOUT_S:g} s; last readings {readings[phase][-8:]}"

    assert held(readings["before"], 1, 1), "connected_state never read 1 before the stop " + seen("before")
    assert held(readings["down"], 0, 1), "connected_state never read 0 after the stop " + seen("down")
    assert held(readings["back"], 1, BACK_STREAK), (
        f"connected_state did not read 1 {BACK_STREAK} times in a row after the restart " + seen("back"))
    assert outage["new_streams"] >= 1, "Envoy opened no new ADS stream after the restart"
    assert outage["resubscribed"], "Envoy ACKed nothing on the new stream"
    assert set(outage["snapshot_types"]) <= set(outage["resubscribed"]), (
        f"after the restart Envoy ACKed only {outage['resubscribed']} of {outage['snapshot_types']}")


def test_listeners_are_kept_without_draining(outage, evidence):
    before, after = outage["counters_before"], outage["counters_after"]
    evidence.json("listener_manager counters before/after", {"before": before, "after": after})
    assert outage["listeners_after"] == outage["listeners_before"]
    assert len(before) == 4, f"listener_manager counters missing from admin /stats: {before}"
    assert after == before, f"listeners were added, modified, removed or drained across the reconnection: " \
                            f"{before} -> {after}"
