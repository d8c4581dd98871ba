"""Attach evidence to the test that is running, from anywhere (fixtures, hooks, library code).

These are thin wrappers over `allure.attach`: outside a test, or when pytest runs without
`--alluredir`, allure has no listener and the call does nothing, so callers never need to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import allure
from allure_commons.types import AttachmentType

from l7suite.report import charts

# Called with (name, mime type, body) for every attachment: the pytest glue mirrors evidence into the
# pytest-html fallback report through this, so the two reports show the same evidence.
Mirror = Callable[[str, str, str], None]
MIRRORS: list[Mirror] = []


def _attach(body: str, name: str, kind: AttachmentType, extension: str | None = None) -> None:
    allure.attach(body, name=name, attachment_type=kind, extension=extension)
    for mirror in MIRRORS:
        mirror(name, kind.mime_type, body)


def attach_text(name: str, body: str) -> None:
    _attach(body, name, allure.attachment_type.TEXT)


def attach_json(name: str, data: Any) -> None:
    """`data` as indented JSON; values JSON cannot hold (paths, enums, dataclasses) are shown as str()."""
    _attach(json.dumps(data, indent=2, sort_keys=True, default=str), name, allure.attachment_type.JSON)


def attach_json_lines(name: str, lines: Iterable[str | dict]) -> None:
    """One JSON object per line, as `hubble observe -o jsonpb` prints flows (strings are kept as given)."""
    body = "\n".join(line if isinstance(line, str) else json.dumps(line, sort_keys=True, default=str)
                     for line in lines)
    _attach(body, name, allure.attachment_type.JSON, extension="jsonl")


def attach_svg(name: str, svg: str) -> None:
    _attach(svg, name, allure.attachment_type.SVG)


def attach_weighted_split(name: str, counts: dict[str, int], expected: dict[str, float],
                          interval: dict[str, tuple[int, int]]) -> None:
    attach_json(name, {"counts": counts, "expected_share": expected, "acceptance_interval": interval})
    attach_svg(f"{name} (chart)", charts.weighted_split_svg(name, counts, expected, interval))


def attach_status_split(name: str, levels: dict[int, dict[str, int]]) -> None:
    attach_json(name, {str(k): v for k, v in levels.items()})
    attach_svg(f"{name} (chart)", charts.status_split_svg(name, levels))


def attach_replica_distribution(name: str, per_algorithm: dict[str, dict[str, int]]) -> None:
    attach_json(name, per_algorithm)
    attach_svg(f"{name} (chart)", charts.replica_distribution_svg(name, per_algorithm))
