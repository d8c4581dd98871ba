"""The kubectl seam: every command carries the suite's kubeconfig; port-forward lines are parsed."""

from __future__ import annotations

import gc
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube, PortForwardError, forwarded_port
from l7suite.cluster.scenario_setup import ClusterScenario
from l7suite.manifests import ManifestError, load_manifest_set


class Recorder:
    def __init__(self, stdout: str = "", returncode: int = 0):
        self.calls: list[list[str]] = []
        self.stdout, self.returncode = stdout, returncode

    def __call__(self, argv, timeout):
        self.calls.append(list(argv))
        return tools.Completed(tuple(argv), self.returncode, self.stdout, "")


def test_every_kubectl_call_uses_the_given_kubeconfig(tmp_path):
    run = Recorder()
    kube = Kube(tmp_path / "kubeconfig", run)
    kube.apply(tmp_path / "a.yaml")
    kube.exec("starwars", "xwing", ["curl", "-s", "x"], 10)
    assert [c[:3] for c in run.calls] == [["kubectl", "--kubeconfig", str(tmp_path / "kubeconfig")]] * 2
    assert run.calls[0][3:] == ["apply", "--server-side", "--field-manager=l7suite", "--force-conflicts",
                                "-f", str(tmp_path / "a.yaml")]
    assert run.calls[1][3:] == ["exec", "-n", "starwars", "xwing", "--", "curl", "-s", "x"]


def test_exec_returns_the_remote_exit_code(tmp_path):
    # kubectl exec exits with the command's code ("command terminated with exit code 28" in the lab)
    result = Kube(tmp_path / "kc", Recorder(returncode=28)).exec("starwars", "xwing", ["curl"], 10)
    assert result.exit_code == 28


def test_get_of_a_missing_object_is_none(tmp_path):
    assert Kube(tmp_path / "kc", Recorder(stdout="")).get("DaemonSet", "kube-system", "cilium-envoy") is None


def test_port_forward_output_gives_the_local_port():
    # kubectl's lines, as in the lab: "Forwarding from 0.0.0.0:9901 -> 9901" (there with --address 0.0.0.0)
    ports = {"Forwarding from 127.0.0.1:40123 -> 9901\n": 40123, "Forwarding from [::1]:40123 -> 9901\n": None,
             "Handling connection for 9901\n": None}
    assert {line: forwarded_port(line) for line in ports} == ports


def test_scenario_applies_namespace_first_and_deletes_it_last(tmp_path):
    run = Recorder()
    cluster_scenario = ClusterScenario(Kube(tmp_path / "kc", run), load_manifest_set("starwars"))
    for path in cluster_scenario.files():
        cluster_scenario.kube.apply(path)
        cluster_scenario.applied.append(path)
    cluster_scenario.apply_stage("l4-policy")
    cluster_scenario.down()
    applied = [Path(c[-1]).name for c in run.calls if "apply" in c]
    deleted = [Path(c[-1]).name for c in run.calls if "delete" in c]
    assert applied == ["namespace.yaml", "http-sw-app.yaml", "l4-policy.yaml"]
    assert deleted == ["l4-policy.yaml", "http-sw-app.yaml", "namespace.yaml"]
    assert cluster_scenario.namespace == "starwars"


def test_unknown_stage_names_the_known_ones(tmp_path):
    cluster_scenario = ClusterScenario(Kube(tmp_path / "kc", Recorder()), load_manifest_set("starwars"))
    with pytest.raises(ManifestError, match="no stage 'l9'; stages: l4-policy, l7-policy, tiefighter-egress"):
        cluster_scenario.apply_stage("l9")


# --- port-forward: a real child process (a stand-in kubectl printing kubectl's own lines) -----------

def stand_in_kubectl(tmp_path: Path, script: str) -> str:
    """An executable named kubectl that records its pid, then runs `script` (sh)."""
    path = tmp_path / "kubectl"
    path.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\n{script}\n")
    path.chmod(0o755)
    return str(path)


def gone(tmp_path: Path) -> bool:
    pid = int((tmp_path / "pid").read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"  # not reaped yet


@contextmanager
def resource_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every ResourceWarning raised in the block, unclosed pipes included (collected before it ends)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        found: list[warnings.WarningMessage] = []
        yield found
        gc.collect()
        found += [w for w in seen if issubclass(w.category, ResourceWarning)]


def test_port_forward_yields_the_port_then_stops_kubectl_and_closes_its_pipes(tmp_path):
    kubectl = stand_in_kubectl(tmp_path, "echo 'Forwarding from 127.0.0.1:40123 -> 80'\nexec sleep 30")
    kube = Kube(tmp_path / "kc", Recorder(), kubectl=kubectl)
    with resource_warnings() as leaked, kube.port_forward("kube-system", "svc/hubble-relay", 80, timeout=10) as port:
        assert port == 40123
    assert [str(w.message) for w in leaked] == [] and gone(tmp_path)


def test_port_forward_that_prints_nothing_gives_up_at_its_deadline(tmp_path):
    # kubectl waiting on an API server that does not answer prints nothing: the wait must not block
    kubectl = stand_in_kubectl(tmp_path, "exec sleep 8")
    kube = Kube(tmp_path / "kc", Recorder(), kubectl=kubectl)
    started = time.monotonic()
    late = r"kube-system/svc/hubble-relay:80 printed no 'Forwarding from' line within 0.5s"
    with resource_warnings() as leaked, pytest.raises(PortForwardError, match=late), \
            kube.port_forward("kube-system", "svc/hubble-relay", 80, timeout=0.5):
        pass
    assert time.monotonic() - started < 7
    assert [str(w.message) for w in leaked] == [] and gone(tmp_path)


def test_port_forward_that_fails_names_kubectls_error(tmp_path):
    # kubectl's message for a missing Service (kubectl helpers.go: "Error from server (%s): %s")
    error = 'Error from server (NotFound): services "hubble-relay" not found'
    kubectl = stand_in_kubectl(tmp_path, f"echo '{error}' >&2\nexit 1")
    kube = Kube(tmp_path / "kc", Recorder(), kubectl=kubectl)
    with resource_warnings() as leaked, pytest.raises(PortForwardError) as failed, \
            kube.port_forward("kube-system", "svc/hubble-relay", 80, timeout=10):
        pass
    assert str(failed.value) == f"kubectl port-forward kube-system/svc/hubble-relay:80 exited 1: {error}"
    assert [str(w.message) for w in leaked] == []
