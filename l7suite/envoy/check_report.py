"""The report of `l7suite check`: one row per config, one column per Envoy version, then the details of every
verdict other than ACK; as text for a person or as JSON for CI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from l7suite.envoy.verdicts import Outcome, Verdict


@dataclass(frozen=True)
class Row:
    """One config (or one file that could not be read) and its verdict per Envoy version."""

    label: str
    file: str
    results: dict[str, Outcome]
    kind: str = ""
    namespace: str = ""
    name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"config": self.label, "file": self.file, "kind": self.kind, "namespace": self.namespace,
                "name": self.name, "results": {v: o.as_json() for v, o in self.results.items()}}


@dataclass
class Report:
    versions: list[str]
    rows: list[Row]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(o.verdict is Verdict.ACK for row in self.rows for o in row.results.values())

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "versions": self.versions, "notes": self.notes,
                "configs": [row.as_json() for row in self.rows]}

    def write_text(self, out: TextIO) -> None:
        width = max([len("config"), *(len(row.label) for row in self.rows)]) + 2
        cell = max([10, *(len(o.label) + 2 for row in self.rows for o in row.results.values())])
        out.write("config".ljust(width) + "".join(v.ljust(cell) for v in self.versions).rstrip() + "\n")
        for row in self.rows:
            out.write(row.label.ljust(width) + "".join(row.results[v].label.ljust(cell)
                                                       for v in self.versions).rstrip() + "\n")
        for note in self.notes:
            out.write(f"note: {note}\n")
        for row in self.rows:
            label, results = row.label, row.results
            by_details: dict[str, list[str]] = {}
            for version in self.versions:
                outcome = results[version]
                if outcome.verdict is not Verdict.ACK:
                    by_details.setdefault(outcome.describe(), []).append(version)
            for text, versions in by_details.items():
                head, _, body = text.partition(": ")
                out.write(f"\n== {label} on Envoy {', '.join(versions)}: {head}\n")
                out.write("".join(f"   {line}\n" for line in body.splitlines()))
