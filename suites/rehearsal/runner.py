"""Running the real `tox -e e2e` path with the stand-ins first on PATH, and reading what happened.

`tox_commands()` reads tox.ini's [testenv:e2e] (commands_pre, commands, commands_post) and runs them as
tox would (`python` is this interpreter, {posargs} the rehearsal's options), with every
`{toxinidir}/reports/e2e` path moved into the rehearsal's temp folder: a rehearsal writes no results
where conformance results go. Each run gets its own folder: the stand-ins' call log and state, TMPDIR
(so the harness's temp folders are visible and must be gone at the end), the allure results and the
report, and the `--record` folder.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l7suite import REPO_ROOT
from suites.rehearsal import standins
from suites.rehearsal.call_log import CallLog

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "bin"
REPORTS_E2E = "{toxinidir}/reports/e2e/"
BANNER = ("REHEARSAL of the e2e run with stand-in docker/kind/kubectl/helm (suites/rehearsal/bin): it tests the "
          "suite's harness; nothing it prints or writes is a conformance result")

# Deadlines (l7suite/cluster/timeouts.py, by name) shrunk for the rehearsal: the stand-ins answer at once,
# so any wait that is not cut short by an answer ends in seconds, not minutes. Names the harness does
# not (yet) have are left out, so the rehearsal runs whatever the harness's list is.
SHRUNK = {"kind_query": 20, "kind_create": 60, "kind_delete": 30, "image_pull": 20, "image_save": 20,
          "image_load": 20, "helm_query": 20, "helm_install": 20, "cilium_ready": 10, "adopt_ready": 5,
          "kubectl": 15, "apply": 15, "workloads_ready": 5, "delete": 15, "port_forward": 5, "policy_wait": 2,
          "converge": 2, "flows": 2, "hubble": 0.5, "hubble_connect": 2, "cec_generated": 2, "log_wait": 2,
          "restart": 5, "restart_warm_up": 0.5, "restart_settle": 0.5, "flows_after_restart": 2, "child_cleanup": 30}


def shrunk_timeouts() -> str:
    from l7suite.cluster.timeouts import names

    return ",".join(f"{k}={v}" for k, v in SHRUNK.items() if k in names())


def tox_commands(posargs: Sequence[str], results: Path) -> list[tuple[str, list[str]]]:
    """The commands of tox.ini's [testenv:e2e], in order, as tox would run them: (section, argv)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO_ROOT / "tox.ini")
    section = parser["testenv:e2e"]
    out = []
    for key in ("commands_pre", "commands", "commands_post"):
        for line in section.get(key, "").strip().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            line = line.replace(REPORTS_E2E, f"{results}/").replace("{toxinidir}", str(REPO_ROOT))
            line = re.sub(r"\{env:([A-Za-z_0-9]+):?([^}]*)\}", lambda m: os.environ.get(m.group(1), m.group(2)), line)
            words = shlex.split(line)
            argv: list[str] = []
            for word in words:
                if word == "{posargs}":
                    argv.extend(posargs)
                else:
                    argv.append(word)
            if argv[0] == "python":
                argv[0] = sys.executable
            out.append((key, argv))
    return out


@dataclass
class Run:
    """One rehearsal of `tox -e e2e -- ARGS` in `folder`."""

    folder: Path
    args: list[str]
    env_extra: dict[str, str] = field(default_factory=dict)
    output: str = ""
    codes: list[int] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    session: int = 0
    interrupted_at: float | None = None

    def __post_init__(self) -> None:
        for sub in ("standins", "tmp", "results"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)

    @property
    def results(self) -> Path:
        return self.folder / "results" / "allure-results"

    @property
    def report(self) -> Path:
        return self.folder / "results" / "report.html"

    @property
    def tmp(self) -> Path:
        return self.folder / "tmp"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("L7SUITE_", "PYTEST_", "KUBECONFIG"))}
        # only the stand-ins and this Python's scripts: the real docker, kind, kubectl, helm, npm and node
        # cannot be reached, whatever the harness looks up (the report is then pytest-html's, as without Node)
        python_bin = str(Path(sys.executable).parent)
        env["PATH"] = f"{STANDINS}:{python_bin}"
        env.update({"L7SUITE_REHEARSAL_DIR": str(self.folder / "standins"), "L7SUITE_REHEARSAL_PYTHON": sys.executable,
                    "TMPDIR": str(self.tmp), "L7SUITE_E2E_TIMEOUTS": shrunk_timeouts(), "PYTHONDONTWRITEBYTECODE": "1",
                    "KUBECONFIG": str(self.folder / "no-such-kubeconfig")})  # never the user's context
        if os.environ.get("L7SUITE_REHEARSAL_REPLAY"):  # a recorded real run answers the read-only calls
            env["L7SUITE_REHEARSAL_REPLAY"] = os.environ["L7SUITE_REHEARSAL_REPLAY"]
        env.update(self.env_extra)
        return env

    def commands(self) -> list[tuple[str, list[str]]]:
        return tox_commands(self.args, self.folder / "results")

    def run(self, timeout: float, interrupt_when: Callable[[Run], bool] | None = None) -> Run:
        """Run the commands as tox does (after a failing one only commands_post); with `interrupt_when`,
        send SIGINT to the whole process group (a terminal's Ctrl-C) once it holds."""
        self.started = time.monotonic()
        lines = [f"== {BANNER}"]
        server = standins.serve(self.folder / "standins")
        try:
            self._run(timeout, interrupt_when, lines)
        finally:
            server.shutdown()
            server.server_close()
            (self.folder / "standins" / standins.SOCKET).unlink(missing_ok=True)
        self.ended = time.monotonic()
        self.output = "\n".join(lines)
        return self

    def _run(self, timeout: float, interrupt_when: Callable[[Run], bool] | None, lines: list[str]) -> None:
        for section, argv in self.commands():
            if any(self.codes) and section != "commands_post":
                continue
            lines.append(f"== $ {' '.join(argv)}")
            proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=self.env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            self.session = proc.pid
            collected: list[str] = []
            reader = _reader(proc, collected)
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if interrupt_when is not None and self.interrupted_at is None and interrupt_when(self):
                    self.interrupted_at = time.time()
                    lines.append(f"== rehearsal: SIGINT to the process group at {self.interrupted_at:.3f}")
                    os.killpg(proc.pid, signal.SIGINT)
                time.sleep(0.05)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                collected.append(f"\n== rehearsal: killed after {timeout:.0f}s\n")
            reader.join(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
            self.codes.append(proc.returncode)
            lines.append("".join(collected))
            if self.interrupted_at is not None:
                break  # tox stops at an interrupted command too

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def calls(self) -> CallLog:
        return CallLog.read(self.folder / "standins" / "calls.jsonl")


def _reader(proc: subprocess.Popen[str], sink: list[str]) -> Any:
    import threading

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.append(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def session_processes(session: int) -> list[str]:
    """Processes still in the run's session (everything the run started, however deep)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if len(fields) > 3 and int(fields[3]) == session and fields[0] != "Z":
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            out.append(f"{stat.parent.name}: {cmdline}")
    return out


def results_of(folder: Path) -> list[dict[str, Any]]:
    """Allure's test results of a run (one JSON per test)."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*-result.json"))]
