"""One scenario on one real Envoy: stand-in backends, the suite's ADS server, Envoy, and their teardown.

    with EnvoyRun(load_manifest_set("weighted-lb"), binary, workdir) as run:
        url = run.url_for_service("exam", "deathstar")   # where Cilium would redirect that Service

Everything started is stopped on exit, whether the body passed, failed or was interrupted. A configuration
Envoy does not take fails with ScenarioConfigError, whose `outcome` is one of the verdicts of
l7suite/envoy/verdicts.py (NACK, NO ACK in N s; a manifest the agent would refuse raises ManifestError: INVALID).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message

from l7suite.cilium.cec_translation import HCM, Translated, policy_listeners, restore_original_destination, translate
from l7suite.cilium.eds_names import explain_unserved, port_matches, published_names
from l7suite.envoy.admin_client import AdminClient
from l7suite.envoy.process import EnvoyProcess
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SHORT, message_class, unpack
from l7suite.envoy.verdicts import Outcome, Verdict
from l7suite.envoy.xds_server import AdsServer, XdsEvent, XdsNack, XdsPending
from l7suite.lifecycle import StartedInWith
from l7suite.manifests import K8sObject, ManifestError, ManifestSet
from l7suite.standins.registry import StandIns

# Values the envoy tier gives the manifests' ${PLACEHOLDERS} when a scenario does not start its own.
DEFAULT_VARIABLES = {"PROXY_ADDRESS": "127.0.0.1"}

# Timeouts of the envoy tier (seconds). Envoy answers a small configuration in well under a second; these
# bound a run that goes wrong, and a NO ACK verdict names the one it waited.
APPLY_TIMEOUT = 15.0  # from pushing a snapshot to every expected ACK and every listener active
LISTENER_ACTIVE_TIMEOUT = 10.0  # wait_listeners' default, for callers that push their own resources
LOG_WARNING_LINES = 8  # Envoy's warnings and errors quoted with a NO ACK
WARNING_LINE = re.compile(r"\]\[(warning|error|critical)\]")


class ScenarioConfigError(RuntimeError):
    """Envoy did not take a scenario's configuration (NACK, or NO ACK in time); names the manifest files and
    Envoy's own error. `outcome` holds the verdict."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(outcome.describe())


def outcome_of(error: Exception) -> Outcome:
    """The verdict a failed start stands for: INVALID for a manifest the agent would refuse (found before Envoy
    starts), the NACK / NO ACK of a ScenarioConfigError."""
    if isinstance(error, ScenarioConfigError):
        return error.outcome
    if isinstance(error, ManifestError):
        return Outcome(Verdict.INVALID, str(error))
    raise TypeError(f"no verdict for {error!r}")


def ads_config_source(source: Message) -> None:
    source.ads.SetInParent()
    source.resource_api_version = 2  # V3


def translate_configs(configs: list[K8sObject], objects: list[K8sObject]) -> Translated:
    """Translate configs as the agent does and give the listeners that `objects`' network policies redirect to
    their original destination back (what cilium.bpf_metadata does)."""
    merged = Translated()
    for config in configs:
        merged.merge(translate(config, ads_config_source))
    listeners = merged.resources.get(LISTENER, {})
    for name in policy_listeners(objects):
        if name in listeners:
            restore_original_destination(listeners[name])
    return merged


def translate_scenario(scenario: ManifestSet) -> Translated:
    return translate_configs(scenario.envoy_configs(), scenario.objects)


def endpoints_for(cluster: str, addresses: list[str]) -> Message:
    cla = message_class("envoy.config.endpoint.v3.ClusterLoadAssignment")(cluster_name=cluster)
    if addresses:
        group = cla.endpoints.add()
        for address in addresses:
            host, port = address.rsplit(":", 1)
            sock = group.lb_endpoints.add().endpoint.address.socket_address
            sock.address, sock.port_value = host, int(port)
    return cla


def names_in_message(names: list[str], text: str) -> list[str]:
    """The names a message of Envoy's mentions (whole names, not parts of longer ones)."""
    return [n for n in names if re.search(rf"(?<![\w/.:-]){re.escape(n)}(?![\w/.*-]|:[\w*])", text)]


