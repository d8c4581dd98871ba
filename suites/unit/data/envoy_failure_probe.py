"""Run by test_report_envoy_evidence.py in a child pytest (never collected by the suite itself): an
envoy-tier test that fails. Its `envoy_run` stands in for a started run (no Envoy is started), so the
envoy tier's evidence on failure (fixtures/envoy_runs.py) is attached as for a real run."""

from types import SimpleNamespace

import pytest

from l7suite.envoy.envoy_run import EnvoyRun

LOG_LINE = "[warning][config] evidence probe: this line is the envoy log's tail"


class StartedRunStandIn(EnvoyRun):
    def __init__(self) -> None:  # nothing started: the evidence reads only these
        self.ads = SimpleNamespace(events=[])
        self.admin = None

    def log_tail(self, lines: int = 80) -> str:
        return LOG_LINE


@pytest.fixture
def envoy_run() -> EnvoyRun:
    return StartedRunStandIn()


def test_fails_with_envoy_evidence(envoy_run):
    pytest.fail("the probe fails on purpose", pytrace=False)
