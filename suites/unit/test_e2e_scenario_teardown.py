"""The `cluster_scenario` fixture's teardown: namespaces and stage objects are deleted after each scenario
whatever happens to the cluster (--keep-cluster keeps the cluster only), kept only with
--keep-namespaces, and a setup that fails deletes what it had applied."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from suites.unit.e2e_plugin_run import run_e2e_plugin

DATA = Path(__file__).parent / "data"

# The cluster is a recording kubectl seam: every call logged, Deployments answered with a recorded
# rolled-out Deployment, `kubectl wait` for pods answered as kubectl does when they never get Ready.
CONFTEST = '''
import os
from pathlib import Path

import pytest

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube

DATA = Path(os.environ["L7_DATA"])


def run(argv, timeout):
    with open(os.environ["L7_CALLS"], "a") as log:
        log.write(" ".join(argv[3:]) + "\\n")
    if "get" in argv and "Deployment" in argv:
        return tools.Completed(tuple(argv), 0, (DATA / "k8s_deployment_metrics_server_ready.json").read_text(), "")
    if "wait" in argv and os.environ.get("L7_PODS_NEVER_READY"):
        return tools.Completed(tuple(argv), 1, "", "error: timed out waiting for the condition on pods/tiefighter")
    return tools.Completed(tuple(argv), 0, "", "")


@pytest.fixture(scope="session")
def cluster():
    return Kube(Path("kubeconfig"), run)


class Evidence:
    def text(self, name, body):
        pass


@pytest.fixture
def evidence():
    return Evidence()
'''

MODULE = '''
import pytest
from l7suite.scenarios import starwars

SCENARIO = starwars.SCENARIO
pytestmark = pytest.mark.e2e


def test_stage(cluster_scenario):
    cluster_scenario.policy_sync = None  # no agents to wait on here: the policy wait is tested on its own
    cluster_scenario.apply_stage("tiefighter-egress")
'''


def run_module(tmp_path: Path, *args: str,
               pods_never_ready: bool = False) -> tuple[subprocess.CompletedProcess, list[str]]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_module.py").write_text(MODULE)
    calls = tmp_path / "calls.log"
    env = {"L7_DATA": str(DATA), "L7_CALLS": str(calls), **({"L7_PODS_NEVER_READY": "1"} if pods_never_ready else {})}
    done = run_e2e_plugin(tmp_path, "test_module.py", *args, env=env)
    return done, calls.read_text().splitlines() if calls.exists() else []


def deleted(calls: list[str]) -> list[str]:
    return [Path(c.split()[-1]).name for c in calls if c.startswith("delete")]


@pytest.mark.parametrize("options", [[], ["--keep-cluster"], ["--kubeconfig", "/tmp/their-cluster.yaml"]],
                         ids=["default", "keep-cluster", "kubeconfig"])
def test_namespace_and_stages_are_deleted_after_the_scenario(tmp_path, options):
    done, calls = run_module(tmp_path, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert deleted(calls) == ["tiefighter-egress.yaml", "http-sw-app.yaml", "namespace.yaml"]


def test_keep_namespaces_keeps_them(tmp_path):
    done, calls = run_module(tmp_path, "--keep-cluster", "--keep-namespaces", "-s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert deleted(calls) == []
    assert "keeping scenario 'starwars' (--keep-namespaces): namespace starwars" in done.stderr


def test_a_failed_setup_deletes_what_it_applied_and_says_why(tmp_path):
    done, calls = run_module(tmp_path, pods_never_ready=True)
    assert done.returncode == 1
    assert ("scenario 'starwars' not set up: pods not Ready in starwars: error: timed out waiting for the "
            "condition on pods/tiefighter") in done.stdout
    assert "Traceback" not in done.stdout
    assert deleted(calls) == ["http-sw-app.yaml", "namespace.yaml"]
