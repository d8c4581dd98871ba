"""The lab's proxy redirect on one machine: a client pod's connection to an external address is redirected
transparently into Envoy's proxy-listener, which tunnels it with HTTP CONNECT through an external web proxy.

Everything runs in a network namespace of its own (l7suite.standins.netns), standing in for a node:
- the client pod has the address POD_ADDRESS; "external" destinations have addresses of TEST-NET-3
  (`WORLD`, the suite's own stand-in for DNS), each served by a small HTTP server (standins/destinations.py);
- the web proxy (proxy.py, the lab's 3proxy) listens on PROXY_ADDRESS:3128, the manifest's ${PROXY_ADDRESS};
- Envoy runs in the namespace, fed over a Unix socket by the suite's ADS server (EnvoyRun with `netns`);
- the CiliumNetworkPolicy's egress rule (toFQDNs + toPorts.listener, l7suite/cilium/policy_listeners.py)
  becomes nftables rules (l7suite/cilium/nft_rules.py): the pod's connections to matching names are
  redirected to the listener, other world destinations dropped.
What this cannot show: DNS-based learning of the names (toFQDNs needs Cilium's DNS proxy); the names'
addresses are fixed here.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from l7suite.cilium.nft_rules import COUNTER_CHAIN, NFT_TABLE, nft_ruleset, replacing
from l7suite.cilium.policy_listeners import FqdnRedirect, fqdn_redirects
from l7suite.cluster.docker_side import PROXY_IMAGE, TARGET_IMAGE
from l7suite.envoy.envoy_run import EnvoyRun
from l7suite.lifecycle import StartedInWith
from l7suite.manifests import ManifestSet
from l7suite.scenarios.declaration import Needs, Scenario
from l7suite.standins.connect_proxy import ConnectProxy
from l7suite.standins.destinations import Destination
from l7suite.standins.netns import NetNamespace
from l7suite.traffic.http1_client import Fetch, fetch_json

NAMESPACE = "proxy"
LISTENER = f"{NAMESPACE}/proxy-envoy/proxy-listener"  # as the lab's Envoy admin lists it

SCENARIO = Scenario(
    name="proxy-redirect",
    title="Forcing an L7 proxy redirection: egress to allowed names tunnelled through a web proxy",
    description=(
        "The lab's CEC proxy-envoy and CNP proxy-policy (seed 004) send a client pod's connections to names "
        "the policy allows (toFQDNs) into Envoy's proxy-listener, whose tcp_proxy tunnels them with HTTP "
        "CONNECT through an external web proxy (3proxy) to the address the client dialed; other names are "
        "dropped. The envoy tier plays it on one machine in a network namespace of its own (nftables "
        "redirects for the policy, proxy.py as the web proxy, TEST-NET addresses as the world): the proxy "
        "receives CONNECT <the dialed address>, not the listener's, the client gets the destination's "
        "answer, and google.com never reaches Envoy, the destination or the proxy. The e2e tier runs 3proxy "
        "and two json-mock servers beside the kind cluster: allowed-web answers 200 through the proxy with a "
        "TO_PROXY flow, denied-web times out with an EGRESS DROPPED POLICY_DENIED flow. Both tiers see Envoy "
        f"list {LISTENER}."),
    tiers=("envoy", "e2e"),
    manifests="proxy-redirect",
    cluster_side=("nicolaka/netshoot",),  # proxy-client; the envoy tier's client is its network namespace
    needs=Needs(root=True, programs=("ip", "nft"), daemonset_admin=True, docker_images=(PROXY_IMAGE, TARGET_IMAGE)),
    plan_notes=(
        "the proxy container's address fills PROXY_ADDRESS; the two json-mock containers are allowed-web and "
        "denied-web; all three removed at the end",
        "allowed-web: 200 through the proxy (3proxy logs CONNECT <address>:80), to-proxy flow; denied-web: curl "
        "exit 28, EGRESS DROPPED POLICY_DENIED flow",
        f"cilium-envoy admin on the client's node: {LISTENER} listed, /config_dump kept",
    ),
)

POD_ADDRESS = "192.0.2.10"  # TEST-NET-1: the client pod
PROXY_ADDRESS = "198.51.100.5"  # TEST-NET-2: the external web proxy (3proxy in the lab)
PROXY_PORT = 3128
WORLD = {"api.github.com": "203.0.113.10", "google.com": "203.0.113.20"}  # TEST-NET-3: "the internet"
TARGET_PORT = 80


def pod_http_get(netns: NetNamespace, name: str, address: str, port: int = TARGET_PORT, path: str = "/status",
                 timeout: float = 5.0) -> Fetch:
    """An HTTP GET from the pod's address to `address:port`, Host `name` (the lab's curl in proxy-client)."""

    def connect() -> socket.socket:
        with netns.entered():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.bind((POD_ADDRESS, 0))
            sock.connect((address, port))
        except BaseException:
            sock.close()
            raise
        return sock

    return fetch_json(name, f"{address}:{port}", connect, path)


@dataclass
class DeniedAttempt:
    """A connection attempt from the pod to a destination the policy denies, watched until the policy's drop
    rule counted it (or `timeout` passed, or something answered)."""

    name: str
    dialed: str
    dropped: int  # packets the pod_policy drop rule counted during the attempt
    answered: bool  # the attempt got an answer (connected, or refused) while it was watched
    waited: float  # seconds from connect() to the verdict
    error: str = ""


class ProxyWorld(StartedInWith):
    """What the scenario's Envoy runs in, kept across Envoy versions: the namespace with the pod's, the proxy's
    and the world's addresses, the world's HTTP servers and the CONNECT proxy. Stopped on exit, whatever
    happened; nothing in it depends on the Envoy version."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.netns = NetNamespace()
        self.targets: dict[str, Destination] = {}
        self.proxy: ConnectProxy | None = None

    def start(self) -> None:
        self.netns.start()
        for address in [POD_ADDRESS, PROXY_ADDRESS, *WORLD.values()]:
            self.netns.add_address(address)
        for name, address in WORLD.items():
            self.targets[name] = Destination(name, address, TARGET_PORT, enter=self.netns.entered).start()
        self.proxy = ConnectProxy(PROXY_ADDRESS, PROXY_PORT, self.workdir, preexec=self.netns.preexec(),
                                  enter=self.netns.entered).start()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for target in self.targets.values():
            target.stop()
        self.targets.clear()
        self.netns.stop()


