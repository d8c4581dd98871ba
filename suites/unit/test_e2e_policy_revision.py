"""Policy in force before traffic (issue 11, defect i): the agents' policy revision read before an apply and
waited for after it, on every agent, as cilium-cli's connectivity test does; parsed on cilium-dbg's real
output formats (cilium-dbg/cmd/policy_get.go, pkg/command/output.go, api/v1/models/policy.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR
from l7suite.cluster import tools
from l7suite.cluster.kube import Kube
from l7suite.cluster.policy_revision import (
    PolicyNotInForce,
    PolicySync,
    parse_revision,
    revision_argv,
    wait_argv,
)
from l7suite.cluster.scenario_setup import ClusterScenario, start
from l7suite.cluster.timeouts import Timeouts
from l7suite.manifests import load_manifest_set

AGENTS = ["cilium-7xk2p", "cilium-q9d4m"]
NOT_FOUND = "error: unable to upgrade connection: container not found (\"cilium-agent\")"


@pytest.mark.parametrize("stdout, revision", [
    # what cilium-cli gets for `-o jsonpath='{.revision}'` passed without a shell: the quotes are part of
    # the template (it strips "'\n"); Println adds the newline (pkg/command/output.go dumpJSON)
    ("'42'\n", 42),
    ("42\n", 42),  # the suite's `-o jsonpath={.revision}`
    # `-o json`: the Policy model, json.MarshalIndent with two spaces
    ('{\n  "policy": "[\\n  {\\n    \\"endpointSelector\\": {}\\n  }\\n]",\n  "revision": 7\n}\n', 7),
    # no -o: `fmt.Printf("%s\nRevision: %d\n", resp.Policy, resp.Revision)`
    ('[\n  {\n    "endpointSelector": {"matchLabels": {"any:class": "deathstar"}}\n  }\n]\nRevision: 13\n', 13),
    # `revision` is omitempty: revision 0 prints no key, and jsonpath prints nothing
    ("''\n", 0), ("\n", 0), ('{\n  "policy": "[]"\n}\n', 0),
])
def test_revision_from_every_output_format(stdout, revision):
    assert parse_revision(stdout) == revision


def test_unreadable_revision_is_an_error_that_shows_the_output():
    with pytest.raises(ValueError, match="not a policy revision: 'Error: Cannot get policy"):
        parse_revision("Error: Cannot get policy: Get \"http:///var/run/cilium/cilium.sock/v1/policy\"")


def test_commands_are_cilium_dbg_as_cilium_cli_runs_them():
    assert revision_argv() == ["cilium-dbg", "policy", "get", "-o", "jsonpath={.revision}"]
    assert wait_argv(43, 60.0) == ["cilium-dbg", "policy", "wait", "43", "--max-wait-time", "60"]


class Cluster:
    """kubectl answers for two agents, a policy's generation that an apply moves, and `policy wait`."""

    def __init__(self, revisions: dict[str, int], wait_fails: dict[str, str] | None = None,
                 generation_moves: bool = True, read_failures: int = 0):
        self.revisions = dict(revisions)
        self.wait_fails = wait_fails or {}
        self.generation: int | None = None  # the policy is not on the API server yet
        self.generation_moves = generation_moves
        self.read_failures = read_failures
        self.calls: list[list[str]] = []

    def __call__(self, argv, timeout):
        args = list(argv)[3:]  # after `kubectl --kubeconfig PATH`
        self.calls.append(args)
        if args[:2] == ["get", "pods"]:
            items = [{"metadata": {"name": name}} for name in self.revisions]
            return tools.Completed(tuple(argv), 0, json.dumps({"items": items}), "")
        if args[0] == "get":  # a policy object
            body = "" if self.generation is None else json.dumps({"metadata": {"generation": self.generation}})
            return tools.Completed(tuple(argv), 0, body, "")
        if args[0] == "apply":
            if self.generation_moves:
                self.generation = (self.generation or 0) + 1
            return tools.Completed(tuple(argv), 0, "serverside-applied", "")
        if args[0] == "exec":
            pod, command = args[3], args[args.index("--") + 1:]
            assert args[4:6] == ["-c", "cilium-agent"], args
            if command[:3] == ["cilium-dbg", "policy", "get"]:
                if self.read_failures:
                    self.read_failures -= 1
                    return tools.Completed(tuple(argv), 1, "", NOT_FOUND)
                return tools.Completed(tuple(argv), 0, f"{self.revisions[pod]}\n", "")
            if command[:3] == ["cilium-dbg", "policy", "wait"]:
                if pod in self.wait_fails:
                    return tools.Completed(tuple(argv), 1, "\rWaiting for endpoints to run policy revision 9: 3/4",
                                           self.wait_fails[pod])
                return tools.Completed(tuple(argv), 0, "\n", "")
        raise AssertionError(f"unexpected kubectl call {args}")

    def kinds(self) -> list[str]:
        """The calls as a sequence of what they did, for order checks."""
        out = []
        for args in self.calls:
            if args[0] == "exec":
                out.append(f"{' '.join(args[args.index('--') + 1:][:3])} @{args[3]}")
            elif args[:2] == ["get", "pods"]:
                out.append("list agents")
            else:
                out.append(args[0])
        return out


