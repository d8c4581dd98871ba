"""N requests in ONE exec: a shell loop in the client pod prints one record per request.

The lab runs 100 `kubectl exec` calls (minutes); one exec running a loop takes seconds. Each record is
`<curl exit code> <http status> <body, first line>` so status splits and bodies (e.g. a `hostname`
field) can both be counted. The loop count is fixed and every curl has `--max-time`, so it ends.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field

from l7suite.traffic.pod_probes import Exec, ExecResult
from l7suite.traffic.pod_probes.curl import CurlRequest

RECORD = "--l7suite-record"


@dataclass(frozen=True)
class BatchRecord:
    exit_code: int
    status: int | None
    body: str


@dataclass
class BatchResult:
    records: list[BatchRecord] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int | None]:
        return Counter(r.status for r in self.records)

    @property
    def exit_codes(self) -> Counter[int]:
        return Counter(r.exit_code for r in self.records)


FIRST_LINE = "head -n 1 | tr -d '\\r'"


def batch_script(request: CurlRequest, count: int, pick: str = FIRST_LINE) -> str:
    """A POSIX sh loop (busybox or bash) that runs `count` curls and prints one record line each:
    exit code, HTTP status and what the shell filter `pick` takes from the answer (its first line)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    curl = " ".join(shlex.quote(a) for a in request.options())
    url = shlex.quote(request.url)
    return (
        f"i=0; while [ $i -lt {count} ]; do i=$((i+1)); "
        f"body=$({curl} -w '\\n%{{http_code}}' {url} 2>/dev/null); rc=$?; "
        f"code=$(printf '%s' \"$body\" | tail -n 1); first=$(printf '%s' \"$body\" | {pick}); "
        f"printf '%s %s %s %s\\n' '{RECORD}' \"$rc\" \"$code\" \"$first\"; done"
    )


def parse_batch(result: ExecResult) -> BatchResult:
    records = []
    for line in result.stdout.splitlines():
        if not line.startswith(RECORD + " "):
            continue
        parts = line[len(RECORD) + 1:].split(" ", 2)
        rc, code = int(parts[0]), parts[1] if len(parts) > 1 else ""
        status = int(code) if code.isdigit() and code != "000" else None
        records.append(BatchRecord(exit_code=rc, status=status, body=parts[2] if len(parts) > 2 else ""))
    return BatchResult(records)


def batch(run: Exec, namespace: str, pod: str, request: CurlRequest, count: int,
          pick: str = FIRST_LINE) -> BatchResult:
    timeout = count * (request.max_time + 1) + 30
    result = parse_batch(run(namespace, pod, ["sh", "-c", batch_script(request, count, pick)], timeout))
    if len(result.records) != count:
        raise AssertionError(f"batch of {count} printed {len(result.records)} records:\n{result}")
    return result
