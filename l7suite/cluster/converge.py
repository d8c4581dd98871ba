"""Convergence: after a change (a policy, a CEC, new DNS names), probe until the expected answer comes
N times in a row, within a named deadline, before a test asserts anything on the scenario.

The agents realizing a policy revision (l7suite/cluster/policy_revision.py) is necessary but not the whole
story: Envoy gets its listener over xDS, DNS caches expire, a kernel drop only shows once a connection is
new. So a test first converges on the answer it is about to check, then checks it on fresh requests.
Every attempt is logged with its wall-clock time; when the deadline passes, the failure lists them all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, stop_after_delay, wait_fixed

T = TypeVar("T")

CONSECUTIVE = 3  # answers in a row that count as converged
INTERVAL = 1.0  # seconds between attempts


class NotConverged(AssertionError):
    """The expected answer did not come N times in a row in time; the message lists every attempt."""


@dataclass(frozen=True)
class Attempt:
    number: int
    at: float  # unix time the answer came
    ok: bool
    observed: str

    def line(self) -> str:
        stamp = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")
        return f"#{self.number} {stamp} {'ok' if self.ok else 'not yet'}: {self.observed}"


@dataclass
class Convergence(Generic[T]):
    what: str
    attempts: list[Attempt] = field(default_factory=list)
    last: T | None = None

    def lines(self) -> str:
        return "\n".join(a.line() for a in self.attempts)


def converge(what: str, probe: Callable[[], T], ok: Callable[[T], bool], deadline: float, *,
             describe: Callable[[T], str] = repr, consecutive: int = CONSECUTIVE, interval: float = INTERVAL,
             log: Callable[[str], None] = lambda line: None, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.time) -> Convergence[T]:
    """Probe until `ok` holds `consecutive` times in a row; at most `deadline` seconds and
    deadline/interval + consecutive attempts (bounded in time and in count)."""
    __tracebackhide__ = True
    result: Convergence[T] = Convergence(what)
    streak = 0

    def attempt() -> int:
        nonlocal streak
        value = probe()
        good = bool(ok(value))
        streak = streak + 1 if good else 0
        result.last = value
        result.attempts.append(Attempt(len(result.attempts) + 1, clock(), good, describe(value)))
        log(f"{what}: {result.attempts[-1].line()} ({streak}/{consecutive} in a row)")
        return streak

    most = math.ceil(deadline / interval) + consecutive
    try:
        Retrying(stop=stop_after_delay(deadline) | stop_after_attempt(most), wait=wait_fixed(interval),
                 retry=retry_if_result(lambda s: s < consecutive), sleep=sleep)(attempt)
    except RetryError:
        raise NotConverged(
            f"{what}: not {consecutive} times in a row within {deadline:g}s (deadline converge, "
            f"l7suite/cluster/timeouts.py); {len(result.attempts)} attempts:\n{result.lines()}") from None
    return result
