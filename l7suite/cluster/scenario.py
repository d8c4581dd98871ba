"""A scenario on the cluster: its folder's base files applied server-side, workloads waited for,
stages applied on demand, and everything deleted (and waited for) on teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from l7suite.cluster.kube import Kube
from l7suite.cluster.readiness import Component, wait_ready
from l7suite.manifests import ManifestError, Scenario, load_scenario

WORKLOAD_TIMEOUT = 300.0
DELETE_TIMEOUT = 180.0


@dataclass
class ScenarioRun:
    kube: Kube
    scenario: Scenario
    progress: Callable[[str], None] = lambda line: None
    applied: list[Path] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        namespaces = [o.name for o in self.scenario.of_kind("Namespace")]
        if len(namespaces) != 1:
            raise ManifestError(self.scenario.directory, f"a scenario needs exactly one Namespace, found {namespaces}")
        return namespaces[0]

    def files(self) -> list[Path]:
        # the Namespace first: server-side apply of namespaced objects needs it to exist
        paths = sorted({o.source for o in self.scenario.objects})
        return sorted(paths, key=lambda p: (not any(o.kind == "Namespace" for o in self.scenario.objects
                                                    if o.source == p), p.name))

    def up(self) -> None:
        for path in self.files():
            self.progress(f"apply {path.name}")
            self.kube.apply(path)
            self.applied.append(path)
        self.wait_workloads()

    def wait_workloads(self) -> None:
        deployments = [Component("Deployment", o.namespace, o.name) for o in self.scenario.of_kind("Deployment")]
        wait_ready(lambda c: self.kube.get(c.kind, c.namespace, c.name), deployments, WORKLOAD_TIMEOUT,
                   progress=self.progress)
        pods = [o.name for o in self.scenario.of_kind("Pod")]
        if pods:
            done = self.kube.kubectl("wait", "-n", self.namespace, "--for=condition=Ready",
                                     f"--timeout={int(WORKLOAD_TIMEOUT)}s", *[f"pod/{p}" for p in pods],
                                     timeout=WORKLOAD_TIMEOUT + 10)
            if done.returncode != 0:
                raise AssertionError(f"pods not Ready in {self.namespace}: {done.stderr.strip()}")

    def apply_stage(self, name: str) -> Path:
        stages = self.scenario.stage_files()
        if name not in stages:
            raise ManifestError(self.scenario.directory / "stages",
                                f"no stage {name!r}; stages: {', '.join(stages) or 'none'}")
        self.progress(f"apply stage {name}")
        self.kube.apply(stages[name])
        self.applied.append(stages[name])
        return stages[name]

    def down(self) -> None:
        """Delete what was applied, last first, and wait for it to be gone (namespace last)."""
        for path in reversed(self.applied):
            self.kube.delete_file(path, DELETE_TIMEOUT)
        self.applied.clear()


def start(kube: Kube, name: str, manifests_dir: Path, progress: Callable[[str], None],
          variables: dict[str, str] | None = None) -> ScenarioRun:
    """`variables` fill the manifests' `${NAME}` placeholders (e.g. an address known only at run time)."""
    run = ScenarioRun(kube, load_scenario(name, manifests_dir, variables), progress)
    run.up()
    return run
