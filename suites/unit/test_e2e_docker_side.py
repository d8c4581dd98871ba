"""Docker-side helpers of the proxy-redirect scenario through the runner seam, 3proxy's log (recorded
in the lab, seed 004), Cilium's matchPattern, and the external-name objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from l7suite import MANIFESTS_DIR
from l7suite.cilium.policy_listeners import fqdn_matches
from l7suite.cluster import tools
from l7suite.cluster.docker_side import (
    PROXY_IMAGE,
    TARGET_IMAGE,
    DockerSideError,
    ExternalContainers,
    connect_requests,
    connected_to,
    container_name,
    external_name_objects,
)
from l7suite.manifests import load_manifest_set

DATA = Path(__file__).parent / "data"
# `docker inspect -f '{{json .NetworkSettings.Networks}}'` prints a map network name -> EndpointSettings
# (Docker Engine API, ContainerInspect); trimmed to the fields read here.
NODE_NETWORKS = json.dumps({"kind": {"IPAddress": "172.18.0.3", "Gateway": "172.18.0.1", "IPPrefixLen": 16}})


class FakeDocker:
    def __init__(self, addresses: dict[str, str], fail_run: str = ""):
        self.calls: list[list[str]] = []
        self.addresses, self.fail_run = addresses, fail_run

    def __call__(self, argv, timeout):
        argv = list(argv)
        self.calls.append(argv)
        out, code = "", 0
        if argv[:2] == ["docker", "inspect"]:
            name = argv[-1]
            if argv[3] == "{{.State.Status}}":
                out = "running\n"
            elif name in self.addresses:
                out = json.dumps({"kind": {"IPAddress": self.addresses[name]}}) + "\n"
            else:
                out = NODE_NETWORKS + "\n"
        elif argv[:2] == ["docker", "run"] and self.fail_run and self.fail_run in argv:
            code = 125
        return tools.Completed(tuple(argv), code, out, "boom" if code else "")


def test_containers_join_the_node_network_and_are_removed_at_the_end():
    proxy, target = container_name("ci", "proxy"), container_name("ci", "allowed-web")
    docker = FakeDocker({proxy: "172.18.0.5", target: "172.18.0.6"})
    with ExternalContainers(docker, "ci", "ci-control-plane") as ext:
        assert ext.network == "kind"
        assert ext.start("proxy", PROXY_IMAGE) == "172.18.0.5"
        assert ext.start("allowed-web", TARGET_IMAGE, {"PORT": "80"}) == "172.18.0.6"
    runs = [c for c in docker.calls if c[:2] == ["docker", "run"]]
    assert runs[0] == ["docker", "run", "-d", "--rm", "--network", "kind", "--name", proxy,
                       "--label", "l7suite.cluster=ci", PROXY_IMAGE]
    assert runs[1][-3:] == ["-e", "PORT=80", TARGET_IMAGE]
    assert ["docker", "rm", "-f", proxy] in docker.calls  # leftover of a killed run removed first
    assert docker.calls[-1] == ["docker", "rm", "-f", proxy, target]


def test_containers_are_removed_when_the_tests_fail():
    docker = FakeDocker({container_name("ci", "proxy"): "172.18.0.5"})
    with pytest.raises(RuntimeError, match="test failed"), ExternalContainers(docker, "ci", "ci-worker") as ext:
        ext.start("proxy", PROXY_IMAGE)
        raise RuntimeError("test failed")
    assert docker.calls[-1] == ["docker", "rm", "-f", container_name("ci", "proxy")]


def test_a_failed_start_raises_and_leaves_nothing_started():
    docker = FakeDocker({}, fail_run=PROXY_IMAGE)
    with pytest.raises(tools.CommandFailed), ExternalContainers(docker, "ci", "ci-worker") as ext:
        ext.start("proxy", PROXY_IMAGE)
    assert ext.started == []


def test_two_clusters_never_share_a_container_name():
    assert container_name("run-a", "proxy") != container_name("run-b", "proxy")


def test_node_on_several_networks_is_refused():
    def two_networks(argv, timeout):
        return tools.Completed(tuple(argv), 0, json.dumps({"kind": {}, "bridge": {}}), "")

    with pytest.raises(DockerSideError, match="expected one"), ExternalContainers(two_networks, "ci", "ci-worker"):
        pass


def test_3proxy_log_shows_connect_to_the_original_destination():
    log = (DATA / "seed_3proxy_log.txt").read_text()
    assert [r["message"] for r in connect_requests(log)] == ["CONNECT 140.82.121.6:443 HTTP/1.1",
                                                               "CONNECT 140.82.121.5:443 HTTP/1.1"]
    assert len(connected_to(log, "140.82.121.6", 443)) == 1
    assert connected_to(log, "140.82.121.6", 80) == [] and connected_to(log, "140.82.121.60", 443) == []


def test_stage_policy_is_the_lab_policy_with_resolvable_names():
    cluster_scenario = load_manifest_set("proxy-redirect", MANIFESTS_DIR, {"PROXY_ADDRESS": "172.18.0.5"})
    base = cluster_scenario.get("CiliumNetworkPolicy", "proxy", "proxy-policy")
    assert base is not None
    stage = yaml.safe_load(cluster_scenario.stage_files()["external-names"].read_text())
    fqdn = [rule for rule in stage["spec"]["egress"] if "toFQDNs" in rule]
    pattern = fqdn[0]["toFQDNs"][0]["matchPattern"]
    assert fqdn_matches(pattern, "allowed-web.proxy.svc.cluster.local")
    assert not fqdn_matches(pattern, "denied-web.proxy.svc.cluster.local")
    # everything but the names is the lab's policy
    for rules in (stage["spec"]["egress"], base.spec["egress"]):
        for rule in rules:
            rule.pop("toFQDNs", None)
    assert stage["spec"] == base.spec and stage["metadata"] == {"name": "proxy-policy", "namespace": "proxy"}


def test_external_names_are_a_headless_service_and_its_endpoint_slice():
    service, endpoints = external_name_objects("proxy", "allowed-web", "172.18.0.6", 80)
    assert service["spec"]["clusterIP"] == "None" and "selector" not in service["spec"]
    assert endpoints["metadata"]["labels"] == {"kubernetes.io/service-name": "allowed-web"}
    assert endpoints["endpoints"] == [{"addresses": ["172.18.0.6"]}]
    assert endpoints["ports"][0]["name"] == service["spec"]["ports"][0]["name"]
