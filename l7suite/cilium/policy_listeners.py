"""Network policies that send traffic to an Envoy listener (`toPorts[].listener`), as the agent reads them.

- pkg/policy/l4.go qualifies the reference with ForceNamespace in the policy's namespace, or the empty
  namespace for `envoyConfig.kind: CiliumClusterwideEnvoyConfig`; a clusterwide policy cannot use a
  namespaced config (the agent refuses the policy);
- the listener then receives the traffic transparently: cilium.bpf_metadata (cilium-envoy only) makes the
  connection's local address the one the client dialed. Upstream Envoy's original_dst listener filter does
  the same, so such a listener gets it here (`restore_original_destination`);
- a `toFQDNs` rule's `matchPattern`: `*` is any run of DNS characters inside one label (pkg/fqdn/matchpattern:
  allowedDNSCharsREGroup `[-a-zA-Z0-9_]`); a lone `*` matches every name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.message import Message

from l7suite.cilium.qualified_names import qualify
from l7suite.envoy.resources import message_class
from l7suite.manifests import K8sObject, ManifestSet

POLICY_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")
ORIGINAL_DST = "envoy.filters.listener.original_dst"


@dataclass(frozen=True)
class ListenerRef:
    """One `toPorts[]` entry of a policy rule that names a listener."""

    policy: K8sObject
    direction: str  # "egress" | "ingress"
    rule: dict
    to_ports: dict
    where: str  # e.g. `spec.egress[0].toPorts[1]`
    listener: str  # qualified, as Envoy knows it


def listener_refs(objects: list[K8sObject]) -> Iterator[ListenerRef]:
    """Every listener reference of the network policies among `objects`."""
    for policy in (o for o in objects if o.kind in POLICY_KINDS):
        specs = [("spec", policy.spec), *((f"specs[{k}]", s) for k, s in enumerate(policy.data.get("specs") or []))]
        for path, spec in specs:
            for direction in ("egress", "ingress"):
                for i, rule in enumerate(spec.get(direction) or []):
                    for j, to_ports in enumerate(rule.get("toPorts") or []):
                        ref = to_ports.get("listener")
                        if not ref:
                            continue
                        where = f"{path}.{direction}[{i}].toPorts[{j}]"
                        config = ref.get("envoyConfig") or {}
                        kind = config.get("kind") or "CiliumEnvoyConfig"
                        namespace = policy.namespace
                        if kind == "CiliumClusterwideEnvoyConfig":
                            namespace = ""
                        elif not namespace:
                            raise policy.error(f"Listener {ref.get('name')!r} in a clusterwide policy can not use "
                                               "Kind CiliumEnvoyConfig (the agent refuses the policy)",
                                               f"{where}.listener.envoyConfig.kind")
                        name = qualify(namespace, str(config.get("name", "")), str(ref.get("name", "")), force=True)
                        yield ListenerRef(policy, direction, rule, to_ports, where, name)


def policy_listeners(objects: list[K8sObject]) -> dict[str, K8sObject]:
    """Listeners that network policies redirect traffic to: qualified name -> policy."""
    return {ref.listener: ref.policy for ref in listener_refs(objects)}


def restore_original_destination(listener: Message) -> bool:
    """Give a listener that receives transparently redirected traffic Envoy's original_dst listener filter,
    first: the part of cilium.bpf_metadata (cilium-envoy only) that makes the connection's local address
    the one the client dialed, so `%DOWNSTREAM_LOCAL_ADDRESS%` and original-destination clusters see it.
    Returns False if the listener already has it."""
    if any(f.name == ORIGINAL_DST for f in listener.listener_filters):
        return False
    current = list(listener.listener_filters)
    del listener.listener_filters[:]
    added = listener.listener_filters.add(name=ORIGINAL_DST)
    added.typed_config.Pack(message_class("envoy.extensions.filters.listener.original_dst.v3.OriginalDst")())
    listener.listener_filters.extend(current)
    return True


def fqdn_matches(pattern: str, name: str) -> bool:
    """Does a toFQDNs `matchPattern` (or `matchName`) match this DNS name?"""
    pattern, name = pattern.strip().lower().rstrip("."), name.strip().lower().rstrip(".")
    if pattern == "*":
        return bool(name)
    regex = "[-a-z0-9_]*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


@dataclass(frozen=True)
class FqdnRedirect:
    """One egress toFQDNs rule that sends matching traffic to an Envoy listener."""

    policy: K8sObject
    listener: str  # qualified, as Envoy knows it
    ports: tuple[int, ...]
    patterns: tuple[str, ...]

    def names(self, world: dict[str, str]) -> list[str]:
        return sorted(n for n in world if any(fqdn_matches(p, n) for p in self.patterns))


def fqdn_redirects(scenario: ManifestSet) -> list[FqdnRedirect]:
    """The egress rules of the scenario's CiliumNetworkPolicies that redirect toFQDNs traffic to a listener."""
    found = []
    for ref in listener_refs(scenario.of_kind("CiliumNetworkPolicy")):
        if ref.direction != "egress":
            continue
        patterns = tuple(str(f.get("matchPattern") or f.get("matchName")) for f in ref.rule.get("toFQDNs") or [])
        if not patterns:
            raise ref.policy.error("the envoy tier redirects only toFQDNs rules to listeners",
                                   ref.where.rsplit(".toPorts", 1)[0])
        ports = tuple(int(port["port"]) for port in ref.to_ports.get("ports") or []
                      if str(port.get("protocol", "TCP")).upper() in ("TCP", "ANY"))
        if not ports:
            raise ref.policy.error("no TCP port to redirect", f"{ref.where}.ports")
        found.append(FqdnRedirect(ref.policy, ref.listener, ports, patterns))
    return found
