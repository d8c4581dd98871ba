"""Each scenario's assertions can fail: the suite run against a broken copy of its manifests
(`--manifests-dir`) fails, with a message a release engineer can read."""

import shutil

import pytest

from l7suite import MANIFESTS_DIR
from suites.envoy.subprocess_pytest import run_pytest

# scenario, test module, {file: [(old, new)]}, text the failure must show
BROKEN = [
    pytest.param("weighted-lb", "suites/envoy/test_weighted_lb.py",
                 {"cec.yaml": [("weight: 80", "weight: 50"), ("weight: 20", "weight: 50")]},
                 "deathstar share", id="weighted-lb-50-50"),
    pytest.param("circuit-breaker", "suites/envoy/test_circuit_breaker.py",
                 {"ccec.yaml": [("max_requests: 2", "max_requests: 1000"),
                                ("max_pending_requests: 1", "max_pending_requests: 1000")]},
                 "no 503 at concurrency 4", id="circuit-breaker-no-limits"),
    pytest.param("circuit-breaker", "suites/envoy/test_circuit_breaker.py",
                 {"ccec.yaml": [("connect_timeout: 5s", "connect_timeout: -1s")]},
                 "Envoy rejected Cluster (NACK): Invalid duration", id="circuit-breaker-nack"),
]


@pytest.mark.parametrize("scenario, module, edits, expected", BROKEN)
def test_broken_manifests_fail_readably(scenario, module, edits, expected, suite_envoy_version, tmp_path):
    shutil.copytree(MANIFESTS_DIR / scenario, tmp_path / scenario)
    for file, replacements in edits.items():
        path = tmp_path / scenario / file
        text = path.read_text()
        for old, new in replacements:
            assert old in text, f"{old!r} not in {path}: update this test with the manifest"
            text = text.replace(old, new)
        path.write_text(text)
    result = run_pytest(module, "-q", "-p", "no:pytest_kind", "--envoy-version", suite_envoy_version,
                        "--manifests-dir", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert expected in output, output
