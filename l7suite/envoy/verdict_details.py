"""What a NACK or NO ACK verdict says: which resources Envoy rejected or never took, from which manifest file,
and, for a name Envoy asked for that nobody serves, who asked and why the agent would not serve it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from google.protobuf.message import Message

from l7suite.cilium.cec_resources import HCM
from l7suite.cilium.eds_names import explain_unserved
from l7suite.cilium.translated import Translated
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SHORT, unpack
from l7suite.envoy.xds_events import XdsEvent, XdsNack


def names_in_message(names: list[str], text: str) -> list[str]:
    """The names a message of Envoy's mentions (whole names, not parts of longer ones)."""
    return [n for n in names if re.search(rf"(?<![\w/.:-]){re.escape(n)}(?![\w/.*-]|:[\w*])", text)]


def nack_line(event: XdsEvent) -> str:
    return f"Envoy rejected {SHORT.get(event.type_url, event.type_url)} (NACK): {event.error}"


def nack_lines(event: XdsEvent, translated: Translated) -> list[str]:
    """The NACK and where the resources it names come from (all of that type if it names none)."""
    names = [n for (t, n) in translated.origins if t == event.type_url]
    return [nack_line(event), *translated.origin_lines(event.type_url, names_in_message(names, event.error) or names)]


def nack_report(error: XdsNack, translated: Translated) -> str:
    return "\n".join(line for event in error.events for line in nack_lines(event, translated))


def rds_names(listener: Message) -> list[str]:
    """Route configuration names a listener's HTTP connection managers ask RDS for."""
    found = []
    chains = [*listener.filter_chains, *([listener.default_filter_chain]
                                         if listener.HasField("default_filter_chain") else [])]
    for chain in chains:
        for flt in chain.filters:
            if flt.HasField("typed_config") and flt.typed_config.TypeName() == HCM:
                hcm = unpack(flt.typed_config)
                if hcm.HasField("rds"):
                    found.append(hcm.rds.route_config_name)
    return found


@dataclass
class Pending:
    """What was still missing when a wait ran out: the material of a NO ACK verdict."""

    timeout: float
    unacked: dict[str, list[str]] = field(default_factory=dict)  # type -> names Envoy never acknowledged
    unserved: dict[str, list[str]] = field(default_factory=dict)  # type -> names asked for, served by nobody
    inactive: list[str] = field(default_factory=list)  # listeners acknowledged but never active (warming)


def pending_lines(pending: Pending, translated: Translated) -> list[str]:
    """Lines of a NO ACK report: each unacknowledged or inactive resource and where it comes from, and each
    name Envoy asked for that nobody serves, with who asked and why the agent would not serve it."""
    lines = []
    for type_url, names in pending.unacked.items():
        lines.append(f"never acknowledged: {SHORT.get(type_url, type_url)} {', '.join(names) or '(none asked for)'}")
        lines += translated.origin_lines(type_url, names)
    if pending.inactive:
        lines.append(f"listeners acknowledged but never active (warming): {', '.join(pending.inactive)}")
        lines += translated.origin_lines(LISTENER, pending.inactive)
    for name in pending.unserved.get(ENDPOINTS, []):
        askers = sorted(c for c, eds in translated.eds_names.items() if eds == name)
        lines.append(f"Envoy asked for endpoints (EDS) {name!r} that nobody serves"
                     + (f": cluster(s) {', '.join(askers)} wait for them" if askers else ""))
        lines += translated.origin_lines(CLUSTER, askers)
        lines.append(f"  {explain_unserved(name, translated.services)}")
    for name in pending.unserved.get(ROUTE, []):
        askers = sorted(n for n, lst in translated.resources.get(LISTENER, {}).items() if name in rds_names(lst))
        lines.append(f"Envoy asked for RouteConfiguration {name!r} that nobody serves"
                     + (f": listener(s) {', '.join(askers)} refer to it (route names are qualified like listener "
                        "names)" if askers else ""))
        lines += translated.origin_lines(LISTENER, askers)
    for type_url, names in pending.unserved.items():
        if type_url not in (ENDPOINTS, ROUTE):
            lines.append(f"Envoy asked for {SHORT.get(type_url, type_url)} {', '.join(names)} that nobody serves")
    return lines
