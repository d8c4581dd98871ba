"""What `tox -e e2e -- --plan` printed, read back: the kind config, the effective Helm values, the images
to preload and the scenarios' namespaces. The rehearsal compares the run's calls with these, so a run
that does something else than its plan says is caught (the plan is the user-visible contract).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

import yaml


class PlanUnreadable(AssertionError):
    pass


def _block(text: str, header: str) -> list[str]:
    """The lines indented under a `header` line, up to the next unindented line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == header:
            out = []
            for follow in lines[i + 1:]:
                if follow and not follow.startswith(" "):
                    break
                out.append(follow)
            return out
    raise PlanUnreadable(f"`--plan` printed no {header!r} section:\n{text}")


def _header_starting(text: str, prefix: str) -> str:
    for line in text.splitlines():
        if line.startswith(prefix) and line.rstrip().endswith(":"):
            return line.strip()
    raise PlanUnreadable(f"`--plan` printed no line starting {prefix!r}:\n{text}")


@dataclass(frozen=True)
class Planned:
    text: str
    kind_config: dict[str, Any]
    values: dict[str, Any]
    preload: list[str]
    namespaces: dict[str, list[str]]  # scenario -> its namespaces

    @classmethod
    def parse(cls, output: str) -> Planned:
        start = output.find("e2e run plan")
        if start < 0:
            raise PlanUnreadable(f"no plan in the output:\n{output[-3000:]}")
        text = output[start:]
        kind_config = yaml.safe_load(textwrap.dedent("\n".join(_block(text, "kind config:"))))
        values = yaml.safe_load(textwrap.dedent("\n".join(_block(text, "effective values:"))))
        preload = [line.strip() for line in _block(text, _header_starting(text, "preload (")) if line.strip()]
        namespaces: dict[str, list[str]] = {}
        for line in _block(text, "scenarios:"):
            found = re.match(r"^  (\S+): namespaces ([^;]*);", line)
            if found:
                namespaces[found.group(1)] = [n.strip() for n in found.group(2).split(",") if n.strip() != "-"]
        return cls(text, kind_config, values, preload, namespaces)