def kube_of(cluster: Cluster, tmp_path: Path) -> Kube:
    return Kube(tmp_path / "kc", cluster, timeouts=Timeouts())


def no_sleep(seconds: float) -> None:
    pass


def test_stage_apply_waits_on_every_agent_for_the_new_revision(tmp_path):
    cluster = Cluster({"cilium-7xk2p": 8, "cilium-q9d4m": 11})
    kube = kube_of(cluster, tmp_path)
    run = ClusterScenario(kube, load_manifest_set("starwars"), policy_sync=PolicySync(kube, 60.0, sleep=no_sleep))
    run.apply_stage("l4-policy")
    assert cluster.kinds() == [
        "list agents", "cilium-dbg policy get @cilium-7xk2p", "cilium-dbg policy get @cilium-q9d4m",
        "get", "apply", "get",
        "cilium-dbg policy wait @cilium-7xk2p", "cilium-dbg policy wait @cilium-q9d4m"]
    waits = [c[c.index("--") + 1:] for c in cluster.calls if "wait" in c]
    assert waits == [wait_argv(9, 60.0), wait_argv(12, 60.0)]  # each agent's own revision + 1 changed policy


def test_two_changed_policies_raise_the_expected_revision_by_two(tmp_path):
    cluster = Cluster({"cilium-7xk2p": 8})
    kube = kube_of(cluster, tmp_path)
    run = ClusterScenario(kube, load_manifest_set("starwars"), policy_sync=PolicySync(kube, 60.0, sleep=no_sleep))
    run.apply_stage("tiefighter-egress")  # CNPs dns and tiefighter
    waits = [c[c.index("--") + 1:] for c in cluster.calls if "wait" in c]
    assert waits == [wait_argv(10, 60.0)]


def test_unchanged_policy_waits_for_nothing(tmp_path):
    cluster = Cluster({"cilium-7xk2p": 8}, generation_moves=False)
    cluster.generation = 3  # already there, and the apply changes nothing
    kube = kube_of(cluster, tmp_path)
    lines: list[str] = []
    run = ClusterScenario(kube, load_manifest_set("starwars"), policy_sync=PolicySync(kube, 60.0, lines.append))
    run.apply_stage("l4-policy")
    assert not [c for c in cluster.calls if "wait" in c]
    assert lines == ["policies unchanged (CiliumNetworkPolicy starwars/rule1): no revision to wait for"]


