"""A digest-pinned --envoy-image (as matrix.yaml pins them) still preloads: kind cannot load digests."""

from pathlib import Path

from l7suite import MANIFESTS_DIR
from l7suite.cluster.helm_values import helm_values
from l7suite.cluster.install import preload
from l7suite.cluster.timeouts import Timeouts
from l7suite.cluster.tools import Completed

PINNED = "quay.io/cilium/cilium-envoy:v1.37.6-1@sha256:" + "a" * 64
TAGGED = "quay.io/cilium/cilium-envoy:v1.37.6-1"


def test_preload_pulls_by_digest_then_saves_and_loads_the_tag(tmp_path):
    calls: list[list[str]] = []

    def run(argv, timeout):
        calls.append(list(argv))
        stdout = "1.52 linux/arm64\n" if argv[:2] == ["docker", "version"] else ""
        return Completed(tuple(argv), 0, stdout, "")

    preload(run, "ci", [PINNED], "1.20.2", tmp_path, progress=lambda message: None, timeouts=Timeouts())
    archive = str(tmp_path / "image-1.tar")
    assert calls[1:] == [["docker", "pull", "--platform", "linux/arm64", PINNED],
                         ["docker", "tag", PINNED, TAGGED],
                         ["docker", "save", "--platform", "linux/arm64", "--output", archive, TAGGED],
                         ["kind", "load", "image-archive", "--name", "ci", archive]]


def test_helm_uses_the_tag_when_preloading_and_the_digest_otherwise():
    values_dir: Path = MANIFESTS_DIR / "cilium"
    preloaded = helm_values(values_dir, "l7suite", "daemonset", PINNED, preload=True)
    pulled = helm_values(values_dir, "l7suite", "daemonset", PINNED, preload=False)
    assert preloaded["envoy"]["image"]["override"] == TAGGED
    assert pulled["envoy"]["image"]["override"] == PINNED
