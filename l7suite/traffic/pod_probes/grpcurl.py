"""gRPC calls from a client pod with grpcurl, N calls in ONE exec, and Envoy's per-replica request counts.

The client image is `fullstorydev/grpcurl:<v>-alpine` (grpcurl plus a shell); the proto is shipped in a
ConfigMap, so nothing is downloaded at run time (the lab installs grpcurl and fetches demo.proto with
curl). grpcurl's `-v` output (as the lab shows it, seed 004) has sections "Response headers received:",
"Response contents:" and "Response trailers received:"; after L7 load balancing is enabled the
headers carry `server: envoy`.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from l7suite.traffic.pod_probes import Exec

PROTO_DIR = "/protos"
PROTO_FILE = "currency.proto"
CURRENCY_METHOD = "hipstershop.CurrencyService/GetSupportedCurrencies"
CALL = "--l7suite-call"
RC = "--l7suite-rc"


def grpcurl_argv(target: str, method: str = CURRENCY_METHOD, max_time: float = 5.0) -> list[str]:
    # flags from fullstorydev/grpcurl cmd/grpcurl/grpcurl.go: -v, -plaintext, -max-time, -import-path, -proto
    return ["grpcurl", "-v", "-plaintext", "-max-time", f"{max_time:g}", "-import-path", PROTO_DIR,
            "-proto", PROTO_FILE, target, method]


@dataclass
class GrpcAnswer:
    exit_code: int
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-cased names
    contents: list[Any] = field(default_factory=list)  # response messages as JSON
    trailers: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""

    @property
    def via_envoy(self) -> bool:
        return "envoy" in self.headers.get("server", [])


def _metadata(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and line.strip() != "(empty)":
            out.setdefault(name.strip().lower(), []).append(value.strip())
    return out


def parse_grpcurl(text: str, exit_code: int) -> GrpcAnswer:
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.endswith(":") and line[:-1] in ("Response headers received", "Response contents",
                                                 "Response trailers received", "Request metadata to send"):
            current = line[:-1]
            sections[current] = []
        elif line.startswith("Sent ") and " request" in line:
            current = None
        elif current is not None:
            sections[current].append(line)
    contents: list[Any] = []
    body = "\n".join(sections.get("Response contents", [])).strip()
    if body:
        decoder = json.JSONDecoder()
        index = 0
        while index < len(body):  # grpcurl prints one JSON document per message
            message, index = decoder.raw_decode(body, index)
            contents.append(message)
            while index < len(body) and body[index].isspace():
                index += 1
    header_lines = [x for x in sections.get("Response headers received", []) if x.strip()]
    trailer_lines = [x for x in sections.get("Response trailers received", []) if x.strip()]
    return GrpcAnswer(exit_code, _metadata(header_lines), contents, _metadata(trailer_lines), text)


def calls_script(argv: list[str], count: int) -> str:
    """A POSIX sh loop running `count` grpcurl calls, each framed by marker lines with its exit code."""
    if count < 1:
        raise ValueError("count must be at least 1")
    call = " ".join(shlex.quote(a) for a in argv)
    return (f"i=0; while [ $i -lt {count} ]; do i=$((i+1)); echo '{CALL}'; {call} 2>&1; "
            f"echo \"{RC} $?\"; done")


def parse_calls(stdout: str) -> list[GrpcAnswer]:
    answers = []
    for chunk in stdout.split(CALL + "\n")[1:]:
        body, sep, tail = chunk.rpartition(RC + " ")
        if not sep:
            continue  # the loop was cut off inside this call
        answers.append(parse_grpcurl(body, int(tail.split()[0])))
    return answers


def grpc_calls(run: Exec, namespace: str, pod: str, target: str, count: int) -> list[GrpcAnswer]:
    answers = parse_calls(run(namespace, pod, ["sh", "-c", calls_script(grpcurl_argv(target), count)],
                              count * 6 + 30).stdout)
    if len(answers) != count:
        raise AssertionError(f"{count} gRPC calls ran, {len(answers)} answers were printed")
    return answers


def host_requests(clusters: dict[str, Any], cluster: str) -> dict[str, int]:
    """From Envoy's admin `/clusters?format=json`: `rq_total` per host `ip:port` of one cluster.

    Envoy's admin API (admin/v3/clusters.proto): cluster_statuses[].host_statuses[] with `address`
    and `stats` [{name, value}] (uint64 values are JSON strings in protobuf's mapping).
    """
    out: dict[str, int] = {}
    for status in clusters.get("cluster_statuses", []):
        if status.get("name") != cluster:
            continue
        for host in status.get("host_statuses", []):
            sock = host.get("address", {}).get("socket_address", {})
            total = next((int(s.get("value", 0)) for s in host.get("stats", []) if s.get("name") == "rq_total"), 0)
            out[f"{sock.get('address')}:{sock.get('port_value')}"] = total
    return out
