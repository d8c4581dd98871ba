"""Cilium-style translation of CEC/CCEC resources (names as the agent qualifies them)."""

from l7suite.envoy_resources import CLUSTER, LISTENER, ROUTE, to_dict
from l7suite.envoy_tier import ads_config_source
from l7suite.manifests import load_scenario
from l7suite.translate import qualify, translate


def test_qualify():
    assert qualify("exam", "deathstar-lb", "lb-listener") == "exam/deathstar-lb/lb-listener"
    assert qualify("", "envoy-circuit-breaker", "lb_route") == "/envoy-circuit-breaker/lb_route"
    assert qualify("grpc", "cilium-envoy-lb-currencyservice", "grpc/currencyservice") == "grpc/currencyservice"


def test_ccec_names_match_the_labs_envoy_admin_listing():
    (config,) = load_scenario("circuit-breaker").envoy_configs()
    out = translate(config, ads_config_source, allocate_port=lambda: 11326)
    assert set(out.resources[LISTENER]) == {"/envoy-circuit-breaker/envoy-lb-listener"}
    assert set(out.resources[ROUTE]) == {"/envoy-circuit-breaker/lb_route"}
    assert set(out.resources[CLUSTER]) == {"circuit-break/echo-service"}
    assert out.service_clusters == {"circuit-break/echo-service": ("circuit-break", "echo-service")}
    assert out.redirects == {("circuit-break", "echo-service"): "/envoy-circuit-breaker/envoy-lb-listener"}


def test_references_and_config_sources_are_filled():
    (config,) = load_scenario("weighted-lb").envoy_configs()
    out = translate(config, ads_config_source, allocate_port=lambda: 20000)
    listener = to_dict(out.resources[LISTENER]["exam/deathstar-lb/lb-listener"])
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["rds"] == {"route_config_name": "exam/deathstar-lb/lb_route",
                          "config_source": {"ads": {}, "resource_api_version": "V3"}}
    assert listener["address"] == {"socket_address": {"address": "127.0.0.1", "port_value": 20000}}
    route = to_dict(out.resources[ROUTE]["exam/deathstar-lb/lb_route"])
    weights = route["virtual_hosts"][0]["routes"][0]["route"]["weighted_clusters"]["clusters"]
    assert [(c["name"], c["weight"]) for c in weights] == [("exam/deathstar", 80), ("exam/darkstar", 20)]
    cluster = to_dict(out.resources[CLUSTER]["exam/deathstar"])
    assert cluster["eds_cluster_config"] == {"eds_config": {"ads": {}, "resource_api_version": "V3"}}
