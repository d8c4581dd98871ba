"""Containers beside the kind nodes, on their Docker network: the proxy-redirect scenario's HTTP
CONNECT proxy and its "external" targets (the lab runs 3proxy with `docker run --net kind`, seed 004).

Names carry the cluster name (`l7suite-<cluster>-<role>`), so two runs against two clusters on one
machine never touch each other's containers; a leftover of a killed run of the same cluster is removed
before starting. `ExternalContainers` is a context manager: its containers are removed on exit,
whether the tests passed, failed or were interrupted. Every Docker call goes through the runner seam.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from l7suite.cluster import tools

START_TIMEOUT = 60.0
# ghcr.io/tarampampam/3proxy: release tags are the bare semantic version (tarampampam/3proxy-docker
# .github/workflows/release.yml pushes $GHCR_IMAGE:$EXACT). 1.12.1 is the newest tag seen pulled in
# public projects' compose files and tests (1.13.0 appears only as a Helm chart version there).
# HTTP proxy on 3128, JSON log lines on stdout (3proxy.cfg.mustach).
PROXY_IMAGE = "ghcr.io/tarampampam/3proxy:1.12.1"
PROXY_PORT = 3128
# The external HTTP servers: cilium/json-mock (json-server on $PORT, default 80; run.sh), the image the
# suite already uses for the Star Wars clients.
TARGET_IMAGE = "quay.io/cilium/json-mock:v1.3.8"
TARGET_PORT = 80


class DockerSideError(RuntimeError):
    pass


def container_name(cluster: str, role: str) -> str:
    return f"l7suite-{cluster}-{role}"


def networks_of(inspect_json: str) -> list[str]:
    """Network names from `docker inspect -f '{{json .NetworkSettings.Networks}}' CONTAINER`."""
    data = json.loads(inspect_json or "{}") or {}
    return sorted(data)


def address_on(inspect_json: str, network: str) -> str:
    data: dict[str, Any] = json.loads(inspect_json or "{}") or {}
    address = (data.get(network) or {}).get("IPAddress", "")
    if not address:
        raise DockerSideError(f"container has no address on network {network!r}: {inspect_json.strip()}")
    return str(address)


def run_argv(name: str, image: str, network: str, cluster: str, env: dict[str, str] | None = None) -> list[str]:
    argv = ["docker", "run", "-d", "--rm", "--network", network, "--name", name,
            "--label", f"l7suite.cluster={cluster}"]
    for key, value in sorted((env or {}).items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, image]


@dataclass
class ExternalContainers:
    run: tools.Runner
    cluster: str
    node_container: str  # a kind node (its container has the node's name): whose network to join
    started: list[str] = field(default_factory=list)
    network: str = ""

    def __enter__(self) -> ExternalContainers:
        nets = networks_of(tools.check(self.run(
            ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", self.node_container], 30)).stdout)
        if len(nets) != 1:
            raise DockerSideError(f"node container {self.node_container} is on networks {nets}, expected one")
        self.network = nets[0]
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.remove()

    def start(self, role: str, image: str, env: dict[str, str] | None = None) -> str:
        """Start a container and return its address on the cluster's network."""
        name = container_name(self.cluster, role)
        self.run(["docker", "rm", "-f", name], 60)  # a leftover of a killed run; absent is fine
        tools.check(self.run(run_argv(name, image, self.network, self.cluster, env), 300))
        self.started.append(name)
        self._wait_running(name)
        return address_on(tools.check(self.run(
            ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", name], 30)).stdout, self.network)

    def _wait_running(self, name: str) -> None:
        def state() -> str:
            return self.run(["docker", "inspect", "-f", "{{.State.Status}}", name], 30).stdout.strip()

        try:
            Retrying(stop=stop_after_delay(START_TIMEOUT), wait=wait_fixed(1),
                     retry=retry_if_result(lambda s: s != "running"))(state)
        except RetryError as exc:
            raise DockerSideError(f"{name} not running after {START_TIMEOUT:.0f}s "
                                  f"(state {exc.last_attempt.result()!r})") from None

    def logs(self, role: str) -> str:
        done = self.run(["docker", "logs", container_name(self.cluster, role)], 60)
        return done.stdout + done.stderr

    def remove(self) -> None:
        if self.started:
            self.run(["docker", "rm", "-f", *self.started], 120)
            self.started.clear()


def connect_requests(log: str) -> list[dict[str, Any]]:
    """3proxy's JSON log lines whose message is a CONNECT (`"message":"CONNECT 140.82.121.6:443 HTTP/1.1"`)."""
    out = []
    for line in log.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if str(record.get("message", "")).startswith("CONNECT "):
            out.append(record)
    return out


def connected_to(log: str, address: str, port: int) -> list[dict[str, Any]]:
    target = f"CONNECT {address}:{port} "
    return [r for r in connect_requests(log) if str(r["message"]).startswith(target)]


def external_name_objects(namespace: str, name: str, address: str, port: int) -> list[dict[str, Any]]:
    """A headless Service without selector plus its EndpointSlice: cluster DNS then answers
    `<name>.<namespace>.svc.cluster.local` with `address` (a container outside the cluster), which is
    how the scenario gets a resolvable "external" name without internet."""
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": namespace},
         "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-external", "namespace": namespace,
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [address]}],
         "ports": [{"name": "http", "port": port, "protocol": "TCP"}]},
    ]
