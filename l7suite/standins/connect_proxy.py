"""A real HTTP CONNECT proxy (PyPI `proxy.py`, pinned) playing the lab's 3proxy on port 3128.

It runs as its own process tree, optionally inside a network namespace. `python -m l7suite.standins.connect_proxy
ARGS` is proxy.py's own entry point with one addition: every process it forks (its acceptors) gets
PR_SET_PDEATHSIG too, so the whole tree dies with the suite even on `kill -9`.

proxy.py logs one access line per tunnel, e.g. `198.51.100.5:41234 - CONNECT 203.0.113.10:80 - 77 bytes
- 2.03ms`; `connects()` reads the `CONNECT host:port` requests from it, as the lab reads 3proxy's log.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from l7suite.lifecycle import die_with_parent

CONNECT_LINE = re.compile(r"\bCONNECT (\S+:\d+)")


class ConnectProxy:
    def __init__(self, host: str, port: int, workdir: Path,
                 preexec: Callable[[], None] | None = None,
                 enter: Callable[[], AbstractContextManager] | None = None):
        self.host, self.port = host, port
        self.log_path = workdir / "connect-proxy.log"
        self.preexec = preexec or die_with_parent
        self.enter = enter  # where the proxy's address is reachable (NetNamespace.entered)
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> ConnectProxy:
        cmd = [sys.executable, "-m", "l7suite.standins.connect_proxy", "--hostname", self.host,
               "--port", str(self.port),
               "--num-acceptors", "1", "--num-workers", "1", "--log-level", "INFO", "--timeout", "10"]
        with open(self.log_path, "wb") as log:
            # its own process group: stop() ends the acceptor processes with it
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=self.preexec, start_new_session=True,
                                         cwd=Path(__file__).resolve().parent.parent)
        try:  # until it listens; RuntimeError from _listening (it ended) stops the wait at once
            Retrying(retry=retry_if_result(lambda up: not up), stop=stop_after_delay(timeout),
                     wait=wait_fixed(0.05))(self._listening)
        except RetryError:
            self.stop()
            raise TimeoutError(f"the CONNECT proxy did not listen on {self.address} within {timeout:.0f}s:\n"
                               f"{self.log_tail()}") from None
        except BaseException:  # it ended, or Ctrl-C: its acceptors go with it (the caller never got it)
            self.stop()
            raise
        return self

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the CONNECT proxy exited with {self.proc.returncode}:\n{self.log_tail()}")
        return self._accepts()

    def _accepts(self) -> bool:
        with self.enter() if self.enter else nullcontext():
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                return False

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # any acceptor still there

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def connects(self) -> list[str]:
        """Targets of the CONNECT requests the proxy logged, in order (`host:port`)."""
        if not self.log_path.exists():
            return []
        return CONNECT_LINE.findall(self.log_path.read_text(errors="replace"))

    def wait_connects(self, count: int, timeout: float = 10.0) -> list[str]:
        """The proxy logs a tunnel when it closes: wait for `count` of them (bounded)."""
        try:
            return Retrying(retry=retry_if_result(lambda found: len(found) < count), stop=stop_after_delay(timeout),
                            wait=wait_fixed(0.05))(self.connects)
        except RetryError as exc:
            return exc.last_attempt.result()  # fewer than `count`: the caller's assertion says so


def _main(argv: list[str]) -> None:
    os.register_at_fork(after_in_child=die_with_parent)
    from proxy import main  # proxy.py's console entry point

    sys.argv = ["proxy", *argv]
    main()


if __name__ == "__main__":
    _main(sys.argv[1:])

