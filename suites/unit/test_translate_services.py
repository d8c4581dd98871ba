"""CEC `services`/`backendServices` and policy listener redirects as the agent handles them, and the names
the lab shows (cec_services.py, policy_listeners.py; the resources themselves: test_translate.py)."""

from pathlib import Path

import pytest

from l7suite import MANIFESTS_DIR
from l7suite.cilium.cec_translation import placeholder_port, translate, translate_configs
from l7suite.cilium.policy_listeners import ORIGINAL_DST, policy_listeners
from l7suite.envoy.resources import CLUSTER, LISTENER, ROUTE
from l7suite.envoy.xds_server import ads_config_source
from l7suite.manifests import K8sObject, ManifestError, load_manifest_set
from suites.unit.cec_builders import (
    eds_cluster,
    hcm_listener,
    make,
    resource,
    run,
)


# ---- names ---------------------------------------------------------------------------------------------
def test_services_redirect_to_the_named_listener_in_the_configs_own_namespace():
    obj = make([hcm_listener("a"), hcm_listener("b")], spec={"services": [
        {"name": "web", "namespace": "elsewhere", "listener": "b", "ports": [80]}, {"name": "api"}]})
    out = run(obj)
    assert out.redirects == {("shop", "web"): "shop/cfg/b", ("shop", "api"): "shop/cfg/a"}
    assert out.redirect_ports == {("shop", "web"): (80,), ("shop", "api"): ()}
    assert [(r.namespace, r.name, r.ports, r.field) for r in out.services] == [
        ("shop", "web", ("80",), "spec.services[0]"), ("shop", "api", (), "spec.services[1]")]
    assert any("'elsewhere' is ignored" in n for n in out.notes)
    assert any("spec.services[1] names no listener and the config has 2" in n for n in out.notes)


def test_a_service_naming_a_listener_the_config_lacks_is_refused():
    with pytest.raises(ManifestError, match="no listener 'nope'") as info:
        run(make([hcm_listener()], spec={"services": [{"name": "web", "listener": "nope"}]}))
    assert "spec.services[0].listener" in str(info.value)


def test_clusterwide_service_references_default_to_the_default_namespace():
    obj = make([hcm_listener()], kind="CiliumClusterwideEnvoyConfig", namespace="",
               spec={"services": [{"name": "web"}, {"name": "api", "namespace": "team"}],
                     "backendServices": [{"name": "db", "number": ["5432", "pg"]}]})
    out = run(obj)
    assert out.redirects == {("default", "web"): "/cfg/front", ("team", "api"): "/cfg/front"}
    assert [(r.namespace, r.name, r.ports) for r in out.services] == [
        ("default", "web", ()), ("team", "api", ()), ("default", "db", ("5432", "pg"))]


def test_backend_services_serve_endpoints_without_a_redirect():
    obj = make([hcm_listener()], spec={"backendServices": [{"name": "db"}, {"name": "cache", "namespace": "infra"}]})
    out = run(obj)
    assert out.redirects == {}
    assert [(r.namespace, r.name, r.field) for r in out.services] == [
        ("shop", "db", "spec.backendServices[0]"), ("infra", "cache", "spec.backendServices[1]")]


def test_service_ports_must_be_port_numbers():
    with pytest.raises(ManifestError, match="expected a port number") as info:
        run(make([hcm_listener()], spec={"services": [{"name": "web", "ports": ["http"]}]}))
    assert "spec.services[0].ports[0]" in str(info.value)


def test_a_config_without_namespace_is_in_default():
    out = run(make([hcm_listener()], namespace=None, spec={"services": [{"name": "web"}]}))
    assert set(out.resources[LISTENER]) == {"default/cfg/front"}
    assert out.redirects == {("default", "web"): "default/cfg/front"}
    assert any("no metadata.namespace" in n for n in out.notes)


