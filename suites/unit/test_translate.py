"""The agent's CEC translation, rule by rule (l7suite/cilium/cec_translation.py lists each rule and its upstream file),
each on a config written for the test (services and policy listeners: test_translate_services.py)."""


import pytest

from l7suite.cilium.qualified_names import qualify
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SECRET
from l7suite.manifests import ManifestError
from suites.unit.cec_builders import (
    ADS_SOURCE,
    CLA_T,
    CLUSTER_T,
    HCM_T,
    LISTENER_T,
    ROUTE_T,
    ROUTER,
    TCP_T,
    eds_cluster,
    first_filter,
    hcm_listener,
    make,
    resource,
    run,
)


# ---- names ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("namespace, name, force, expected", [
    ("shop", "front", False, "shop/cfg/front"),
    ("shop", "other/svc", False, "other/svc"),  # a Service reference stays as written
    ("shop", "other/svc", True, "shop/cfg/other/svc"),  # ForceNamespace: not this namespace: prefixed
    ("shop", "shop/front", True, "shop/front"),  # ForceNamespace: this namespace: kept
    ("", "front", False, "/cfg/front"),  # a clusterwide config has an empty namespace
    ("", "/cfg/front", True, "/cfg/front"),
    ("shop", "", True, ""),  # an empty name stays empty (no fake name for an invalid config)
])
def test_qualify_is_resource_qualified_name(namespace, name, force, expected):
    assert qualify(namespace, "cfg", name, force) == expected


def test_listener_route_and_virtual_host_names_use_force_namespace():
    obj = make([hcm_listener("other/front", route="other/routes"),
                {"@type": ROUTE_T, "name": "other/routes",
                 "virtual_hosts": [{"name": "other/vh", "domains": ["*"]}, {"name": "shop/vh2", "domains": ["a"]}]}])
    out = run(obj)
    assert set(out.resources[LISTENER]) == {"shop/cfg/other/front"}
    assert first_filter(resource(out, LISTENER, "shop/cfg/other/front"))["rds"]["route_config_name"] == \
        "shop/cfg/other/routes"
    route = resource(out, ROUTE, "shop/cfg/other/routes")
    assert [v["name"] for v in route["virtual_hosts"]] == ["shop/cfg/other/vh", "shop/vh2"]


def test_cluster_references_keep_service_names_and_qualify_local_ones():
    route = {"@type": ROUTE_T, "name": "routes", "virtual_hosts": [{"name": "vh", "domains": ["*"], "routes": [
        {"match": {"prefix": "/a"}, "route": {"cluster": "local", "request_mirror_policies": [
            {"cluster": "mirror"}, {"cluster": "other/mirror-svc"}]}},
        {"match": {"prefix": "/b"}, "route": {"weighted_clusters": {"clusters": [
            {"name": "other/svc", "weight": 80}, {"name": "canary", "weight": 20}]},
            "retry_policy": {"retry_on": "5xx", "num_retries": 3}}}]}]}
    tcp = {"@type": LISTENER_T, "name": "tcp", "filter_chains": [
        {"filters": [{"name": "t", "typed_config": {"@type": TCP_T, "stat_prefix": "t", "cluster": "db"}}]},
        {"filters": [{"name": "t", "typed_config": {"@type": TCP_T, "stat_prefix": "t", "weighted_clusters": {
            "clusters": [{"name": "db", "weight": 1}, {"name": "other/db", "weight": 1}]}}}]}]}
    out = run(make([route, tcp, eds_cluster("local"), eds_cluster("other/svc")]))
    routes = resource(out, ROUTE, "shop/cfg/routes")["virtual_hosts"][0]["routes"]
    assert routes[0]["route"]["cluster"] == "shop/cfg/local"
    assert [m["cluster"] for m in routes[0]["route"]["request_mirror_policies"]] == [
        "shop/cfg/mirror", "other/mirror-svc"]
    assert [c["name"] for c in routes[1]["route"]["weighted_clusters"]["clusters"]] == ["other/svc", "shop/cfg/canary"]
    chains = resource(out, LISTENER, "shop/cfg/tcp")["filter_chains"]
    assert chains[0]["filters"][0]["typed_config"]["cluster"] == "shop/cfg/db"
    assert [c["name"] for c in chains[1]["filters"][0]["typed_config"]["weighted_clusters"]["clusters"]] == [
        "shop/cfg/db", "other/db"]
    assert set(out.resources[CLUSTER]) == {"shop/cfg/local", "other/svc"}


def test_health_check_filter_cluster_names_are_qualified():
    health = {"name": "envoy.filters.http.health_check", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
        "pass_through_mode": False,
        "cluster_min_healthy_percentages": {"local": {"value": 50}, "other/svc": {"value": 25}}}}
    out = run(make([hcm_listener(http_filters=[health, ROUTER])]))
    filters = first_filter(resource(out, LISTENER, "shop/cfg/front"))["http_filters"]
    assert filters[0]["typed_config"]["cluster_min_healthy_percentages"] == {
        "shop/cfg/local": {"value": 50.0}, "other/svc": {"value": 25.0}}


