"""One scenario on one real Envoy: stand-in backends, the suite's ADS server, Envoy, and their teardown.

    with EnvoyScenario(load_scenario("weighted-lb"), binary, workdir) as run:
        url = run.url_for_service("exam", "deathstar")   # where Cilium would redirect that Service

Everything started is stopped on exit, whether the body passed, failed or was interrupted.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from google.protobuf.message import Message

from l7suite.envoy_admin import AdminClient
from l7suite.envoy_process import EnvoyProcess
from l7suite.envoy_resources import ENDPOINTS, LISTENER, SHORT, message_class
from l7suite.manifests import Scenario
from l7suite.standins import StandIns
from l7suite.translate import Translated, policy_listeners, restore_original_destination, translate
from l7suite.xds_server import AdsServer, XdsNack

# Values the envoy tier gives the manifests' ${PLACEHOLDERS} when a scenario does not start its own.
DEFAULT_VARIABLES = {"PROXY_ADDRESS": "127.0.0.1"}


class ScenarioConfigError(RuntimeError):
    """Envoy rejected a scenario's configuration; names the manifest files and Envoy's own error."""


def ads_config_source(source: Message) -> None:
    source.ads.SetInParent()
    source.resource_api_version = 2  # V3


def translate_scenario(scenario: Scenario) -> Translated:
    merged = Translated()
    for config in scenario.envoy_configs():
        merged.merge(translate(config, ads_config_source))
    # Listeners that policies redirect traffic to get its original destination back (as cilium.bpf_metadata).
    listeners = merged.resources.get(LISTENER, {})
    for name in policy_listeners(scenario.objects):
        if name in listeners:
            restore_original_destination(listeners[name])
    return merged


def endpoints_for(cluster: str, addresses: list[str]) -> Message:
    cla = message_class("envoy.config.endpoint.v3.ClusterLoadAssignment")(cluster_name=cluster)
    if addresses:
        group = cla.endpoints.add()
        for address in addresses:
            host, port = address.rsplit(":", 1)
            sock = group.lb_endpoints.add().endpoint.address.socket_address
            sock.address, sock.port_value = host, int(port)
    return cla


def nack_report(error: XdsNack, translated: Translated) -> str:
    lines = []
    for event in error.events:
        names = [n for (t, n) in translated.origins if t == event.type_url]
        named = [n for n in names if n in event.error] or names
        lines.append(f"Envoy rejected {SHORT.get(event.type_url, event.type_url)} (NACK): {event.error}")
        for name in named:
            origin = translated.origin_of(event.type_url, name)
            if origin is not None:
                lines.append(f"  {name!r} comes from {origin.describe()}")
    return "\n".join(lines)


class EnvoyScenario:
    def __init__(self, scenario: Scenario, binary: Path, workdir: Path, start_backends: bool = True,
                 apply_timeout: float = 15.0):
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        self.start_backends = start_backends
        self.apply_timeout = apply_timeout
        self.standins = StandIns()
        self.ads = AdsServer()
        self.envoy: EnvoyProcess | None = None
        self.admin: AdminClient | None = None
        self.translated = Translated()

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> EnvoyScenario:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.translated = translate_scenario(self.scenario)
        self.ads.start()
        self.envoy = EnvoyProcess(self.binary, self.workdir, "127.0.0.1", self.ads.port,
                                  node_id=f"l7suite-{uuid.uuid4().hex[:8]}")
        self.apply(self.translated)
        self.admin = self.envoy.start()
        self.wait_applied()

    def stop(self) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        self.ads.stop()
        self.standins.stop()

    # ---- configuration ---------------------------------------------------------------------
    def apply(self, translated: Translated) -> dict[str, str]:
        """Send a translated configuration (with endpoints of the stand-ins) to the ADS server."""
        resources = {t: dict(by_name) for t, by_name in translated.resources.items()}
        for cluster, (namespace, service) in translated.service_clusters.items():
            addresses: list[str] = []
            if self.start_backends:
                origin = translated.origin_of("type.googleapis.com/envoy.config.cluster.v3.Cluster", cluster)
                assert origin is not None
                backends = self.standins.start_service(self.scenario, namespace, service, origin.config)
                addresses = [b.address for b in backends]
            resources.setdefault(ENDPOINTS, {}).setdefault(cluster, endpoints_for(cluster, addresses))
        self.translated = translated
        self._versions = self.ads.set_resources(resources)
        return self._versions

    def wait_applied(self) -> None:
        """Wait for Envoy's ACK of the current snapshot and for its listeners to be active."""
        try:
            self.ads.wait_applied(self._versions, timeout=self.apply_timeout)
        except XdsNack as exc:
            raise ScenarioConfigError(nack_report(exc, self.translated)) from None
        except TimeoutError as exc:
            raise ScenarioConfigError(f"{exc}\nEnvoy log:\n{self.log_tail()}") from None
        self.wait_listeners(list(self.translated.listener_ports))

    def wait_listeners(self, names: list[str], timeout: float = 10.0) -> None:
        assert self.admin is not None
        deadline = time.monotonic() + timeout
        while True:
            active = self.admin.listeners()
            missing = [n for n in names if n not in active]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise ScenarioConfigError(f"listeners never became active: {missing}; active: {sorted(active)}")
            time.sleep(0.05)

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
        """Where Cilium would redirect traffic to this Service: the listener its config names."""
        listener = self.translated.redirects.get((namespace, service))
        if listener is None:
            raise KeyError(f"no CiliumEnvoyConfig redirects {namespace}/{service}; redirected: "
                           f"{sorted(self.translated.redirects)}")
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
