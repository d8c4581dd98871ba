"""What the agent refuses in a CEC, refused here with the agent's own error and the field it names
(l7suite/cilium/cec_translation.py; the rules that rewrite: test_translate.py)."""

from pathlib import Path

import pytest

from l7suite.manifests import K8sObject, ManifestError
from suites.unit.cec_builders import (
    CLA_T,
    CLUSTER_T,
    LISTENER_T,
    ROUTE_T,
    ROUTER,
    eds_cluster,
    hcm_listener,
    make,
    run,
)


# ---- names ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message, field", [
    ({"@type": LISTENER_T}, "unspecified Listener name", "spec.resources[0].name"),
    ({"@type": ROUTE_T}, "unspecified RouteConfiguration name", "spec.resources[0].name"),
    ({"@type": CLUSTER_T}, "unspecified Cluster name", "spec.resources[0].name"),
    ({"@type": CLA_T}, "unspecified ClusterLoadAssignment cluster_name", "spec.resources[0].cluster_name"),
])
def test_unnamed_resources_are_refused_with_the_agents_error(bad, message, field):
    obj = K8sObject({"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig",
                     "metadata": {"name": "cfg", "namespace": "shop"}, "spec": {"resources": [bad]}},
                    Path("my-cec.yaml"), 1)
    with pytest.raises(ManifestError) as info:
        run(obj)
    assert message in str(info.value) and field in str(info.value) and "my-cec.yaml" in str(info.value)


def test_names_equal_after_qualification_are_duplicates():
    with pytest.raises(ManifestError, match="duplicate Listener name 'shop/cfg/front'"):
        run(make([hcm_listener("front"), hcm_listener("shop/cfg/front")]))
    with pytest.raises(ManifestError, match="duplicate Cluster name 'shop/cfg/a'"):
        run(make([eds_cluster("a"), eds_cluster("shop/cfg/a")]))


def test_other_types_and_fields_envoy_does_not_have_are_refused():
    with pytest.raises(ManifestError, match="unsupported type: type.googleapis.com/envoy.config.route.v3.VirtualHost"):
        run(make([{"@type": "type.googleapis.com/envoy.config.route.v3.VirtualHost", "name": "x"}]))
    with pytest.raises(ManifestError, match="connect_timout") as info:
        run(make([{"@type": CLUSTER_T, "name": "a", "connect_timout": "1s"}]))
    assert "Ignoring invalid CiliumEnvoyConfig JSON" in str(info.value)


def test_cilium_envoy_only_types_say_so():
    l7 = {"name": "cilium.l7policy", "typed_config": {"@type": "type.googleapis.com/cilium.L7Policy"}}
    with pytest.raises(ManifestError, match="one of cilium-envoy's own extensions"):
        run(make([hcm_listener(http_filters=[l7, ROUTER])]))
