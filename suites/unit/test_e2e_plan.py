"""`--plan`: the kind config, chart and values, images and scenarios, computed without Docker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from l7suite import MANIFESTS_DIR, REPO_ROOT
from l7suite.cluster.helm_values import helm_values, merge
from l7suite.cluster.kindconfig import kind_config
from l7suite.cluster.plan import RunOptions, build_plan, render_plan
from l7suite.scenarios import starwars
from suites.unit.e2e_plugin_run import run_e2e_plugin

VALUES_DIR = MANIFESTS_DIR / "cilium"
NODE = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"


def test_kind_config_has_no_cni_no_kube_proxy_and_three_pinned_nodes():
    assert kind_config("l7suite", NODE) == {
        "kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "name": "l7suite",
        "nodes": [{"role": "control-plane", "image": NODE}, {"role": "worker", "image": NODE},
                  {"role": "worker", "image": NODE}],
        "networking": {"disableDefaultCNI": True, "kubeProxyMode": "none", "podSubnet": "10.244.0.0/16"},
    }


def test_daemonset_values_carry_what_the_issue_asks_for():
    values = helm_values(VALUES_DIR, "ci", "daemonset", None, preload=False)
    assert {k: values[k] for k in ("kubeProxyReplacement", "k8sServiceHost", "k8sServicePort", "ipam")} == {
        "kubeProxyReplacement": True, "k8sServiceHost": "ci-control-plane", "k8sServicePort": 6443,
        "ipam": {"mode": "kubernetes"}}
    assert values["envoy"] == {"enabled": True, "image": {"pullPolicy": "IfNotPresent"},
                               "debug": {"admin": {"enabled": True, "port": 9901}}}
    assert (values["loadBalancer"], values["hubble"]["relay"]["enabled"], values["image"]["pullPolicy"]) == (
        {"l7": {"backend": "envoy"}}, True, "IfNotPresent")


def test_embedded_mode_turns_the_daemonset_off_and_keeps_the_rest():
    daemonset = helm_values(VALUES_DIR, "ci", "daemonset", None, preload=False)
    embedded = helm_values(VALUES_DIR, "ci", "embedded", None, preload=False)
    assert embedded == merge(daemonset, {"envoy": {"enabled": False}})


def test_envoy_image_override_and_preload_without_digests():
    values = helm_values(VALUES_DIR, "ci", "daemonset", "quay.io/cilium/cilium-envoy:v1.36.6-test", preload=True)
    assert values["envoy"]["image"]["override"] == "quay.io/cilium/cilium-envoy:v1.36.6-test"
    assert [values["image"]["useDigest"], values["operator"]["image"]["useDigest"],
            values["hubble"]["relay"]["image"]["useDigest"], values["envoy"]["image"]["useDigest"]] == [False] * 4


def test_plan_lists_images_to_preload_including_the_scenario_images():
    options = RunOptions(cilium_version="1.19.3", envoy_image="quay.io/cilium/cilium-envoy:v1.36.6-x", preload=True)
    plan = build_plan(options, VALUES_DIR, MANIFESTS_DIR, [starwars.SCENARIO])
    assert plan.preload_images == [
        "quay.io/cilium/cilium:v1.19.3", "quay.io/cilium/operator-generic:v1.19.3",
        "quay.io/cilium/hubble-relay:v1.19.3", "quay.io/cilium/cilium-envoy:v1.36.6-x",
        "quay.io/cilium/starwars:v2.1", "quay.io/cilium/json-mock:v1.3.8"]
    assert plan.scenarios[0].stages == ("l4-policy", "l7-policy", "tiefighter-egress")


def test_existing_cluster_plan_installs_nothing(tmp_path):
    plan = build_plan(RunOptions(cilium_version="1.19.3", kubeconfig=tmp_path / "kc"), VALUES_DIR, MANIFESTS_DIR, [])
    text = render_plan(plan)
    assert plan.kind_config is None and "no kind, no Helm install" in text and "helm: upgrade" not in text


def test_pytest_plan_prints_the_plan_and_touches_nothing(tmp_path):
    # PATH without docker/kind/helm: --plan must still work, and exit 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/e2e", "--plan", "--cluster-name", "planned",
         "--envoy-mode", "embedded", "-p", "no:randomly"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "e2e run plan (nothing was started)" in out and "kind cluster 'planned'" in out
    kind_block = out.split("kind config:\n", 1)[1].split("helm:", 1)[0]
    assert yaml.safe_load("\n".join(line[2:] for line in kind_block.splitlines()))["name"] == "planned"
    assert "envoy mode: embedded" in out and "starwars: namespaces starwars" in out
    values_block = out.split("effective values:\n", 1)[1].split("envoy mode:", 1)[0]
    values = yaml.safe_load("\n".join(line[2:] for line in values_block.splitlines()))
    assert (values["envoy"]["enabled"], values["k8sServiceHost"]) == (False, "planned-control-plane")


def test_values_files_are_plain_yaml_mappings():
    for path in Path(VALUES_DIR).glob("*.yaml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """pytest on a module of tmp_path with the e2e plugin and no tools on PATH."""
    return run_e2e_plugin(tmp_path, "test_module.py", *args, env={"L7_OUT": str(tmp_path / "run.json")})


def test_the_run_preloads_the_images_its_plan_prints(tmp_path):
    # one plan object: the run's `e2e_plan` is the plan `--plan` prints for the same options and tests
    (tmp_path / "test_module.py").write_text(
        "import json, os\nimport pytest\nfrom l7suite.scenarios import weighted_lb\n\n"
        "SCENARIO = weighted_lb.SCENARIO\npytestmark = pytest.mark.e2e\n\n"
        "def test_records_the_plan(e2e_plan):\n"
        "    with open(os.environ['L7_OUT'], 'w') as out:\n"
        "        json.dump(e2e_plan.preload_images, out)\n")
    ran = _pytest(tmp_path, "--preload-images", "--cilium-version", "1.19.3")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    planned = _pytest(tmp_path, "--plan", "--preload-images", "--cilium-version", "1.19.3")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    block = planned.stdout.split("\npreload (", 1)[1].split("\n", 1)[1]
    listed = [line.strip() for line in block.split("scenarios:", 1)[0].splitlines()]
    assert json.loads((tmp_path / "run.json").read_text()) == listed
    assert "quay.io/cilium/starwars:v2.1" in listed and "quay.io/cilium/json-mock:v1.3.8" in listed
