"""The scenarios, one module each: its declaration (`SCENARIO`, l7suite/scenarios/declaration.py) and what
both tiers share (expected shares, request counts, names, the scenario's own control plane).

`all_scenarios()` finds them: every module of this package with a module-level `SCENARIO`, so a new
scenario is registered by its module alone. `SUITE_SELF_CHECKS` labels the suite's checks of itself
(hygiene, readable failures, `l7suite check`), which are not a scenario. The scenario modules are imported
at the first call, not with this package: they import the envoy-tier harness, which imports this package.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

from l7suite.scenarios.declaration import Needs, Scenario, ScenarioDeclarationError, StandIn, declared_by
from l7suite.scenarios.suite_self_checks import SUITE_SELF_CHECKS

__all__ = ["SUITE_SELF_CHECKS", "Needs", "Scenario", "ScenarioDeclarationError", "StandIn", "UnknownScenario",
           "all_scenarios", "by_name", "declared_by", "declared_standins", "merge_standins", "module_of"]


class UnknownScenario(LookupError):
    pass


@functools.cache
def _declared() -> dict[str, tuple[Scenario, str]]:
    """name -> (declaration, module name), in the order of the modules' names."""
    found: dict[str, tuple[Scenario, str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = declared_by(module)
        if declared is None or declared.suite_check:
            continue
        if declared.name in found:
            raise ScenarioDeclarationError(f"scenario {declared.name!r} is declared by both "
                                           f"{found[declared.name][1]} and {module.__name__}")
        found[declared.name] = (declared, module.__name__)
    return found


def all_scenarios() -> tuple[Scenario, ...]:
    return tuple(declared for declared, _ in _declared().values())


def by_name(name: str) -> Scenario:
    """A scenario (or SUITE_SELF_CHECKS) by its name; an unknown name lists the known ones."""
    if name == SUITE_SELF_CHECKS.name:
        return SUITE_SELF_CHECKS
    try:
        return _declared()[name][0]
    except KeyError:
        known = ", ".join(_declared())
        raise UnknownScenario(f"no scenario {name!r}; declared in l7suite/scenarios/: {known}") from None


def module_of(scenario: Scenario) -> str:
    """The module that declares it (`l7suite.scenarios.weighted_lb`)."""
    if scenario is SUITE_SELF_CHECKS:
        return "l7suite.scenarios.suite_self_checks"
    found = _declared().get(scenario.name)
    if found is None or found[0] is not scenario:
        raise UnknownScenario(f"scenario {scenario.name!r} is not the SCENARIO of any module in l7suite/scenarios/")
    return found[1]


@functools.cache
def declared_standins() -> dict[str, StandIn]:
    """image repository -> stand-in factory, from every declaration."""
    return merge_standins((*all_scenarios(), SUITE_SELF_CHECKS))


def merge_standins(scenarios: Iterable[Scenario]) -> dict[str, StandIn]:
    """The scenarios' stand-ins in one map; two scenarios may declare one image only with the same stand-in."""
    found: dict[str, tuple[StandIn, str]] = {}
    for scenario in scenarios:
        for repository, factory in scenario.standins.items():
            earlier = found.setdefault(repository, (factory, scenario.name))
            if earlier[0] is not factory:
                raise ScenarioDeclarationError(
                    f"image {repository!r}: scenario {earlier[1]!r} declares stand-in {earlier[0].__name__}, "
                    f"scenario {scenario.name!r} declares {factory.__name__}; one image has one stand-in")
    return {repository: factory for repository, (factory, _) in found.items()}
