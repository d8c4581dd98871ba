"""The cluster seam: every API call as one kubectl command (apply, get, exec, logs, port-forward).

kubectl rather than the `kubernetes` Python client (which the suite therefore does not depend on):
- server-side apply of any manifest (CRDs included), `exec` with the remote exit code, and
  port-forward to a Service come with kubectl; the client has no server-side apply of arbitrary
  files and its port-forward reaches one pod through an in-process socket, not a local port that a
  gRPC channel (Hubble Relay) or curl can dial;
- every cluster call is then one external command through `tools.Runner`, which is what the
  rehearsal's stand-in executables answer and what a recorded first run (`--record`) replays; the
  client would need a fake API server instead;
- telling a transient failure from a real one does not need the client: kubectl prints API errors
  in fixed forms (`is_transient` below), and the readiness waits retry on those only;
- readiness of five components polled every few seconds costs little; a watch would not make the
  wait shorter, it would only add reconnect handling.
Always through the kubeconfig file the suite created or was given, never the ambient context:
every command gets `--kubeconfig`, which takes precedence over KUBECONFIG and ~/.kube/config.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from l7suite.cluster import record, tools
from l7suite.cluster.timeouts import Timeouts, current
from l7suite.traffic.pod_probes import ExecResult

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")

# kubectl's own words for an API server that does not answer (yet, or for a moment) or answers with a
# status that says "retry" (kubernetes/kubectl pkg/cmd/util/helpers.go, StandardErrorMessage: "The
# connection to the server %s was refused ...", "Unable to connect to the server: %v", "Error from
# server (%s): ..." with the StatusReason of apimachinery pkg/apis/meta/v1/types.go: InternalError 500,
# ServiceUnavailable 503, ServerTimeout and Timeout 504, TooManyRequests 429). Anything else
# (Forbidden, Unauthorized, NotFound, Invalid, a bad certificate, a missing resource type) is real.
TRANSIENT = re.compile(
    r"^(The connection to the server \S+ was refused"
    r"|Unable to connect to the server: .*(timeout|EOF|connection reset|connection refused|no route to host)"
    r"|Error from server \((InternalError|ServiceUnavailable|ServerTimeout|Timeout|TooManyRequests)\))",
    re.MULTILINE | re.IGNORECASE)
NO_ANSWER = 124  # tools.run: the command did not finish within its timeout


def is_transient(exc: BaseException) -> bool:
    """A kubectl failure worth retrying within a deadline (see TRANSIENT); any other error is not."""
    if not isinstance(exc, tools.CommandFailed):
        return False
    done = exc.done
    return done.returncode == NO_ANSWER or bool(TRANSIENT.search(done.stderr))


class PortForwardError(RuntimeError):
    pass


def forwarded_port(line: str) -> int | None:
    """kubectl's `Forwarding from 127.0.0.1:40123 -> 9901` -> 40123."""
    found = FORWARDING.search(line)
    return int(found.group(1)) if found else None


