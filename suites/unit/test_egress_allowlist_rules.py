"""The egress allowlist control plane's output (no Envoy)."""

import pytest

from l7suite.envoy.resources import CLUSTER, LISTENER, to_dict
from l7suite.manifests import ManifestError, load_manifest_set
from l7suite.scenarios.egress_allowlist import LISTENER_NAME, STAT_PREFIX, allowlist_from, allowlist_resources


def test_allowlist_is_read_from_the_manifest():
    assert allowlist_from(load_manifest_set("egress-allowlist")) == ["api.github.com", "objects.githubusercontent.com"]


def test_one_sni_filter_chain_and_one_cluster_per_name():
    out = allowlist_resources({"b.example": "127.0.0.1:2", "a.example": "127.0.0.1:1"}, 15001)
    listener = to_dict(out[LISTENER][LISTENER_NAME])
    assert listener["stat_prefix"] == STAT_PREFIX
    assert [f["name"] for f in listener["listener_filters"]] == ["envoy.filters.listener.tls_inspector"]
    matches = [c["filter_chain_match"] for c in listener["filter_chains"]]
    assert matches == [{"server_names": ["a.example"], "transport_protocol": "tls"},
                       {"server_names": ["b.example"], "transport_protocol": "tls"}]
    assert "default_filter_chain" not in listener  # no match -> refused
    assert set(out[CLUSTER]) == {"egress/a.example", "egress/b.example"}
    endpoint = to_dict(out[CLUSTER]["egress/a.example"])["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 1}


def test_an_empty_allowlist_names_file_and_field(tmp_path):
    (tmp_path / "egress-allowlist").mkdir()
    (tmp_path / "egress-allowlist" / "allowlist.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: egress-allowlist, namespace: egress}\ndata: {allowed: ''}\n")
    with pytest.raises(ManifestError, match=r"allowlist.yaml .*data.allowed: the allowlist is empty"):
        allowlist_from(load_manifest_set("egress-allowlist", tmp_path))