def nack_lines(event: XdsEvent, translated: Translated) -> list[str]:
    names = [n for (t, n) in translated.origins if t == event.type_url]
    named = names_in_message(names, event.error) or names
    lines = [f"Envoy rejected {SHORT.get(event.type_url, event.type_url)} (NACK): {event.error}"]
    for name in named:
        origin = translated.origin_of(event.type_url, name)
        if origin is not None:
            lines.append(f"  {name!r} comes from {origin.describe()}")
    return lines


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

    def __bool__(self) -> bool:
        return bool(self.unacked or self.unserved or self.inactive)


def pending_lines(pending: Pending, translated: Translated) -> list[str]:
    """Lines of a NO ACK report: each unacknowledged or inactive resource and where it comes from, and each
    name Envoy asked for that nobody serves, with who asked and why the agent would not serve it."""
    lines = []
    for type_url, names in pending.unacked.items():
        lines.append(f"never acknowledged: {SHORT.get(type_url, type_url)} {', '.join(names) or '(none asked for)'}")
        lines += _origins(translated, type_url, names)
    if pending.inactive:
        lines.append(f"listeners acknowledged but never active (warming): {', '.join(pending.inactive)}")
        lines += _origins(translated, LISTENER, pending.inactive)
    for name in pending.unserved.get(ENDPOINTS, []):
        askers = sorted(c for c, eds in translated.eds_names.items() if eds == name)
        lines.append(f"Envoy asked for endpoints (EDS) {name!r} that nobody serves"
                     + (f": cluster(s) {', '.join(askers)} wait for them" if askers else ""))
        lines += _origins(translated, CLUSTER, askers)
        lines.append(f"  {explain_unserved(name, translated.services)}")
    for name in pending.unserved.get(ROUTE, []):
        askers = sorted(n for n, lst in translated.resources.get(LISTENER, {}).items() if name in rds_names(lst))
        lines.append(f"Envoy asked for RouteConfiguration {name!r} that nobody serves"
                     + (f": listener(s) {', '.join(askers)} refer to it (route names are qualified like listener "
                        "names)" if askers else ""))
        lines += _origins(translated, LISTENER, askers)
    for type_url, names in pending.unserved.items():
        if type_url not in (ENDPOINTS, ROUTE):
            lines.append(f"Envoy asked for {SHORT.get(type_url, type_url)} {', '.join(names)} that nobody serves")
    return lines


def _origins(translated: Translated, type_url: str, names: list[str]) -> list[str]:
    out = []
    for name in names:
        origin = translated.origin_of(type_url, name)
        if origin is not None:
            out.append(f"  {name!r} comes from {origin.describe()}")
    return out


