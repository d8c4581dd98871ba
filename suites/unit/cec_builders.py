"""Builders of CiliumEnvoyConfigs for unit tests of the translation and of `l7suite check`."""

from pathlib import Path

from l7suite.cilium.cec_translation import translate
from l7suite.envoy.resources import to_dict
from l7suite.envoy.xds_server import ads_config_source
from l7suite.manifests import K8sObject, check_object

LISTENER_T = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE_T = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
CLUSTER_T = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
CLA_T = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
HCM_T = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_T = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
ADS_SOURCE = {"ads": {}, "resource_api_version": "V3", "initial_fetch_timeout": "30s"}


def make(resources, kind="CiliumEnvoyConfig", namespace="shop", name="cfg", spec=None, metadata=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **(metadata or {})}
    obj = K8sObject({"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta,
                     "spec": {"resources": resources, **(spec or {})}}, Path("my-cec.yaml"), 1)
    check_object(obj)
    return obj


def run(obj, port=20000):
    return translate(obj, ads_config_source, allocate_port=lambda name: port)


def hcm_listener(name="front", route="routes", filters=None, **hcm):
    return {"@type": LISTENER_T, "name": name, "filter_chains": [{"filters": filters or [
        {"name": "hcm", "typed_config": {"@type": HCM_T, "stat_prefix": "x", "rds": {"route_config_name": route},
                                         "http_filters": [ROUTER], **hcm}}]}]}


def eds_cluster(name, **fields):
    return {"@type": CLUSTER_T, "name": name, "type": "EDS", "connect_timeout": "1s", **fields}


def resource(out, type_url, name):
    return to_dict(out.resources[type_url][name])


def first_filter(listener):
    return listener["filter_chains"][0]["filters"][0]["typed_config"]
