"""Cluster bring-up through stand-in executables (kind, docker, helm, kubectl first on PATH, answering
with recorded outputs): one readable failure per broken step, each step under its own deadline, the
cluster deleted after any failure or interruption, and --preload-images loading the plan's images as
single-platform archives."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR
from l7suite.cluster import tools
from l7suite.cluster.install import BringUpFailed, ClusterSession
from l7suite.cluster.plan import RunOptions, build_plan
from l7suite.cluster.timeouts import Timeouts
from l7suite.scenarios import starwars
from suites.unit.e2e_plugin_run import run_e2e_plugin

DATA = Path(__file__).parent / "data"
NAME = "integration"  # the cluster name of the recorded kind error (data/kind_create_exists.txt)
ENVOY = "quay.io/cilium/cilium-envoy:v1.36.6-x"

KIND_VERSION = 'echo "kind v0.32.0 go1.24.3 linux/amd64"'  # kind's DisplayVersion format
# kind writes the new cluster's kubeconfig (a minimal one here: nothing reads its credentials)
WRITE_KUBECONFIG = """for arg in "$@"; do case "$arg" in --kubeconfig=*) cat > "${arg#--kubeconfig=}" <<'YAML'
apiVersion: v1
kind: Config
clusters: [{name: kind-integration, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: kind-integration, context: {cluster: kind-integration, user: kind-integration}}]
current-context: kind-integration
users: [{name: kind-integration, user: {}}]
YAML
;; esac; done"""
KIND_OK = f"""case "$1 $2" in
  "get clusters") ;;
  "version "*) {KIND_VERSION} ;;
  "create cluster") {WRITE_KUBECONFIG} ;;
esac"""
KIND_CREATE_FAILS = f"""case "$1 $2" in
  "get clusters") ;;
  "version "*) {KIND_VERSION} ;;
  "create cluster") cat {DATA / 'kind_create_exists.txt'} >&2; exit 1 ;;
esac"""
KUBECTL_READY = f"""case "$*" in
  *" get DaemonSet "*) cat {DATA / 'k8s_daemonset_kube_proxy_ready.json'} ;;
  *" get Deployment "*) cat {DATA / 'k8s_deployment_metrics_server_ready.json'} ;;
  *"version --client -o json"*) cat {DATA / 'kubectl_version_client.json'} ;;
