"""`--record DIR` (l7suite/cluster/record.py): the subprocess seam keeps every command, per process;
Hubble flows are kept as jsonpb lines that replay into the same flows; a recorded folder answers the
read-only calls the rehearsal's stand-ins replay, and never a probe."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from l7suite.cluster import record, tools
from l7suite.hubble.jsonpb import replay_flows

DATA = Path(__file__).parent / "data"
KUBECTL_GET_AGENT = ["kubectl", "--kubeconfig", "/a/kubeconfig", "get", "daemonset", "cilium", "-n", "kube-system",
                     "-o", "json", "--ignore-not-found"]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "record"
    monkeypatch.setenv(record.RECORD_ENV, str(folder))  # so that the test's end unsets it again
    record.start(folder)
    return folder


def lines(folder: Path, sub: str) -> list[dict]:
    (path,) = (folder / sub).glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_keeps_argv_exit_code_output_and_duration(recording: Path):
    before = time.time()
    done = tools.run(["sh", "-c", "echo out; echo err >&2; exit 3"], 10)
    (kept,) = lines(recording, "commands")
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert {k: kept[k] for k in ("argv", "exit_code", "stdout", "stderr", "timeout", "kind")} == {
        "argv": ["sh", "-c", "echo out; echo err >&2; exit 3"], "exit_code": 3, "stdout": "out\n",
        "stderr": "err\n", "timeout": 10, "kind": "run"}
    assert before - 0.001 <= kept["started"] <= time.time() and 0 <= kept["duration"] < 10  # kept to the ms


def test_each_process_writes_its_own_file(recording: Path):
    tools.run(["true"], 10)
    (path,) = (recording / "commands").glob("*.jsonl")
    assert path.name == f"{socket.gethostname()}-{os.getpid()}.jsonl"


def test_a_timed_out_command_keeps_what_it_printed(recording: Path):
    done = tools.run([sys.executable, "-c", "import sys, time; print('half', flush=True); "
                                            "print('warn', file=sys.stderr, flush=True); time.sleep(30)"], 1.5)
    (kept,) = lines(recording, "commands")
    assert (done.returncode, done.stdout) == (124, "half\n")
    assert done.stderr.startswith("warn\n") and "no answer within 1.5s" in done.stderr
    assert (kept["exit_code"], kept["stdout"], kept["stderr"]) == (124, done.stdout, done.stderr)


def test_secrets_are_redacted(recording: Path):
    tools.run(["sh", "-c", "echo 'client-key-data: LS0tLS1CRUdJTg=='; echo 'token: abc.def'"], 10)
    (kept,) = lines(recording, "commands")
    assert kept["stdout"] == "client-key-data: <redacted>\ntoken: <redacted>\n"


def test_port_forward_is_kept_as_such(recording: Path):
    argv = ["kubectl", "--kubeconfig", "k", "port-forward", "-n", "kube-system", "svc/hubble-relay", ":80"]
    record.port_forward(argv, -15, 40123, "", time.time())
    (kept,) = lines(recording, "commands")
    assert (kept["kind"], kept["argv"], kept["exit_code"], kept["stdout"]) == (
        "port-forward", argv, -15, "Forwarding from 127.0.0.1:40123")


def test_flows_replay_into_the_same_flows(recording: Path):
    flows = replay_flows(DATA / "hubble_observe.jsonl")
    record.hubble_flows("default", flows)
    (path,) = (recording / "hubble" / "default").glob("*.jsonl")
    assert replay_flows(path) == flows


def write_commands(folder: Path, records: list[dict]) -> None:
    (folder / "commands").mkdir(parents=True)
    (folder / "commands" / "host-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def recorded(argv: list[str], stdout: str, started: float, code: int = 0) -> dict:
    return {"argv": argv, "exit_code": code, "stdout": stdout, "stderr": "", "duration": 0.1, "started": started,
            "timeout": 30, "kind": "run"}


def test_replay_answers_a_read_of_cilium_whatever_the_kubeconfig_path(tmp_path: Path):
    agent = (DATA / "k8s_daemonset_cilium_agent.json").read_text()
    write_commands(tmp_path, [recorded(KUBECTL_GET_AGENT, "", 2.0), recorded(KUBECTL_GET_AGENT, agent, 5.0)])
    asked = [a if a != "/a/kubeconfig" else "/elsewhere/kubeconfig" for a in KUBECTL_GET_AGENT]
    answer = record.Replay(tmp_path).answer(asked)
    assert answer == record.Answer(0, agent, "")  # the last recorded answer: the state a wait converged on


@pytest.mark.parametrize("argv", [
    ["kubectl", "--kubeconfig", "k", "exec", "-n", "starwars", "tiefighter", "--", "curl", "-s", "http://deathstar"],
    ["kubectl", "--kubeconfig", "k", "port-forward", "-n", "kube-system", "svc/hubble-relay", ":80"],
    ["kubectl", "--kubeconfig", "k", "get", "pods", "-n", "starwars", "-o", "json"],
    ["kubectl", "--kubeconfig", "k", "get", "pods", "-n", "kube-system", "-l", "k8s-app=cilium", "-o", "json"],
    ["kubectl", "--kubeconfig", "k", "get", "nodes", "-o", "json"],
    ["kubectl", "--kubeconfig", "k", "apply", "--server-side", "-f", "x.yaml"],
    ["kind", "create", "cluster", "--name=l7suite"],
    ["helm", "upgrade", "--install", "cilium", "cilium"],
])
def test_replay_never_answers_a_probe_a_scenario_or_a_change(tmp_path: Path, argv: list[str]):
    write_commands(tmp_path, [recorded(argv, "an answer that could make a check pass", 1.0)])
    assert record.Replay(tmp_path).answer(argv) is None
