"""The kind node image per Cilium release: inside the Kubernetes range that release is tested on, pinned by
digest, shown by `--plan`; and every image the suite deploys carries a version tag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from l7suite import MANIFESTS_DIR, REPO_ROOT
from l7suite.cluster.plan import RunOptions, build_plan, render_plan
from l7suite.cluster.tool_pins import DEFAULT_KIND_VERSION
from l7suite.versions import (
    UnknownVersion,
    cilium_releases,
    kind_node_images,
    kubernetes_of,
    minor_tuple,
    node_image_for,
)

PIN = ("quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82"
       "@sha256:af7382699576b9e65e9184efa52eeca0b58aea70ad6e511bf260c91d9f740463")
V1_33_12 = "kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4"
V1_35_5 = "kindest/node:v1.35.5@sha256:ce977ae6d65918d0b58a5f8b5e940429c2ce42fa3a5619ec2bbc60b949c0ac95"
V1_36_1 = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"


def test_every_kind_release_gets_a_node_image_inside_each_cilium_release_tested_range():
    for kind in kind_node_images():
        for release in cilium_releases():
            choice = node_image_for(kind, release.version)
            assert choice.image in kind_node_images()[kind]
            if release.kubernetes is not None:
                low, high = (minor_tuple(v) for v in release.kubernetes)
                assert low <= minor_tuple(choice.kubernetes) <= high, (kind, release, choice)


def test_kind_0_32_uses_kubernetes_1_33_for_cilium_1_18_and_1_35_for_1_19_not_its_default_1_36():
    # Cilium 1.18's compatibility page lists 1.30-1.33, 1.19's 1.32-1.35; kind 0.32's default node is 1.36
    assert kind_node_images()["0.32.0"][0] == V1_36_1
    assert node_image_for("0.32.0", "1.18.14").image == V1_33_12
    assert node_image_for("v0.32.0", "1.19.8").image == V1_35_5


def test_a_release_without_a_recorded_range_gets_the_default_image_and_says_so():
    choice = node_image_for("0.32.0", "1.17.4")  # not in matrix.yaml
    assert choice.image == V1_36_1
    assert "not in matrix.yaml" in choice.reason and "not checked" in choice.reason


def test_a_kind_release_without_an_image_in_range_is_refused_naming_one_that_has(tmp_path):
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump({
        "envoy": {"default": "1.38", "versions": ["1.38.3"]},
        "cilium": {"releases": [{"version": "1.18.14", "envoy_image": PIN, "kubernetes": "1.30-1.33"}],
                   "envoy_modes": ["daemonset"]},
        "kind": {"0.33.0": [V1_36_1, V1_35_5], "0.32.0": [V1_36_1, V1_33_12]},
    }, sort_keys=False))
    with pytest.raises(ValueError, match=r"kind v0\.33\.0 publishes no node image for Kubernetes 1\.30-1\.33.*"
                                         r"1\.36\.1, 1\.35\.5\); use kind 0\.32\.0"):
        node_image_for("0.33.0", "1.18.14", path)
    with pytest.raises(UnknownVersion, match=r"unknown kind release '0\.28\.0'.*0\.33\.0, 0\.32\.0"):
        node_image_for("0.28.0", "1.18.14", path)


def test_the_plan_puts_the_chosen_image_in_the_kind_config_and_says_why():
    plan = build_plan(RunOptions(cilium_version="1.18.14", kind_version="0.32.0"), MANIFESTS_DIR / "cilium",
                      MANIFESTS_DIR, [])
    assert plan.kind_config is not None
    assert {n["image"] for n in plan.kind_config["nodes"]} == {V1_33_12}
    assert ("kind node image: " + V1_33_12 + " (Kubernetes 1.33.12, the newest kind v0.32.0 image inside "
            "Cilium 1.18's tested 1.30-1.33)") in render_plan(plan).splitlines()
    assert DEFAULT_KIND_VERSION in kind_node_images()


def test_pytest_plan_prints_the_node_image_for_the_asked_cilium_release(tmp_path):
    # no kind on PATH: the default kind release's images, chosen for Cilium 1.19
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/e2e", "--plan", "--cilium-version", "1.19.8",
                           "-p", "no:randomly", "-p", "no:cacheprovider"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"kind node image: {V1_35_5} (" in done.stdout
    kind_block = done.stdout.split("kind config:\n", 1)[1].split("helm:", 1)[0]
    config = yaml.safe_load("\n".join(line[2:] for line in kind_block.splitlines()))
    assert {n["image"] for n in config["nodes"]} == {V1_35_5}


# --- every image the suite deploys is pinned by a version tag (or digest), never :latest ---

def images_in(tree: object) -> list[object]:
    """Every `image:` value in a YAML tree: container images (strings) and Helm image blocks (mappings)."""
    found: list[object] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "image" and isinstance(value, str | dict):
                found.append(value)
            found += images_in(value)
    elif isinstance(tree, list):
        for value in tree:
            found += images_in(value)
    return found


def unpinned(image: object) -> str | None:
    """Why an image is not pinned, or None. A Helm block without `repository` keeps the chart's pinned
    image (only pullPolicy/useDigest set); one with a repository needs a tag or digest of its own."""
    if isinstance(image, dict):
        if "repository" in image and not (image.get("tag") or image.get("digest")):
            return "Helm image block with a repository but no tag or digest"
        return None
    assert isinstance(image, str)
    if "@sha256:" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "no tag (means :latest)"
    if name.rsplit(":", 1)[1] in ("latest", "latest_release", "main", "master"):
        return f"moving tag {name.rsplit(':', 1)[1]!r}"
    return None


def manifest_files() -> list[Path]:
    return sorted(MANIFESTS_DIR.rglob("*.yaml"))


def test_every_image_in_manifests_and_helm_values_carries_a_version_tag():
    problems = []
    seen = 0
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            for image in images_in(document):
                seen += 1
                why = unpinned(image)
                if why:
                    problems.append(f"{path.relative_to(REPO_ROOT)}: image {image!r}: {why}")
    assert seen >= 10, "the walk found the scenarios' container images"
    assert problems == []


@pytest.mark.parametrize("image, why", [
    ("nicolaka/netshoot:latest", "moving tag 'latest'"),
    ("nicolaka/netshoot", "no tag (means :latest)"),
    ("localhost:5000/netshoot", "no tag (means :latest)"),
    ("fortio/fortio:latest_release", "moving tag 'latest_release'"),
    ("nicolaka/netshoot:v0.13", None),
    ("localhost:5000/netshoot:v0.13", None),
    ("nicolaka/netshoot@sha256:" + "a" * 64, None),
    ({"repository": "quay.io/cilium/cilium"}, "Helm image block with a repository but no tag or digest"),
    ({"pullPolicy": "IfNotPresent"}, None),
])
def test_the_pin_check_tells_pinned_from_moving_references(image, why):
    assert unpinned(image) == why


def test_kubernetes_of_reads_the_node_image_tag():
    assert kubernetes_of(V1_33_12) == "1.33.12"
    with pytest.raises(ValueError, match="not a digest-pinned kindest/node image"):
        kubernetes_of("kindest/node:v1.33.12")
