"""The scenario declarations (l7suite/scenarios/) agree with manifests/, the test modules and the docs; a new
folder or image that nobody declared gets a message naming what to declare, and where."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from l7suite import REPO_ROOT
from l7suite.scenarios import (
    SUITE_SELF_CHECKS,
    Scenario,
    ScenarioDeclarationError,
    UnknownScenario,
    all_scenarios,
    by_name,
    declared_by,
    merge_standins,
    weighted_lb,
)
from l7suite.scenarios.declaration_checks import problems
from l7suite.scenarios.docs import declaring_modules, render
from l7suite.standins.http_servers import EchoBackend, StarwarsBackend

TIER_FIXTURES = {"envoy": "envoy_run", "e2e": "cluster_scenario"}
WORKLOAD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: router, namespace: headers}
spec:
  selector: {matchLabels: {app: router}}
  template:
    metadata: {labels: {app: router}}
    spec:
      containers: [{name: web, image: "registry.example/header-echo:1.2"}]
"""


def tier_modules() -> dict[str, list[Path]]:
    return {tier: sorted((REPO_ROOT / "suites" / tier).glob("test_*.py")) for tier in TIER_FIXTURES}


def imported(path: Path) -> ModuleType:
    return importlib.import_module(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))


def uses_fixture(path: Path, fixture: str) -> bool:
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and fixture in [a.arg for a in node.args.args]
               for node in ast.walk(ast.parse(path.read_text())))


def test_declarations_and_manifests_agree():
    assert problems() == []


def test_every_folder_and_tier_has_a_declaration_and_a_module():
    declared = {(s.name, tier) for s in all_scenarios() for tier in s.tiers}
    found = set()
    for tier, paths in tier_modules().items():
        for path in paths:
            scenario = declared_by(imported(path))
            if uses_fixture(path, TIER_FIXTURES[tier]):
                assert scenario is not None, f"{path.name} uses {TIER_FIXTURES[tier]} but declares no SCENARIO"
            if scenario is None or scenario is SUITE_SELF_CHECKS:
                continue
            assert by_name(scenario.name) is scenario, f"{path.name}: SCENARIO is not a registered declaration"
            assert tier in scenario.tiers, f"{path.name} is a {tier}-tier module of {scenario.name!r}, " \
                                           f"whose declaration names tiers {scenario.tiers}"
            found.add((scenario.name, tier))
    assert declared - found == set(), "declared tiers without a test module"
    assert {s.name for s in all_scenarios()} >= {
        "starwars", "weighted-lb", "live-update", "control-plane-loss", "grpc-lb", "circuit-breaker",
        "proxy-redirect", "egress-allowlist", "resilience", "config-compat"}


def test_a_new_folder_with_an_unknown_image_says_what_to_declare(tmp_path):
    folder = tmp_path / "header-routing"
    folder.mkdir()
    (folder / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: headers}\n")
    (folder / "workloads.yaml").write_text(WORKLOAD)
    (found,) = problems(tmp_path, [])
    assert "header-routing/: no scenario declares this folder" in found
    assert "l7suite/scenarios/header_routing.py" in found and "manifests='header-routing'" in found

    declared = Scenario(name="header-routing", title="t", description="d", tiers=("envoy",),
                        manifests="header-routing")
    (found,) = problems(tmp_path, [declared])
    assert f"{folder / 'workloads.yaml'} (document 1, Deployment router)" in found
    assert "image 'registry.example/header-echo:1.2' has no stand-in" in found
    assert "add 'registry.example/header-echo' to the `standins` of scenario 'header-routing'" in found
    assert "or to its `cluster_side`" in found
    assert problems(tmp_path, [replace(declared, standins={"registry.example/header-echo": EchoBackend})]) == []


def test_a_declared_folder_that_is_not_there_is_named(tmp_path):
    (tmp_path / "cilium").mkdir()  # Helm values: never a scenario
    (tmp_path / "cilium" / "values.yaml").write_text("a: 1\n")
    declared = Scenario(name="gone", title="t", description="d", tiers=("e2e",), manifests="gone")
    assert problems(tmp_path, [declared]) == [
        f"scenario(s) gone: folder 'gone' is not under {tmp_path}/ (folders there: none)"]


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownScenario, match="no scenario 'grpc-lb-annotations'; declared in l7suite/scenarios/: "
                                              "circuit-breaker, config-compat,"):
        by_name("grpc-lb-annotations")


def test_a_module_with_a_string_scenario_is_told_what_to_write():
    module = ModuleType("suites.envoy.test_new")
    module.SCENARIO = "weighted-lb"
    with pytest.raises(ScenarioDeclarationError, match=r"suites.envoy.test_new: SCENARIO is 'weighted-lb'; it must "
                                                       r"be a scenario's declaration: .*weighted_lb.SCENARIO"):
        declared_by(module)


@pytest.mark.parametrize(("fields", "said"), [
    ({"name": "Header_Routing"}, "name 'Header_Routing' is not lower-case words joined by '-'"),
    ({"tiers": ("e2e",), "manifests": None}, "the e2e tier applies `manifests`"),
    ({"tiers": ("envoy",), "manifests": None}, "the envoy tier loads `envoy_manifests`"),
    ({"tiers": ("envoy",), "plan_notes": ("x",)}, "this scenario has no e2e tier"),
    ({"description": "one.\n\ntwo."}, "one-paragraph `description`"),
], ids=["name", "e2e-folder", "envoy-folder", "plan-notes", "paragraph"])
def test_a_bad_declaration_is_refused_saying_why(fields, said):
    with pytest.raises(ScenarioDeclarationError, match=said.replace("(", r"\(").replace(")", r"\)")):
        replace(weighted_lb.SCENARIO, **fields)


def test_one_image_has_one_stand_in():
    one = Scenario(name="one", title="t", description="d", tiers=("envoy",), manifests="a",
                   standins={"quay.io/cilium/starwars": StarwarsBackend})
    other = replace(one, name="other", standins={"quay.io/cilium/starwars": EchoBackend})
    assert merge_standins([one, replace(one, name="same")]) == {"quay.io/cilium/starwars": StarwarsBackend}
    with pytest.raises(ScenarioDeclarationError, match="scenario 'one' declares stand-in StarwarsBackend, "
                                                       "scenario 'other' declares EchoBackend"):
        merge_standins([one, other])


def test_the_disruptive_marker_comes_from_the_declaration():
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/e2e", "--collect-only", "-q", "-m", "disruptive",
                           "-p", "no:randomly"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    alone = {s.name for s in all_scenarios() if s.needs.runs_alone}
    assert alone == {"resilience"}
    assert collected == {path for name in alone for path in declaring_modules()[name]["e2e"]}


def test_the_docs_find_the_modules_the_imports_find():
    imports: dict[str, dict[str, list[str]]] = {}
    for tier, paths in tier_modules().items():
        for path in paths:
            scenario = declared_by(imported(path))
            if scenario is not None:
                imports.setdefault(scenario.name, {}).setdefault(tier, []).append(str(path.relative_to(REPO_ROOT)))
    assert declaring_modules() == imports


def test_docs_scenarios_md_is_generated_from_the_declarations():
    committed = (REPO_ROOT / "docs" / "scenarios.md").read_text()
    assert committed == render(), "docs/scenarios.md is stale: python -m l7suite.scenarios.docs > docs/scenarios.md"
