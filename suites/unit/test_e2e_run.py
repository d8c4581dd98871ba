"""The e2e runner's steps: parallel first, disruptive alone, the cluster removed unless asked to stay."""

import sys

from l7suite.cluster.e2e_run import cleanup, steps

RESULTS = ["--alluredir", "reports/e2e/allure-results", "--clean-alluredir"]


def test_parallel_then_disruptive_on_a_kept_cluster():
    first, second = steps(["--cilium-version", "1.19.3", *RESULTS], workers=3)
    base = [sys.executable, "-m", "pytest", "suites/e2e"]
    assert first == [*base, "-m", "not disruptive", "-n", "3", "--dist", "loadscope", "--keep-cluster",
                     "--cilium-version", "1.19.3", *RESULTS]
    assert second == [*base, "-m", "disruptive", "--keep-cluster", "--cilium-version", "1.19.3",
                      "--alluredir", "reports/e2e/allure-results"]


def test_one_worker_runs_without_xdist():
    first, _ = steps([], workers=1)
    assert "-n" not in first


def test_plan_is_one_step_and_removes_nothing():
    assert steps(["--plan"], workers=3) == [[sys.executable, "-m", "pytest", "suites/e2e", "--plan"]]
    assert cleanup(["--plan"]) is None


def test_cluster_is_removed_unless_kept_or_brought():
    assert cleanup([]) == ["kind", "delete", "cluster", "--name=l7suite"]
    assert cleanup(["--cluster-name", "nightly-1"]) == ["kind", "delete", "cluster", "--name=nightly-1"]
    assert cleanup(["--cluster-name=nightly-2"]) == ["kind", "delete", "cluster", "--name=nightly-2"]
    assert cleanup(["--keep-cluster"]) is None
    assert cleanup(["--kubeconfig", "/tmp/big-cluster.yaml"]) is None