def test_only_the_first_hcm_of_a_chain_and_no_default_filter_chain_are_rewritten():
    hcm = {"@type": HCM_T, "stat_prefix": "x", "rds": {"route_config_name": "r"}, "http_filters": [ROUTER]}
    chain = {"filters": [{"name": "a", "typed_config": hcm}, {"name": "b", "typed_config": hcm}]}
    listener = {"@type": LISTENER_T, "name": "front", "filter_chains": [chain],
                "default_filter_chain": {"filters": [{"name": "c", "typed_config": hcm}]}}
    out = run(make([listener]))
    got = resource(out, LISTENER, "shop/cfg/front")
    chain = got["filter_chains"][0]["filters"]
    assert chain[0]["typed_config"]["rds"] == {"route_config_name": "shop/cfg/r", "config_source": ADS_SOURCE}
    assert chain[1]["typed_config"]["rds"] == {"route_config_name": "r"}
    assert got["default_filter_chain"]["filters"][0]["typed_config"]["rds"] == {"route_config_name": "r"}


def test_sds_secrets_are_qualified_and_their_config_source_filled():
    sds = {"name": "cert"}
    downstream = {"name": "tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "common_tls_context": {"tls_certificate_sds_secret_configs": [sds, {"name": "other/cert"}]}}}
    upstream = {"name": "tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {"validation_context_sds_secret_config": {"name": "ca"}}}}
    listener = hcm_listener()
    listener["filter_chains"][0]["transport_socket"] = downstream
    secret = {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "name": "cert",
              "generic_secret": {"secret": {"inline_string": "x"}}}
    out = run(make([listener, eds_cluster("up", transport_socket=upstream), secret]))
    common = resource(out, LISTENER, "shop/cfg/front")["filter_chains"][0]["transport_socket"]["typed_config"][
        "common_tls_context"]
    assert common["tls_certificate_sds_secret_configs"] == [
        {"name": "shop/cfg/cert", "sds_config": ADS_SOURCE}, {"name": "other/cert", "sds_config": ADS_SOURCE}]
    cluster_ctx = resource(out, CLUSTER, "shop/cfg/up")["transport_socket"]["typed_config"]["common_tls_context"]
    assert cluster_ctx["validation_context_sds_secret_config"] == {"name": "shop/cfg/ca", "sds_config": ADS_SOURCE}
    assert set(out.resources[SECRET]) == {"shop/cfg/cert"}


def internal_cla(cluster_name, listener):
    return {"cluster_name": cluster_name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
        "envoy_internal_address": {"server_listener_name": listener}}}}]}]}


def test_endpoint_assignments_and_internal_listener_addresses_are_qualified():
    internal = {"@type": LISTENER_T, "name": "inner", "internal_listener": {}, "filter_chains": [
        {"filters": [{"name": "t", "typed_config": {"@type": TCP_T, "stat_prefix": "t", "cluster": "x"}}]}]}
    static = {"@type": CLUSTER_T, "name": "to-inner", "type": "STATIC", "connect_timeout": "1s",
              "load_assignment": internal_cla("to-inner", "inner")}
    cla = {"@type": CLA_T, **internal_cla("eds-inner", "inner")}
    out = run(make([internal, static, cla]))
    assert set(out.resources[ENDPOINTS]) == {"shop/cfg/eds-inner"}
    address = resource(out, CLUSTER, "shop/cfg/to-inner")["load_assignment"]
    assert address["cluster_name"] == "shop/cfg/to-inner"
    assert address["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] == {
        "envoy_internal_address": {"server_listener_name": "shop/cfg/inner"}}
    assert "address" not in resource(out, LISTENER, "shop/cfg/inner")  # an internal listener gets no port
    assert out.listener_ports == {}


def test_internal_address_naming_no_internal_listener_of_the_config_is_refused():
    static = {"@type": CLUSTER_T, "name": "to-inner", "type": "STATIC", "connect_timeout": "1s",
              "load_assignment": internal_cla("to-inner", "missing")}
    with pytest.raises(ManifestError, match="missing internal listener 'missing'") as info:
        run(make([hcm_listener(), static]))
    assert "my-cec.yaml" in str(info.value)
    # another config's internal listener is that config's business
    run(make([{**static, "load_assignment": internal_cla("to-inner", "shop/other-cfg/inner")}]))


