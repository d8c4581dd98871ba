"""When config-compat may load several scenario folders on one Envoy (l7suite/envoy/folders_together.py):
only when no folder can lean on another. No Envoy here; the shared run itself: suites/envoy/test_config_compat.py."""

import shutil
from pathlib import Path

from l7suite import MANIFESTS_DIR
from l7suite.cilium.translated import Translated
from l7suite.envoy.envoy_run import DEFAULT_VARIABLES, translate_scenario
from l7suite.envoy.folders_together import independent, merged
from l7suite.manifests import K8sObject, ManifestSet, load_manifest_set


def folders(root: Path, names: list[str]) -> tuple[dict, dict]:
    sets = {n: load_manifest_set(n, root, DEFAULT_VARIABLES) for n in names}
    return sets, {n: translate_scenario(s) for n, s in sets.items()}


def test_a_folder_naming_another_folders_cluster_is_not_independent(tmp_path):
    for name in ("weighted-lb", "circuit-breaker"):
        shutil.copytree(MANIFESTS_DIR / name, tmp_path / name)
    assert independent(*folders(tmp_path, ["weighted-lb", "circuit-breaker"]))
    cec = tmp_path / "weighted-lb" / "cec.yaml"
    # a route to the circuit-breaker folder's cluster: Envoy would take it only with that folder loaded too
    cec.write_text(cec.read_text().replace("- name: exam/darkstar\n", "- name: circuit-break/echo-service\n", 1))
    assert not independent(*folders(tmp_path, ["weighted-lb", "circuit-breaker"]))


def namespace(name: str, labels: dict, folder: str) -> K8sObject:
    data = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    return K8sObject(data, Path(folder) / "namespace.yaml", 0)


def test_one_object_in_two_folders_is_kept_once_and_only_if_identical():
    a = ManifestSet("a", Path("m/a"), [namespace("exam", {"x": "1"}, "m/a")])
    same = ManifestSet("b", Path("m/b"), [namespace("exam", {"x": "1"}, "m/b")])
    other = ManifestSet("b", Path("m/b"), [namespace("exam", {"x": "2"}, "m/b")])
    empty = {"a": Translated(), "b": Translated()}
    assert independent({"a": a, "b": same}, empty)
    assert [o.source for o in merged({"a": a, "b": same}).objects] == [Path("m/a/namespace.yaml")]
    assert not independent({"a": a, "b": other}, empty)
