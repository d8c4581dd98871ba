"""Bad manifests get an error naming the file and the field, never a bare traceback."""

import shutil
from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR
from l7suite.cilium.cec_translation import translate
from l7suite.envoy.envoy_run import ads_config_source
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


def translate_all(root: Path):
    for config in load_manifest_set("circuit-breaker", root).envoy_configs():
        translate(config, ads_config_source)


def test_invalid_yaml_names_file_and_line(variant):
    path = edit(variant, "ccec.yaml", "  services:\n", "  services: [\n")
    with pytest.raises(ManifestError) as info:
        load_manifest_set("circuit-breaker", variant)
    assert str(path) in str(info.value) and "not valid YAML: line" in str(info.value)


def test_missing_required_field_is_named(variant):
    edit(variant, "ccec.yaml", "    name: envoy-lb-listener\n", "")
    with pytest.raises(ManifestError) as info:
        load_manifest_set("circuit-breaker", variant)
    message = str(info.value)
    assert "ccec.yaml" in message and "spec.resources[0].name" in message and "required" in message


def test_field_that_envoy_does_not_have_is_named(variant):
    edit(variant, "ccec.yaml", "max_pending_requests: 1", "max_pending_requestz: 1")
    with pytest.raises(ManifestError) as info:
        translate_all(variant)
    message = str(info.value)
    assert "ccec.yaml" in message and "spec.resources[2]" in message and "max_pending_requestz" in message


def test_unknown_type_is_named(variant):
    edit(variant, "ccec.yaml", "envoy.config.cluster.v3.Cluster", "envoy.config.cluster.v3.Clustr")
    with pytest.raises(ManifestError) as info:
        translate_all(variant)
    assert "envoy.config.cluster.v3.Clustr" in str(info.value) and "ccec.yaml" in str(info.value)


def test_unfilled_placeholder_is_named(variant):
    edit(variant, "ccec.yaml", "connect_timeout: 5s", "connect_timeout: ${TIMEOUT}")
    with pytest.raises(ManifestError) as info:
        load_manifest_set("circuit-breaker", variant)
    assert "TIMEOUT" in str(info.value) and "ccec.yaml" in str(info.value)


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