esac"""
DOCKER = """case "$1" in
  info) echo 29.1.3 ;;
  version) echo "${L7_DOCKER_API:-1.52} linux/amd64" ;;
  save) while [ $# -gt 0 ]; do [ "$1" = --output ] && echo archive > "$2"; shift; done ;;
esac"""
HELM_OK = 'case "$1" in version) echo v3.16.2+g13654a5 ;; esac'


class StandIns:
    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.log.touch()
        for name, body in {"kind": KIND_OK, "kubectl": KUBECTL_READY, "docker": DOCKER, "helm": HELM_OK}.items():
            self.write(name, body)

    def write(self, name: str, body: str) -> None:
        path = self.bin / name
        # every call logged; an archive given to `kind load image-archive` logged with whether it exists
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> {self.log}\n'
                        f'[ "$2" = image-archive ] && [ -f "$5" ] && echo "archive present" >> {self.log}\n'
                        f"{body}\n")
        path.chmod(0o755)

    def calls(self, name: str = "") -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith(name)]

    @property
    def path(self) -> str:
        return f"{self.bin}:/usr/bin:/bin"


@pytest.fixture
def standins(tmp_path, monkeypatch) -> StandIns:
    found = StandIns(tmp_path)
    monkeypatch.setenv("PATH", found.path)
    monkeypatch.chdir(tmp_path)  # .pytest-kind/<cluster>/kubeconfig goes below the cwd
    return found


def plan(preload: bool = False):
    options = RunOptions(cilium_version="1.19.3", cluster_name=NAME, envoy_image=ENVOY, preload=preload)
    return build_plan(options, MANIFESTS_DIR / "cilium", MANIFESTS_DIR, [starwars.SCENARIO])


def session(timeouts: Timeouts | None = None, run: tools.Runner = tools.run, preload: bool = False) -> ClusterSession:
    return ClusterSession(plan(preload), progress=lambda line: None, run=run, timeouts=timeouts or Timeouts())


def test_a_failing_kind_create_is_one_message_and_the_cluster_is_deleted(standins):
    standins.write("kind", KIND_CREATE_FAILS)
    cluster = session()
    with pytest.raises(BringUpFailed) as failed:
        cluster.up()
    kubeconfig = Path(".pytest-kind", NAME, "kubeconfig").resolve()
    head, output = str(failed.value).split("\n", 1)
    assert head == (f"create kind cluster '{NAME}': `kind create cluster --name={NAME} --kubeconfig={kubeconfig} "
                    f"--config {cluster.workdir / 'kind-config.yaml'}` exited 1:")
    assert output == (DATA / "kind_create_exists.txt").read_text().strip()
    assert standins.calls("kind")[-1] == f"kind delete cluster --name={NAME}"
    assert not cluster.workdir.exists()


def test_a_step_past_its_deadline_is_cut_and_named(standins):
    standins.write("helm", "exec sleep 30")
    started = time.monotonic()
    with pytest.raises(BringUpFailed, match=r"helm install of Cilium 1.19.3: `helm upgrade --install cilium .*` "
                                            r"did not finish within 0.5s \(deadline helm_install"):
        session(Timeouts(helm_install=0.5)).up()
    assert time.monotonic() - started < 10
    assert standins.calls("kind")[-1] == f"kind delete cluster --name={NAME}"


@pytest.mark.parametrize("interruption", [KeyboardInterrupt(), pytest.fail.Exception("Timeout", pytrace=False)],
                         ids=["ctrl-c", "pytest-failed"])
def test_an_interrupted_bring_up_still_deletes_the_cluster(standins, interruption):
    def run(argv, timeout):
        if argv[0] == "helm":
            raise interruption
        return tools.run(argv, timeout)

    with pytest.raises(type(interruption)):
        session(run=run).up()
    assert standins.calls("kind")[-2:] == [f"kind create cluster --name={NAME} --kubeconfig="
                                           f"{Path('.pytest-kind', NAME, 'kubeconfig').resolve()} --config "
                                           + standins.calls("kind create")[0].rsplit(" ", 1)[1],
                                           f"kind delete cluster --name={NAME}"]


def test_a_whole_bring_up_runs_each_step_once_and_ends_ready(standins):
    cluster = session()
    kube = cluster.up()
    assert kube.kubeconfig == Path(".pytest-kind", NAME, "kubeconfig").resolve()
    assert [c.split(" ", 2)[:2] for c in standins.calls("kind") + standins.calls("helm")] == [
        ["kind", "get"], ["kind", "create"], ["helm", "upgrade"]]
    cluster.down()
    assert standins.calls("kind")[-1] == f"kind delete cluster --name={NAME}"


@pytest.mark.parametrize("api, save", [("1.52", "docker save --platform linux/amd64 --output"),
                                       ("1.47", "docker save --output")], ids=["docker-29", "docker-27"])
def test_preload_saves_one_platform_and_loads_the_archives_of_every_planned_image(standins, monkeypatch, api, save):
    # Docker >= 28 (API 1.48) saves one platform (kind#3795's workaround); older engines have no --platform
    monkeypatch.setenv("L7_DOCKER_API", api)
    cluster = session(preload=True)
    cluster.up()
    images = cluster.plan.preload_images
    assert images == ["quay.io/cilium/cilium:v1.19.3", "quay.io/cilium/operator-generic:v1.19.3",
                      "quay.io/cilium/hubble-relay:v1.19.3", ENVOY, "quay.io/cilium/starwars:v2.1",
                      "quay.io/cilium/json-mock:v1.3.8"]
    assert [c.split()[-1] for c in standins.calls("docker pull --platform linux/amd64 ")] == images
    saves = standins.calls("docker save")
    assert [c.rsplit(" ", 2)[0] for c in saves] == [save] * len(images)
    assert [c.split()[-1] for c in saves] == images
    archives = [c.split()[-2] for c in saves]
    loads = [line for line in standins.calls() if line.startswith(("kind load", "archive present"))]
    assert loads == [x for a in archives for x in (f"kind load image-archive --name {NAME} {a}", "archive present")]
    assert list(cluster.workdir.glob("*.tar")) == []  # every archive removed once loaded
    assert "kind load docker-image" not in "\n".join(standins.calls())
    cluster.down()


def test_the_cluster_fixture_reports_a_failed_bring_up_without_a_traceback(standins, tmp_path):
    standins.write("kind", KIND_CREATE_FAILS)
    (tmp_path / "test_needs_cluster.py").write_text(
        "import pytest\npytestmark = pytest.mark.e2e\n\ndef test_one(cluster):\n    pass\n\n"
        "def test_two(cluster):\n    pass\n")
    done = run_e2e_plugin(tmp_path, "test_needs_cluster.py", "-m", "e2e", "--cluster-name", NAME, "-W", "error",
                          path=standins.path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert out.count(f"cluster not ready: create kind cluster '{NAME}': `kind create cluster --name={NAME}") == 2
    assert (DATA / "kind_create_exists.txt").read_text().strip() in out
    assert "Traceback" not in out and "CalledProcessError" not in out
    assert [c for c in standins.calls("kind") if " create " in c or " delete " in c] == [
        standins.calls("kind create")[0], f"kind delete cluster --name={NAME}"]
