"""curl, batch and fortio probes: argv built, outputs parsed; the batch loop really runs (sh + curl,
against a server on 127.0.0.1) so its record format is checked end to end without a cluster."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from l7suite.standins.http_servers import HttpBackend
from l7suite.traffic.pod_probes import ExecResult
from l7suite.traffic.pod_probes.batch import batch, batch_script, parse_batch
from l7suite.traffic.pod_probes.curl import CURL_TIMED_OUT, CurlRequest, CurlResult, curl, parse_curl
from l7suite.traffic.pod_probes.fortio import FortioOutputError, Histogram, fortio_argv, parse_fortio

DATA = Path(__file__).parent / "data"


def test_curl_answer_and_status_come_from_one_output():
    # the lab's answer to POST /v1/request-landing, followed by curl's -w status line
    got = parse_curl(ExecResult(0, "Ship landed\n\n--l7suite-status:200\n", ""))
    assert got == CurlResult(exit_code=0, status=200, body="Ship landed\n")


def test_curl_timeout_has_exit_28_and_no_status():
    # `kubectl exec xwing -- curl --max-time 1 ...` -> "command terminated with exit code 28" (the lab)
    got = parse_curl(ExecResult(CURL_TIMED_OUT, "\n--l7suite-status:000\n", "command terminated with exit code 28\n"))
    assert got == CurlResult(exit_code=28, status=None, body="")


def test_curl_argv_carries_method_timeout_and_url():
    argv = CurlRequest("http://deathstar.starwars.svc.cluster.local/v1/exhaust-port", "PUT", 2).argv()
    assert argv[:6] == ["curl", "-s", "-X", "PUT", "--max-time", "2"] and argv[-1].endswith("/v1/exhaust-port")


class _Deathstar(HttpBackend):
    """403 'Access denied' for /deny (as Envoy answers an L7 policy denial), 200 JSON otherwise."""

    def respond(self, method, path, headers, body):
        if path == "/deny":
            return 403, "text/plain", b"Access denied\r\n"
        return 200, "application/json", json.dumps({"hostname": self.name}).encode() + b"\n"


@pytest.fixture
def local_server():
    server = _Deathstar("deathstar-1").start()
    try:
        yield f"http://{server.address}"
    finally:
        server.stop()


def local_exec(namespace, pod, argv, timeout):
    """The Exec seam run on this machine instead of in a pod (same argv, same sh)."""
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    return ExecResult(done.returncode, done.stdout, done.stderr)


def test_curl_probe_through_the_exec_seam(local_server):
    got = curl(local_exec, "starwars", "tiefighter", CurlRequest(local_server + "/deny", max_time=5))
    # text-mode pipes (kubectl exec's too) turn the CRLF into LF
    assert got == CurlResult(exit_code=0, status=403, body="Access denied\n")


def test_batch_runs_n_requests_in_one_exec_and_counts_them(local_server):
    result = batch(local_exec, "exam", "tiefighter", CurlRequest(local_server + "/v1/", max_time=5), 7)
    assert (result.statuses, result.exit_codes) == (Counter({200: 7}), Counter({0: 7}))
    assert Counter(json.loads(r.body)["hostname"] for r in result.records) == Counter({"deathstar-1": 7})


def test_batch_records_timeouts_as_curl_exit_codes(local_server):
    # a port nothing listens on: curl exits 7 (connection refused) with status 000
    closed = CurlRequest("http://127.0.0.1:9/", max_time=1)
    result = parse_batch(local_exec("ns", "pod", ["sh", "-c", batch_script(closed, 2)], 30))
    assert [(r.exit_code, r.status) for r in result.records] == [(7, None), (7, None)]


def test_batch_refuses_a_zero_count():
    with pytest.raises(ValueError):
        batch_script(CurlRequest("http://x/"), 0)


def test_fortio_recorded_result_parses():
    result = parse_fortio((DATA / "fortio_http_result.json").read_text())
    assert (result.url, result.threads, result.ret_codes, result.total, result.version) == (
        "http://httpbin.default/get", 4, {200: 100}, 100, "1.57.3")
    assert result.durations == Histogram(count=100, min=0.004223875, max=0.040490042, avg=0.015977100850000002,
                                         percentiles={50.0: 0.014571428571428572, 75.0: 0.020454545454545454,
                                                      90.0: 0.028125, 95.0: 0.032, 99.0: 0.04, 99.9: 0.0404410378})
    assert result.share(200) == 1.0 and result.share(503) == 0.0


def test_fortio_socket_errors_and_503s_are_counted():
    recorded = json.loads((DATA / "fortio_http_result.json").read_text())
    recorded["RetCodes"] = {"200": 60, "503": 38, "-1": 2}  # fortio's keys: code as string, -1 socket error
    result = parse_fortio(json.dumps(recorded))
    assert (result.ret_codes, result.share(503)) == ({200: 60, 503: 38, -1: 2}, 0.38)


def test_fortio_text_output_is_an_error_not_a_zero():
    with pytest.raises(FortioOutputError, match="no JSON"):
        parse_fortio("Code 200 : 20 (100.0 %)\n")


def test_fortio_argv_asks_for_json_on_stdout():
    assert fortio_argv("http://echo-service:8080", 2, 20) == [
        "fortio", "load", "-json", "-", "-c", "2", "-qps", "0", "-n", "20", "http://echo-service:8080"]
