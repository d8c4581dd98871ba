"""One scenario on one real Envoy: stand-in backends, the suite's ADS server, Envoy, and their teardown.

    with EnvoyRun(load_manifest_set("weighted-lb"), binary, workdir) as run:
        url = run.url_for_service("exam", "deathstar")   # where Cilium would redirect that Service

Everything started is stopped on exit, whether the body passed, failed or was interrupted. A configuration
Envoy does not take fails with ScenarioConfigError, whose `outcome` is one of the verdicts of
l7suite/envoy/verdicts.py (NACK, NO ACK in N s; a manifest the agent would refuse raises ManifestError: INVALID).

With `netns`, Envoy runs inside that network namespace (transparent redirects, l7suite/scenarios/
proxy_redirect.py): ADS over a Unix socket, which reaches across namespaces, and the admin API called from
inside the namespace.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from l7suite.cilium.cec_translation import translate_configs
from l7suite.cilium.cec_updates import stage_configs, translate_update
from l7suite.cilium.eds_names import port_matches, published_names
from l7suite.cilium.translated import Translated
from l7suite.envoy.admin_client import AdminClient
from l7suite.envoy.process import EnvoyProcess
from l7suite.envoy.resources import ENDPOINTS, message_class
from l7suite.envoy.verdict_details import Pending, nack_report, pending_lines
from l7suite.envoy.verdicts import Outcome, ScenarioConfigError, Verdict
from l7suite.envoy.xds_events import XdsNack, XdsPending
from l7suite.envoy.xds_server import AdsServer, ads_config_source
from l7suite.lifecycle import StartedInWith
from l7suite.loopback_ports import release_ports
from l7suite.manifests import ManifestSet
from l7suite.standins.registry import StandIns

if TYPE_CHECKING:
    from l7suite.standins.netns import NetNamespace

# Values the envoy tier gives the manifests' ${PLACEHOLDERS} when a scenario does not start its own.
DEFAULT_VARIABLES = {"PROXY_ADDRESS": "127.0.0.1"}

# Timeouts of the envoy tier (seconds). Envoy answers a small configuration in well under a second; these
# bound a run that goes wrong, and a NO ACK verdict names the one it waited.
APPLY_TIMEOUT = 15.0  # from pushing a snapshot to every expected ACK and every listener active
LISTENER_ACTIVE_TIMEOUT = 10.0  # wait_listeners' default, for callers that push their own resources
LOG_WARNING_LINES = 8  # Envoy's warnings and errors quoted with a NO ACK
WARNING_LINE = re.compile(r"\]\[(warning|error|critical)\]")
MAX_UNIX_SOCKET_PATH = 100  # the kernel's limit is 107 bytes


def translate_scenario(scenario: ManifestSet, netns: NetNamespace | None = None) -> Translated:
    """The scenario's CECs as the agent serves them to an Envoy fed by the suite's ADS server. For an Envoy in
    `netns`, the ports of listeners without an address are chosen and held (l7suite/loopback_ports.py) in that
    namespace, where Envoy binds them: a port free in the suite's namespace can be taken in Envoy's, e.g. by a
    socket of the suite's admin calls there (seen once in 20 runs: NACK "cannot bind '127.0.0.1:34433':
    Address already in use")."""
    with inside(netns):
        return translate_configs(scenario.envoy_configs(), scenario.objects, ads_config_source)


def inside(netns: NetNamespace | None) -> contextlib.AbstractContextManager:
    """The block runs in `netns` (sockets made there stay there), or where it is without one."""
    return netns.entered() if netns else contextlib.nullcontext()


def endpoints_for(cluster: str, addresses: list[str]) -> Message:
    cla = message_class("envoy.config.endpoint.v3.ClusterLoadAssignment")(cluster_name=cluster)
    if addresses:
        group = cla.endpoints.add()
        for address in addresses:
            host, port = address.rsplit(":", 1)
            sock = group.lb_endpoints.add().endpoint.address.socket_address
            sock.address, sock.port_value = host, int(port)
    return cla


class EnvoyRun(StartedInWith):
    def __init__(self, scenario: ManifestSet, binary: Path, workdir: Path, start_backends: bool = True,
                 apply_timeout: float = APPLY_TIMEOUT, netns: NetNamespace | None = None):
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        # False: no stand-in pods; every Service a config references gets the EDS names the agent would
        # publish, without endpoints (config compatibility, `l7suite check`).
        self.start_backends = start_backends
        self.apply_timeout = apply_timeout
        self.netns = netns
        self.standins = StandIns()
        self.ads = AdsServer(host=f"unix:{self._socket_path()}") if netns else AdsServer()
        self.envoy: EnvoyProcess | None = None
        self.admin: AdminClient | None = None
        self.translated = Translated()
        self._versions: dict[str, str] = {}

    def _socket_path(self) -> Path:
        path = self.workdir / "ads.sock"
        if len(str(path)) > MAX_UNIX_SOCKET_PATH:
            raise RuntimeError(f"Unix socket path too long for the kernel (max 107): {path}")
        return path

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """launch(), then wait for Envoy to take the configuration (ScenarioConfigError otherwise)."""
        self.launch()
        self.wait_applied()

    def launch(self) -> None:
        """Translate (ManifestError before anything starts), serve the configuration and start Envoy."""
        self.translated = translate_scenario(self.scenario, self.netns)
        self.ads.start()
        self.envoy = EnvoyProcess(self.binary, self.workdir, self.ads.host, self.ads.port,
                                  node_id=f"l7suite-{uuid.uuid4().hex[:8]}",
                                  preexec=self.netns.preexec() if self.netns else None)
        self.apply(self.translated)
        self.admin = self.envoy.start()
        if self.netns:
            self.admin.enter = self.netns.entered

    def stop(self) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        self.ads.stop()
        self.standins.stop()
        release_ports(self.translated.listener_ports.values())

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

    def stage_update(self, stage: str) -> Translated:
        """The configuration after `kubectl apply` of the scenario's `stages/<stage>.yaml` (for apply())."""
        with inside(self.netns):  # ports: as translate_scenario
            return translate_update(self.scenario, stage_configs(self.scenario, stage),
                                    self.translated.listener_ports, ads_config_source)

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
                release_ports(int(active[n].rsplit(":", 1)[1]) for n in names if n in active)  # Envoy's now
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

    def url_for_service(self, namespace: str, service: str) -> str:
        """Where Cilium would redirect traffic to this Service: the listener its config's `services` names."""
        listener = self.translated.redirects.get((namespace, service))
        if listener is None:
            raise KeyError(f"no CiliumEnvoyConfig redirects {namespace}/{service} (spec.services); redirected: "
                           f"{sorted(self.translated.redirects)}; for a policy's listener use listener_port")
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
