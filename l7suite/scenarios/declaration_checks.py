"""Do the declarations and manifests/ agree? Every problem names the file and what to declare where.

Run by suites/unit/test_scenario_declarations.py on the repository (and on made-up folders, to show the
messages); `python -m l7suite.scenarios.declaration_checks [MANIFESTS_DIR]` prints them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from l7suite import MANIFESTS_DIR
from l7suite.manifests import available_scenarios, display_path, parse_documents
from l7suite.scenarios import SUITE_SELF_CHECKS, Scenario, UnknownScenario, all_scenarios, module_of
from l7suite.standins.registry import image_repository

NOT_SCENARIO_FOLDERS = ("cilium",)  # manifests/cilium: Helm values of the e2e tier's Cilium install
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


def workload_images(folder: Path) -> Iterator[tuple[Path, str, str]]:
    """(file, object, image) of every container in the folder's base files and stages."""
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("stages/*.yaml")]):
        for index, doc in parse_documents(path, path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") not in WORKLOAD_KINDS:
                continue
            spec = doc.get("spec") or {}
            pod = spec if doc["kind"] == "Pod" else (spec.get("template") or {}).get("spec") or {}
            for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
                name = (doc.get("metadata") or {}).get("name", "?")
                yield path, f"document {index}, {doc['kind']} {name}", str(container.get("image", ""))


def declaration_file(scenario: Scenario) -> str:
    try:
        return module_of(scenario).replace(".", "/") + ".py"
    except UnknownScenario:
        return "its declaration"


def problems(manifests_dir: Path = MANIFESTS_DIR, scenarios: Sequence[Scenario] | None = None) -> list[str]:
    """What disagrees between manifests_dir and the declarations (default: all, SUITE_SELF_CHECKS too)."""
    scenarios = [*all_scenarios(), SUITE_SELF_CHECKS] if scenarios is None else list(scenarios)
    declared: dict[str, list[str]] = {}
    for scenario in scenarios:
        for folder in scenario.folders():
            declared.setdefault(folder, []).append(scenario.name)
    found = [name for name in available_scenarios(manifests_dir) if name not in NOT_SCENARIO_FOLDERS]
    out = []
    for folder in found:
        if folder not in declared:
            module = folder.replace("-", "_")
            out.append(f"{display_path(manifests_dir / folder)}/: no scenario declares this folder: add "
                       f"l7suite/scenarios/{module}.py with `SCENARIO = Scenario(name={folder!r}, title=..., "
                       f"description=..., tiers=(...), manifests={folder!r})`, or name it in an existing "
                       "scenario's `manifests`/`envoy_manifests` (docs/adding-a-scenario.md)")
    for folder, names in sorted(declared.items()):
        if folder not in found:
            out.append(f"scenario(s) {', '.join(names)}: folder {folder!r} is not under "
                       f"{display_path(manifests_dir)}/ (folders there: {', '.join(found) or 'none'})")
    for scenario in scenarios:
        envoy_folder = scenario.envoy_folder
        if "envoy" not in scenario.tiers or scenario.suite_check or envoy_folder not in found:
            continue  # the suite's checks borrow a scenario's folder, whose declaration covers its images
        for path, obj, image in workload_images(manifests_dir / envoy_folder):
            repository = image_repository(image)
            if repository not in scenario.standins and repository not in scenario.cluster_side:
                out.append(f"{display_path(path)} ({obj}): image {image!r} has no stand-in in the envoy tier: "
                           f"add {repository!r} to the `standins` of scenario {scenario.name!r} "
                           f"({declaration_file(scenario)}), mapped to the class that plays its pods "
                           f"(l7suite/standins/), or to its `cluster_side` if only the e2e tier runs it (a client)")
    return out


if __name__ == "__main__":
    found = problems(Path(sys.argv[1]) if len(sys.argv) > 1 else MANIFESTS_DIR)
    print("\n".join(found) or "declarations and manifests agree")
    sys.exit(1 if found else 0)
