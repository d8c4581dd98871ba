"""matrix.yaml, the one versions file: the real file is consistent, and each broken variant is refused."""

from pathlib import Path

import pytest
import yaml

from l7suite import REPO_ROOT
from l7suite.cluster.helm_values import ENVOY_MODES
from l7suite.versions import cilium_releases, envoy_modes, envoy_versions, kind_node_images, minor_of, nightly_matrix

PIN = ("quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82"
       "@sha256:af7382699576b9e65e9184efa52eeca0b58aea70ad6e511bf260c91d9f740463")


NODE = "kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4"


def write(tmp_path: Path, releases, modes=("daemonset", "embedded"), kind=None) -> Path:
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump({
        "envoy": {"default": "1.38", "versions": ["1.38.3"]},
        "cilium": {"releases": releases, "envoy_modes": list(modes)},
        "kind": kind if kind is not None else {"0.32.0": [NODE]},
    }))
    return path


# --- the real file ---

def test_every_cilium_release_has_a_pinned_envoy_image_and_a_distinct_minor():
    releases = cilium_releases()
    assert len(releases) >= 3, "the three supported minors"
    assert len({r.minor for r in releases}) == len(releases)
    assert all("@sha256:" in r.envoy_image for r in releases)


def test_envoy_modes_are_the_ones_the_e2e_tier_accepts():
    assert sorted(envoy_modes()) == sorted(ENVOY_MODES)


def test_envoy_versions_parse_are_unique_and_the_default_resolves():
    versions = envoy_versions()
    assert len(set(versions.versions)) == len(versions.versions)
    for version in versions.versions:
        assert [int(p) for p in version.split(".")] and len(version.split(".")) == 3
    assert minor_of(versions.resolve(None)[0]) == versions.default


def test_nightly_matrix_is_releases_times_modes_with_unique_names():
    include = nightly_matrix()["include"]
    assert len(include) == len(cilium_releases()) * len(envoy_modes())
    names = [job["name"] for job in include]
    assert len(set(names)) == len(names)
    first = include[0]
    assert first["name"] == f"e2e-cilium-{first['cilium']}-{first['mode']}"


def test_adding_a_release_is_one_line(tmp_path):
    text = (REPO_ROOT / "matrix.yaml").read_text()
    before = len(cilium_releases())
    anchor = "  releases:\n"
    assert anchor in text
    path = tmp_path / "matrix.yaml"
    path.write_text(text.replace(anchor, anchor + f'    - {{version: "1.99.0", envoy_image: "{PIN}"}}\n', 1))
    assert len(cilium_releases(path)) == before + 1
    assert {"cilium": "1.99.0", "mode": "embedded"}.items() <= nightly_matrix(path)["include"][1].items()


# --- broken variants are refused, each with a message naming the problem ---

@pytest.mark.parametrize("releases, message", [
    ([{"version": "1.20.2"}], "is {version, envoy_image, kubernetes}"),
    ([{"version": "1.20.2", "envoy_image": PIN, "k8s": "1.30-1.33"}], "is {version, envoy_image, kubernetes}"),
    ([{"version": "1.20.2", "envoy_image": PIN, "kubernetes": "1.33"}], "is not MIN-MAX"),
    ([{"version": "1.20.2", "envoy_image": PIN, "kubernetes": "1.33-1.30"}], "is not MIN-MAX"),
    ([{"version": "1.20.2", "envoy_image": ""}], "is not repository:tag@sha256"),
    ([{"version": "1.20.2", "envoy_image": "quay.io/cilium/cilium-envoy:v1.37.6"}], "is not repository:tag@sha256"),
    ([{"version": "1.20.2", "envoy_image": PIN[:-1]}], "is not repository:tag@sha256"),
    ([{"version": "1.20", "envoy_image": PIN}], "is not X.Y.Z"),
    ([{"version": "v1.20.2", "envoy_image": PIN}], "is not X.Y.Z"),
    ([{"version": "1.20.2", "envoy_image": PIN}, {"version": "1.20.1", "envoy_image": PIN}], "listed twice"),
    ([], "no Cilium releases"),
])
def test_inconsistent_releases_are_refused(tmp_path, releases, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        cilium_releases(write(tmp_path, releases))


@pytest.mark.parametrize("modes", [(), ("daemonset", "daemonset")])
def test_empty_or_duplicate_modes_are_refused(tmp_path, modes):
    with pytest.raises(ValueError, match="envoy_modes"):
        envoy_modes(write(tmp_path, [{"version": "1.20.2", "envoy_image": PIN}], modes))


@pytest.mark.parametrize("kind, message", [
    ({}, "no kind releases"),
    ({"0.32": [NODE]}, "expected an X.Y.Z key"),
    ({"0.32.0": []}, "expected an X.Y.Z key"),
    ({"0.32.0": [NODE.split("@")[0]]}, "is not kindest/node:vX.Y.Z@sha256"),
    ({"0.32.0": ["kindest/node:latest"]}, "is not kindest/node:vX.Y.Z@sha256"),
])
def test_unpinned_or_malformed_kind_node_images_are_refused(tmp_path, kind, message):
    with pytest.raises(ValueError, match=message):
        kind_node_images(write(tmp_path, [{"version": "1.20.2", "envoy_image": PIN}], kind=kind))
