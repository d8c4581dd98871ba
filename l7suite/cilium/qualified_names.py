"""How the Cilium agent names the Envoy resources of a CiliumEnvoyConfig (pkg/policy/api/utils.go
ResourceQualifiedName; pkg/ciliumenvoyconfig/cec_resource_parser.go):

- a name without `/` becomes `<namespace>/<config>/<name>`; a CCEC's namespace is empty (`/<ccec>/<name>`);
  an empty name stays empty;
- Listener names, RouteConfiguration names (resources, inline `route_config`, `rds.route_config_name`) and
  virtual host names are qualified with ForceNamespace: a name with `/` is kept only when its first part is
  the config's namespace (`grpc/currencyservice` in namespace grpc), otherwise it is prefixed too;
- Cluster names and the references to clusters (route `cluster`, `weighted_clusters`, `request_mirror_policies`,
  tcp_proxy `cluster` and `weighted_clusters`, the HealthCheck HTTP filter's `cluster_min_healthy_percentages`
  keys), Secret names and SDS secret references (listener filter-chain and cluster TLS contexts),
  ClusterLoadAssignment `cluster_name`s (resources and a cluster's `load_assignment`) and internal-listener
  addresses (`envoy_internal_address.server_listener_name`) keep a name with `/` as written (a Service);
- a network policy's `toPorts[].listener` reference is qualified with ForceNamespace in the policy's
  namespace, or the empty one for `kind: CiliumClusterwideEnvoyConfig` (pkg/policy/l4.go).
"""

from __future__ import annotations


def qualify(namespace: str, config_name: str, name: str, force: bool = False) -> str:
    """The agent's ResourceQualifiedName; `force` is its ForceNamespace option."""
    slash = name.find("/")
    if not name or (slash >= 0 and (not force or name.split("/", 1)[0] == namespace)):
        return name
    return f"{namespace}/{config_name}/{name}"
