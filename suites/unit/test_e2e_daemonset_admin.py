"""The `daemonset_admin` fixture: a check reading cilium-envoy's admin API runs with --envoy-mode daemonset
only, and only in a module whose SCENARIO declares that need."""

from __future__ import annotations

import types
from types import SimpleNamespace

import pytest

from fixtures import e2e_cluster
from l7suite.cluster.plan import RunOptions
from l7suite.scenarios import Needs, Scenario, circuit_breaker
from l7suite.scenarios.declaration import DAEMONSET_ADMIN_NEED

daemonset_admin = e2e_cluster.daemonset_admin.__wrapped__  # the fixture's function


def plan(mode: str) -> SimpleNamespace:
    return SimpleNamespace(options=RunOptions(cilium_version="1.18.14", envoy_mode=mode))


def request(module: types.ModuleType) -> SimpleNamespace:
    return SimpleNamespace(module=module, node=SimpleNamespace(nodeid=f"suites/e2e/{module.__name__}.py::test_x"))


def test_runs_in_daemonset_mode_and_is_skipped_embedded_with_the_declared_need():
    module = types.ModuleType("test_circuit_breaker")
    module.SCENARIO = circuit_breaker.SCENARIO  # type: ignore[attr-defined]
    assert daemonset_admin(request(module), plan("daemonset")) is None
    with pytest.raises(pytest.skip.Exception, match="--envoy-mode daemonset only") as skipped:
        daemonset_admin(request(module), plan("embedded"))
    assert DAEMONSET_ADMIN_NEED in str(skipped.value) and "this run: --envoy-mode embedded" in str(skipped.value)


def test_a_module_that_does_not_declare_the_need_is_a_usage_error():
    module = types.ModuleType("test_other")
    module.SCENARIO = Scenario(name="other", title="t", description="d", tiers=("e2e",),  # type: ignore[attr-defined]
                               manifests="starwars", needs=Needs())
    with pytest.raises(pytest.UsageError, match=r"does not declare `needs=Needs\(daemonset_admin=True\)`"):
        daemonset_admin(request(module), plan("daemonset"))
