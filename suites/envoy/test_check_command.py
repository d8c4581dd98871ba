"""`l7suite check` on real Envoy (every chosen version): configs written like Cilium's documentation examples
are ACKed, the upstream traffic-management example (router without typed_config) is NACKed with Envoy's own
text, and the circuit-breaker example as it stood before cilium/cilium#38158 (a port-qualified EDS name the
config names no port for) gets NO ACK naming the name nobody serves. Configs: suites/envoy/data/check/."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from l7suite import REPO_ROOT
from l7suite.envoy.config_check import run_check
from l7suite.envoy.verdicts import Verdict
from l7suite.scenarios import SUITE_SELF_CHECKS

SCENARIO = SUITE_SELF_CHECKS
DATA = Path(__file__).parent / "data" / "check"
# NO ACK is "neither ACK nor NACK within N s"; Envoy ACKs these configs in well under a second, so 4 s is ample.
# The check does not wait the 4 s out: once Envoy asked for endpoints nobody serves and holds its listener
# subscription back until they come (up to its initial_fetch_timeout, 15 s), no answer can come within 4 s,
# and the verdict is the same as after waiting (AdsServer.wait_settled).
NO_ACK_WAIT = 4.0


def test_configs_written_like_the_docs_are_acked(envoy_version, envoy_binary):
    report = run_check([DATA / "docs-like"], [envoy_version])
    details = {row.label: {v: o.describe() for v, o in row.results.items()} for row in report.rows}
    assert [(row.kind, row.namespace, row.name) for row in report.rows] == [
        ("CiliumClusterwideEnvoyConfig", "", "envoy-circuit-breaker"),
        ("CiliumEnvoyConfig", "default", "envoy-lb-listener"),  # no metadata.namespace in the file: default
        ("CiliumClusterwideEnvoyConfig", "", "envoy-lb-listener")]
    assert [o.verdict for row in report.rows for o in row.results.values()] == [Verdict.ACK] * 3, details
    assert report.ok


def test_router_without_typed_config_is_nacked_with_envoys_text(envoy_version, envoy_binary):
    report = run_check([DATA / "router-untyped"], [envoy_version])
    (row,) = report.rows
    outcome = row.results[envoy_version]
    assert outcome.verdict is Verdict.NACK, outcome.describe()
    assert "Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''" \
        in outcome.details
    assert "'/envoy-lb-listener/envoy-lb-listener' comes from " in outcome.details
    assert "router-untyped/traffic-management.yaml (CiliumClusterwideEnvoyConfig envoy-lb-listener, " \
           "spec.resources[0])" in outcome.details


def test_port_qualified_name_the_agent_does_not_publish_is_no_ack_naming_it(suite_envoy_version):
    # The suite's reporting, not Envoy, is under test: once, on the first chosen version.
    report = run_check([DATA / "unnamed-port", DATA / "router-untyped"], [suite_envoy_version], NO_ACK_WAIT)
    waiting, untyped = (row.results[suite_envoy_version] for row in report.rows)
    assert waiting.label == f"NO ACK in {NO_ACK_WAIT:g} s", waiting.describe()
    assert "cluster 'default/echo-service' waits for endpoints (EDS) 'default/echo-service:8080' that nobody " \
           "serves" in waiting.details
    assert "the agent publishes default/echo-service, default/echo-service:*" in waiting.details
    assert "Listener '/envoy-circuit-breaker/envoy-lb-listener' never acknowledged" in waiting.details
    # the waiting cluster holds Envoy's start-up back; the other config is still judged on its own
    assert untyped.verdict is Verdict.NACK, untyped.describe()


def test_the_command_prints_json_and_exits_0_only_when_all_ack(suite_envoy_version):
    def command(*paths):
        return subprocess.Popen([sys.executable, "-m", "l7suite.cli", "check", "--json", "--envoy-version",
                                 suite_envoy_version, *map(str, paths)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    # two independent commands (own Envoys, own ports, own temporary files): run side by side
    runs = [command(DATA / "docs-like"), command(DATA / "docs-like" / "circuit-breaker.yaml", DATA / "router-untyped")]
    try:
        (good_out, good_err), (bad_out, bad_err) = (run.communicate(timeout=120) for run in runs)
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert runs[0].returncode == 0, good_out + good_err
    assert json.loads(good_out)["ok"] is True
    assert runs[1].returncode == 1, bad_out + bad_err
    data = json.loads(bad_out)
    assert [(r["name"], r["results"][suite_envoy_version]["verdict"]) for r in data["configs"]] == [
        ("envoy-circuit-breaker", "ACK"), ("envoy-lb-listener", "NACK")]


def envoys_under(folder: Path) -> list[int]:
    """Pids of Envoy processes whose command line names a file under `folder` (their bootstrap)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and cmdline and cmdline[0].endswith(b"envoy") and \
                any(str(folder).encode() in arg for arg in cmdline):
            found.append(int(proc.name))
    return found


def test_ctrl_c_stops_every_envoy_and_removes_its_files(suite_envoy_version, tmp_path):
    # The suite's own behaviour: once. A config that waits (NO ACK) keeps the Envoys running until Ctrl-C.
    # PYTHONFAULTHANDLER: should the command not end after Ctrl-C, SIGABRT makes it print where its threads are.
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONFAULTHANDLER": "1"}
    child = subprocess.Popen([sys.executable, "-m", "l7suite.cli", "check", "--timeout", "60", "--envoy-version",
                              suite_envoy_version, str(DATA / "unnamed-port")], cwd=REPO_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not envoys_under(tmp_path) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        if not envoys_under(tmp_path):
            child.kill()
            pytest.fail(f"no Envoy of the check started within 30 s; the check: {child.communicate()}", pytrace=False)
        child.send_signal(signal.SIGINT)
        try:
            _, err = child.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)
            pytest.fail(f"the check did not end within 20 s of Ctrl-C: {child.communicate(timeout=10)}", pytrace=False)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert "interrupted" in err
    deadline = time.monotonic() + 5  # the kernel reaps a killed Envoy a moment later
    while envoys_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert envoys_under(tmp_path) == [], err
    assert sorted(tmp_path.rglob("*")) == [], err
