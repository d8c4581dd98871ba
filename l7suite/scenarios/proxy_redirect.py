"""The lab's proxy redirect on one machine: a client pod's connection to an external address is redirected
transparently into Envoy's proxy-listener, which tunnels it with HTTP CONNECT through an external web proxy.

Everything runs in a network namespace of its own (l7suite.standins.netns), standing in for a node:
- the client pod has the address POD_ADDRESS; "external" destinations have addresses of TEST-NET-3
  (`WORLD`, the suite's own stand-in for DNS), each served by a small HTTP server;
- the web proxy (proxy.py, the lab's 3proxy) listens on PROXY_ADDRESS:3128, the manifest's ${PROXY_ADDRESS};
- Envoy runs in the namespace, fed over a Unix socket by the suite's ADS server;
- the CiliumNetworkPolicy's egress rule (toFQDNs + toPorts.listener) becomes nftables rules: connections
  from the pod to the addresses of matching names, on the rule's ports, are REDIRECTed to the listener's
  port (Cilium's datapath uses TPROXY; both leave the original destination for Envoy to read, which its
  original_dst listener filter does); other world destinations from the pod are dropped, as the policy
  denies them.
What this cannot show: DNS-based learning of the names (toFQDNs needs Cilium's DNS proxy); the names'
addresses are fixed here.
"""

from __future__ import annotations

import errno
import json
import os
import re
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from l7suite.cilium.cec_translation import qualify
from l7suite.envoy.envoy_run import EnvoyRun, translate_scenario
from l7suite.envoy.process import EnvoyProcess
from l7suite.envoy.xds_server import AdsServer
from l7suite.lifecycle import StartedInWith
from l7suite.manifests import K8sObject, ManifestSet
from l7suite.standins.connect_proxy import ConnectProxy
from l7suite.standins.netns import NetNamespace

NFT_TABLE = "l7suite"
POD_ADDRESS = "192.0.2.10"  # TEST-NET-1: the client pod
PROXY_ADDRESS = "198.51.100.5"  # TEST-NET-2: the external web proxy (3proxy in the lab)
PROXY_PORT = 3128
WORLD = {"api.github.com": "203.0.113.10", "google.com": "203.0.113.20"}  # TEST-NET-3: "the internet"
TARGET_PORT = 80


