"""docs/scenarios.md, generated from the declarations: `python -m l7suite.scenarios.docs > docs/scenarios.md`.

suites/unit/test_scenario_declarations.py fails when the committed file differs from what this prints.
Test modules are found by their `SCENARIO = <module>.SCENARIO` line (that test checks the line against
what the module really declares).
"""

from __future__ import annotations

import re
from pathlib import Path

from l7suite import REPO_ROOT
from l7suite.scenarios import SUITE_SELF_CHECKS, Scenario, all_scenarios, module_of
from l7suite.scenarios.declaration import TIERS

DECLARES = re.compile(r"^SCENARIO = (?:(\w+)\.SCENARIO|(SUITE_SELF_CHECKS))\s*(?:#.*)?$", re.MULTILINE)


def declaring_modules(root: Path = REPO_ROOT) -> dict[str, dict[str, list[str]]]:
    """scenario name -> tier -> the test modules (paths from the repository root) that declare it."""
    by_module = {module_of(s).rsplit(".", 1)[-1]: s.name for s in (*all_scenarios(), SUITE_SELF_CHECKS)}
    by_module["SUITE_SELF_CHECKS"] = SUITE_SELF_CHECKS.name
    found: dict[str, dict[str, list[str]]] = {}
    for tier in TIERS:
        for path in sorted((root / "suites" / tier).glob("test_*.py")):
            match = DECLARES.search(path.read_text())
            if match and (match.group(1) or match.group(2)) in by_module:
                name = by_module[match.group(1) or match.group(2)]
                found.setdefault(name, {}).setdefault(tier, []).append(str(path.relative_to(root)))
    return found


def _code(items) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _folders(s: Scenario) -> str:
    if s.every_folder:
        return "every folder under `manifests/`"
    if s.envoy_folder != s.e2e_folder and s.e2e_folder and s.envoy_folder:
        return f"`manifests/{s.e2e_folder}/` (e2e), `manifests/{s.envoy_folder}/` (envoy)"
    return f"`manifests/{s.envoy_folder or s.e2e_folder}/`"


def _section(s: Scenario, modules: dict[str, list[str]]) -> list[str]:
    lines = [f"## {s.name}", "", f"**{s.title}**", "", s.description, "",
             f"- declared in `{module_of(s).replace('.', '/')}.py`; manifests: {_folders(s)}"]
    for tier in TIERS:
        if tier in s.tiers:
            lines.append(f"- {tier} tier: {_code(modules.get(tier, [])) or '(no module yet)'}")
    if s.standins:
        lines.append("- stand-ins (envoy tier): " + ", ".join(
            f"`{image}` -> `{factory.__name__}` ({factory.__module__.replace('.', '/')}.py)"
            for image, factory in s.standins.items()))
    if s.cluster_side:
        lines.append(f"- images in its folder that no stand-in plays (clients; only a cluster runs them): "
                     f"{_code(s.cluster_side)}")
    lines += [f"- needs: {need}" for need in s.needs.lines()]
    if s.plan_notes:
        lines.append("- `--plan` says the e2e tier does:")
        lines += [f"  - {note}" for note in s.plan_notes]
    return [*lines, ""]


def render(root: Path = REPO_ROOT) -> str:
    modules = declaring_modules(root)
    scenarios = all_scenarios()
    lines = [
        "# Scenarios",
        "",
        "<!-- Generated from the declarations in l7suite/scenarios/ by "
        "`python -m l7suite.scenarios.docs > docs/scenarios.md`; do not edit by hand: "
        "suites/unit/test_scenario_declarations.py fails when this file is stale. -->",
        "",
        "A scenario is declared once, in its module under `l7suite/scenarios/` (`SCENARIO = Scenario(...)`), and "
        "each tier's test module imports that declaration. Its name labels the results in the report, is a column "
        "of the compatibility matrix and an entry of the e2e tier's `--plan`. To add one: "
        "[adding-a-scenario.md](adding-a-scenario.md).",
        "",
        "| scenario | envoy tier | e2e tier | manifests | what it is |",
        "|---|---|---|---|---|",
    ]
    for s in scenarios:
        tiers = ["yes" if tier in s.tiers else "-" for tier in TIERS]
        lines.append(f"| [{s.name}](#{s.name}) | {' | '.join(tiers)} | {_folders(s)} | {s.title} |")
    lines.append("")
    for s in scenarios:
        lines += _section(s, modules.get(s.name, {}))
    self_checks = modules.get(SUITE_SELF_CHECKS.name, {}).get("envoy", [])
    lines += ["## Not a scenario: suite-self-checks", "", SUITE_SELF_CHECKS.description, "",
              f"- label `{SUITE_SELF_CHECKS.name}` on: {_code(self_checks)}",
              f"- the hygiene probe (`suites/envoy/data/hygiene_probe.py`) starts `manifests/"
              f"{SUITE_SELF_CHECKS.envoy_folder}/`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
