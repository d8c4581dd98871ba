"""A steady request loop that runs inside the client pod for a bounded time, and who runs Envoy.

The loop is ONE exec (the lab's loop is one `kubectl exec` per request, seed 002): it prints a record
per request, `<seq> <unix time> <curl exit code> <http status> <curl's time_total>`, sleeps between
requests, and ends when a stop file appears or `max_seconds` pass, whichever comes first. The unix
times come from the pod's clock, which on kind is the host's (nodes are containers), so they compare
with the restart window. With `resolve`, curl gets `--resolve HOST:PORT:ADDRESS` (the Service's
ClusterIP, read once): no DNS lookup per request, so a DNS hiccup during the restart is not counted as
an Envoy failure.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from l7suite.traffic.pod_probes.curl import CurlRequest

# curl's exit codes a request loop meets (curl(1), EXIT CODES)
CURL_EXIT = {0: "ok", 6: "could not resolve host", 7: "failed to connect", 28: "timed out",
             52: "empty reply from server", 56: "failure receiving data (connection reset)"}

TICK = "--l7suite-tick"
END = "--l7suite-end"
STOP_FILE = "/tmp/l7suite-stop-loop"


def resolve_option(url: str, address: str) -> str:
    """curl's `--resolve` value that sends `url`'s host:port to `address` without asking DNS."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}:{address}"


def steady_loop_script(request: CurlRequest, max_seconds: int, interval: float = 0.5,
                       stop_file: str = STOP_FILE, resolve: str = "") -> str:
    options = [*request.options(), *(["--resolve", resolve] if resolve else [])]
    curl = " ".join(shlex.quote(a) for a in options)
    url, stop = shlex.quote(request.url), shlex.quote(stop_file)
    return (
        f"rm -f {stop}; end=$(( $(date +%s) + {int(max_seconds)} )); n=0; "
        f"while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do n=$((n+1)); t=$(date +%s); "
        f"code=$({curl} -o /dev/null -w '%{{http_code}} %{{time_total}}' {url} 2>/dev/null); rc=$?; "
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
    seconds: float | None = None  # curl's time_total

    def record(self, restart_started: float | None = None) -> dict[str, Any]:
        """This request as evidence: when (unix and UTC), how long, what curl and the server said."""
        out: dict[str, Any] = {
            "seq": self.seq, "unix_time": self.time,
            "utc": datetime.fromtimestamp(self.time, UTC).isoformat(),
            "curl_exit": self.exit_code, "curl_says": CURL_EXIT.get(self.exit_code, "see curl(1) EXIT CODES"),
            "http_status": self.status, "seconds": self.seconds}
        if restart_started is not None:
            out["since_restart_s"] = round(self.time - restart_started, 1)
        return out


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
        durations = [t.seconds for t in self.ticks if t.seconds is not None]
        return {"requests": len(self.ticks), "failed": len(self.failed()), "ended": self.ended,
                "outcomes": dict(self.outcomes),
                "window": [self.ticks[0].time, self.ticks[-1].time] if self.ticks else None,
                "slowest_s": max(durations) if durations else None}

    def failed_records(self, restart_started: float | None = None) -> list[dict[str, Any]]:
        return [t.record(restart_started) for t in self.failed()]

    def log(self) -> str:
        """Every request, one JSON object a line (the evidence of what happened and when)."""
        return "\n".join(json.dumps(t.record()) for t in self.ticks)


def parse_loop(stdout: str) -> SteadyLoop:
    loop = SteadyLoop()
    for line in stdout.splitlines():
        if line.startswith(END + " "):
            loop.ended = True
        elif line.startswith(TICK + " "):
            parts = line.split()
            code = parts[4] if len(parts) > 4 else ""
            status = int(code) if code.isdigit() and code != "000" else None
            loop.ticks.append(Tick(int(parts[1]), int(parts[2]), int(parts[3]), status,
                                   _seconds(parts[5]) if len(parts) > 5 else None))
    return loop


def _seconds(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return None


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


# ---- isolation: no other CiliumEnvoyConfig on the nodes while the agents restart -----------------------

SUITE_FIELD_MANAGER = "l7suite"  # l7suite/cluster/kube.py: every apply is `--field-manager=l7suite`
ENVOY_CONFIG_KINDS = ("ciliumenvoyconfigs", "ciliumclusterwideenvoyconfigs")


@dataclass(frozen=True)
class EnvoyConfigRef:
    kind: str  # the API resource (plural), as kubectl takes it
    namespace: str  # "" for a clusterwide config
    name: str
    ours: bool  # applied by this suite (a scenario's leftover), not by the cluster's owner

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.removesuffix('s')} {where}{self.name}" + (" (left by the suite)" if self.ours else "")


def envoy_configs_outside(listing: dict[str, Any], kind: str, namespace: str) -> list[EnvoyConfigRef]:
    """The configs of a `kubectl get KIND -A -o json --show-managed-fields` listing that are not in
    `namespace`; `ours` when the suite's field manager wrote them."""
    out = []
    for item in listing.get("items", []):
        meta = item.get("metadata", {})
        if meta.get("namespace", "") == namespace:
            continue
        managers = {f.get("manager") for f in meta.get("managedFields") or []}
        out.append(EnvoyConfigRef(kind, meta.get("namespace", ""), meta["name"], SUITE_FIELD_MANAGER in managers))
    return sorted(out, key=str)
