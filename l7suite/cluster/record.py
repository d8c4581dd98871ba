"""`--record DIR`: what an e2e run asked of the outside world, kept so that a first real run teaches us.

Turned on by `pytest suites/e2e --record DIR` (fixtures/e2e_recording.py) or `tox -e e2e -- --record DIR`.
Every process of the run (the runner, the pytest controller, each xdist worker) writes files of its
own, named `<host>-<pid>`, so nothing is ever written by two processes; the folder is passed to child
processes in L7SUITE_E2E_RECORD. Layout:

    DIR/README.md                                what this is, how to send it, how it is replayed
    DIR/runs/<worker>-<host>-<pid>.json          each pytest process: its argv and e2e options
    DIR/commands/<host>-<pid>.jsonl              every external command through the subprocess seam
                                                 (l7suite/cluster/tools.py `run`) and every port-forward:
                                                 {"argv", "exit_code", "stdout", "stderr", "duration",
                                                  "started", "timeout", "kind": "run"|"port-forward"}
    DIR/hubble/<namespace>/<host>-<pid>.jsonl    flows each Hubble fetch returned, one GetFlowsResponse
                                                 per line as `hubble observe -o jsonpb` prints it
                                                 (l7suite.hubble.jsonpb.replay_flows reads it back)
    DIR/cec/<label>-<host>-<pid>.yaml            `kubectl get ciliumenvoyconfigs,ciliumclusterwideenvoyconfigs
                                                 -A -o yaml` at the end of each scenario and of the session
    DIR/cilium-dbg-status/<pod>-<host>-<pid>.txt `cilium-dbg status --verbose` of each agent at session end

The CECs and `cilium-dbg status` are dumped by l7suite/cluster/record_dumps.py (it reads the cluster through
the seams that import this module).

Secrets: kubeconfig key material and tokens that a command prints are replaced by `<redacted>`.

Replay (`Replay`): the rehearsal's stand-ins (suites/rehearsal/) answer read-only calls from a
recorded folder: tool versions, `helm show values`, CRDs, and reads of Cilium's own objects in
kube-system (DaemonSets, Deployments, ConfigMaps, Services) as a real cluster showed them. Probes
(`kubectl exec`, port-forwards), pods, nodes, events and everything in a scenario's namespace are never
replayed: a replayed run makes no scenario pass, and names the stand-ins' own pods and nodes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORD_ENV = "L7SUITE_E2E_RECORD"
REDACTED = "<redacted>"
# kubeconfig fields and bearer tokens (what `kind get kubeconfig` or an error message could print)
_SECRETS = re.compile(r"((?:client-key-data|client-certificate-data|token|password)\s*:\s*)\"?[^\s\",]+\"?")

README = """\
# An e2e run recorded with `--record`

Everything this run asked of Docker, kind, kubectl and helm, with what each answered; the Hubble flows
it read; the CiliumEnvoyConfigs on the cluster after each scenario; `cilium-dbg status` of each agent.
Layout and formats: l7suite/cluster/record.py in the suite.

Sending it back: check the folder holds nothing you may not share (kubeconfig keys and tokens are
replaced by <redacted>; image names, node names and pod addresses are kept), then
`tar czf l7suite-record.tgz -C <parent> <this folder>` and attach the archive to an issue of the suite's
repository, saying which command you ran (`tox -e e2e -- ...`) and on what (OS, Docker, kind versions).
"""


def _process_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: m.group(1) + REDACTED, text)


def safe_name(text: str) -> str:
    """A file-name-safe form of a label (a namespace, a pod, a test id)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "_"


