"""The steady request loop's wait (l7suite/traffic/http_load.py), against a stand-in on loopback: it counts
only the answers to requests sent after the given time, is woken once enough could be there (not per
request), and gives up when the loop's budget is spent."""

import time

import pytest

from l7suite.standins.http_servers import EchoBackend
from l7suite.traffic.http_load import HttpLoad


@pytest.fixture
def echo():
    backend = EchoBackend("echo-0").start()
    yield backend
    backend.stop()


def test_wait_counts_only_requests_sent_after_the_given_time(echo):
    with HttpLoad(f"http://{echo.address}/", workers=2, max_requests=2000, max_seconds=20) as load:
        load.wait_for(50)
        since = time.monotonic()
        done = load.wait_for(100, sent_after=since, timeout=10)
        answered_by_then = list(load.records)  # the loop may have added a few since the wait returned
    later = [r for r in answered_by_then if r.sent >= since]
    # a wait that counted the 50+ answers from before `since` would return with about 50 later ones
    assert done >= 100 and len(later) >= 100, (done, len(later), len(answered_by_then))
    assert all(r.status == 200 for r in later)


def test_waiter_is_woken_when_the_count_can_be_reached_not_per_request(echo):
    """Each wake-up is a thread switch; woken per answer, a wait for 300 would wake about 300 times. Woken
    when count - done more answers exist, it wakes a few times, plus once per 0.2 s poll."""
    with HttpLoad(f"http://{echo.address}/", workers=2, max_requests=5000, max_seconds=20) as load:
        load.wait_for(10)
        wakes = []
        wait = load._lock.wait  # noqa: SLF001 (the wait's own Condition)

        def counted(timeout=None):
            wakes.append(time.monotonic())
            return wait(timeout)

        load._lock.wait = counted  # noqa: SLF001
        started = time.monotonic()
        done = load.wait_for(300, sent_after=started, timeout=10)
        took = time.monotonic() - started
    assert done >= 300
    assert len(wakes) <= 5 + took / 0.2, f"{len(wakes)} wake-ups in {took:.2f} s for 300 answers"


def test_wait_gives_up_when_the_budget_is_spent(echo):
    with (HttpLoad(f"http://{echo.address}/", workers=1, max_requests=20, max_seconds=20) as load,
          pytest.raises(TimeoutError, match=r"request loop: \d+/50 answers")):
        load.wait_for(50, timeout=10)
