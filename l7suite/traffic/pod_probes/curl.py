"""One curl in a client pod: exit code, HTTP status and body, as the lab's `kubectl exec ... curl` shows.

curl's `-w` prints a marker and the status after the body, so one exec returns both. Exit code 28 is
curl's "operation timed out" (a policy DROP looks like this from the client).
"""

from __future__ import annotations

from dataclasses import dataclass

from l7suite.traffic.pod_probes import Exec, ExecResult

STATUS_MARKER = "\n--l7suite-status:"
CURL_TIMED_OUT = 28


@dataclass(frozen=True)
class CurlRequest:
    url: str
    method: str = "GET"
    max_time: float = 3.0
    headers: tuple[str, ...] = ()

    def options(self) -> list[str]:
        """curl and its options, without the URL and output format (the batch loop adds its own)."""
        argv = ["curl", "-s", "-X", self.method, "--max-time", f"{self.max_time:g}"]
        for h in self.headers:
            argv += ["-H", h]
        return argv

    def argv(self) -> list[str]:
        return [*self.options(), "-w", STATUS_MARKER + "%{http_code}\n", self.url]


@dataclass(frozen=True)
class CurlResult:
    exit_code: int
    status: int | None  # None when no HTTP answer came (timeout, refused)
    body: str


def parse_curl(result: ExecResult) -> CurlResult:
    body, sep, tail = result.stdout.rpartition(STATUS_MARKER)
    if not sep:
        return CurlResult(exit_code=result.exit_code, status=None, body=result.stdout)
    code = tail.strip()
    status = int(code) if code.isdigit() and code != "000" else None  # curl prints 000 for no answer
    return CurlResult(exit_code=result.exit_code, status=status, body=body)


def curl(run: Exec, namespace: str, pod: str, request: CurlRequest) -> CurlResult:
    # the exec itself gets a margin over curl's own limit so curl, not kubectl, reports a timeout
    return parse_curl(run(namespace, pod, request.argv(), request.max_time + 30))

