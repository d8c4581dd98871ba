"""The prerequisite check on recorded tool outputs, and its fail-fast exit on this very machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from l7suite import REPO_ROOT
from l7suite.cluster import prereqs, tools
from l7suite.cluster.prereqs import Tool, check_all, check_docker, check_kind, check_kubectl, kind_version_of, report

DATA = Path(__file__).parent / "data"
HELM_OK = tools.Completed(("helm",), 0, "v3.16.2+g13654a5\n", "")  # `helm version --short` format


def runner(answers: dict[str, tools.Completed]) -> tools.Runner:
    def run(argv, timeout):
        assert timeout <= 10, "every probe has a short timeout"
        return answers.get(argv[0], tools.Completed(tuple(argv), 127, "", f"{argv[0]}: not found on PATH"))
    return run


def test_docker_without_engine_is_reported_with_dockers_own_words():
    no_engine = tools.Completed(("docker",), 1, "\n", (DATA / "docker_info_no_engine.txt").read_text())
    assert check_docker(runner({"docker": no_engine})) == Tool(
        "docker", False, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                             "Is the docker daemon running?")


def test_kubectl_version_from_recorded_json():
    recorded = tools.Completed(("kubectl",), 0, (DATA / "kubectl_version_client.json").read_text(), "")
    assert check_kubectl(runner({"kubectl": recorded})) == Tool("kubectl", True, "v1.32.4-dispatcher")


def test_old_kubectl_is_refused():
    old = json.loads((DATA / "kubectl_version_client.json").read_text())
    old["clientVersion"]["gitVersion"] = "v1.25.3"
    got = check_kubectl(runner({"kubectl": tools.Completed(("kubectl",), 0, json.dumps(old), "")}))
    assert (got.ok, got.problem) == (False, "kubectl v1.25.3 is older than supported")


def test_kind_version_needs_a_pinned_node_image():
    # kind's DisplayVersion: "kind v" + version + " " + go version + " " + GOOS/GOARCH
    assert kind_version_of("kind v0.32.0 go1.24.3 linux/amd64\n") == "0.32.0"
    newer = tools.Completed(("kind",), 0, "kind v0.33.0-alpha go1.25.0 linux/amd64\n", "")
    assert check_kind(runner({"kind": newer})) == Tool("kind", False, "0.33.0-alpha",
                                                      "kind '0.33.0-alpha' has no pinned node image")


def test_the_installed_kind_is_asked_once_and_an_unpinned_one_picks_the_default(monkeypatch):
    asked = []
    answer = "kind v0.33.0-alpha go1.25.0 linux/amd64\n"

    def run(argv, timeout):
        asked.append(tuple(argv))
        return tools.Completed(tuple(argv), 0, answer, "")

    monkeypatch.setattr(prereqs.shutil, "which", lambda name: f"/bin/{name}")
    monkeypatch.setattr(tools, "run", run)
    prereqs.installed_kind_version.cache_clear()
    try:
        assert prereqs.installed_kind_version() == prereqs.DEFAULT_KIND_VERSION
        assert prereqs.installed_kind_version() == prereqs.DEFAULT_KIND_VERSION
        assert asked == [("kind", "version")]
        prereqs.installed_kind_version.cache_clear()
        answer = f"kind v{sorted(prereqs.KIND_NODE_IMAGES)[0]} go1.24.3 linux/amd64\n"
        assert prereqs.installed_kind_version() == sorted(prereqs.KIND_NODE_IMAGES)[0]
    finally:
        prereqs.installed_kind_version.cache_clear()


def test_report_lists_every_missing_tool_with_a_fix_in_one_message():
    message = report(check_all(runner({"helm": HELM_OK})))
    assert message is not None
    assert message.splitlines()[0] == (
        "e2e prerequisites missing (the e2e tier needs a Docker engine, kind, kubectl and helm):")
    for name in ("docker", "kind", "kubectl"):
        assert f"  - {name}: {name}: not found on PATH" in message
    assert "fix: install kind v0.29.0 / v0.30.0 / v0.31.0 / v0.32.0" in message and "found: helm v3.16.2" in message


def test_existing_cluster_needs_neither_docker_nor_kind():
    recorded = tools.Completed(("kubectl",), 0, (DATA / "kubectl_version_client.json").read_text(), "")
    assert report(check_all(runner({"kubectl": recorded, "helm": HELM_OK}), existing_cluster=True)) is None


def test_missing_binary_is_a_result_not_an_exception():
    done = tools.run(["l7suite-no-such-binary", "--version"], 5)
    assert (done.returncode, done.stderr) == (127, "l7suite-no-such-binary: not found on PATH")


def test_module_exits_nonzero_within_seconds_when_tools_are_missing(tmp_path):
    # PATH without docker/kind/helm: the check must fail fast, as `tox -e e2e` does on a machine without them
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "l7suite.cluster.prereqs"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("e2e prerequisites missing") and time.monotonic() - started < 30
