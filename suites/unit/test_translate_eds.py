"""Which endpoint (EDS) names the agent publishes for referenced Services (l7suite/cilium/eds_names.py), and what
the envoy tier serves from them, on configs and Services written for the test. Upstream:
pkg/ciliumenvoyconfig/controller.go computeLoadAssignments, testdata/backendservices.txtar."""

from pathlib import Path

from l7suite.cilium.cec_translation import translate_configs
from l7suite.cilium.eds_names import ANY_PORT, Published, explain_unserved, port_matches, published_names
from l7suite.envoy.envoy_run import EnvoyRun
from l7suite.envoy.resources import ENDPOINTS, message_class, to_dict
from l7suite.envoy.xds_server import ads_config_source
from l7suite.manifests import K8sObject, ManifestSet
from l7suite.standins.registry import standins
from suites.unit.cec_builders import eds_cluster, hcm_listener, make


def refs(spec, namespace="shop", name="cfg"):
    return translate_configs([make([hcm_listener()], namespace=namespace, name=name, spec=spec)], [],
                             ads_config_source).services


def test_a_service_without_port_filter_is_published_as_ns_svc_and_ns_svc_any_port():
    assert published_names(refs({"services": [{"name": "web"}]})) == {
        "shop/web:*": Published("shop", "web", ANY_PORT), "shop/web": Published("shop", "web", ANY_PORT)}


def test_port_filters_publish_port_qualified_names_only():
    names = published_names(refs({"services": [{"name": "web", "ports": [8080]}],
                                  "backendServices": [{"name": "db", "number": ["5432", "pg"]}]}))
    assert names == {"shop/web:8080": Published("shop", "web", "8080"),
                     "shop/db:5432": Published("shop", "db", "5432"), "shop/db:pg": Published("shop", "db", "pg")}


def test_one_config_naming_a_port_turns_the_plain_name_off_for_all():
    both = [*refs({"backendServices": [{"name": "web"}]}, name="a"),
            *refs({"backendServices": [{"name": "web", "number": ["80"]}]}, name="b")]
    assert set(published_names(both)) == {"shop/web:80"}


def service(ports, namespace="shop", name="web"):
    return K8sObject({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                      "spec": {"selector": {"app": name}, "ports": ports}}, Path("svc.yaml"), 1)


def test_a_filter_picks_a_service_port_by_number_or_by_name():
    svc = service([{"name": "http", "port": 8080, "targetPort": 9090}, {"port": 25}])
    assert [port_matches(svc, p) for p in ("8080", "http", "25", "9090", "smtp", ANY_PORT)] == [
        True, True, True, False, False, True]


def test_unserved_names_are_explained():
    no_ports = refs({"services": [{"name": "echo-service"}]}, namespace="default")
    assert explain_unserved("default/echo-service:8080", no_ports) == (
        "Service default/echo-service: no config names a port of it, so the agent publishes default/echo-service, "
        "default/echo-service:*; name the port (spec.services[].ports: [8080] or "
        "spec.backendServices[].number: [\"8080\"])")
    with_port = refs({"services": [{"name": "echo-service", "ports": [8080]}]}, namespace="default")
    assert explain_unserved("default/echo-service", with_port) == (
        "Service default/echo-service: its configs name port(s) 8080, so the agent publishes "
        "default/echo-service:8080; ask for one of those names, or name no ports")
    assert explain_unserved("default/other", no_ports).startswith(
        "no config lists Service default/other in spec.services or spec.backendServices")
    assert "is not a Service name" in explain_unserved("shop/cfg/local", no_ports)


def served_endpoints(objects, tmp_path) -> dict[str, dict]:
    """What the envoy tier serves over EDS for these objects, without stand-in pods (as `l7suite check`)."""
    scenario = ManifestSet("test", tmp_path, objects)
    run = EnvoyRun(scenario, Path("/nonexistent/envoy"), tmp_path, start_backends=False)
    run.apply(translate_configs(scenario.envoy_configs(), objects, ads_config_source))
    out = {}
    for name, packed in run.ads._resources.get(ENDPOINTS, {}).items():
        cla = message_class("envoy.config.endpoint.v3.ClusterLoadAssignment")()
        packed.Unpack(cla)
        out[name] = to_dict(cla)
    return out


def test_the_tier_serves_the_published_names_the_services_ports_allow(tmp_path):
    config = make([hcm_listener(), eds_cluster("echo", eds_cluster_config={"service_name": "default/echo:8080"})],
                  namespace="default", spec={"services": [{"name": "echo", "ports": [8080, 9999]}],
                                             "backendServices": [{"name": "db", "number": ["pg"]}]})
    served = served_endpoints([config, service([{"name": "http", "port": 8080}], namespace="default", name="echo")],
                              tmp_path)
    # 9999 is no port of Service default/echo: nothing; Service default/db is not in the files: taken to exist,
    # with no endpoints (no pods run)
    assert served == {"default/echo:8080": {"cluster_name": "default/echo:8080"},
                      "default/db:pg": {"cluster_name": "default/db:pg"}}


def test_a_configs_own_endpoint_assignment_is_served_as_written(tmp_path):
    endpoint = {"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}}
    cla = {"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "cluster_name": "shop/web",
           "endpoints": [{"lb_endpoints": [endpoint]}]}
    config = make([hcm_listener(), cla], spec={"backendServices": [{"name": "web"}]})
    served = served_endpoints([config], tmp_path)
    assert served == {"shop/web": {"cluster_name": "shop/web", "endpoints": [{"lb_endpoints": [endpoint]}]},
                      "shop/web:*": {"cluster_name": "shop/web:*"}}


class FakePod:
    """A stand-in that starts nothing: its address is made up from its pod name."""

    def __init__(self, name):
        self.name, self.address = name, f"127.0.0.{len(name) % 200 + 2}:9000"

    def start(self):
        return self

    def stop(self):
        pass


def test_a_port_qualified_name_gets_the_stand_ins_of_the_services_pods(tmp_path, monkeypatch):
    monkeypatch.setitem(standins(), "example.com/fake", FakePod)
    deployment = K8sObject({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo",
                                                                                      "namespace": "shop"},
                            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "echo"}}, "spec": {
                                "containers": [{"name": "c", "image": "example.com/fake:1"}]}}}}, Path("w.yaml"), 1)
    svc = service([{"name": "http", "port": 8080}], name="echo")
    svc.data["spec"]["selector"] = {"app": "echo"}
    config = make([hcm_listener(), eds_cluster("echo", eds_cluster_config={"service_name": "shop/echo:8080"})],
                  spec={"backendServices": [{"name": "echo", "number": ["8080"]}]})
    scenario = ManifestSet("test", tmp_path, [config, svc, deployment])
    run = EnvoyRun(scenario, Path("/nonexistent/envoy"), tmp_path)
    try:
        run.apply(translate_configs([config], scenario.objects, ads_config_source))
        packed = run.ads._resources[ENDPOINTS]
        assert set(packed) == {"shop/echo:8080"}
        cla = message_class("envoy.config.endpoint.v3.ClusterLoadAssignment")()
        packed["shop/echo:8080"].Unpack(cla)
        hosts = [f"{e.endpoint.address.socket_address.address}:{e.endpoint.address.socket_address.port_value}"
                 for e in cla.endpoints[0].lb_endpoints]
        assert hosts == [b.address for b in run.backends("shop", "echo")] and len(hosts) == 2
    finally:
        run.stop()
