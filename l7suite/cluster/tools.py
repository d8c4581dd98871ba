"""The subprocess seam: run a command with a timeout and return what it printed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str], float], Completed]


def run(argv: Sequence[str], timeout: float) -> Completed:
    """Run `argv`; a missing binary or a timeout is a result (returncode 127 / 124), not an exception."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return Completed(tuple(argv), 127, "", f"{argv[0]}: not found on PATH")
    except subprocess.TimeoutExpired:
        return Completed(tuple(argv), 124, "", f"{' '.join(argv)}: no answer within {timeout:g}s")
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


class CommandFailed(RuntimeError):
    def __init__(self, done: Completed):
        self.done = done
        super().__init__(f"`{' '.join(done.argv)}` exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")


def check(done: Completed) -> Completed:
    if done.returncode != 0:
        raise CommandFailed(done)
    return done
