"""`with thing:` for the suite's start()/stop() objects: start on entry, stop on exit whatever happened, and
stop what a failed start() had already started (stop() must cope with a partial start)."""

from __future__ import annotations

from typing import Self


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