def test_an_agent_that_does_not_get_there_fails_naming_it_after_all_were_waited_for(tmp_path):
    cluster = Cluster({"cilium-7xk2p": 8, "cilium-q9d4m": 11},
                      wait_fails={"cilium-7xk2p": "Error: \n1 endpoints still not ready after 1m0s (0 failed)\n"})
    kube = kube_of(cluster, tmp_path)
    run = ClusterScenario(kube, load_manifest_set("starwars"), policy_sync=PolicySync(kube, 60.0, sleep=no_sleep))
    with pytest.raises(PolicyNotInForce) as info:
        run.apply_stage("l7-policy")
    assert str(info.value) == (
        "policy not in force on 1 of 2 Cilium agents within 60s (deadline policy_wait, l7suite/cluster/timeouts.py): "
        "cilium-7xk2p revision 9: 1 endpoints still not ready after 1m0s (0 failed)")
    assert [c[3] for c in cluster.calls if "wait" in c] == AGENTS


def test_a_blip_while_reading_is_retried_and_a_dead_agent_is_named(tmp_path):
    cluster = Cluster({"cilium-7xk2p": 8}, read_failures=2)
    sync = PolicySync(kube_of(cluster, tmp_path), 60.0, sleep=no_sleep)
    assert sync.revisions() == {"cilium-7xk2p": 8}
    cluster.read_failures = 3
    with pytest.raises(PolicyNotInForce, match="cannot read the policy revision of agent cilium-7xk2p "
                                               r"\(3 tries\).*container not found"):
        sync.revisions()


def test_no_agent_is_an_error_not_a_silent_pass(tmp_path):
    sync = PolicySync(kube_of(Cluster({}), tmp_path), 60.0)
    with pytest.raises(PolicyNotInForce, match=r"no Cilium agent pods \(k8s-app=cilium\) in kube-system"):
        sync.revisions()


def test_base_policies_are_waited_for_after_the_workloads_are_ready(tmp_path, monkeypatch):
    # weighted-lb applies its policies with the base files: revisions are read just before policies.yaml
    # (the namespace exists by then), and waited for once the workloads are ready
    cluster = Cluster({"cilium-7xk2p": 8})
    kube = kube_of(cluster, tmp_path)
    run = ClusterScenario(kube, load_manifest_set("weighted-lb"), policy_sync=PolicySync(kube, 60.0, sleep=no_sleep))
    monkeypatch.setattr(run, "wait_workloads", lambda: cluster.calls.append(["workloads ready"]))
    run.up()
    applies = [Path(c[-1]).name for c in cluster.calls if c[0] == "apply"]
    assert applies == ["namespace.yaml", "cec.yaml", "policies.yaml", "workloads.yaml"]
    assert cluster.kinds() == [
        "apply", "apply", "list agents", "cilium-dbg policy get @cilium-7xk2p", "get", "get", "apply", "apply",
        "workloads ready", "get", "get", "cilium-dbg policy wait @cilium-7xk2p"]
    assert [c[c.index("--") + 1:] for c in cluster.calls if "wait" in c] == [wait_argv(10, 60.0)]  # dns + empire


def test_the_suites_scenarios_wait_for_policies(tmp_path, monkeypatch):
    monkeypatch.setattr(ClusterScenario, "up", lambda self: None)
    kube = Kube(tmp_path / "kc", Cluster({}), timeouts=Timeouts(policy_wait=75.0))
    run = start(kube, "starwars", MANIFESTS_DIR, lambda line: None)
    assert run.policy_sync is not None and run.policy_sync.max_wait == 75.0


def test_placeholders_are_filled_in_what_is_applied_and_the_copy_removed(tmp_path):
    applied: list[tuple[Path, str]] = []

    def runner(argv, timeout):
        args = list(argv)[3:]
        if args[0] == "apply":
            applied.append((Path(args[-1]), Path(args[-1]).read_text()))
        return tools.Completed(tuple(argv), 0, "", "")

    variables = {"PROXY_ADDRESS": "172.18.0.5"}
    run = ClusterScenario(Kube(tmp_path / "kc", runner), load_manifest_set("proxy-redirect", variables=variables))
    run.apply_file(run.scenario.directory / "cec.yaml")
    run.apply_file(run.scenario.directory / "client.yaml")
    (copy, text), (client, _) = applied
    assert "address: 172.18.0.5" in text and "${PROXY_ADDRESS}" not in text
    assert not copy.exists() and client == run.scenario.directory / "client.yaml"