@dataclass
class Recorder:
    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def _path(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _append(self, path: Path, line: str) -> None:
        with path.open("a", encoding="utf-8") as out:  # one process per file: no lock needed
            out.write(line + "\n")

    def command(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str, started: float,
                duration: float, timeout: float | None = None, kind: str = "run") -> None:
        record = {"argv": list(argv), "exit_code": returncode, "stdout": redact(stdout), "stderr": redact(stderr),
                  "duration": round(duration, 3), "started": round(started, 3), "timeout": timeout, "kind": kind}
        self._append(self._path("commands", f"{_process_name()}.jsonl"), json.dumps(record, ensure_ascii=False))

    def flows(self, namespace: str, flows: Sequence[Any]) -> None:
        """Flows as `hubble observe -o jsonpb` lines (one GetFlowsResponse each)."""
        from l7suite.hubble.jsonpb import response_line  # protobuf only when flows are recorded

        path = self._path("hubble", safe_name(namespace or "all"), f"{_process_name()}.jsonl")
        with path.open("a", encoding="utf-8") as out:
            for flow in flows:
                out.write(response_line(flow) + "\n")

    def text(self, folder: str, label: str, body: str, suffix: str = ".txt") -> Path:
        path = self._path(folder, f"{safe_name(label)}-{_process_name()}{suffix}")
        path.write_text(redact(body), encoding="utf-8")
        return path


_active: tuple[str, Recorder] | None = None


def active() -> Recorder | None:
    """The recorder of this run (L7SUITE_E2E_RECORD names its folder), or None when not recording."""
    global _active
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return None
    if _active is None or _active[0] != folder:
        _active = (folder, Recorder(Path(folder)))
    return _active[1]


def start(folder: Path) -> Recorder:
    """Record into `folder` from now on, in this process and every process it starts."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.md"
    if not readme.exists():
        readme.write_text(README, encoding="utf-8")
    os.environ[RECORD_ENV] = str(folder)
    recorder = active()
    assert recorder is not None
    return recorder


def command(argv: Sequence[str], returncode: int, stdout: str, stderr: str, started: float,
            timeout: float | None = None, kind: str = "run") -> None:
    """Record one finished command if this run records (the seams call this; a no-op otherwise)."""
    recorder = active()
    if recorder is not None:
        recorder.command(argv, returncode, stdout, stderr, started, time.time() - started, timeout, kind)


def port_forward(argv: Sequence[str], returncode: int | None, port: int | None, stderr: str,
                 started: float) -> None:
    """Record a finished port-forward: the command, the local port it printed (None: it printed none)."""
    recorder = active()
    if recorder is not None:
        printed = f"Forwarding from 127.0.0.1:{port}" if port else ""
        recorder.command(argv, -1 if returncode is None else returncode, printed, stderr, started,
                         time.time() - started, kind="port-forward")


def hubble_flows(namespace: str, flows: Sequence[Any]) -> None:
    """Record the flows a Hubble fetch returned, if this run records."""
    recorder = active()
    if recorder is not None and flows:
        recorder.flows(namespace, flows)


# --- replay -----------------------------------------------------------------------------------------------
_PATH_FLAGS = ("--kubeconfig", "--values", "--config")


def normalized(argv: Sequence[str]) -> tuple[str, ...]:
    """A command without what differs between runs: the tool's path, kubeconfig/values/config paths."""
    out: list[str] = [Path(argv[0]).name] if argv else []
    skip = False
    for arg in argv[1:]:
        if skip:
            out.append("<path>")
            skip = False
        elif arg in _PATH_FLAGS:
            out.append(arg)
            skip = True
        elif any(arg.startswith(f + "=") for f in _PATH_FLAGS):
            out.append(arg.split("=", 1)[0] + "=<path>")
        else:
            out.append(arg)
    return tuple(out)


def replayable(argv: Sequence[str]) -> bool:
    """Read-only calls about the tools and Cilium itself; never a probe, never a scenario's objects."""
    args = normalized(argv)
    tool, rest = (args[0], args[1:]) if args else ("", ())
    words = [a for a in rest if not a.startswith("-") and a != "<path>"]
    if tool == "kind":
        return words[:1] == ["version"] or words[:2] == ["get", "nodes"]
    if tool == "helm":
        return words[:1] == ["version"] or words[:2] == ["show", "values"]
    if tool == "docker":
        return words[:1] in (["info"], ["version"])
    if tool == "kubectl":
        if words[:1] == ["version"]:
            return True
        if words[:1] != ["get"]:
            return False
        if len(words) < 2:
            return False
        if words[1] in ("crd", "crds", "customresourcedefinition", "customresourcedefinitions"):
            return True
        # Cilium's own objects; not pods, nodes or events: exec, port-forwards and placement checks name
        # pods and nodes, and those must be the stand-ins' own for the calls that follow to make sense
        namespace = next((rest[i + 1] for i, a in enumerate(rest[:-1]) if a in ("-n", "--namespace")), "")
        kinds = {k.lower() for k in words[1].split(",")}
        return namespace == "kube-system" and not kinds & {"pod", "pods", "po", "event", "events", "ev"}
    return False


@dataclass(frozen=True)
class Answer:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Replay:
    """Answers from a `--record` folder, for the calls `replayable` allows (the last one recorded wins:
    for a polled object, that is the state the run converged on)."""

    root: Path
    answers: dict[tuple[str, ...], Answer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        records = [json.loads(line) for path in sorted(Path(self.root).glob("commands/*.jsonl"))
                   for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for record in sorted(records, key=lambda r: r.get("started", 0)):  # processes interleave in time
            if record.get("kind", "run") == "run" and replayable(record["argv"]):
                self.answers[normalized(record["argv"])] = Answer(record["exit_code"], record["stdout"],
                                                                  record["stderr"])

    def answer(self, argv: Sequence[str]) -> Answer | None:
        if not replayable(argv):
            return None
        return self.answers.get(normalized(argv))