class ProxyRedirectRun(StartedInWith):
    """One Envoy version in a ProxyWorld: Envoy with the scenario and the policy's redirect rules; both
    removed on exit, whatever happened (the world stays for the next version)."""

    def __init__(self, world: ProxyWorld, scenario: ManifestSet, binary: Path, workdir: Path):
        self.world = world
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        self.envoy: EnvoyRun | None = None
        self.ruleset = ""
        self.redirects: list[FqdnRedirect] = []

    @property
    def netns(self) -> NetNamespace:
        return self.world.netns

    @property
    def targets(self) -> dict[str, Destination]:
        return self.world.targets

    @property
    def proxy(self) -> ConnectProxy:
        assert self.world.proxy is not None
        return self.world.proxy

    def start(self) -> None:
        self.redirects = fqdn_redirects(self.scenario)
        self.envoy = EnvoyRun(self.scenario, self.binary, self.workdir, start_backends=False, netns=self.netns)
        self.envoy.start()
        ports = self.envoy.translated.listener_ports
        rules = []
        for redirect in self.redirects:
            if redirect.listener not in ports:
                raise redirect.policy.error(f"names listener {redirect.listener!r}, which no CiliumEnvoyConfig of "
                                            f"this scenario defines; listeners: {sorted(ports)}")
            rules.append(([WORLD[n] for n in redirect.names(WORLD)], redirect.ports, ports[redirect.listener]))
        self.ruleset = nft_ruleset(POD_ADDRESS, rules, sorted(WORLD.values()))
        self.netns.load_nft(replacing(self.ruleset))

    def stop(self) -> None:
        if self.ruleset:
            self.ruleset = ""
            self.netns.load_nft(replacing())  # no redirect to a dead port
        if self.envoy is not None:
            self.envoy.stop()

    def get(self, name: str, port: int = TARGET_PORT, timeout: float = 5.0) -> Fetch:
        return pod_http_get(self.netns, name, WORLD[name], port, timeout=timeout)

    def dropped_packets(self) -> int:
        """Packets the pod_policy drop rule has dropped (its counter rule, see nft_ruleset)."""
        listing = json.loads(self.netns.run(["nft", "-j", "list", "chain", "ip", NFT_TABLE, COUNTER_CHAIN]))
        for item in listing.get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise AssertionError(f"no counter rule in chain {COUNTER_CHAIN}:\n{self.ruleset}")

    def attempt_denied(self, name: str, port: int = TARGET_PORT, timeout: float = 1.0) -> DeniedAttempt:
        """Connect from the pod to `name` and watch until the policy's drop rule counts the attempt, the
        attempt gets an answer (connected or refused), or `timeout` (the lab's curl --max-time) passes."""
        address = WORLD[name]
        before = self.dropped_packets()
        with self.netns.entered():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.setblocking(False)
            sock.bind((POD_ADDRESS, 0))
            started = time.monotonic()
            code = sock.connect_ex((address, port))
            error = "" if code in (0, errno.EINPROGRESS) else os.strerror(code)
            while True:
                dropped = self.dropped_packets() - before
                _, writable, _ = select.select([], [sock], [], 0)
                answered = code == 0 or bool(writable)
                if answered:
                    failure = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    error = os.strerror(failure) if failure else "connected"
                waited = time.monotonic() - started
                if dropped or answered or error or waited > timeout:
                    return DeniedAttempt(name, f"{address}:{port}", dropped, answered, round(waited, 3), error)
                time.sleep(0.01)
