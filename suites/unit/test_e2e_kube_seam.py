"""The kubectl seam: every command carries the suite's kubeconfig; port-forward lines are parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube, forwarded_port
from l7suite.cluster.scenario import ScenarioRun
from l7suite.manifests import ManifestError, load_scenario


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


@pytest.mark.parametrize("line, port", [
    ("Forwarding from 127.0.0.1:40123 -> 9901\n", 40123),
    ("Forwarding from [::1]:40123 -> 9901\n", None),
    ("Handling connection for 9901\n", None),
])
def test_port_forward_output_gives_the_local_port(line, port):
    # kubectl's lines, as in the lab: "Forwarding from 0.0.0.0:9901 -> 9901" (there with --address 0.0.0.0)
    assert forwarded_port(line) == port


def test_scenario_applies_namespace_first_and_deletes_it_last(tmp_path):
    run = Recorder()
    scenario = ScenarioRun(Kube(tmp_path / "kc", run), load_scenario("starwars"))
    for path in scenario.files():
        scenario.kube.apply(path)
        scenario.applied.append(path)
    scenario.apply_stage("l4-policy")
    scenario.down()
    applied = [Path(c[-1]).name for c in run.calls if "apply" in c]
    deleted = [Path(c[-1]).name for c in run.calls if "delete" in c]
    assert applied == ["namespace.yaml", "http-sw-app.yaml", "l4-policy.yaml"]
    assert deleted == ["l4-policy.yaml", "http-sw-app.yaml", "namespace.yaml"]
    assert scenario.namespace == "starwars"


def test_unknown_stage_names_the_known_ones(tmp_path):
    scenario = ScenarioRun(Kube(tmp_path / "kc", Recorder()), load_scenario("starwars"))
    with pytest.raises(ManifestError, match="no stage 'l9'; stages: l4-policy, l7-policy, tiefighter-egress"):
        scenario.apply_stage("l9")