def fqdn_matches(pattern: str, name: str) -> bool:
    """Cilium's toFQDNs matchPattern: `*` alone matches every name, otherwise `*` matches within one label."""
    pattern, name = pattern.rstrip(".").lower(), name.rstrip(".").lower()
    if pattern == "*":
        return True
    regex = "".join("[-a-z0-9_]*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name) is not None


@dataclass(frozen=True)
class PolicyRedirect:
    """One egress rule that sends matching traffic to an Envoy listener."""

    policy: K8sObject
    listener: str  # qualified, as Envoy knows it
    ports: tuple[int, ...]
    patterns: tuple[str, ...]

    def names(self, world: dict[str, str]) -> list[str]:
        return sorted(n for n in world if any(fqdn_matches(p, n) for p in self.patterns))


def policy_redirects(scenario: ManifestSet) -> list[PolicyRedirect]:
    found = []
    for policy in scenario.of_kind("CiliumNetworkPolicy"):
        for i, rule in enumerate(policy.spec.get("egress") or []):
            patterns = tuple(str(f.get("matchPattern") or f.get("matchName")) for f in rule.get("toFQDNs") or [])
            for j, to_ports in enumerate(rule.get("toPorts") or []):
                ref = to_ports.get("listener")
                if not ref:
                    continue
                if not patterns:
                    raise policy.error("the envoy tier redirects only toFQDNs rules to listeners",
                                       f"spec.egress[{i}]")
                config = ref.get("envoyConfig") or {}
                ports = []
                for port in to_ports.get("ports") or []:
                    if str(port.get("protocol", "TCP")).upper() in ("TCP", "ANY"):
                        ports.append(int(port["port"]))
                if not ports:
                    raise policy.error("no TCP port to redirect", f"spec.egress[{i}].toPorts[{j}].ports")
                listener = qualify(policy.namespace, config.get("name", ""), ref.get("name", ""))
                found.append(PolicyRedirect(policy, listener, tuple(ports), patterns))
    return found


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
    lines += ["  }", "  chain pod_policy {", "    type filter hook output priority 0; policy accept;",
              f"    {denied} counter", f"    {denied} drop", "  }", "}", ""]
    return "\n".join(lines)


class NetnsEnvoyRun(EnvoyRun):
    """An EnvoyRun whose Envoy runs inside `netns`; ADS over a Unix socket, admin API entered there."""

    def __init__(self, scenario: ManifestSet, binary: Path, workdir: Path, netns: NetNamespace, **kwargs):
        super().__init__(scenario, binary, workdir, **kwargs)
        self.netns = netns
        socket_path = workdir / "ads.sock"
        if len(str(socket_path)) > 100:
            raise RuntimeError(f"Unix socket path too long for the kernel (max 107): {socket_path}")
        self.ads = AdsServer(host=f"unix:{socket_path}")

    def start(self) -> None:
        self.translated = translate_scenario(self.scenario)
        self.ads.start()
        self.envoy = EnvoyProcess(self.binary, self.workdir, self.ads.host, 0,
                                  node_id=f"l7suite-{uuid.uuid4().hex[:8]}", preexec=self.netns.preexec())
        self.apply(self.translated)
        self.admin = self.envoy.start()
        self.admin.enter = self.netns.entered
        self.wait_applied()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class WorldTarget:
    """An "external" HTTP server at a world address inside the namespace: answers which name it plays."""

    def __init__(self, netns: NetNamespace, name: str, address: str, port: int = TARGET_PORT):
        self.name, self.address, self.port = name, address, port
        self.requests = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                target.requests += 1
                body = json.dumps({"destination": target.name, "host": self.headers.get("Host", ""),
                                   "path": self.path}).encode()
                self.wfile.write((f"HTTP/1.1 200 {HTTPStatus.OK.phrase}\r\nContent-Type: application/json\r\n"
                                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)

            def log_message(self, *args) -> None:
                pass

        with netns.entered():
            self._server = _Server((address, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"world-{name}")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()


@dataclass
class Fetch:
    """What the client pod got for `curl http://<name>/...` (connection made to the name's address)."""

    name: str
    dialed: str
    ok: bool
    status: int = 0
    answer: dict | None = None
    error: str = ""


def pod_http_get(netns: NetNamespace, name: str, address: str, port: int = TARGET_PORT, path: str = "/status",
                 timeout: float = 5.0) -> Fetch:
    """An HTTP GET from the pod's address to `address:port`, Host `name` (the lab's curl in proxy-client)."""
    dialed = f"{address}:{port}"
    try:
        with netns.entered():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.settimeout(timeout)
            sock.bind((POD_ADDRESS, 0))
            sock.connect((address, port))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError as exc:
        return Fetch(name, dialed, False, error=f"{type(exc).__name__}: {exc}"[:160])
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0
    try:
        answer = json.loads(body) if status == 200 else None
    except ValueError:
        answer = None
    return Fetch(name, dialed, status == 200 and answer is not None, status, answer,
                 "" if status == 200 else f"answer: {head[:100]!r}")


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
        self.targets: dict[str, WorldTarget] = {}
        self.proxy: ConnectProxy | None = None

    def start(self) -> None:
        self.netns.start()
        for address in [POD_ADDRESS, PROXY_ADDRESS, *WORLD.values()]:
            self.netns.add_address(address)
        for name, address in WORLD.items():
            self.targets[name] = WorldTarget(self.netns, name, address)
        self.proxy = ConnectProxy(PROXY_ADDRESS, PROXY_PORT, self.workdir, preexec=self.netns.preexec(),
                                  enter=self.netns.entered).start()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for target in self.targets.values():
            target.stop()
        self.targets.clear()
        self.netns.close()


class ProxyRedirectRun(StartedInWith):
    """One Envoy version in a ProxyWorld: Envoy with the scenario and the policy's redirect rules; both
    removed on exit, whatever happened (the world stays for the next version)."""

    def __init__(self, world: ProxyWorld, scenario: ManifestSet, binary: Path, workdir: Path):
        self.world = world
        self.scenario = scenario
        self.binary = binary
        self.workdir = workdir
        self.envoy: NetnsEnvoyRun | None = None
        self.ruleset = ""
        self.redirects: list[PolicyRedirect] = []

    @property
    def netns(self) -> NetNamespace:
        return self.world.netns

    @property
    def targets(self) -> dict[str, WorldTarget]:
        return self.world.targets

    @property
    def proxy(self) -> ConnectProxy:
        assert self.world.proxy is not None
        return self.world.proxy

    def start(self) -> None:
        self.redirects = policy_redirects(self.scenario)
        self.envoy = NetnsEnvoyRun(self.scenario, self.binary, self.workdir, self.netns, start_backends=False)
        self.envoy.start()
        rules = []
        for redirect in self.redirects:
            if redirect.listener not in self.envoy.translated.listener_ports:
                raise redirect.policy.error(f"names listener {redirect.listener!r}, which no CiliumEnvoyConfig of "
                                            f"this scenario defines; listeners: "
                                            f"{sorted(self.envoy.translated.listener_ports)}")
            addresses = [WORLD[n] for n in redirect.names(WORLD)]
            rules.append((addresses, redirect.ports, self.envoy.translated.listener_ports[redirect.listener]))
        self.ruleset = nft_ruleset(POD_ADDRESS, rules, sorted(WORLD.values()))
        # declaring the table first makes the delete valid when it does not exist: one atomic replacement
        self.netns.load_nft(f"table ip {NFT_TABLE}\ndelete table ip {NFT_TABLE}\n{self.ruleset}")

    def stop(self) -> None:
        if self.ruleset:
            self.ruleset = ""
            self.netns.load_nft(f"table ip {NFT_TABLE}\ndelete table ip {NFT_TABLE}\n")  # no redirect to a dead port
        if self.envoy is not None:
            self.envoy.stop()

    def get(self, name: str, port: int = TARGET_PORT, timeout: float = 5.0) -> Fetch:
        return pod_http_get(self.netns, name, WORLD[name], port, timeout=timeout)

    def dropped_packets(self) -> int:
        """Packets the pod_policy drop rule has dropped (its counter rule, see nft_ruleset)."""
        listing = json.loads(self.netns.run(["nft", "-j", "list", "chain", "ip", NFT_TABLE, "pod_policy"]))
        for item in listing.get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise AssertionError(f"no counter rule in chain pod_policy:\n{self.ruleset}")

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