class Kube:
    def __init__(self, kubeconfig: Path, runner: tools.Runner = tools.run, kubectl: str = "kubectl",
                 timeouts: Timeouts | None = None):
        self.kubeconfig = Path(kubeconfig)
        self.runner = runner
        self.kubectl_bin = kubectl
        self.timeouts = timeouts or current()

    # --- kubectl -----------------------------------------------------------------------------
    def kubectl(self, *args: str, timeout: float | None = None) -> tools.Completed:
        return self.runner([self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), *args],
                           self.timeouts.kubectl if timeout is None else timeout)

    def apply(self, path: Path, timeout: float | None = None) -> tools.Completed:
        """Server-side apply as the suite's field manager (conflicts with earlier stages are ours)."""
        return tools.check(self.kubectl("apply", "--server-side", "--field-manager=l7suite",
                                        "--force-conflicts", "-f", str(path),
                                        timeout=self.timeouts.apply if timeout is None else timeout))

    def delete_file(self, path: Path, timeout: float | None = None) -> tools.Completed:
        timeout = self.timeouts.delete if timeout is None else timeout
        return tools.check(self.kubectl("delete", "--ignore-not-found", "--wait=true",
                                        f"--timeout={int(timeout)}s", "-f", str(path), timeout=timeout + 10))

    def exec(self, namespace: str, pod: str, argv: Sequence[str], timeout: float) -> ExecResult:
        done = self.kubectl("exec", "-n", namespace, pod, "--", *argv, timeout=timeout)
        return ExecResult(exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as `kubectl get -o json` shows it, or None when it does not exist."""
        done = self.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found")
        tools.check(done)
        if not done.stdout.strip():
            return None
        return dict(json.loads(done.stdout))

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        args = ["get", "pods", "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        return list(json.loads(tools.check(self.kubectl(*args)).stdout)["items"])

    def logs(self, namespace: str, pod: str, container: str = "", tail: int = 500) -> str:
        which = ["-c", container] if container else ["--all-containers"]
        args = ["logs", "-n", namespace, pod, f"--tail={tail}", *which]
        done = self.kubectl(*args, timeout=2 * self.timeouts.kubectl)
        return done.stdout if done.returncode == 0 else f"(logs unavailable: {done.stderr.strip()})"

    def events(self, namespace: str) -> str:
        done = self.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
        return done.stdout if done.returncode == 0 else f"(events unavailable: {done.stderr.strip()})"

    @contextmanager
    def port_forward(self, namespace: str, target: str, remote_port: int,
                     timeout: float | None = None) -> Iterator[int]:
        """`kubectl port-forward` to a random local port on 127.0.0.1; yields that port.

        kubectl's output is read by threads (a wait with a deadline, and a kubectl that keeps printing
        "Handling connection" never blocks on a full pipe); the process is stopped and both pipes
        closed when the block ends, however it ends."""
        timeout = self.timeouts.port_forward if timeout is None else timeout
        argv = [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), "port-forward", "-n", namespace,
                "--address", "127.0.0.1", target, f":{remote_port}"]
        started, port = time.time(), None
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        output = _Output(proc)
        try:
            port = output.await_forwarding(proc, timeout, f"{namespace}/{target}:{remote_port}")
            yield port
        finally:
            _stop(proc)
            output.close()
            record.port_forward(argv, proc.returncode, port, output.stderr_tail(), started)  # --record


class _Output:
    """A child's stdout lines in a queue (None at its end) and the tail of its stderr, pumped by threads."""

    def __init__(self, proc: subprocess.Popen[str]):
        assert proc.stdout is not None and proc.stderr is not None
        self.streams: list[IO[str]] = [proc.stdout, proc.stderr]
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.errors: deque[str] = deque(maxlen=20)
        self.threads = [threading.Thread(target=self._pump, args=(proc.stdout, self.lines.put, True), daemon=True),
                        threading.Thread(target=self._pump, args=(proc.stderr, self.errors.append, False),
                                         daemon=True)]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _pump(stream: IO[str], sink: Callable[[Any], None], mark_end: bool) -> None:
        try:
            for line in stream:
                sink(line)
        except (OSError, ValueError):  # the stream was closed under us: the block is over
            pass
        if mark_end:
            sink(None)

    def stderr_tail(self) -> str:
        return "".join(line for line in self.errors if line).strip()

    def await_forwarding(self, proc: subprocess.Popen[str], timeout: float, what: str) -> int:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:  # stdout ended: kubectl exited (or is exiting)
                try:
                    code: int | str = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = "?"
                for thread in self.threads:
                    thread.join(timeout=5)
                raise PortForwardError(f"kubectl port-forward {what} exited {code}: {self.stderr_tail()}")
            port = forwarded_port(line)
            if port:
                return port
        raise PortForwardError(f"kubectl port-forward {what} printed no 'Forwarding from' line within "
                               f"{timeout:g}s (deadline port_forward, l7suite/cluster/timeouts.py)"
                               + (f"; stderr: {self.stderr_tail()}" if self.stderr_tail() else ""))

    def close(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)
        for stream in self.streams:
            stream.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
