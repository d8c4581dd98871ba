"""What the cluster actually runs, read from it: Cilium version, Envoy mode and image, Hubble Relay port.

A run labels its results with these, not with what was asked: on a `--kubeconfig` cluster nothing
was installed by the suite, and on a kind cluster the chart picked the cilium-envoy image itself.
Everything is read through the Kube seam (`kubectl get -o json`) from objects the Cilium Helm chart
creates in kube-system (install/kubernetes/cilium/templates/, checked for 1.18-1.20):

- ConfigMap `cilium-config` (cilium-configmap.yaml): `external-envoy-proxy` is rendered from the
  chart helper `envoyDaemonSetEnabled` (templates/_helpers.tpl: false without `l7Proxy`, else
  `envoy.enabled`), so "true" means Envoy runs as the cilium-envoy DaemonSet and "false" means it runs
  inside the agent; `enable-l7-proxy` is rendered from `l7Proxy` (no L7 proxy at all when "false").
- DaemonSet `cilium` (cilium-agent/daemonset.yaml): container `cilium-agent` runs `image`
  (`repository:tag[@digest]`); a release's tag is `v<version>`.
- DaemonSet `cilium-envoy` (cilium-envoy/daemonset.yaml, rendered only with `envoy.enabled`):
  container `cilium-envoy` runs `envoy.image`.
- Service `hubble-relay` (hubble-relay/service.yaml): one TCP port, `hubble.relay.servicePort` or
  443 with relay TLS and 80 without, target port named `grpc` (`grpc-rbac` with hubble.rbac).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from l7suite.cluster.kube import Kube
from l7suite.report import environment

NAMESPACE = "kube-system"
RELEASE_TAG = re.compile(r"^v?(?P<version>\d+\.\d+\.\d+(?:-(?:pre|rc)\.\d+)?)$")
RELAY_TARGET_PORTS = ("grpc", "grpc-rbac", 4245)  # hubble-relay.service.targetPort in _extensions.tpl; listenPort


class ClusterMismatch(RuntimeError):
    """The cluster runs something other than what the run asked for, in a way the scenarios depend on."""


@dataclass(frozen=True)
class ObservedCilium:
    cilium_version: str | None  # "1.18.14", or None when the agent image tag is not a release version
    agent_image: str | None
    envoy_mode: str | None  # "daemonset" | "embedded" | None (no L7 proxy, or not readable)
    envoy_mode_source: str  # which object said so, for messages and the report
    envoy_image: str | None  # the cilium-envoy DaemonSet's image (daemonset mode)
    relay_port: int | None
    relay_source: str
    kubernetes: str | None = None  # the API server's gitVersion

    def labels(self) -> dict[str, str]:
        """Plain values for the run's labels, keyed like l7suite.report.environment; "unknown (why)" when
        the cluster did not say."""
        if self.envoy_mode == "daemonset":
            envoy = self.envoy_image or "unknown (no cilium-envoy container in DaemonSet kube-system/cilium-envoy)"
        elif self.envoy_mode == "embedded":
            envoy = f"embedded in the agent image {self.agent_image or '(unknown)'}"
        else:
            envoy = f"none ({self.envoy_mode_source})"
        return {
            environment.CILIUM: self.cilium_version or f"unknown (agent image {self.agent_image or 'not found'})",
            environment.CILIUM_ENVOY: envoy,
            environment.MODE: self.envoy_mode or f"unknown ({self.envoy_mode_source})",
            environment.KUBERNETES: self.kubernetes or "unknown (kubectl version printed no serverVersion)",
            environment.RELAY_PORT: str(self.relay_port) if self.relay_port else f"unknown ({self.relay_source})",
            environment.FACTS_FROM: "read from the cluster (cilium-config, DaemonSets cilium and cilium-envoy, "
                                    "Service hubble-relay, kubectl version)",
        }


def container_image(daemonset: Mapping[str, Any] | None, container: str) -> str | None:
    if not daemonset:
        return None
    containers = daemonset.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return next((str(c["image"]) for c in containers if c.get("name") == container and c.get("image")), None)


def version_of_image(image: str | None) -> str | None:
    """`quay.io/cilium/cilium:v1.18.14@sha256:...` -> "1.18.14"; None for a tag that is not a release."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    found = RELEASE_TAG.match(tag)
    return found["version"] if found else None


