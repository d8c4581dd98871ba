"""How kubectl and the API server name things: kinds, their plural and short names, API groups, which kinds
are cluster-scoped, object keys, label selectors, and the texts kubectl prints about them."""

from __future__ import annotations

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`

CLUSTER_SCOPED = {"Namespace", "Node", "CustomResourceDefinition", "CiliumClusterwideEnvoyConfig",
                  "CiliumClusterwideNetworkPolicy", "ClusterRole", "ClusterRoleBinding"}


# kubectl's resource names: kind, plural, short names (kubectl api-resources)
ALIASES = {
    "Pod": ("pod", "pods", "po"), "Deployment": ("deployment", "deployments", "deploy"),
    "DaemonSet": ("daemonset", "daemonsets", "ds"), "Service": ("service", "services", "svc"),
    "Namespace": ("namespace", "namespaces", "ns"), "Node": ("node", "nodes", "no"),
    "ConfigMap": ("configmap", "configmaps", "cm"), "EndpointSlice": ("endpointslice", "endpointslices"),
    "Event": ("event", "events", "ev"),
    "CustomResourceDefinition": ("customresourcedefinition", "customresourcedefinitions", "crd", "crds"),
    "CiliumEnvoyConfig": ("ciliumenvoyconfig", "ciliumenvoyconfigs", "cec"),
    "CiliumClusterwideEnvoyConfig": ("ciliumclusterwideenvoyconfig", "ciliumclusterwideenvoyconfigs", "ccec"),
    "CiliumNetworkPolicy": ("ciliumnetworkpolicy", "ciliumnetworkpolicies", "cnp"),
    "CiliumClusterwideNetworkPolicy": ("ciliumclusterwidenetworkpolicy", "ciliumclusterwidenetworkpolicies",
                                       "ccnp"),
}
GROUPS = {"Deployment": "apps", "DaemonSet": "apps", "EndpointSlice": "discovery.k8s.io",
          "CustomResourceDefinition": "apiextensions.k8s.io", "CiliumEnvoyConfig": "cilium.io",
          "CiliumClusterwideEnvoyConfig": "cilium.io", "CiliumNetworkPolicy": "cilium.io",
          "CiliumClusterwideNetworkPolicy": "cilium.io"}
PLURALS = {k: v[1] for k, v in ALIASES.items()}
POLICY_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy")


def kind_of(resource: str) -> str:
    name = resource.lower()
    for kind, aliases in ALIASES.items():
        for alias in aliases:
            group = GROUPS.get(kind, "")
            if name in (alias, f"{alias}.{group}") or (group and name.startswith(f"{alias}.{group}")):
                return kind
    raise KeyError(resource)


def printed(kind: str, name: str) -> str:
    """How kubectl names an object in `apply`/`delete` output: `deployment.apps/deathstar`."""
    group = GROUPS.get(kind, "")
    return f"{kind.lower()}{'.' + group if group else ''}/{name}"


def key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{'' if kind in CLUSTER_SCOPED else namespace}/{name}"


def labels_match(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v.lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def namespace_arg(args: list[str]) -> str:
    return flag(args, "-n") or flag(args, "--namespace") or "default"


def not_found(kind: str, name: str) -> str:
    group = GROUPS.get(kind, "")
    return f'Error from server (NotFound): {PLURALS[kind]}{"." + group if group else ""} "{name}" not found\n'
