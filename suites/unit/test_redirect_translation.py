"""Policy redirects without Envoy: which listeners get original_dst, the nftables rules of the
proxy-redirect scenario, Cilium's toFQDNs patterns, and live-update translation keeping listener ports."""

from pathlib import Path

import pytest

from l7suite.cilium.nft_rules import nft_ruleset
from l7suite.cilium.policy_listeners import ORIGINAL_DST, fqdn_matches, fqdn_redirects, policy_listeners
from l7suite.envoy.envoy_run import EnvoyRun, translate_scenario
from l7suite.envoy.resources import LISTENER, ROUTE, to_dict
from l7suite.manifests import load_manifest_set
from l7suite.scenarios.proxy_redirect import PROXY_ADDRESS, WORLD


@pytest.fixture
def proxy_scenario():
    return load_manifest_set("proxy-redirect", variables={"PROXY_ADDRESS": PROXY_ADDRESS})


def test_policy_listeners_are_qualified_like_the_agent_does(proxy_scenario):
    assert set(policy_listeners(proxy_scenario.objects)) == {"proxy/proxy-envoy/proxy-listener"}
    assert set(policy_listeners(load_manifest_set("weighted-lb").objects)) == {"exam/deathstar-lb/lb-listener"}


def test_redirected_listener_gets_original_dst_first_and_tunnels_to_the_dialed_address(proxy_scenario):
    translated = translate_scenario(proxy_scenario)
    listener = to_dict(translated.resources[LISTENER]["proxy/proxy-envoy/proxy-listener"])
    assert [f["name"] for f in listener["listener_filters"]] == [ORIGINAL_DST]
    tcp = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert tcp["cluster"] == "proxy/proxy-envoy/proxy-cluster"
    assert tcp["tunneling_config"]["hostname"] == "%DOWNSTREAM_LOCAL_ADDRESS%"


def test_listeners_no_policy_names_are_left_alone():
    translated = translate_scenario(load_manifest_set("grpc-lb"))
    listener = to_dict(translated.resources[LISTENER]["grpc/currencyservice"])
    assert [f["name"] for f in listener["listener_filters"]] == ["envoy.filters.listener.tls_inspector"]


@pytest.mark.parametrize("pattern, name, matches", [
    ("*.github.com", "api.github.com", True), ("*.github.com", "github.com", False),
    ("*.github.com", "a.b.github.com", False), ("*", "google.com", True), ("google.com", "google.com", True),
    ("*.github.com", "api.github.com.evil.org", False),
    ("allowed-*.proxy.svc.cluster.local", "allowed-web.proxy.svc.cluster.local", True),
    ("allowed-*.proxy.svc.cluster.local", "denied-web.proxy.svc.cluster.local", False),
])
def test_fqdn_patterns(pattern, name, matches):
    assert fqdn_matches(pattern, name) is matches


def test_policy_becomes_a_redirect_of_github_on_80_and_443(proxy_scenario):
    (redirect,) = fqdn_redirects(proxy_scenario)
    assert (redirect.listener, redirect.ports, redirect.names(WORLD)) == (
        "proxy/proxy-envoy/proxy-listener", (80, 443), ["api.github.com"])
    rules = nft_ruleset("192.0.2.10", [(["203.0.113.10"], (80, 443), 15000)], sorted(WORLD.values()))
    assert ("ip saddr 192.0.2.10 ip daddr { 203.0.113.10 } tcp dport { 80, 443 } redirect to :15000" in rules)
    assert "ip saddr 192.0.2.10 ip daddr { 203.0.113.10, 203.0.113.20 } drop" in rules


def test_live_update_keeps_the_listener_and_changes_only_the_route(tmp_path):
    run = EnvoyRun(load_manifest_set("weighted-lb"), Path("/nonexistent/envoy"), tmp_path)
    run.translated = translate_scenario(run.scenario)
    update = run.stage_update("split-50-50")
    name = "exam/deathstar-lb/lb-listener"
    assert update.listener_ports == run.translated.listener_ports
    assert update.resources[LISTENER][name] == run.translated.resources[LISTENER][name]
    route = to_dict(update.resources[ROUTE]["exam/deathstar-lb/lb_route"])
    weights = route["virtual_hosts"][0]["routes"][0]["route"]["weighted_clusters"]["clusters"]
    assert [(c["name"], c["weight"]) for c in weights] == [("exam/deathstar", 50), ("exam/darkstar", 50)]