def test_configs_may_share_an_identical_service_cluster_but_not_a_different_one():
    one = make([eds_cluster("shop/web")], name="one")
    same = make([eds_cluster("shop/web")], name="two")
    other = make([eds_cluster("shop/web", connect_timeout="9s")], name="three")
    assert set(translate_configs([one, same], [], ads_config_source).resources[CLUSTER]) == {"shop/web"}
    with pytest.raises(ManifestError, match="also defined, differently"):
        translate_configs([one, other], [], ads_config_source)


def policy(kind="CiliumNetworkPolicy", namespace="shop", config_kind="CiliumEnvoyConfig", listener="front"):
    return K8sObject({"apiVersion": "cilium.io/v2", "kind": kind, "metadata": {"name": "p", "namespace": namespace},
                      "spec": {"egress": [{"toPorts": [{"ports": [{"port": "80"}], "listener": {
                          "envoyConfig": {"kind": config_kind, "name": "cfg"}, "name": listener}}]}]}},
                     Path("policy.yaml"), 1)


def test_policy_listener_references_are_qualified_like_the_agent_does():
    assert set(policy_listeners([policy()])) == {"shop/cfg/front"}
    assert set(policy_listeners([policy(listener="other/front")])) == {"shop/cfg/other/front"}  # ForceNamespace
    assert set(policy_listeners([policy(config_kind="CiliumClusterwideEnvoyConfig")])) == {"/cfg/front"}
    with pytest.raises(ManifestError, match="can not use Kind CiliumEnvoyConfig"):
        policy_listeners([policy(kind="CiliumClusterwideNetworkPolicy", namespace="")])


def test_a_listener_a_policy_redirects_to_gets_the_original_destination_back():
    out = translate_configs([make([hcm_listener()])], [policy()], ads_config_source)
    assert [f["name"] for f in resource(out, LISTENER, "shop/cfg/front")["listener_filters"]] == [ORIGINAL_DST]


# ---- the scenario manifests ------------------------------------------------------------------------------------
def test_ccec_names_match_the_labs_envoy_admin_listing():
    (config,) = load_manifest_set("circuit-breaker").envoy_configs()
    out = translate(config, ads_config_source, allocate_port=lambda name: 11326)
    assert set(out.resources[LISTENER]) == {"/envoy-circuit-breaker/envoy-lb-listener"}
    assert set(out.resources[ROUTE]) == {"/envoy-circuit-breaker/lb_route"}
    assert set(out.resources[CLUSTER]) == {"circuit-break/echo-service"}
    assert out.redirects == {("circuit-break", "echo-service"): "/envoy-circuit-breaker/envoy-lb-listener"}
    # the manifest's own circuit breaker, not the agent's defaults
    assert resource(out, CLUSTER, "circuit-break/echo-service")["circuit_breakers"]["thresholds"][0][
        "max_requests"] == 2


def test_grpc_operator_names_are_kept():
    (config,) = load_manifest_set("grpc-lb").envoy_configs()
    out = translate(config, ads_config_source, allocate_port=lambda name: 20000)
    assert set(out.resources[LISTENER]) == set(out.resources[ROUTE]) == set(out.resources[CLUSTER]) == {
        "grpc/currencyservice"}



def test_weighted_lb_backend_services_are_not_redirected():
    # backendServices: the agent serves their endpoints over EDS and registers no Service redirect
    # (pkg/ciliumenvoyconfig/cec_manager.go: addK8sServiceRedirects reads spec.services only).
    scenario = load_manifest_set("weighted-lb", MANIFESTS_DIR)
    out = translate_configs(scenario.envoy_configs(), scenario.objects, ads_config_source, placeholder_port)
    assert {(r.namespace, r.name) for r in out.services} >= {("exam", "deathstar"), ("exam", "darkstar")}
    assert ("exam", "deathstar") not in out.redirects, out.redirects
    assert ("exam", "darkstar") not in out.redirects, out.redirects
