"""The CEC subset comparison on the lab's two real outputs (seed 004) and on variants made from them."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from l7suite import MANIFESTS_DIR
from l7suite.cluster.cec_compare import Difference, camel, compare_specs, render, subset_differences
from l7suite.manifests import load_manifest_set

DATA = Path(__file__).parent / "data"
LB_POLICY = "spec.resources[Cluster grpc/currencyservice].lbPolicy"


def seed(name: str) -> dict:
    return {"spec": yaml.safe_load((DATA / name).read_text())}


def reference() -> dict:
    cec = load_manifest_set("grpc-lb", MANIFESTS_DIR).get("CiliumEnvoyConfig", "grpc",
                                                         "cilium-envoy-lb-currencyservice")
    assert cec is not None
    return cec.data


def test_reference_matches_the_least_request_output_exactly():
    assert compare_specs(reference(), seed("seed_cec_lb_l7_least_request.yaml")) == []


def test_lb_l7_output_differs_only_by_lb_policy():
    assert compare_specs(reference(), seed("seed_cec_lb_l7_enabled.yaml")) == [
        Difference(LB_POLICY, "missing", "LEAST_REQUEST")]
    assert compare_specs(reference(), seed("seed_cec_lb_l7_enabled.yaml"), ignore=[LB_POLICY]) == []


def test_every_difference_is_named_not_just_the_first():
    actual = seed("seed_cec_lb_l7_least_request.yaml")
    resources = actual["spec"]["resources"]
    resources[2]["connectTimeout"] = "2s"
    del resources[0]["listenerFilters"]
    resources[1]["virtualHosts"][0]["domains"] = ["currencyservice"]
    actual["spec"]["services"][0]["namespace"] = "other"
    paths = [d.path for d in compare_specs(reference(), actual)]
    assert paths == [
        "spec.resources[Listener grpc/currencyservice].listenerFilters",
        "spec.resources[RouteConfiguration grpc/currencyservice].virtualHosts[grpc/currencyservice].domains[0]",
        "spec.resources[Cluster grpc/currencyservice].connectTimeout",
        "spec.services[currencyservice].namespace",
    ]


def test_a_missing_resource_is_named_by_its_name():
    ref = reference()
    actual = copy.deepcopy(seed("seed_cec_lb_l7_least_request.yaml"))
    actual["spec"]["resources"] = actual["spec"]["resources"][:2]  # the Cluster is gone
    # listener, route config and cluster share the name grpc/currencyservice: matched by type and name
    differences = compare_specs(ref, actual)
    assert [d.path for d in differences] == ["spec.resources[Cluster grpc/currencyservice]"]
    assert render(differences).startswith("1 difference(s):\n  - spec.resources[Cluster grpc/currencyservice]: missing")


def test_snake_case_reference_and_extra_actual_fields_are_fine():
    snake = {"spec": {"resources": [{"name": "c", "lb_policy": "LEAST_REQUEST",
                                     "outlier_detection": {"consecutive_local_origin_failure": 2}}]}}
    actual = {"spec": {"resources": [{"name": "c", "lbPolicy": "LEAST_REQUEST", "extra": True,
                                      "outlierDetection": {"consecutiveLocalOriginFailure": 2,
                                                           "splitExternalLocalOriginErrors": True}}]}}
    assert compare_specs(snake, actual) == []


def test_type_mismatch_and_values_are_reported():
    diffs = subset_differences({"a": {"b": 1}, "c": [1, 2]}, {"a": "x", "c": [1]})
    assert [str(d) for d in diffs] == ["a: expected a dict, got 'x'", "c[1]: missing (expected 2)"]


def test_camel_case_keeps_type_urls_and_at_type():
    assert [camel(k) for k in ("lb_policy", "@type", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")] == [
        "lbPolicy", "@type", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
