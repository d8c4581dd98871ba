"""A policy's FQDN redirects as nftables rules in a network namespace: what Cilium's datapath does for a pod.

Connections from the pod to the addresses of matching names, on the rule's ports, are REDIRECTed to the
listener's port (Cilium's datapath uses TPROXY; both leave the original destination for Envoy to read,
which its original_dst listener filter does); other world destinations from the pod are dropped, as the
policy denies them.
"""

from __future__ import annotations

NFT_TABLE = "l7suite"
COUNTER_CHAIN = "pod_policy"  # the chain whose counter rule counts what its drop rule drops


def nft_ruleset(pod: str, redirects: list[tuple[list[str], tuple[int, ...], int]], world: list[str]) -> str:
    """nftables rules of the pod's egress: (addresses, ports, listener port) redirected, other world
    addresses dropped."""
    lines = [f"table ip {NFT_TABLE} {{", "  chain pod_redirect {",
             "    type nat hook output priority -100; policy accept;"]
    for addresses, ports, listener_port in redirects:
        if addresses:
            lines.append(f"    ip saddr {pod} ip daddr {{ {', '.join(addresses)} }} "
                         f"tcp dport {{ {', '.join(map(str, ports))} }} redirect to :{listener_port}")
    denied = f"ip saddr {pod} ip daddr {{ {', '.join(world)} }}"
    # The counter rule counts exactly what the drop rule after it drops (redirected packets reach this hook
    # with their new, loopback destination): `dropped_packets()` reads it.
    lines += ["  }", f"  chain {COUNTER_CHAIN} {{", "    type filter hook output priority 0; policy accept;",
              f"    {denied} counter", f"    {denied} drop", "  }", "}", ""]
    return "\n".join(lines)


def replacing(ruleset: str = "") -> str:
    """One atomic nft transaction that removes the suite's table and loads `ruleset` (nothing: just removes
    it). Declaring the table first makes the delete valid when it does not exist."""
    return f"table ip {NFT_TABLE}\ndelete table ip {NFT_TABLE}\n{ruleset}"
