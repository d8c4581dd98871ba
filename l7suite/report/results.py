"""Read an Allure results folder (allure-pytest's *-result.json files) into plain records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from l7suite.report import names

FAILING = ("failed", "broken")


@dataclass(frozen=True)
class CheckResult:
    name: str           # the test's name with its parameter id
    status: str         # passed, failed, broken, skipped, unknown
    labels: dict[str, str]
    parameters: dict[str, str]
    message: str

    @property
    def tier(self) -> str:
        return self.labels.get(names.TIER, "unknown")

    @property
    def scenario(self) -> str:
        return self.labels.get(names.SCENARIO, "unknown")

    @property
    def check(self) -> str:
        return self.labels.get(names.CHECK, self.name)


def _unquote(value: str) -> str:
    """allure-pytest shows str parameters of pytest's parametrize in quotes: '1.38.3'."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def read_results(folder: Path) -> list[CheckResult]:
    out = []
    for path in sorted(folder.glob("*-result.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels: dict[str, str] = {}
        for label in data.get("labels", []):
            labels.setdefault(label["name"], label["value"])  # first wins, as Allure shows it
        parameters = {p["name"]: _unquote(str(p.get("value", ""))) for p in data.get("parameters", [])}
        out.append(CheckResult(name=data.get("name", path.stem), status=data.get("status", "unknown"),
                               labels=labels, parameters=parameters,
                               message=(data.get("statusDetails") or {}).get("message", "")))
    return out
