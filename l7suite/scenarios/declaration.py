"""What a scenario is, said once: read by both tiers, `--plan`, the report's labels, the matrix's columns
and docs/scenarios.md.

Each scenario module of this package holds one `SCENARIO = Scenario(...)` next to what both tiers share
(expected shares, request counts, names, the scenario's own control plane). A test module of either tier
opens with `SCENARIO = <scenario module>.SCENARIO`: the tier's fixture (`envoy_run`, `cluster_scenario`)
loads the folder it names, the report labels the module's results with its name, `--plan` prints its
notes, and its needs mark the module (`disruptive`). docs/adding-a-scenario.md walks through a new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

TIERS = ("envoy", "e2e")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# factory(pod name) -> a stand-in with .name, .address, .start() and .stop() (l7suite/standins/)
StandIn = Callable[[str], Any]


class ScenarioDeclarationError(ValueError):
    """A declaration, or a module's SCENARIO, is not usable; the message says what to write instead."""


# Needs.daemonset_admin, as `--plan` prints it and as the checks that read the admin API are skipped
DAEMONSET_ADMIN_NEED = "cilium-envoy admin checks: --envoy-mode daemonset only (skipped embedded)"


@dataclass(frozen=True)
class Needs:
    """What a scenario needs beyond its tier's usual machine (docs/scenarios.md lists it; `--plan` prints
    the e2e part)."""

    root: bool = False  # envoy tier: network namespaces and nftables (root, or CAP_NET_ADMIN and CAP_SYS_ADMIN)
    programs: tuple[str, ...] = ()  # envoy tier: programs it runs from PATH (its checks fail naming a missing one)
    daemonset_admin: bool = False  # e2e: some checks read cilium-envoy's admin API, so run with --envoy-mode daemonset
    docker_images: tuple[str, ...] = ()  # e2e: containers it starts beside the cluster (kind's Docker network)
    runs_alone: bool = False  # e2e: it restarts what every scenario uses: marked `disruptive`, run on its own

    def lines(self, tier: str | None = None) -> list[str]:
        """One line per need of `tier` (e2e: what `--plan` prints), or of both tiers, each saying its tier."""
        needs = [
            ("envoy", self.root, "root (network namespaces, nftables)"),
            ("envoy", bool(self.programs), "on PATH: " + ", ".join(self.programs)),
            ("e2e", self.daemonset_admin, DAEMONSET_ADMIN_NEED),
            ("e2e", bool(self.docker_images), "docker run beside the cluster: " + ", ".join(self.docker_images)),
            ("e2e", self.runs_alone, "disruptive: runs alone (`-m disruptive`)"),
        ]
        return [text if tier else f"{where} tier: {text}" for where, wanted, text in needs
                if wanted and tier in (None, where)]


@dataclass(frozen=True, eq=False)  # compared by identity: a module's SCENARIO *is* the declaration
class Scenario:
    name: str  # report label, matrix column, `--plan` entry: lower-case words joined by `-`
    title: str  # one line
    description: str  # one paragraph: what the lab (or seed) shows, and what the suite asserts
    tiers: tuple[str, ...]  # which tiers have a test module for it: "envoy", "e2e"
    manifests: str | None = None  # folder under manifests/ (the e2e tier's, and the envoy tier's unless below)
    envoy_manifests: str | None = None  # the envoy tier's folder, where it differs from `manifests`
    every_folder: bool = False  # it reads every folder under manifests/ instead of one
    # image repository (no tag) -> the stand-in the envoy tier starts for each pod of that image
    standins: Mapping[str, StandIn] = field(default_factory=dict)
    # image repositories in its folder that only the e2e tier runs (clients, tools): no stand-in needed
    cluster_side: tuple[str, ...] = ()
    needs: Needs = Needs()
    plan_notes: tuple[str, ...] = ()  # what the e2e tier does beyond applying the folder (`--plan` prints it)
    suite_check: bool = False  # not a scenario: the suite's checks of itself (their report label)

    def __post_init__(self) -> None:
        object.__setattr__(self, "standins", MappingProxyType(dict(self.standins)))
        problems = []
        if not NAME.match(self.name):
            problems.append(f"name {self.name!r} is not lower-case words joined by '-'")
        if not self.tiers or set(self.tiers) - set(TIERS):
            problems.append(f"tiers {self.tiers!r}: name one or both of {TIERS}")
        if "e2e" in self.tiers and not self.manifests:
            problems.append("the e2e tier applies `manifests`: name its folder")
        if "envoy" in self.tiers and not (self.envoy_folder or self.every_folder or self.suite_check):
            problems.append("the envoy tier loads `envoy_manifests` (or `manifests`): name its folder")
        if self.plan_notes and "e2e" not in self.tiers:
            problems.append("`plan_notes` are printed by the e2e tier's --plan; this scenario has no e2e tier")
        if not self.title.strip() or not self.description.strip() or "\n\n" in self.description.strip():
            problems.append("give it a one-line `title` and a one-paragraph `description`")
        if problems:
            raise ScenarioDeclarationError(f"scenario {self.name!r}: " + "; ".join(problems))

    @property
    def envoy_folder(self) -> str | None:
        """The folder under manifests/ the envoy tier loads."""
        return self.envoy_manifests or self.manifests

    @property
    def e2e_folder(self) -> str | None:
        """The folder under manifests/ the e2e tier applies."""
        return self.manifests

    def folders(self) -> list[str]:
        return list(dict.fromkeys(f for f in (self.e2e_folder, self.envoy_folder) if f))


def declared_by(module: ModuleType | None) -> Scenario | None:
    """A test module's `SCENARIO` declaration, None when it has none."""
    declared = getattr(module, "SCENARIO", None)
    if declared is None or isinstance(declared, Scenario):
        return declared
    raise ScenarioDeclarationError(
        f"{getattr(module, '__name__', module)}: SCENARIO is {declared!r}; it must be a scenario's declaration: "
        "`from l7suite.scenarios import weighted_lb` and `SCENARIO = weighted_lb.SCENARIO` "
        "(declarations: l7suite/scenarios/; a new one: docs/adding-a-scenario.md)")
