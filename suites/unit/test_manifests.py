"""Bad manifests get an error naming the file and the field, never a bare traceback."""

import shutil
from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR
from l7suite.cilium.cec_translation import translate
from l7suite.envoy.xds_server import ads_config_source
from l7suite.manifests import ManifestError, load_manifest_set


@pytest.fixture
def variant(tmp_path: Path):
    """A writable copy of the circuit-breaker scenario."""
    shutil.copytree(MANIFESTS_DIR / "circuit-breaker", tmp_path / "circuit-breaker")
    return tmp_path


def edit(root: Path, file: str, old: str, new: str) -> Path:
    path = root / "circuit-breaker" / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path


def load(root: Path):
    load_manifest_set("circuit-breaker", root)


def translate_all(root: Path):
    for config in load_manifest_set("circuit-breaker", root).envoy_configs():
        translate(config, ads_config_source)


# One edit of ccec.yaml each: (old, new), what reads it (loading, or translating as the agent does), and
# what the error must name besides the file.
BROKEN_CCEC = [
    pytest.param("  services:\n", "  services: [\n", load, ["not valid YAML: line"], id="invalid-yaml-line"),
    pytest.param("    name: envoy-lb-listener\n", "", load, ["spec.resources[0].name", "required"],
                 id="missing-required-field"),
    pytest.param("max_pending_requests: 1", "max_pending_requestz: 1", translate_all,
                 ["spec.resources[2]", "max_pending_requestz"], id="field-envoy-does-not-have"),
    pytest.param("envoy.config.cluster.v3.Cluster", "envoy.config.cluster.v3.Clustr", translate_all,
                 ["envoy.config.cluster.v3.Clustr"], id="unknown-type"),
    pytest.param("connect_timeout: 5s", "connect_timeout: ${TIMEOUT}", load, ["TIMEOUT"], id="unfilled-placeholder"),
]


@pytest.mark.parametrize("old, new, read, named", BROKEN_CCEC)
def test_a_broken_config_is_named_by_file_and_field(variant, old, new, read, named):
    path = edit(variant, "ccec.yaml", old, new)
    with pytest.raises(ManifestError) as info:
        read(variant)
    message = str(info.value)
    assert str(path) in message and all(text in message for text in named), message


def test_service_without_pods_is_named(variant):
    from l7suite.standins.registry import pods_of_service

    edit(variant, "workloads.yaml", "selector: {name: echo-service}", "selector: {name: nobody}")
    scenario = load_manifest_set("circuit-breaker", variant)
    with pytest.raises(ManifestError) as info:
        pods_of_service(scenario, "circuit-break", "echo-service", scenario.envoy_configs()[0])
    assert "workloads.yaml" in str(info.value) and "matches no Deployment" in str(info.value)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ManifestError) as info:
        load_manifest_set("no-such-scenario")
    assert "weighted-lb" in str(info.value) and "circuit-breaker" in str(info.value)
