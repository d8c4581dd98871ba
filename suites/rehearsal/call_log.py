"""The stand-ins' call log of a rehearsal run, read back: one Call per stand-in call (its start record merged
with its end record and, for a port-forward, its forwarding record), and the questions the rehearsal
asks of them (calls of a tool with given words, kubectl verbs, unhandled calls, the pids that called)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Call:
    """One stand-in call: its start record merged with its end record (None while it ran)."""

    id: str
    tool: str
    argv: list[str]
    start: dict[str, Any]
    end: dict[str, Any] | None
    forwarding: dict[str, Any] | None = None

    @property
    def words(self) -> list[str]:
        """The command without flags and their values, as the stand-in parsed it."""
        return list(self.start.get("words", []))

    @property
    def exit(self) -> int | None:
        return None if self.end is None else int(self.end["exit"])

    @property
    def notes(self) -> dict[str, Any]:
        return (self.end or {}).get("notes", {})

    @property
    def files(self) -> dict[str, str]:
        return (self.end or {}).get("files", {})

    @property
    def time(self) -> float:
        return float(self.start["time"])

    def __str__(self) -> str:
        return " ".join(self.argv) + ("" if self.end is None else f"  -> exit {self.exit}")


@dataclass
class CallLog:
    calls: list[Call]

    @classmethod
    def read(cls, path: Path) -> CallLog:
        starts: dict[str, dict[str, Any]] = {}
        ends: dict[str, dict[str, Any]] = {}
        forwards: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["event"] == "start":
                    starts[record["id"]] = record
                    order.append(record["id"])
                elif record["event"] == "end":
                    ends[record["id"]] = record
                elif record["event"] == "forwarding":
                    forwards[record["id"]] = record
        return cls([Call(i, starts[i]["tool"], starts[i]["argv"], starts[i], ends.get(i), forwards.get(i))
                    for i in order])

    def of(self, tool: str, *words: str) -> list[Call]:
        """Calls of `tool` whose non-flag words start with `words` (after the tool name)."""
        return [c for c in self.calls if c.tool == tool and c.words[:len(words)] == list(words)]

    def kubectl(self, verb: str) -> list[Call]:
        return [c for c in self.calls if c.tool == "kubectl" and verb in c.words[:1]]

    def unhandled(self) -> list[Call]:
        return [c for c in self.calls if c.notes.get("unhandled")]

    def pids(self) -> set[int]:
        return {int(c.start["pid"]) for c in self.calls}
