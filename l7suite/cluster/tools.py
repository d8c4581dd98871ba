"""The subprocess seam: run a command with a timeout and return what it printed.

Every external command of the e2e tier goes through `run` (kind, helm, docker, kubectl), so the
rehearsal's stand-ins can answer it and `--record DIR` keeps it (l7suite/cluster/record.py).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from l7suite.cluster import record


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str], float], Completed]


def run(argv: Sequence[str], timeout: float) -> Completed:
    """Run `argv`; a missing binary or a timeout is a result (returncode 127 / 124), not an exception."""
    started = time.time()
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        done = Completed(tuple(argv), 127, "", f"{argv[0]}: not found on PATH")
    except subprocess.TimeoutExpired as exc:
        before = _text(exc.stderr).rstrip("\n")  # what it printed before it was killed
        done = Completed(tuple(argv), 124, _text(exc.stdout),
                         (before + "\n" if before else "") + f"{' '.join(argv)}: no answer within {timeout:g}s")
    else:
        done = Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    record.command(done.argv, done.returncode, done.stdout, done.stderr, started, timeout)
    return done


def _text(output: str | bytes | None) -> str:
    """A timed-out command's partial output: subprocess hands it over undecoded (bytes) on POSIX."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


class CommandFailed(RuntimeError):
    def __init__(self, done: Completed):
        self.done = done
        super().__init__(f"`{' '.join(done.argv)}` exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")


def check(done: Completed) -> Completed:
    if done.returncode != 0:
        raise CommandFailed(done)
    return done