class EnvoyRun(StartedInWith):
    def __init__(self, scenario: ManifestSet, binary: Path, workdir: Path, start_backends: bool = True,
                 apply_timeout: float = APPLY_TIMEOUT):
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        # False: no stand-in pods; every Service a config references gets the EDS names the agent would
        # publish, without endpoints (config compatibility, `l7suite check`).
        self.start_backends = start_backends
        self.apply_timeout = apply_timeout
        self.standins = StandIns()
        self.ads = AdsServer()
        self.envoy: EnvoyProcess | None = None
        self.admin: AdminClient | None = None
        self.translated = Translated()
        self._versions: dict[str, str] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """launch(), then wait for Envoy to take the configuration (ScenarioConfigError otherwise)."""
        self.launch()
        self.wait_applied()

    def launch(self) -> None:
        """Translate (ManifestError before anything starts), serve the configuration and start Envoy."""
        self.translated = translate_scenario(self.scenario)
        self.ads.start()
        self.envoy = EnvoyProcess(self.binary, self.workdir, "127.0.0.1", self.ads.port,
                                  node_id=f"l7suite-{uuid.uuid4().hex[:8]}")
        self.apply(self.translated)
        self.admin = self.envoy.start()

    def stop(self) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        self.ads.stop()
        self.standins.stop()

    # ---- configuration ---------------------------------------------------------------------
    def apply(self, translated: Translated) -> dict[str, str]:
        """Send a translated configuration, with the endpoints the agent would publish, to the ADS server."""
        resources = {t: dict(by_name) for t, by_name in translated.resources.items()}
        endpoints = resources.setdefault(ENDPOINTS, {})
        for eds_name, published in published_names(translated.services).items():
            service = self.scenario.get("Service", published.namespace, published.service)
            if service is not None and not port_matches(service, published.port):
                continue  # the agent publishes nothing for a port filter the Service does not have
            addresses: list[str] = []
            if self.start_backends:
                referrer = next(r.config for r in translated.services
                                if (r.namespace, r.name) == (published.namespace, published.service))
                backends = self.standins.start_service(self.scenario, published.namespace, published.service,
                                                       referrer)
                addresses = [b.address for b in backends]
            endpoints.setdefault(eds_name, endpoints_for(eds_name, addresses))
        self.translated = translated
        self._versions = self.ads.set_resources(resources)
        return self._versions

    @property
    def versions(self) -> dict[str, str]:
        """The version of each type of the snapshot last applied."""
        return dict(self._versions)

    def wait_applied(self) -> None:
        """Wait for Envoy's ACK of the current snapshot and for its listeners to be active."""
        deadline = time.monotonic() + self.apply_timeout
        try:
            self.ads.wait_applied(self._versions, timeout=self.apply_timeout)
        except XdsNack as exc:
            raise ScenarioConfigError(Outcome(Verdict.NACK, nack_report(exc, self.translated))) from None
        except XdsPending as exc:
            pending = Pending(self.apply_timeout, exc.unacked, exc.unserved)
            raise ScenarioConfigError(self._no_ack(pending)) from None
        self.wait_listeners(list(self.translated.listener_ports), max(deadline - time.monotonic(), 0.5))

    def wait_listeners(self, names: list[str], timeout: float = LISTENER_ACTIVE_TIMEOUT) -> None:
        inactive = self.inactive_listeners(names, timeout)
        if inactive:
            raise ScenarioConfigError(self._no_ack(Pending(timeout, unserved=self.ads.unserved(), inactive=inactive)))

    def inactive_listeners(self, names: list[str], timeout: float) -> list[str]:
        """The listeners of `names` still not active after `timeout` (empty as soon as all are)."""
        assert self.admin is not None
        deadline = time.monotonic() + timeout
        while True:
            active = self.admin.listeners()
            missing = [n for n in names if n not in active]
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.05)

    def _no_ack(self, pending: Pending) -> Outcome:
        details = "\n".join(pending_lines(pending, self.translated))
        warnings = self.log_warnings()
        if warnings:
            details += "\nEnvoy's warnings and errors (last lines of its log):\n" + warnings
        return Outcome(Verdict.NO_ACK, details, pending.timeout)

    def log_warnings(self, lines: int = LOG_WARNING_LINES) -> str:
        """The last warning, error and critical lines of Envoy's log (its info lines are start-up noise)."""
        found = [line for line in self.log_tail(400).splitlines() if WARNING_LINE.search(line)]
        return "\n".join(found[-lines:])

    # ---- what tests use ---------------------------------------------------------------------
    def listener_port(self, name: str) -> int:
        """Port of a listener by qualified name, or by its short name as written in the manifest."""
        ports = self.translated.listener_ports
        if name in ports:
            return ports[name]
        matches = [p for n, p in ports.items() if n.rsplit("/", 1)[-1] == name]
        if len(matches) != 1:
            raise KeyError(f"no single listener {name!r}; listeners: {sorted(ports)}")
        return matches[0]

    def url_for_listener(self, name: str) -> str:
        """Where traffic a network policy redirects to this listener (`toPorts[].listener`) arrives: with
        `spec.backendServices` the Service is not redirected by the config itself, the policy sends it here."""
        return f"http://127.0.0.1:{self.listener_port(name)}"

    def url_for_service(self, namespace: str, service: str) -> str:
        """Where Cilium would redirect traffic to this Service: the listener its config's `services` names."""
        listener = self.translated.redirects.get((namespace, service))
        if listener is None:
            raise KeyError(f"no CiliumEnvoyConfig redirects {namespace}/{service} (spec.services); redirected: "
                           f"{sorted(self.translated.redirects)}; for a policy's listener use url_for_listener")
        return f"http://127.0.0.1:{self.translated.listener_ports[listener]}"

    def backends(self, namespace: str, service: str) -> list:
        return self.standins.by_service[(namespace, service)]

    def cluster_stats(self, cluster: str, pattern: str = "") -> dict[str, int]:
        assert self.admin is not None
        prefix = f"cluster.{cluster}."
        stats = self.admin.stats("^" + re.escape(prefix) + (f"({pattern})" if pattern else ""))
        return {k[len(prefix):]: v for k, v in stats.items()}

    def log_tail(self, lines: int = 80) -> str:
        return self.envoy.output_tail(lines) if self.envoy else ""
