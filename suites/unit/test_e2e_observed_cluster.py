"""What a cluster runs, read through the Kube seam from the objects the Cilium chart creates: the run is
labelled with those, and Hubble flows are fetched through the Relay port the Service declares."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fixtures.e2e_cluster import OBSERVED, relay_of
from l7suite import REPO_ROOT
from l7suite.cluster import tools
from l7suite.cluster.kube import Kube
from l7suite.cluster.observed import ClusterMismatch, ObservedCilium, check_mode, observe, version_of_image
from l7suite.hubble.relay_flows import HubbleFlows
from l7suite.report import environment

DATA = Path(__file__).parent / "data"
AGENT_IMAGE = "quay.io/cilium/cilium:v1.18.14"
ENVOY_IMAGE = "quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def daemonset_cluster() -> dict[tuple[str, str], dict | None]:
    """The objects of a DaemonSet-mode install (suites/unit/data, after the chart's templates)."""
    return {("configmap", "cilium-config"): recorded("k8s_configmap_cilium_config.json"),
            ("daemonset", "cilium"): recorded("k8s_daemonset_cilium_agent.json"),
            ("daemonset", "cilium-envoy"): recorded("k8s_daemonset_cilium_envoy.json"),
            ("service", "hubble-relay"): recorded("k8s_service_hubble_relay.json")}


def embedded_cluster() -> dict[tuple[str, str], dict | None]:
    """envoy.enabled=false: the chart renders external-envoy-proxy "false" and no cilium-envoy DaemonSet."""
    objects = daemonset_cluster()
    objects[("configmap", "cilium-config")]["data"]["external-envoy-proxy"] = "false"
    objects[("daemonset", "cilium-envoy")] = None
    return objects


class ClusterAnswers:
    """A kubectl stand-in answering `get <kind> <name> -n kube-system -o json` and `version -o json`."""

    def __init__(self, objects: dict[tuple[str, str], dict | None]):
        self.objects = objects
        self.calls: list[list[str]] = []

    def __call__(self, argv, timeout):
        self.calls.append(list(argv))
        args = list(argv)[3:]  # after `kubectl --kubeconfig PATH`
        if args[0] == "version":
            return tools.Completed(tuple(argv), 0, (DATA / "kubectl_version_server.json").read_text(), "")
        assert args[0] == "get" and args[3:5] == ["-n", "kube-system"], args
        obj = self.objects.get((args[1], args[2]))
        return tools.Completed(tuple(argv), 0, json.dumps(obj) if obj else "", "")


def observed(objects: dict[tuple[str, str], dict | None], tmp_path: Path) -> ObservedCilium:
    return observe(Kube(tmp_path / "kubeconfig", ClusterAnswers(objects)))


def test_a_daemonset_install_is_read_as_such(tmp_path):
    assert observed(daemonset_cluster(), tmp_path) == ObservedCilium(
        cilium_version="1.18.14", agent_image=AGENT_IMAGE, envoy_mode="daemonset",
        envoy_mode_source="cilium-config external-envoy-proxy=true", envoy_image=ENVOY_IMAGE, relay_port=80,
        relay_source="Service kube-system/hubble-relay port 80 -> grpc", kubernetes="v1.33.12")


def test_the_labels_are_what_the_cluster_runs(tmp_path):
    assert observed(daemonset_cluster(), tmp_path).labels() == {
        environment.CILIUM: "1.18.14", environment.CILIUM_ENVOY: ENVOY_IMAGE, environment.MODE: "daemonset",
        environment.KUBERNETES: "v1.33.12", environment.RELAY_PORT: "80",
        environment.FACTS_FROM: "read from the cluster (cilium-config, DaemonSets cilium and cilium-envoy, "
                                "Service hubble-relay, kubectl version)"}


def test_an_embedded_install_is_labelled_with_the_agent_image_not_a_cilium_envoy_image(tmp_path):
    found = observed(embedded_cluster(), tmp_path)
    assert (found.envoy_mode, found.envoy_image) == ("embedded", None)
    assert found.labels()[environment.CILIUM_ENVOY] == f"embedded in the agent image {AGENT_IMAGE}"


def test_without_the_key_the_cilium_envoy_daemonset_decides(tmp_path):
    objects = daemonset_cluster()
    del objects[("configmap", "cilium-config")]["data"]["external-envoy-proxy"]
    assert observed(objects, tmp_path).envoy_mode == "daemonset"
    objects[("daemonset", "cilium-envoy")] = None
    assert observed(objects, tmp_path).envoy_mode == "embedded"


def test_no_l7_proxy_means_no_envoy_mode_and_the_adopted_cluster_is_refused(tmp_path):
    objects = daemonset_cluster()
    objects[("configmap", "cilium-config")]["data"]["enable-l7-proxy"] = "false"
    found = observed(objects, tmp_path)
    assert found.envoy_mode is None
    with pytest.raises(ClusterMismatch, match="runs no usable Envoy .*enable-l7-proxy=false.*l7Proxy=true"):
        check_mode(found, "daemonset", tmp_path / "kubeconfig")


def test_an_adopted_cluster_in_the_other_mode_is_refused_naming_the_option(tmp_path):
    found = observed(embedded_cluster(), tmp_path)
    check_mode(found, "embedded", "kc")
    with pytest.raises(ClusterMismatch, match=r"runs Envoy embedded \(cilium-config external-envoy-proxy=false\), "
                                              r"but the run asked for --envoy-mode daemonset: rerun with "
                                              r"--envoy-mode embedded"):
        check_mode(found, "daemonset", "kc")


@pytest.mark.parametrize("image, version", [
    (AGENT_IMAGE, "1.18.14"),
    ("quay.io/cilium/cilium:v1.19.8@sha256:" + "0" * 64, "1.19.8"),  # digest shape only, as the chart renders it
    ("localhost:5000/cilium/cilium:v1.20.2", "1.20.2"),
    ("quay.io/cilium/cilium:v1.20.0-rc.1", "1.20.0-rc.1"),
    ("quay.io/cilium/cilium-ci:0f3b2c1", None),
    ("quay.io/cilium/cilium", None),
])
def test_the_cilium_version_is_the_agent_image_release_tag(image, version):
    assert version_of_image(image) == version


def test_a_custom_agent_image_leaves_the_version_unknown_and_says_which_image(tmp_path):
    objects = daemonset_cluster()
    agent = objects[("daemonset", "cilium")]
    agent["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/cilium/cilium-ci:0f3b2c1"
    assert observed(objects, tmp_path).labels()[environment.CILIUM] == \
        "unknown (agent image quay.io/cilium/cilium-ci:0f3b2c1)"


def relay_service(port: int, target: str = "grpc") -> dict:
    service = copy.deepcopy(recorded("k8s_service_hubble_relay.json"))
    service["spec"]["ports"] = [{"protocol": "TCP", "port": port, "targetPort": target}]
    return service


@pytest.mark.parametrize("service, port", [
    (relay_service(80), 80),                # the chart's default
    (relay_service(443), 443),              # hubble.relay.tls.server.enabled
    (relay_service(4245, "grpc-rbac"), 4245),  # hubble.relay.servicePort with hubble.rbac
    (None, None),                           # Relay not installed
])
def test_the_relay_port_is_the_one_the_service_declares(tmp_path, service, port):
    objects = daemonset_cluster()
    objects[("service", "hubble-relay")] = service
    found = observed(objects, tmp_path)
    assert found.relay_port == port
    if port is None:
        assert "hubble.relay.enabled=true" in found.relay_source


class ForwardRecorder(Kube):
    """Records the port-forward target and stops there (no kubectl, no Relay)."""

    forwarded: list[tuple[str, str, int]] = []

    @contextmanager
    def port_forward(self, namespace: str, target: str, remote_port: int,
                     timeout: float | None = None) -> Iterator[int]:
        self.forwarded.append((namespace, target, remote_port))
        raise ConnectionRefusedError("stand-in: no Relay")
        yield 0  # pragma: no cover


def test_hubble_flows_forward_to_the_port_read_from_the_service(tmp_path, pytestconfig):
    objects = daemonset_cluster()
    objects[("service", "hubble-relay")] = relay_service(443)
    found = observed(objects, tmp_path)
    kube = ForwardRecorder(tmp_path / "kubeconfig", ClusterAnswers(objects))
    before = pytestconfig.stash.get(OBSERVED, None)
    pytestconfig.stash[OBSERVED] = found
    try:
        flows = HubbleFlows(kube, "starwars", *relay_of(pytestconfig))
    finally:
        if before is None:
            del pytestconfig.stash[OBSERVED]
        else:
            pytestconfig.stash[OBSERVED] = before
    with pytest.raises(ConnectionRefusedError):
        flows.fetch(timeout=1)
    assert ForwardRecorder.forwarded[-1] == ("kube-system", "svc/hubble-relay", 443)


def test_without_a_relay_port_fetching_flows_says_why(tmp_path):
    flows = HubbleFlows(Kube(tmp_path / "kc", ClusterAnswers({})), "starwars", None,
                        "Service kube-system/hubble-relay not found (Helm: hubble.relay.enabled=true)")
    with pytest.raises(RuntimeError, match="Hubble Relay: no port to forward to .*hubble.relay.enabled=true"):
        flows.fetch(timeout=1)


# --- the e2e `cluster` fixture reads an adopted cluster first (a real pytest run, stand-in kubectl/helm) ---

KUBECTL = r'''#!/usr/bin/env python3
"""Stand-in kubectl: answers from the JSON objects in $OBJECTS (kind__name.json), logs every call."""
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["CALLS"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:1] == ["--kubeconfig"]:
    args = args[2:]
if args[:2] == ["version", "--client"]:
    print(json.dumps({"clientVersion": {"major": "1", "minor": "33", "gitVersion": "v1.33.12"}}))
elif args[:1] == ["version"]:
    print(Path(os.environ["VERSION"]).read_text())
elif args[:1] == ["get"]:
    found = Path(os.environ["OBJECTS"]) / f"{args[1]}__{args[2]}.json"
    print(found.read_text() if found.exists() else "")
else:
    sys.exit(f"stand-in kubectl: not answered here: {args}")
'''


def test_an_adopted_cluster_in_the_other_mode_fails_the_run_with_the_option_to_use(tmp_path):
    bin_dir, objects = tmp_path / "bin", tmp_path / "objects"
    bin_dir.mkdir()
    objects.mkdir()
    (bin_dir / "kubectl").write_text(KUBECTL)
    (bin_dir / "helm").write_text("#!/bin/sh\necho v3.21.0+gd2a1b3c\n")
    for tool in ("kubectl", "helm"):
        (bin_dir / tool).chmod(0o755)
    for (kind, name), obj in embedded_cluster().items():
        if obj is not None:
            (objects / f"{kind}__{name}.json").write_text(json.dumps(obj))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    calls = tmp_path / "calls.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/e2e/test_starwars.py", "--kubeconfig", str(kubeconfig),
         "--envoy-mode", "daemonset", "-p", "no:randomly", "-p", "no:cacheprovider", "-x"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
             "OBJECTS": str(objects), "VERSION": str(DATA / "kubectl_version_server.json"), "CALLS": str(calls)})
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    assert (f"cluster not usable: the cluster of {kubeconfig} runs Envoy embedded (cilium-config "
            "external-envoy-proxy=false), but the run asked for --envoy-mode daemonset: rerun with "
            "--envoy-mode embedded") in done.stdout
    # nothing beyond reading: no apply, no helm install, no port-forward
    verbs = {json.loads(line)[2] for line in calls.read_text().splitlines() if json.loads(line)[0] == "--kubeconfig"}
    assert verbs == {"get", "version"}
