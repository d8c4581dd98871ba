"""How what the suite starts ends: `with thing:` for its start()/stop() objects, and processes that die
with the suite.

StartedInWith: start on entry, stop on exit whatever happened, and stop what a failed start() had already
started (stop() must cope with a partial start). die_with_parent: a child process's preexec_fn asking the
kernel to kill it when the suite's process ends (PR_SET_PDEATHSIG), even on `kill -9`; `dying_with_parent`
asks the same of a command through util-linux's `setpriv --pdeathsig`, without a preexec_fn.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
from collections.abc import Callable
from typing import Self

PR_SET_PDEATHSIG = 1  # prctl(2)
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def die_with_parent() -> None:
    """Run in a child between fork and exec (preexec_fn): SIGKILL it when its parent ends."""
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def dying_with_parent(cmd: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """`cmd` made to get SIGKILL when its parent ends, and the preexec_fn to start it with (None if none).

    Where util-linux's setpriv is on PATH (Debian: always, util-linux is essential) the command is run through
    `setpriv --pdeathsig KILL --`, which sets the signal and execs the command in the same process: the parent
    is still the suite's thread that started it, as with die_with_parent. Without a preexec_fn Python starts
    the child with vfork instead of fork: measured in an envoy-tier worker (115 MB), about 1 ms instead of
    10 ms, and 0.1 ms of the worker's CPU instead of 4, per process; the tier starts about 80 Envoys."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return cmd, die_with_parent
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd], None


class StartedInWith:
    """start() on entering a `with` block, stop() on leaving it, also when start() fails part-way."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> object:  # what a stop collects, if anything (HttpLoad: its records); `with` drops it
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
