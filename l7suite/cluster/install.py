"""Bring up (or adopt) the cluster: kind, image preload, Helm, readiness.

Every step runs through the subprocess seam (`tools.Runner`) under its own deadline
(l7suite/cluster/timeouts.py). A step that fails or hangs ends the bring-up with BringUpFailed, whose
message names the step, the command, its exit code and the tail of what it printed; whatever kind
cluster the session was using is then deleted (unless --keep-cluster), on any exception, Ctrl-C
included.

kind is run directly rather than through pytest-kind-ng's KindCluster.create() / load_docker_image():
in pytest-kind-ng 26.7.0 (pytest_kind/cluster.py) both call `subprocess.run(..., check=True)` with no
timeout and without capturing output (create() also loops until the kubeconfig file exists), so a
hung kind could not be bounded, kind's own error would not reach the message, and the calls would
bypass the seam that the rehearsal's stand-ins and a recorded run (`--record`) rely on. KindCluster
still names the kubeconfig's place: `.pytest-kind/<cluster>/kubeconfig`.

`--kubeconfig PATH` adopts an existing cluster: nothing is installed; it is checked (and briefly
waited for) for what the scenarios need, and the message says what is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from l7suite.cluster import tools
from l7suite.cluster.cluster_removal import delete_kind_cluster
from l7suite.cluster.helm_values import without_digest
from l7suite.cluster.kindconfig import render
from l7suite.cluster.kube import Kube, is_transient
from l7suite.cluster.plan import CHART_ENVOY, RunPlan
from l7suite.cluster.readiness import NotReady, cilium_components, wait_ready
from l7suite.cluster.timeouts import Timeouts, current
from l7suite.cluster.tool_pins import CILIUM_CHART_REPO

Progress = Callable[[str], None]
TAIL = 2000  # characters of a failed command's output kept in the message


class BringUpFailed(RuntimeError):
    """The cluster could not be brought up; the message says which step, how, and what it printed."""


class ClusterNotUsable(BringUpFailed):
    pass


def step(run: tools.Runner, what: str, argv: list[str], timeouts: Timeouts, deadline: str) -> tools.Completed:
    """Run one bring-up command under the named deadline; a failure becomes BringUpFailed."""
    seconds = float(getattr(timeouts, deadline))
    done = run(argv, seconds)
    if done.returncode == 124:  # tools.run: killed at the deadline
        raise BringUpFailed(f"{what}: `{' '.join(argv)}` did not finish within {seconds:g}s (deadline "
                            f"{deadline}, l7suite/cluster/timeouts.py; L7SUITE_E2E_TIMEOUTS={deadline}=... "
                            "gives it more)")
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-TAIL:]
        raise BringUpFailed(f"{what}: `{' '.join(argv)}` exited {done.returncode}:\n{output}")
    return done


def kubeconfig_of(cluster_name: str) -> Path:
    """Where the suite keeps a kind cluster's kubeconfig (pytest-kind-ng's layout, below the cwd)."""
    from pytest_kind import KindCluster  # its plugin is disabled (-p no:pytest-kind-ng); the class is ours

    return Path(KindCluster(cluster_name).kubeconfig_path).resolve()


def check_existing(kube: Kube, envoy_mode: str, timeout: float, progress: Progress = lambda line: None) -> None:
    """An adopted cluster must run Cilium with what the scenarios use (waited for up to `timeout`)."""
    problems = []
    try:
        wait_ready(lambda c: kube.get(c.kind, c.namespace, c.name), cilium_components(envoy_mode), timeout,
                   progress=progress)
    except NotReady as exc:
        problems.append(str(exc))
    except tools.CommandFailed as exc:
        problems.append(f"kubectl cannot read the cluster: {exc}")
    for crd in ("ciliumenvoyconfigs.cilium.io", "ciliumclusterwideenvoyconfigs.cilium.io"):
        if kube.kubectl("get", "crd", crd).returncode != 0:
            problems.append(f"CRD {crd} missing (Helm: loadBalancer.l7.backend=envoy or envoyConfig.enabled=true)")
    if problems:
        raise ClusterNotUsable(f"the cluster of {kube.kubeconfig} lacks what the e2e scenarios need:\n  - "
                               + "\n  - ".join(problems))


def chart_envoy_image(run: tools.Runner, version: str, timeouts: Timeouts) -> str:
    """The cilium-envoy image the chart pins (its tag is a cilium/proxy build, not derivable)."""
    done = step(run, "read the chart's cilium-envoy image",
                ["helm", "show", "values", "cilium", "--repo", CILIUM_CHART_REPO, "--version", version],
                timeouts, "helm_query")
    image = yaml.safe_load(done.stdout)["envoy"]["image"]
    return f"{image['repository']}:{image['tag']}"


# Docker Engine API 1.48 (Docker 28.0) added `docker save --platform` (docs.docker.com, docker image save).
SAVE_PLATFORM_API = (1, 48)


def docker_platform(run: tools.Runner, timeouts: Timeouts) -> tuple[str, bool]:
    """(the engine's os/arch — the kind nodes' platform —, whether `docker save --platform` is available)."""
    done = step(run, "read the Docker engine's platform",
                ["docker", "version", "--format", "{{.Client.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}"],
                timeouts, "kind_query")
    api, _, platform = done.stdout.strip().partition(" ")
    try:
        negotiated = tuple(int(p) for p in api.split("."))
    except ValueError:
        negotiated = (0, 0)
    return platform, negotiated >= SAVE_PLATFORM_API


def preload(run: tools.Runner, cluster_name: str, images: list[str], chart_version: str, workdir: Path,
            progress: Progress, timeouts: Timeouts) -> None:
    """Pull each image on the host, save it to an archive and load that into every node.

    `kind load docker-image` fails under Docker's containerd image store (the default of new Docker 29
    installs): `docker save` of a pulled multi-platform image keeps the whole index while only the host's
    platform was pulled, and the node's `ctr images import --all-platforms` stops at the first missing
    blob (kubernetes-sigs/kind#3795, #4066). kind's documented workaround (kind PR #4247): save one
    platform (`docker save --platform`) and `kind load image-archive`. Engines older than API 1.48 have
    no `--platform` on save; their default (classic) store saves the pulled platform only.
    """
    platform, per_platform = docker_platform(run, timeouts)
    for number, image in enumerate(images, start=1):
        if CHART_ENVOY in image:
            image = chart_envoy_image(run, chart_version, timeouts)
        progress(f"preload {number}/{len(images)}: {image} ({platform})")
        step(run, f"pull {image}", ["docker", "pull", "--platform", platform, image], timeouts,
             "image_pull")  # by digest, when given: verified by the engine
        if "@" in image:  # kind cannot load digest references (kubernetes-sigs/kind#4028): load the tag
            tagged = without_digest(image)
            step(run, f"tag {image}", ["docker", "tag", image, tagged], timeouts, "kind_query")
            image = tagged
        archive = workdir / f"image-{number}.tar"
        try:
            step(run, f"save {image}", ["docker", "save", *(["--platform", platform] if per_platform else []),
                                        "--output", str(archive), image], timeouts, "image_save")
            step(run, f"load {image} into the nodes",
                 ["kind", "load", "image-archive", "--name", cluster_name, str(archive)], timeouts, "image_load")
        finally:
            archive.unlink(missing_ok=True)


def helm_install(run: tools.Runner, kubeconfig: Path, plan: RunPlan, workdir: Path, timeouts: Timeouts) -> None:
    values = workdir / "cilium-values.yaml"
    values.write_text(yaml.safe_dump(plan.values, sort_keys=True))
    step(run, f"helm install of Cilium {plan.options.cilium_version}",
         ["helm", "upgrade", "--install", "cilium", "cilium", "--repo", CILIUM_CHART_REPO,
          "--version", plan.options.cilium_version, "--namespace", "kube-system",
          "--kubeconfig", str(kubeconfig), "--values", str(values)], timeouts, "helm_install")


class ClusterSession:
    """One cluster for the test session. `up()` returns the Kube seam, or raises BringUpFailed after
    removing what it was using; `down()` ends the session (the cluster stays with --keep-cluster)."""

    def __init__(self, plan: RunPlan, progress: Progress, run: tools.Runner = tools.run,
                 timeouts: Timeouts | None = None):
        self.plan = plan
        self.progress = progress
        self.run = run
        self.timeouts = timeouts or current()
        self.kind_cluster: str | None = None  # the kind cluster this session uses, once it decided to
        self.workdir = Path(tempfile.mkdtemp(prefix="l7suite-e2e-"))

    def up(self) -> Kube:
        try:
            return self._up()
        except BaseException:  # Ctrl-C and pytest's outcomes too: nothing half-made stays behind
            self.down()
            raise

    def _up(self) -> Kube:
        options, timeouts = self.plan.options, self.timeouts
        if options.kubeconfig:
            if not options.kubeconfig.is_file():
                raise ClusterNotUsable(f"--kubeconfig {options.kubeconfig}: no such file")
            kube = Kube(options.kubeconfig, self.run, timeouts=timeouts)
            check_existing(kube, options.envoy_mode, timeouts.adopt_ready, self.progress)
            return kube
        if not shutil.which("kind") or not shutil.which("kubectl"):
            raise ClusterNotUsable("kind and kubectl must be on PATH (python -m l7suite.cluster.prereqs "
                                   "says what is missing and how to install it)")
        name = options.cluster_name
        kubeconfig = kubeconfig_of(name)
        existing = step(self.run, "list kind clusters", ["kind", "get", "clusters"], timeouts,
                        "kind_query").stdout.split()
        self.kind_cluster = name
        if name in existing:
            self.progress(f"reusing kind cluster {name!r}")
            step(self.run, f"export the kubeconfig of kind cluster {name!r}",
                 ["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)], timeouts,
                 "kind_query")
        else:
            config = self.workdir / "kind-config.yaml"
            config.write_text(render(self.plan.kind_config or {}))
            self.progress(f"kind cluster {name!r}: create (at most {timeouts.kind_create:g}s)")
            step(self.run, f"create kind cluster {name!r}",
                 ["kind", "create", "cluster", f"--name={name}", f"--kubeconfig={kubeconfig}", "--config",
                  str(config)], timeouts, "kind_create")
        if options.preload:
            preload(self.run, name, self.plan.preload_images, options.cilium_version, self.workdir,
                    self.progress, timeouts)
        kube = Kube(kubeconfig, self.run, timeouts=timeouts)
        self.progress(f"helm: cilium {options.cilium_version} ({options.envoy_mode} Envoy)")
        helm_install(self.run, kube.kubeconfig, self.plan, self.workdir, timeouts)
        try:
            wait_ready(lambda c: kube.get(c.kind, c.namespace, c.name), cilium_components(options.envoy_mode),
                       timeouts.cilium_ready, progress=self.progress, retry_on=is_transient)
        except NotReady as exc:
            raise BringUpFailed(f"Cilium {options.cilium_version} not ready (deadline cilium_ready): {exc}") from None
        return kube

    def down(self, delete_cluster: bool = True) -> None:
        """`delete_cluster=False` under pytest-xdist: the controller deletes it when all workers are done."""
        try:
            if delete_cluster and self.kind_cluster is not None and not self.plan.options.keep_cluster:
                delete_kind_cluster(self.kind_cluster, self.timeouts.kind_delete, self.progress, self.run)
                self.kind_cluster = None
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