# ---- what the agent fills in -----------------------------------------------------------------------------
def test_unset_config_sources_point_at_the_agent_with_its_fetch_timeout():
    own = {"api_config_source": {"api_type": "GRPC", "grpc_services": [{"envoy_grpc": {"cluster_name": "mine"}}]}}
    out = run(make([hcm_listener(), eds_cluster("a"), eds_cluster("b", eds_cluster_config={"eds_config": own}),
                    {"@type": CLUSTER_T, "name": "c", "type": "STRICT_DNS", "connect_timeout": "1s"}]))
    assert first_filter(resource(out, LISTENER, "shop/cfg/front"))["rds"]["config_source"] == ADS_SOURCE
    assert resource(out, CLUSTER, "shop/cfg/a")["eds_cluster_config"] == {"eds_config": ADS_SOURCE}
    assert resource(out, CLUSTER, "shop/cfg/b")["eds_cluster_config"] == {"eds_config": own}
    assert "eds_cluster_config" not in resource(out, CLUSTER, "shop/cfg/c")
    assert out.eds_names == {"shop/cfg/a": "shop/cfg/a", "shop/cfg/b": "shop/cfg/b"}


def test_circuit_breaker_defaults_of_the_agent_flags_fill_a_cluster_that_sets_none():
    mine = {"thresholds": [{"priority": "DEFAULT", "max_requests": 2, "max_pending_requests": 1}]}
    out = run(make([eds_cluster("plain"), eds_cluster("mine", circuit_breakers=mine),
                    eds_cluster("empty", circuit_breakers={})]))
    # --proxy-max-concurrent-retries 128, --proxy-cluster-max-connections 1024, --proxy-cluster-max-requests 1024
    assert resource(out, CLUSTER, "shop/cfg/plain")["circuit_breakers"] == {"thresholds": [
        {"max_retries": 128, "max_connections": 1024, "max_requests": 1024}]}
    assert resource(out, CLUSTER, "shop/cfg/mine")["circuit_breakers"] == {"thresholds": [
        {"max_requests": 2, "max_pending_requests": 1}]}  # priority DEFAULT is the enum's zero
    assert resource(out, CLUSTER, "shop/cfg/empty")["circuit_breakers"] == {}


def test_listener_without_address_gets_a_loopback_port_and_one_with_an_address_keeps_it():
    fixed = {**hcm_listener("fixed"), "address": {"socket_address": {"address": "0.0.0.0", "port_value": 10000}}}
    out = run(make([hcm_listener(), fixed]), port=15000)
    assert resource(out, LISTENER, "shop/cfg/front")["address"] == {
        "socket_address": {"address": "127.0.0.1", "port_value": 15000}}
    assert out.listener_ports == {"shop/cfg/front": 15000, "shop/cfg/fixed": 10000}


HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
CODEC = {"name": "envoy.filters.http.upstream_codec",
         "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}}


def protocol_options(out, name):
    return resource(out, CLUSTER, name).get("typed_extension_protocol_options", {}).get(HPO)


def test_clusters_of_a_config_with_services_get_the_agents_upstream_protocol_options():
    tls = {"name": "tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"}}
    explicit = {HPO: {"@type": f"type.googleapis.com/{HPO}", "explicit_http_config": {"http_protocol_options": {}}}}
    resources = [hcm_listener(), eds_cluster("plain"), eds_cluster("tls", transport_socket=tls),
                 eds_cluster("explicit", typed_extension_protocol_options=explicit)]
    out = run(make(resources, spec={"services": [{"name": "web"}]}))
    assert protocol_options(out, "shop/cfg/plain") == {
        "@type": f"type.googleapis.com/{HPO}", "use_downstream_protocol_config": {"http2_protocol_options": {}},
        "http_filters": [CODEC]}
    assert protocol_options(out, "shop/cfg/tls")["auto_config"] == {}
    assert protocol_options(out, "shop/cfg/explicit") == {
        "@type": f"type.googleapis.com/{HPO}", "explicit_http_config": {"http_protocol_options": {}},
        "http_filters": [CODEC]}
    # without services (and without the annotation) nothing is injected; the annotation decides first
    assert protocol_options(run(make(resources)), "shop/cfg/plain") is None
    annotated = make(resources, spec={"services": [{"name": "web"}]},
                     metadata={"annotations": {"cec.cilium.io/inject-cilium-filters": "false"}})
    assert protocol_options(run(annotated), "shop/cfg/plain") is None


def test_upstream_filter_after_the_codec_is_refused_as_the_agent_does():
    options = {HPO: {"@type": f"type.googleapis.com/{HPO}", "http_filters": [CODEC, CODEC]}}
    with pytest.raises(ManifestError, match="after the upstream codec filter"):
        run(make([hcm_listener(), eds_cluster("c", typed_extension_protocol_options=options)],
                 spec={"services": [{"name": "web"}]}))


# ---- what the agent refuses --------------------------------------------------------------------------------
# ---- services, backendServices, namespaces ---------------------------------------------------------------------
