"""A steady request loop that runs inside the client pod for a bounded time, and who runs Envoy.

The loop is ONE exec (the lab's loop is one `kubectl exec` per request, seed 002): it prints a record
per request, `<seq> <unix time> <curl exit code> <http status>`, sleeps between requests, and ends when
a stop file appears or `max_seconds` pass, whichever comes first. The unix times come from the pod's
clock, which on kind is the host's (nodes are containers), so they compare with the restart window.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field

from l7suite.probes.curl import CurlRequest

TICK = "--l7suite-tick"
END = "--l7suite-end"
STOP_FILE = "/tmp/l7suite-stop-loop"


def steady_loop_script(request: CurlRequest, max_seconds: int, interval: float = 0.5,
                       stop_file: str = STOP_FILE) -> str:
    curl = " ".join(shlex.quote(a) for a in request.options())
    url, stop = shlex.quote(request.url), shlex.quote(stop_file)
    return (
        f"rm -f {stop}; end=$(( $(date +%s) + {int(max_seconds)} )); n=0; "
        f"while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do n=$((n+1)); t=$(date +%s); "
        f"code=$({curl} -o /dev/null -w '%{{http_code}}' {url} 2>/dev/null); rc=$?; "
        f"printf '%s %s %s %s %s\\n' '{TICK}' \"$n\" \"$t\" \"$rc\" \"$code\"; sleep {interval:g}; done; "
        f"printf '%s %s\\n' '{END}' \"$n\""
    )


def stop_argv(stop_file: str = STOP_FILE) -> list[str]:
    return ["touch", stop_file]


@dataclass(frozen=True)
class Tick:
    seq: int
    time: int
    exit_code: int
    status: int | None


@dataclass
class SteadyLoop:
    ticks: list[Tick] = field(default_factory=list)
    ended: bool = False  # the loop printed its end line (it was not cut off)

    def failed(self, ok_status: int = 200) -> list[Tick]:
        return [t for t in self.ticks if t.exit_code != 0 or t.status != ok_status]

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(f"exit {t.exit_code}, HTTP {t.status}" for t in self.ticks)

    def covers(self, start: float, end: float) -> bool:
        """Requests were made before `start` and after `end` (the loop spans the disruption)."""
        return bool(self.ticks) and self.ticks[0].time <= start and self.ticks[-1].time >= end

    def summary(self) -> dict[str, object]:
        return {"requests": len(self.ticks), "failed": len(self.failed()), "ended": self.ended,
                "outcomes": dict(self.outcomes),
                "window": [self.ticks[0].time, self.ticks[-1].time] if self.ticks else None}


def parse_loop(stdout: str) -> SteadyLoop:
    loop = SteadyLoop()
    for line in stdout.splitlines():
        if line.startswith(END + " "):
            loop.ended = True
        elif line.startswith(TICK + " "):
            parts = line.split()
            code = parts[4] if len(parts) > 4 else ""
            status = int(code) if code.isdigit() and code != "000" else None
            loop.ticks.append(Tick(int(parts[1]), int(parts[2]), int(parts[3]), status))
    return loop


# Every process's command line, one per line, from /proc: needs only sh and tr in the agent's image.
PROC_SCAN = "for p in /proc/[0-9]*; do [ -r $p/cmdline ] && tr '\\0' ' ' < $p/cmdline && echo; done"


def envoy_processes(scan: str) -> list[str]:
    """Command lines whose program is an Envoy (`cilium-envoy`, `cilium-envoy-starter`, `envoy`).

    The lab (seed 002) finds `cilium-envoy-starter` in the agent pod with embedded Envoy and nothing
    with the DaemonSet; only the program name counts, not arguments that mention envoy.
    """
    out = []
    for line in scan.splitlines():
        words = line.split()
        if words and "envoy" in words[0].rsplit("/", 1)[-1]:
            out.append(line.strip())
    return out
