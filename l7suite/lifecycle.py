"""How what the suite starts ends: `with thing:` for its start()/stop() objects, and processes that die
with the suite.

StartedInWith: start on entry, stop on exit whatever happened, and stop what a failed start() had already
started (stop() must cope with a partial start). die_with_parent: a child process's preexec_fn asking the
kernel to kill it when the suite's process ends (PR_SET_PDEATHSIG), even on `kill -9`.
"""

from __future__ import annotations

import ctypes
import signal
from typing import Self

PR_SET_PDEATHSIG = 1  # prctl(2)
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def die_with_parent() -> None:
    """Run in a child between fork and exec (preexec_fn): SIGKILL it when its parent ends."""
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class StartedInWith:
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
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
