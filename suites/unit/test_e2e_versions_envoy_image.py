"""`--envoy-image` is a DaemonSet-mode option: refused in embedded mode (the chart would ignore it), and a
run is labelled with the Envoy it ran, never with an image it did not use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from l7suite import MANIFESTS_DIR, REPO_ROOT
from l7suite.cluster.helm_values import helm_values
from l7suite.cluster.plan import RunOptions, build_plan
from l7suite.report import environment
from l7suite.report.environment import E2ELabels, e2e_labels

VALUES_DIR = MANIFESTS_DIR / "cilium"
IMAGE = "quay.io/cilium/cilium-envoy:v1.36.6-test"
REFUSED = "cannot be used with --envoy-mode embedded"


def test_embedded_mode_refuses_an_envoy_image_and_says_why():
    with pytest.raises(ValueError, match=REFUSED) as raised:
        helm_values(VALUES_DIR, "ci", "embedded", IMAGE, preload=False)
    assert IMAGE in str(raised.value) and "cilium-envoy DaemonSet" in str(raised.value)
    with pytest.raises(ValueError, match=REFUSED):
        build_plan(RunOptions(cilium_version="1.19.8", envoy_mode="embedded", envoy_image=IMAGE), VALUES_DIR,
                   MANIFESTS_DIR, [])


def test_daemonset_mode_takes_the_image_and_embedded_mode_runs_without_one():
    assert helm_values(VALUES_DIR, "ci", "daemonset", IMAGE, preload=False)["envoy"]["image"]["override"] == IMAGE
    assert "override" not in helm_values(VALUES_DIR, "ci", "embedded", None, preload=False)["envoy"].get("image", {})


def test_pytest_plan_shows_the_refusal_as_a_usage_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/e2e", "--plan", "--envoy-mode", "embedded",
                           "--envoy-image", IMAGE, "-p", "no:randomly", "-p", "no:cacheprovider"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert REFUSED in done.stderr
    assert "e2e run plan" not in done.stdout


@pytest.mark.parametrize("image, mode, expected", [
    # an embedded run never carries a cilium-envoy image, whatever was passed
    (IMAGE, "embedded", E2ELabels("1.19.8", "embedded in the agent image (Cilium 1.19.8)", "embedded", False)),
    (None, "embedded", E2ELabels("1.19.8", "embedded in the agent image (Cilium 1.19.8)", "embedded", False)),
    (IMAGE, "daemonset", E2ELabels("1.19.8", IMAGE, "daemonset", False)),
    (None, "daemonset", E2ELabels("1.19.8", "chart default of Cilium 1.19.8", "daemonset", False)),
])
def test_labels_from_the_options_name_only_an_image_the_run_used(image, mode, expected):
    assert e2e_labels("1.19.8", image, mode, {}) == expected


def test_labels_read_from_the_cluster_replace_what_was_asked():
    recorded = {environment.CILIUM: "1.18.14", environment.CILIUM_ENVOY: "quay.io/cilium/cilium-envoy:v1.37.6-x",
                environment.MODE: "daemonset", environment.FACTS_FROM: "read from the cluster"}
    assert e2e_labels("1.20.2", None, "embedded", recorded) == E2ELabels(
        "1.18.14", "quay.io/cilium/cilium-envoy:v1.37.6-x", "daemonset", True)
