"""Config compatibility: every Envoy resource under the manifests folder is accepted (ACK, no NACK)
by every supported Envoy version. The terminal summary prints the table per version."""

import re

import pytest

from fixtures.envoy_tier import record_compat, start_scenario
from l7suite.manifests import available_scenarios

SCENARIO = "all"


def pytest_generate_tests(metafunc):
    if "scenario_name" in metafunc.fixturenames:
        from pathlib import Path

        root = Path(metafunc.config.getoption("--manifests-dir")).resolve()
        # only scenarios that carry Envoy configs; loading errors surface in the test, naming the file
        names = [n for n in available_scenarios(root) if _has_envoy_config(root, n)]
        metafunc.parametrize("scenario_name", names)


ENVOY_CONFIG_KIND = re.compile(r"^kind:\s*Cilium(Clusterwide)?EnvoyConfig\s*$", re.MULTILINE)


def _has_envoy_config(root, name) -> bool:
    return any(ENVOY_CONFIG_KIND.search(p.read_text()) for p in (root / name).glob("*.yaml"))


def test_envoy_accepts_every_resource(scenario_name, envoy_version, envoy_binary, manifests_dir, tmp_path,
                                      request, evidence):
    outcome = "ERROR"
    try:
        run = start_scenario(scenario_name, manifests_dir, envoy_binary, tmp_path, start_backends=False)
        try:
            evidence.text("xDS ACK/NACK history", "\n".join(e.describe() for e in run.ads.events))
            assert not run.ads.nacks()
            names = sorted(run.admin.listeners())
            assert set(run.translated.listener_ports) <= set(names)
            outcome = "ACK"
        finally:
            run.stop()
    except pytest.fail.Exception:
        outcome = "NACK"
        raise
    finally:
        record_compat(request.config, scenario_name, envoy_version, outcome)
