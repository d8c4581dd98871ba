"""Stand-in `helm`: `show values` and `upgrade --install` of chart cilium (what the chart creates)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.cluster import Cluster, cluster_of, system_object
from suites.rehearsal.standins.core import UNIT_DATA, Call, Unhandled, failures, load_data, state

HELM_VERSION_SHORT = "v3.19.0+g3d8990f"
HELM_BUILD_INFO = ('version.BuildInfo{Version:"v3.19.0", GitCommit:"3d8990f0836691f0229297773f3524598f46bda6", '
                   'GitTreeState:"clean", GoVersion:"go1.24.7"}')


def chart(version: str) -> dict[str, Any] | None:
    """What the stand-in helm knows of chart `cilium` at `version`: the releases matrix.yaml lists (the
    suite's record of each release's cilium-envoy pin, Helm `envoy.image`), with the images the chart's
    templates render for the agent, operator and relay (`<repository>:v<version>`; their digests were not
    read, so they are rendered by tag). Any other version is "not found", as `helm --repo` says."""
    from l7suite.versions import cilium_releases  # the venv's suite (L7SUITE_REHEARSAL_PYTHON)

    for release in cilium_releases():
        if release.version == version:
            reference, _, digest = release.envoy_image.partition("@")
            repository, _, tag = reference.rpartition(":")
            envoy = {"override": None, "repository": repository, "tag": tag, "pullPolicy": "IfNotPresent",
                     "digest": digest, "useDigest": bool(digest)}
            return {"values": {"envoy": {"enabled": True, "image": envoy}},
                    "rendered": {"cilium": f"quay.io/cilium/cilium:v{version}",
                                 "cilium-operator": f"quay.io/cilium/operator-generic:v{version}",
                                 "hubble-relay": f"quay.io/cilium/hubble-relay:v{version}"}}
    return None


def helm(call: Call, args: list[str]) -> int:
    if args[:1] == ["version"]:
        call.out.write((HELM_VERSION_SHORT if "--short" in args else HELM_BUILD_INFO) + "\n")
        return 0
    repo = flag(args, "--repo", "")
    version = flag(args, "--version", "")
    if args[:2] == ["show", "values"]:
        known = chart(version or "")
        if known is None:
            call.err.write(f'Error: chart "cilium" version "{version}" not found in {repo} repository\n')
            return 1
        import yaml

        call.out.write(yaml.safe_dump(known["values"], sort_keys=False))
        return 0
    if args[:2] == ["upgrade", "--install"] or (args[:1] == ["upgrade"] and "--install" in args):
        return helm_install(call, args, version or "")
    raise Unhandled("helm", args)


def helm_install(call: Call, args: list[str], version: str) -> int:
    import yaml

    values: dict[str, Any] = {}
    for i, a in enumerate(args):
        if a in ("--values", "-f") and i + 1 < len(args):
            values.update(yaml.safe_load(call.keep_file(args[i + 1])) or {})
    known = chart(version)
    if known is None:
        call.err.write(f'Error: chart "cilium" version "{version}" not found in {flag(args, "--repo")} repository\n')
        return 1
    kubeconfig = str(call.path(flag(args, "--kubeconfig") or call.env.get("KUBECONFIG", "")))
    with state(call.root) as world:
        cluster = cluster_of(world, kubeconfig)
        if cluster is None:
            call.err.write("Error: INSTALLATION FAILED: Kubernetes cluster unreachable: Get "
                           '"https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: connect: connection refused\n')
            return 1
        if "helm-install" in failures(call):
            # helm's message when the chart's pre-install checks refuse the values
            call.err.write('Error: INSTALLATION FAILED: execution error at (cilium/templates/validate.yaml:5:5): '
                           "rehearsal: the stand-in helm was told to fail (L7SUITE_REHEARSAL_FAIL=helm-install)\n")
            return 1
        install_cilium(cluster, values, known)
        revision = cluster.data.setdefault("helm_revision", 0) + 1
        cluster.data["helm_revision"] = revision
        cluster.data["helm_values"] = values
    if revision == 1:
        call.out.write('Release "cilium" does not exist. Installing it now.\n')
    else:
        call.out.write('Release "cilium" has been upgraded. Happy Helming!\n')
    relay = "with Hubble Relay" if values.get("hubble", {}).get("relay", {}).get("enabled") else ""
    call.out.write(f"NAME: cilium\nLAST DEPLOYED: {time.strftime('%a %b %d %H:%M:%S %Y')}\nNAMESPACE: kube-system\n"
                   f"STATUS: deployed\nREVISION: {revision}\nTEST SUITE: None\nNOTES:\n"
                   f"You have successfully installed Cilium {relay}.\n\nYour release version is {version}.\n\n"
                   "For any further help, visit https://docs.cilium.io/en/v"
                   f"{'.'.join(version.split('.')[:2])}/gettinghelp\n")
    return 0


# What the chart creates, as the seam tests' constructed objects have it (suites/unit/data/README.md); the
# operator and Hubble Relay Deployments are in data/k8s/cilium-chart-objects.json.
CHART_SHAPES_FROM_UNIT_DATA: list[Any] = [UNIT_DATA / f for f in (
    "k8s_daemonset_cilium_agent.json", "k8s_daemonset_cilium_envoy.json", "k8s_service_hubble_relay.json",
    "k8s_configmap_cilium_config.json")]


def install_cilium(cluster: Cluster, values: dict[str, Any], known: dict[str, Any]) -> None:
    """What the chart's templates create, in the shapes of data/k8s/cilium-chart-objects.json, with the
    images the values select (an `override` wins; cilium-envoy: repository:tag, @digest with useDigest)."""
    def block(*path: str) -> dict[str, Any]:
        node: Any = values
        for p in path:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    envoy_image = {**known["values"]["envoy"]["image"],
                   **{k: v for k, v in block("envoy", "image").items() if v is not None}}
    rendered = dict(known["rendered"])
    rendered["cilium-envoy"] = envoy_image.get("override") or (
        f"{envoy_image['repository']}:{envoy_image['tag']}"
        + (f"@{envoy_image['digest']}" if envoy_image.get("useDigest") and envoy_image.get("digest") else ""))
    for name, path in (("cilium", ("image",)), ("cilium-operator", ("operator", "image")),
                       ("hubble-relay", ("hubble", "relay", "image"))):
        if block(*path).get("override"):
            rendered[name] = str(block(*path)["override"])
    envoy_enabled = block("envoy").get("enabled", True)
    relay_enabled = block("hubble", "relay").get("enabled", False)
    wanted = {"cilium-envoy": envoy_enabled, "hubble-relay": relay_enabled}
    for shape in CHART_SHAPES_FROM_UNIT_DATA + load_data("k8s/cilium-chart-objects.json"):
        obj = json.loads(json.dumps(load_data(shape) if isinstance(shape, Path) else shape))
        name = obj["metadata"]["name"]
        obj.pop("status", None)
        if not wanted.get(name, True):
            continue
        pod_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
            container["image"] = rendered[name]
        if obj["kind"] == "Deployment" and name == "cilium-operator":
            obj["spec"]["replicas"] = int(block("operator").get("replicas", 2))
        if obj["kind"] == "ConfigMap":
            obj["data"]["external-envoy-proxy"] = "true" if envoy_enabled else "false"
            obj["data"]["enable-envoy-config"] = ("true" if block("loadBalancer", "l7").get("backend") == "envoy"
                                                  else "false")
            obj["data"]["cluster-name"] = str(values.get("cluster", {}).get("name", "default"))
        cluster.put(system_object(obj))
    for crd in ("ciliumenvoyconfigs.cilium.io", "ciliumclusterwideenvoyconfigs.cilium.io",
                "ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"):
        cluster.put(system_object({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                                   "metadata": {"name": crd}, "spec": {"group": "cilium.io"}}))
