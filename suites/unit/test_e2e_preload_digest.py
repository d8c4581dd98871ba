"""A digest-pinned --envoy-image (as matrix.yaml pins them) still preloads: kind cannot load digests."""

from pathlib import Path

from l7suite import MANIFESTS_DIR
from l7suite.cluster.install import preload
from l7suite.cluster.tools import Completed
from l7suite.cluster.values import helm_values

PINNED = "quay.io/cilium/cilium-envoy:v1.37.6-1@sha256:" + "a" * 64
TAGGED = "quay.io/cilium/cilium-envoy:v1.37.6-1"


def test_preload_pulls_by_digest_then_loads_the_tag():
    calls: list[list[str]] = []
    loaded: list[str] = []

    def run(argv, timeout):
        calls.append(list(argv))
        return Completed(tuple(argv), 0, "", "")

    preload(run, loaded.append, [PINNED], "1.20.2", progress=lambda message: None)
    assert calls == [["docker", "pull", PINNED], ["docker", "tag", PINNED, TAGGED]]
    assert loaded == [TAGGED]


def test_helm_uses_the_tag_when_preloading_and_the_digest_otherwise():
    values_dir: Path = MANIFESTS_DIR / "cilium"
    preloaded = helm_values(values_dir, "l7suite", "daemonset", PINNED, preload=True)
    pulled = helm_values(values_dir, "l7suite", "daemonset", PINNED, preload=False)
    assert preloaded["envoy"]["image"]["override"] == TAGGED
    assert pulled["envoy"]["image"]["override"] == PINNED
