"""The in-pod loops, run here by a real sh with a stand-in curl: the steady loop (bounded, stopped by a
file), the hostname batch of the exam; and Envoy process detection on a real /proc scan."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

from l7suite.traffic.pod_probes import ExecResult
from l7suite.traffic.pod_probes.batch import parse_batch
from l7suite.traffic.pod_probes.curl import CurlRequest
from l7suite.traffic.pod_probes.hostnames import groups, hostname_batch_script
from l7suite.traffic.pod_probes.steady_in_pod import (
    PROC_SCAN,
    envoy_processes,
    parse_loop,
    steady_loop_script,
    stop_argv,
)

URL = "http://deathstar.starwars.svc.cluster.local/v1/request-landing"


def stand_in_curl(tmp_path: Path, body: str) -> dict[str, str]:
    """A `curl` that honours `-o /dev/null` and `-w` like curl, answering 200 except on the 3rd call (exit 28)."""
    fake = tmp_path / "curl"
    fake.write_text(
        "#!/bin/sh\n"
        f"n=$(cat {tmp_path}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {tmp_path}/n\n"
        'out=1; fmt=""\n'
        'while [ $# -gt 0 ]; do case "$1" in -o) out=0; shift;; -w) fmt="$2"; shift;; esac; shift; done\n'
        'if [ $n -eq 3 ]; then printf "%b" "$(printf "%s" "$fmt" | sed s/%{http_code}/000/)"; exit 28; fi\n'
        f"[ $out -eq 1 ] && printf '%s' '{body}'\n"
        'printf "%b" "$(printf "%s" "$fmt" | sed s/%{http_code}/200/)"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_steady_loop_stops_on_the_stop_file_and_records_each_request(tmp_path):
    env = stand_in_curl(tmp_path, "Ship landed")
    stop = str(tmp_path / "stop")
    script = steady_loop_script(CurlRequest(URL, "POST", 2), max_seconds=60, interval=0.05, stop_file=stop)
    out: list[str] = []
    runner = threading.Thread(target=lambda: out.append(subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=90, env=env, check=False).stdout))
    started = time.time()
    runner.start()
    time.sleep(1.0)
    subprocess.run(stop_argv(stop), check=True)
    runner.join(timeout=30)
    loop = parse_loop(out[0])
    assert loop.ended and time.time() - started < 30  # stopped by the file, long before max_seconds
    assert len(loop.ticks) >= 4 and [t.seq for t in loop.ticks] == list(range(1, len(loop.ticks) + 1))
    assert [(t.exit_code, t.status) for t in loop.failed()] == [(28, None)]
    assert loop.covers(loop.ticks[0].time, loop.ticks[-1].time)
    assert not loop.covers(loop.ticks[0].time - 10, loop.ticks[-1].time)


def test_steady_loop_ends_by_itself_after_max_seconds(tmp_path):
    env = stand_in_curl(tmp_path, "Ship landed")
    script = steady_loop_script(CurlRequest(URL, "POST", 2), max_seconds=1, interval=0.2,
                                stop_file=str(tmp_path / "never"))
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env=env, check=False)
    loop = parse_loop(done.stdout)
    assert loop.ended and 1 <= len(loop.ticks) <= 15


def test_a_cut_off_loop_is_not_ended():
    loop = parse_loop("--l7suite-tick 1 1700000000 0 200\n--l7suite-tick 2 1700000001 0 200\n")
    assert not loop.ended and loop.summary()["requests"] == 2 and loop.failed() == []


def test_hostname_batch_picks_hostnames_from_pretty_json(tmp_path):
    body = '{\\n        "hostname": "deathstar-6fb5694d48-5hmds",\\n        "model": "DS-1"\\n}'
    env = stand_in_curl(tmp_path, body.replace("\\n", "\n"))
    script = hostname_batch_script(CurlRequest("http://deathstar.exam.svc.cluster.local/v1/", max_time=2), 4)
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env=env, check=False)
    result = parse_batch(ExecResult(done.returncode, done.stdout, done.stderr))
    assert [(r.exit_code, r.status, r.body) for r in result.records] == [
        (0, 200, "deathstar-6fb5694d48-5hmds"), (0, 200, "deathstar-6fb5694d48-5hmds"), (28, None, ""),
        (0, 200, "deathstar-6fb5694d48-5hmds")]
    assert groups(result) == {"deathstar": 3}


def test_envoy_processes_on_a_real_proc_scan_and_on_embedded_lines(tmp_path):
    # Processes of our own, so the result does not depend on what else runs on the machine: a program
    # named cilium-envoy, and a shell whose arguments (not its program) mention envoy.
    fake = tmp_path / "cilium-envoy"
    shutil.copy("/bin/sleep", fake)
    started = [subprocess.Popen([str(fake), "30"]), subprocess.Popen(["sh", "-c", "sleep 30; : envoy"])]
    try:
        scan = subprocess.run(["sh", "-c", PROC_SCAN], capture_output=True, text=True, timeout=30,
                              check=True).stdout
    finally:
        for proc in started:
            proc.kill()
            proc.wait()
    ours = [line for line in envoy_processes(scan) if str(tmp_path) in line or ": envoy" in line]
    assert ours == [f"{fake} 30"]
    embedded = ("cilium-agent --config-dir=/tmp/cilium/config-map\n"
                "/usr/bin/cilium-envoy-starter -- -c /var/run/cilium/envoy/bootstrap.pb\n"
                "/usr/bin/cilium-envoy -c /var/run/cilium/envoy/bootstrap.pb --base-id 0\n"
                "sh -c grep envoy-config\n")
    assert [line.split()[0] for line in envoy_processes(embedded)] == [
        "/usr/bin/cilium-envoy-starter", "/usr/bin/cilium-envoy"]