def envoy_mode_of(config: Mapping[str, Any] | None,
                  envoy_daemonset: Mapping[str, Any] | None) -> tuple[str | None, str]:
    """(mode, source) from cilium-config's `external-envoy-proxy` / `enable-l7-proxy`, and the DaemonSet."""
    if config is None:
        return None, "ConfigMap kube-system/cilium-config not found"
    data = config.get("data") or {}
    if str(data.get("enable-l7-proxy", "true")).lower() == "false":
        return None, "cilium-config enable-l7-proxy=false: no L7 proxy"
    external = data.get("external-envoy-proxy")
    if external is None:  # charts before the key existed: the DaemonSet's presence decides
        mode = "daemonset" if envoy_daemonset else "embedded"
        seen = "present" if envoy_daemonset else "absent"
        return mode, f"no external-envoy-proxy key in cilium-config; DaemonSet cilium-envoy {seen}"
    if str(external).lower() == "true":
        source = "cilium-config external-envoy-proxy=true"
        return "daemonset", source + ("" if envoy_daemonset else ", but DaemonSet kube-system/cilium-envoy is missing")
    return "embedded", "cilium-config external-envoy-proxy=false"


def relay_port_of(service: Mapping[str, Any] | None) -> tuple[int | None, str]:
    if service is None:
        return None, "Service kube-system/hubble-relay not found (Helm: hubble.relay.enabled=true)"
    ports = [p for p in service.get("spec", {}).get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
    chosen = [p for p in ports if p.get("targetPort") in RELAY_TARGET_PORTS or p.get("name") == "grpc"] or ports
    if len(chosen) != 1:
        return None, f"Service kube-system/hubble-relay has {len(ports)} TCP ports, none clearly Relay's gRPC port"
    port = int(chosen[0]["port"])
    note = "; 443 is the chart's port when Relay serves TLS, which the suite's plaintext client cannot speak" \
        if port == 443 else ""
    return port, f"Service kube-system/hubble-relay port {port} -> {chosen[0].get('targetPort')}{note}"


def kubernetes_of(version_json: str) -> str | None:
    """`kubectl version -o json` -> the server's gitVersion ("v1.33.12")."""
    try:
        return str(json.loads(version_json)["serverVersion"]["gitVersion"])
    except (ValueError, KeyError, TypeError):
        return None


def observe(kube: Kube) -> ObservedCilium:
    """Read the cluster (four `kubectl get` and one `kubectl version`); a failing `kubectl get` raises
    l7suite.cluster.tools.CommandFailed, a missing object is an "unknown" in the result."""
    config = kube.get("configmap", NAMESPACE, "cilium-config")
    agent = kube.get("daemonset", NAMESPACE, "cilium")
    envoy = kube.get("daemonset", NAMESPACE, "cilium-envoy")
    mode, mode_source = envoy_mode_of(config, envoy)
    port, relay_source = relay_port_of(kube.get("service", NAMESPACE, "hubble-relay"))
    agent_image = container_image(agent, "cilium-agent")
    version = kube.kubectl("version", "-o", "json")
    return ObservedCilium(
        cilium_version=version_of_image(agent_image), agent_image=agent_image,
        envoy_mode=mode, envoy_mode_source=mode_source,
        envoy_image=container_image(envoy, "cilium-envoy") if mode == "daemonset" else None,
        relay_port=port, relay_source=relay_source,
        kubernetes=kubernetes_of(version.stdout) if version.returncode == 0 else None)


def check_mode(observed: ObservedCilium, asked_mode: str, kubeconfig: object) -> None:
    """An adopted cluster must run Envoy the way the run asked: the scenarios' checks and evidence
    (the cilium-envoy DaemonSet's admin, its restart) depend on it. The message says what to pass."""
    if observed.envoy_mode == asked_mode:
        return
    if observed.envoy_mode is None:
        raise ClusterMismatch(f"the cluster of {kubeconfig} runs no usable Envoy "
                              f"({observed.envoy_mode_source}); the L7 scenarios need Cilium's L7 proxy "
                              "(Helm l7Proxy=true)")
    raise ClusterMismatch(f"the cluster of {kubeconfig} runs Envoy {observed.envoy_mode} "
                          f"({observed.envoy_mode_source}), but the run asked for --envoy-mode {asked_mode}: "
                          f"rerun with --envoy-mode {observed.envoy_mode}")

