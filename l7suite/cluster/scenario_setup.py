"""A scenario on the cluster: its folder's base files applied server-side, workloads waited for,
stages applied on demand, and everything deleted (and waited for) on teardown.

Deadlines come from the Kube seam's Timeouts (l7suite/cluster/timeouts.py: apply, workloads_ready,
delete). A setup that fails or is interrupted half-way deletes what it had applied (unless the user
keeps namespaces), so a failed scenario leaves nothing for the next one.
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube
from l7suite.cluster.policy_revision import PolicySync, policy_objects
from l7suite.cluster.readiness import Component, wait_ready
from l7suite.manifests import K8sObject, ManifestError, ManifestSet, load_manifest_set


@dataclass
class ClusterScenario:
    kube: Kube
    scenario: ManifestSet
    progress: Callable[[str], None] = lambda line: None
    applied: list[Path] = field(default_factory=list)
    # Set by start(): every apply that changes network policies waits until each Cilium agent has them
    # in force (l7suite/cluster/policy_revision.py). None: apply and return (unit tests of the seam).
    policy_sync: PolicySync | None = None

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
        # Base files that hold policies: revisions read just before the first of them is applied, waited
        # for once the workloads are ready (their endpoints exist then).
        pending = None
        for path in self.files():
            objects = [o for o in self.scenario.objects if o.source == path]
            if self.policy_sync is not None and pending is None and policy_objects(objects):
                pending = self.policy_sync.begin(self.scenario.objects)
            self.progress(f"apply {path.name}")
            self.apply_file(path)
            self.applied.append(path)
        self.wait_workloads()
        if pending is not None:
            pending.finish()

    def wait_workloads(self) -> None:
        deadline = self.kube.timeouts.workloads_ready
        deployments = [Component("Deployment", o.namespace, o.name) for o in self.scenario.of_kind("Deployment")]
        wait_ready(lambda c: self.kube.get(c.kind, c.namespace, c.name), deployments, deadline,
                   progress=self.progress)
        pods = [o.name for o in self.scenario.of_kind("Pod")]
        if pods:
            done = self.kube.kubectl("wait", "-n", self.namespace, "--for=condition=Ready",
                                     f"--timeout={int(deadline)}s", *[f"pod/{p}" for p in pods],
                                     timeout=deadline + 10)
            if done.returncode != 0:
                raise AssertionError(f"pods not Ready in {self.namespace}: {done.stderr.strip()}")

    def apply_stage(self, name: str) -> Path:
        objects = self.scenario.stage(name)  # ManifestError listing the stages when there is no such one
        path = self.scenario.stage_files()[name]
        self.progress(f"apply stage {name}")
        self._with_policy_wait(lambda: self.apply_file(path), objects)
        self.applied.append(path)
        return path

    def _with_policy_wait(self, apply: Callable[[], object], objects: Sequence[K8sObject]) -> None:
        if self.policy_sync is None:
            apply()
        else:
            self.policy_sync.apply(apply, objects)

    def apply_file(self, path: Path) -> None:
        """`kubectl apply` of the file as load_file reads it: `${NAME}` placeholders filled from the scenario's
        `variables`
        (through a temporary copy, removed once applied); a file without placeholders as it is."""
        text = path.read_text()
        if "${" not in text:
            self.kube.apply(path)
            return
        with tempfile.TemporaryDirectory(prefix="l7suite-rendered-") as folder:
            copy = Path(folder) / path.name
            copy.write_text(string.Template(text).substitute(self.scenario.variables))
            self.kube.apply(copy)

    def down(self) -> None:
        """Delete what was applied, last first, and wait for it to be gone (namespace last).

        Every file is tried even when one fails; the failures are raised together at the end."""
        failures = []
        for path in reversed(self.applied):
            self.progress(f"delete {path.name}")
            try:
                self.kube.delete_file(path)
            except tools.CommandFailed as exc:
                failures.append(f"{path}: {exc}")
        self.applied.clear()
        if failures:
            raise ScenarioTeardownFailed("could not delete (remove by hand with `kubectl delete -f FILE`):\n  "
                                         + "\n  ".join(failures))


class ScenarioTeardownFailed(RuntimeError):
    pass


def start(kube: Kube, name: str, manifests_dir: Path, progress: Callable[[str], None],
          variables: dict[str, str] | None = None, keep: bool = False) -> ClusterScenario:
    """`variables` fill the manifests' `${NAME}` placeholders (e.g. an address known only at run time).

    A setup that fails or is interrupted deletes what it applied before raising, unless `keep`."""
    run = ClusterScenario(kube, load_manifest_set(name, manifests_dir, variables), progress,
                      policy_sync=PolicySync(kube, kube.timeouts.policy_wait, progress))
    try:
        run.up()
    except BaseException:
        if not keep:
            try:
                run.down()
            except ScenarioTeardownFailed as exc:
                progress(str(exc))
        raise
    return run
