"""weighted-lb's shape (issue 11, defect j): Envoy is reached through the empire-to-deathstar policy's
listener, and the CEC lists the Services as `backendServices` (EDS only). With `spec.services` the agent
would redirect every client's Service traffic to the listener before kernel policy (bpf/bpf_lxc.c) and
xwing would never be dropped, which the e2e check (and the lab's exam) expects. Reasons, with the upstream
files: suites/e2e/test_weighted_lb.py."""

from __future__ import annotations

import pytest

from l7suite.manifests import load_file, load_manifest_set
from l7suite.scenarios.weighted_lb import HOST, redirected_listener


@pytest.fixture(scope="module")
def exam():
    return load_manifest_set("weighted-lb")


def configs(exam):
    stage = load_file(exam.stage_files()["split-50-50"])
    return [*exam.envoy_configs(), *[o for o in stage if o.kind == "CiliumEnvoyConfig"]]


def test_no_config_redirects_the_services_before_policy(exam):
    for config in configs(exam):
        assert "services" not in config.spec, f"{config.source}: spec.services makes xwing meet Envoy, not a drop"
        assert {(s["namespace"], s["name"]) for s in config.spec["backendServices"]} == {
            ("exam", "deathstar"), ("exam", "darkstar")}


def test_the_routes_clusters_are_the_backend_services_eds_names(exam):
    # the agent publishes `ns/svc` for a backend Service without `number` (envoy_l7lb_backend_syncer.go)
    for config in configs(exam):
        eds = {f"{s['namespace']}/{s['name']}" for s in config.spec["backendServices"]}
        clusters = {r["name"] for r in config.spec["resources"] if r["@type"].endswith(".Cluster")}
        assert clusters == eds
        assert all(r.get("type") == "EDS" for r in config.spec["resources"] if r["@type"].endswith(".Cluster"))


def test_the_policy_sends_imperial_traffic_to_the_configs_listener(exam):
    listener = redirected_listener(exam.objects)
    (config,) = exam.envoy_configs()
    assert listener == f"{config.namespace}/{config.name}/lb-listener"
    assert [r["name"] for r in config.spec["resources"] if r["@type"].endswith(".Listener")] == ["lb-listener"]
    policy = exam.get("CiliumNetworkPolicy", "exam", "empire-to-deathstar")
    assert policy is not None and policy.spec["endpointSelector"] == {"matchLabels": {"org": "empire"}}
    # xwing (org=alliance) is selected by nothing but the `dns` policy: egress default-deny, a kernel drop
    xwing = exam.get("Deployment", "exam", "xwing").data["spec"]["template"]["metadata"]["labels"]
    assert xwing["org"] == "alliance" and HOST == "deathstar.exam.svc.cluster.local"
    assert exam.get("CiliumNetworkPolicy", "exam", "dns").spec["endpointSelector"] == {}


def test_a_policy_without_that_listener_is_named(exam):
    with pytest.raises(LookupError, match="policy exam/nobody should redirect to exactly one listener; it names"):
        redirected_listener(exam.objects, policy="nobody")
