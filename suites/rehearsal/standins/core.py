"""The stand-ins' plumbing: the call log, the shared state, argument parsing."""

from __future__ import annotations

import fcntl
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # suites/rehearsal/
DATA = HERE / "data"
UNIT_DATA = HERE.parent / "unit" / "data"  # the seam tests' recorded outputs, shared
ROOT_ENV = "L7SUITE_REHEARSAL_DIR"
SOCKET = "standins.sock"  # where serve() answers (standin_client.py uses it when it exists)
ENV_OF_INTEREST = ("KUBECONFIG", "DOCKER_HOST", "L7SUITE_E2E_STATE_DIR", "PYTEST_XDIST_WORKER",
                   "L7SUITE_E2E_TIMEOUTS", "L7SUITE_E2E_RECORD")


class Exit(Exception):
    """End the stand-in with this code (after printing what a real tool prints)."""

    def __init__(self, code: int, stderr: str = ""):
        super().__init__(stderr)
        self.code = code
        self.stderr = stderr


class Unhandled(Exit):
    """A call the stand-ins have no answer for: logged as such, so the rehearsal names it."""

    def __init__(self, tool: str, args: list[str]):
        super().__init__(64, f"{tool}: rehearsal stand-in has no answer for: {' '.join(args)}\n"
                             "(add one in suites/rehearsal/standins/, from the real tool's output format)")


def positionals(args: list[str], with_value: tuple[str, ...]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in with_value:
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


KUBECTL_VALUE_FLAGS: tuple[str, ...] = (
    "--kubeconfig", "-n", "--namespace", "-o", "--output", "-l", "--selector", "-f", "--filename", "--field-manager",
    "--timeout", "--for", "--sort-by", "-c", "--container", "--tail", "--address", "--context", "--request-timeout")
VALUE_FLAGS: dict[str, tuple[str, ...]] = {
    "kubectl": KUBECTL_VALUE_FLAGS, "kind": ("--name", "--kubeconfig", "--config", "--image"),
    "helm": ("--repo", "--version", "--namespace", "--kubeconfig", "--values", "-f"),
    "docker": ("--platform", "--output", "-o", "--format", "-f", "--network", "--name", "--label", "-e", "--env",
               "--filter")}


def words_of(tool: str, args: list[str]) -> list[str]:
    """The command's words without its flags and their values (`kubectl get pods -n x` -> get, pods),
    for the call log: what the rehearsal's assertions read."""
    if "--" in args:
        args = args[:args.index("--")]
    return positionals(args, VALUE_FLAGS.get(tool, ()))


class Call:
    """One call of a stand-in: who asked (the client's argv, cwd, pid, environment) and what it answers."""

    def __init__(self, root: Path, request: dict[str, Any]):
        self.root = root
        self.tool = str(request["tool"])
        self.args = list(request["args"])
        self.env: dict[str, str] = dict(request.get("env", {}))
        self.cwd = str(request.get("cwd", "/"))
        self.id = f"{request.get('pid', 0)}-{time.time_ns()}"
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.files: dict[str, str] = {}
        self.notes: dict[str, Any] = {}
        self.started = time.time()
        self.log({"event": "start", "tool": self.tool, "argv": [self.tool, *self.args],
                  "words": words_of(self.tool, self.args), "cwd": self.cwd, "pid": request.get("pid"),
                  "ppid": request.get("ppid"), "env": {k: v for k, v in self.env.items() if k in ENV_OF_INTEREST}})

    def log(self, record: dict[str, Any]) -> None:
        log_event(self.root, {"id": self.id, **record})

    def path(self, name: str) -> Path:
        """A path the caller gave, as the caller meant it (relative to its working directory)."""
        return Path(self.cwd, os.path.expanduser(name) if name.startswith("~") else name)

    def home_kubeconfig(self) -> str:
        return str(Path(self.env.get("HOME", "/root"), ".kube", "config"))

    def keep_file(self, path: str) -> str:
        """The content of a file the caller handed over (it may be a temp file gone by the end)."""
        try:
            text = self.path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            text = f"(unreadable: {exc})"
        self.files[path] = text
        return text

    def finish(self, code: int) -> dict[str, Any]:
        """Log the end of the call; the reply the client prints."""
        self.log({"event": "end", "exit": code, "stdout": self.out.getvalue()[-20000:],
                  "stderr": self.err.getvalue()[-20000:], "files": self.files, "notes": self.notes,
                  "duration": time.time() - self.started})
        return {"id": self.id, "exit": code, "stdout": self.out.getvalue(), "stderr": self.err.getvalue()}


def log_event(root: Path, record: dict[str, Any]) -> None:
    line = json.dumps({"time": time.time(), **record}, sort_keys=True) + "\n"
    with open(root / "calls.jsonl", "a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(line)


@contextmanager
def state(root: Path) -> Iterator[dict[str, Any]]:
    """The stand-ins' world (clusters, images, containers), read and written under one lock."""
    with open(root / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = root / "state.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault("clusters", {})
        data.setdefault("images", [])
        data.setdefault("containers", {})
        data.setdefault("seq", 0)
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def next_seq(world: dict[str, Any]) -> int:
    world["seq"] += 1
    return int(world["seq"])


def suffix(world: dict[str, Any], length: int = 5) -> str:
    """Kubernetes-style random name suffix (deterministic here: from a counter)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = next_seq(world) * 7919 + 104729
    out = ""
    for _ in range(length):
        out += alphabet[n % len(alphabet)]
        n //= len(alphabet)
    return out


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def failures(call: Call) -> set[str]:
    return {f.strip() for f in call.env.get("L7SUITE_REHEARSAL_FAIL", "").split(",") if f.strip()}


def load_data(name: str | Path) -> Any:
    return json.loads((DATA / name).read_text())
