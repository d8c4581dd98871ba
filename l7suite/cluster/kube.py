"""The cluster seam: every API call as one kubectl command (apply, get, exec, logs, port-forward).

kubectl rather than the kubernetes client: server-side apply of arbitrary CRDs, exec with the remote
exit code and port-forward come for free, and one seam (the runner) covers all of it in unit tests.
Always through the kubeconfig file the suite created or was given, never the ambient context:
every command gets `--kubeconfig`, which takes precedence over KUBECONFIG and ~/.kube/config.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from l7suite.cluster import tools
from l7suite.probes import ExecResult

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")


class PortForwardError(RuntimeError):
    pass


def forwarded_port(line: str) -> int | None:
    """kubectl's `Forwarding from 127.0.0.1:40123 -> 9901` -> 40123."""
    found = FORWARDING.search(line)
    return int(found.group(1)) if found else None


class Kube:
    def __init__(self, kubeconfig: Path, runner: tools.Runner = tools.run, kubectl: str = "kubectl"):
        self.kubeconfig = Path(kubeconfig)
        self.runner = runner
        self.kubectl_bin = kubectl

    # --- kubectl -----------------------------------------------------------------------------
    def kubectl(self, *args: str, timeout: float = 120) -> tools.Completed:
        return self.runner([self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), *args], timeout)

    def apply(self, path: Path, timeout: float = 120) -> tools.Completed:
        """Server-side apply as the suite's field manager (conflicts with earlier stages are ours)."""
        return tools.check(self.kubectl("apply", "--server-side", "--field-manager=l7suite",
                                        "--force-conflicts", "-f", str(path), timeout=timeout))

    def delete_file(self, path: Path, timeout: float = 180) -> tools.Completed:
        return tools.check(self.kubectl("delete", "--ignore-not-found", "--wait=true",
                                        f"--timeout={int(timeout)}s", "-f", str(path), timeout=timeout + 10))

    def exec(self, namespace: str, pod: str, argv: Sequence[str], timeout: float) -> ExecResult:
        done = self.kubectl("exec", "-n", namespace, pod, "--", *argv, timeout=timeout)
        return ExecResult(exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as `kubectl get -o json` shows it, or None when it does not exist."""
        done = self.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found", timeout=30)
        tools.check(done)
        if not done.stdout.strip():
            return None
        return dict(json.loads(done.stdout))

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        args = ["get", "pods", "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        return list(json.loads(tools.check(self.kubectl(*args, timeout=30)).stdout)["items"])

    def logs(self, namespace: str, pod: str, container: str = "", tail: int = 500) -> str:
        which = ["-c", container] if container else ["--all-containers"]
        args = ["logs", "-n", namespace, pod, f"--tail={tail}", *which]
        done = self.kubectl(*args, timeout=60)
        return done.stdout if done.returncode == 0 else f"(logs unavailable: {done.stderr.strip()})"

    def events(self, namespace: str) -> str:
        done = self.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", timeout=30)
        return done.stdout if done.returncode == 0 else f"(events unavailable: {done.stderr.strip()})"

    @contextmanager
    def port_forward(self, namespace: str, target: str, remote_port: int, timeout: float = 30) -> Iterator[int]:
        """`kubectl port-forward` to a random local port on 127.0.0.1; yields that port."""
        proc = subprocess.Popen(
            [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), "port-forward", "-n", namespace,
             "--address", "127.0.0.1", target, f":{remote_port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = self._await_forwarding(proc, timeout)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    @staticmethod
    def _await_forwarding(proc: subprocess.Popen[str], timeout: float) -> int:
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        while time.monotonic() < deadline:  # kubectl prints the line once the listener is up
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    err = proc.stderr.read() if proc.stderr else ""
                    raise PortForwardError(f"kubectl port-forward exited {proc.returncode}: {err.strip()}")
                time.sleep(0.1)
                continue
            port = forwarded_port(line)
            if port:
                return port
        raise PortForwardError(f"kubectl port-forward printed no 'Forwarding from' line within {timeout:g}s")
