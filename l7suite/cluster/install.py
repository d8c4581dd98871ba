"""Bring up (or adopt) the cluster: kind via pytest-kind-ng's KindCluster, image preload, Helm, readiness.

`--kubeconfig PATH` adopts an existing cluster: nothing is installed; it is checked for what the
scenarios need and the message says what is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from l7suite.cluster import tools
from l7suite.cluster.kindconfig import render
from l7suite.cluster.kube import Kube
from l7suite.cluster.plan import CHART_ENVOY, RunPlan
from l7suite.cluster.readiness import cilium_components, readiness, wait_ready
from l7suite.cluster.values import without_digest
from l7suite.cluster.versions import CILIUM_CHART_REPO

INSTALL_TIMEOUT = 900.0
READY_TIMEOUT = 600.0
Progress = Callable[[str], None]


class ClusterNotUsable(RuntimeError):
    pass


def check_existing(kube: Kube, envoy_mode: str) -> None:
    """An adopted cluster must already run Cilium with what the scenarios use."""
    problems = []
    for component in cilium_components(envoy_mode):
        state = readiness(component, kube.get(component.kind, component.namespace, component.name))
        if not state.ready:
            problems.append(f"{component}: {state.detail}")
    for crd in ("ciliumenvoyconfigs.cilium.io", "ciliumclusterwideenvoyconfigs.cilium.io"):
        if kube.kubectl("get", "crd", crd, timeout=30).returncode != 0:
            problems.append(f"CRD {crd} missing (Helm: loadBalancer.l7.backend=envoy or envoyConfig.enabled=true)")
    if problems:
        raise ClusterNotUsable(f"the cluster of {kube.kubeconfig} lacks what the e2e scenarios need:\n  - "
                               + "\n  - ".join(problems))


def chart_envoy_image(run: tools.Runner, version: str) -> str:
    """The cilium-envoy image the chart pins (its tag is a cilium/proxy build, not derivable)."""
    done = tools.check(run(["helm", "show", "values", "cilium", "--repo", CILIUM_CHART_REPO,
                            "--version", version], 120))
    image = yaml.safe_load(done.stdout)["envoy"]["image"]
    return f"{image['repository']}:{image['tag']}"


def preload(run: tools.Runner, load: Callable[[str], None], images: list[str], version: str,
            progress: Progress) -> None:
    for image in images:
        if CHART_ENVOY in image:
            image = chart_envoy_image(run, version)
        progress(f"preload {image}")
        tools.check(run(["docker", "pull", image], INSTALL_TIMEOUT))  # by digest, when given: verified
        if "@" in image:
            tagged = without_digest(image)
            tools.check(run(["docker", "tag", image, tagged], 60))
            image = tagged
        load(image)


def helm_install(run: tools.Runner, kubeconfig: Path, plan: RunPlan, workdir: Path) -> None:
    values = workdir / "cilium-values.yaml"
    values.write_text(yaml.safe_dump(plan.values, sort_keys=True))
    tools.check(run(["helm", "upgrade", "--install", "cilium", "cilium", "--repo", CILIUM_CHART_REPO,
                     "--version", plan.options.cilium_version, "--namespace", "kube-system",
                     "--kubeconfig", str(kubeconfig), "--values", str(values)], INSTALL_TIMEOUT))


class ClusterSession:
    """One cluster for the test session. `up()` returns the Kube seam; `down()` honours --keep-cluster."""

    def __init__(self, plan: RunPlan, progress: Progress, run: tools.Runner = tools.run):
        self.plan = plan
        self.progress = progress
        self.run = run
        self.kind_cluster = None
        self.workdir = Path(tempfile.mkdtemp(prefix="l7suite-e2e-"))

    def up(self) -> Kube:
        options = self.plan.options
        if options.kubeconfig:
            kube = Kube(options.kubeconfig, self.run)
            check_existing(kube, options.envoy_mode)
            return kube
        from pytest_kind import KindCluster  # its plugin is disabled (-p no:pytest-kind-ng); the class is ours

        kind_bin, kubectl_bin = shutil.which("kind"), shutil.which("kubectl")
        if not kind_bin or not kubectl_bin:
            raise ClusterNotUsable("kind and kubectl must be on PATH (run the prerequisite check)")
        cluster = KindCluster(options.cluster_name, kind_path=Path(kind_bin), kubectl_path=Path(kubectl_bin))
        self.kind_cluster = cluster
        existing = tools.check(self.run([kind_bin, "get", "clusters"], 60)).stdout.split()
        if options.cluster_name in existing:
            self.progress(f"reusing kind cluster {options.cluster_name!r}")
            tools.check(self.run([kind_bin, "export", "kubeconfig", "--name", options.cluster_name,
                                  "--kubeconfig", str(cluster.kubeconfig_path)], 60))
        config = self.workdir / "kind-config.yaml"
        config.write_text(render(self.plan.kind_config or {}))
        self.progress(f"kind cluster {options.cluster_name!r}: create (or reuse)")
        cluster.create(config_file=config)
        if options.preload:
            preload(self.run, cluster.load_docker_image, self.plan.preload_images, options.cilium_version,
                    self.progress)
        kube = Kube(Path(cluster.kubeconfig_path).resolve(), self.run)
        self.progress(f"helm: cilium {options.cilium_version} ({options.envoy_mode} Envoy)")
        helm_install(self.run, kube.kubeconfig, self.plan, self.workdir)
        wait_ready(lambda c: kube.get(c.kind, c.namespace, c.name), cilium_components(options.envoy_mode),
                   READY_TIMEOUT, progress=self.progress)
        return kube

    def down(self, delete_cluster: bool = True) -> None:
        """`delete_cluster=False` under pytest-xdist: the controller deletes it when all workers are done."""
        if delete_cluster and self.kind_cluster is not None and not self.plan.options.keep_cluster:
            self.progress(f"deleting kind cluster {self.plan.options.cluster_name!r}")
            self.kind_cluster.delete()
        shutil.rmtree(self.workdir, ignore_errors=True)
