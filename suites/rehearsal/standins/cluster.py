"""The stand-in cluster: API objects as the API server returns them, and what controllers do to them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from suites.rehearsal.standins.api_names import CLUSTER_SCOPED, POLICY_KINDS, key, labels_match
from suites.rehearsal.standins.core import next_seq, now_iso, suffix


class Cluster:
    """One stand-in cluster: its nodes and API objects, inside the shared state."""

    def __init__(self, world: dict[str, Any], name: str):
        self.world = world
        self.name = name
        self.data = world["clusters"][name]

    @property
    def objects(self) -> dict[str, dict[str, Any]]:
        return dict(self.data["objects"])

    def nodes(self) -> list[str]:
        return list(self.data["nodes"])

    def workers(self) -> list[str]:
        return [n for n in self.data["nodes"] if "control-plane" not in n] or self.nodes()

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data["objects"].get(key(kind, namespace, name))

    def select(self, kind: str, namespace: str | None, selector: str = "") -> list[dict[str, Any]]:
        out = []
        for obj in self.data["objects"].values():
            meta = obj["metadata"]
            if obj["kind"] != kind:
                continue
            if namespace is not None and kind not in CLUSTER_SCOPED and meta.get("namespace") != namespace:
                continue
            if selector and not labels_match(meta.get("labels", {}), selector):
                continue
            out.append(obj)
        return sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def put(self, obj: dict[str, Any]) -> str:
        """Store an object as the API server would return it; returns created/configured/unchanged."""
        kind, meta = obj["kind"], obj.setdefault("metadata", {})
        if kind in CLUSTER_SCOPED:
            meta.pop("namespace", None)
        else:
            meta.setdefault("namespace", "default")
        k = key(kind, meta.get("namespace", ""), meta["name"])
        old = self.data["objects"].get(k)
        if old is not None:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            changed = old.get("spec") != obj.get("spec")
            meta["generation"] = old["metadata"].get("generation", 1) + (1 if changed else 0)
        else:
            meta["uid"] = hashlib.sha1(f"{self.name}/{k}/{next_seq(self.world)}".encode()).hexdigest()[:32]
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
        meta["resourceVersion"] = str(next_seq(self.world))
        self.data["objects"][k] = obj
        if kind in POLICY_KINDS and (old is None or old.get("spec") != obj.get("spec")):
            self.data["policy_revision"] = self.data.get("policy_revision", 1) + 1
        self.settle(obj)
        return "unchanged" if old is not None and old.get("spec") == obj.get("spec") else (
            "configured" if old is not None else "created")

    def remove(self, kind: str, namespace: str, name: str) -> bool:
        k = key(kind, namespace, name)
        if k not in self.data["objects"]:
            return False
        obj = self.data["objects"].pop(k)
        removed_policies = int(kind in POLICY_KINDS)
        if kind == "Namespace":
            for other in [o for o, v in self.data["objects"].items()
                          if v["metadata"].get("namespace") == name and v["kind"] not in CLUSTER_SCOPED]:
                removed_policies += int(self.data["objects"][other]["kind"] in POLICY_KINDS)
                del self.data["objects"][other]
        elif kind in ("Deployment", "DaemonSet"):
            uid = obj["metadata"]["uid"]
            for other in [o for o, v in self.data["objects"].items()
                          if v["kind"] == "Pod" and v["metadata"].get("l7suite-owner") == uid]:
                del self.data["objects"][other]
        # the agents' policy repository moves one revision per policy added, changed or removed
        self.data["policy_revision"] = self.data.get("policy_revision", 1) + removed_policies
        return True

    # what controllers do: roll out workloads at once and report them ready
    def settle(self, obj: dict[str, Any]) -> None:
        kind, meta = obj["kind"], obj["metadata"]
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif kind == "Service" and obj.get("spec", {}).get("clusterIP") != "None":
            obj.setdefault("spec", {})["clusterIP"] = f"10.96.{next_seq(self.world) % 250}.{next_seq(self.world) % 250}"
        elif kind == "Deployment":
            replicas = obj.setdefault("spec", {}).setdefault("replicas", 1)
            self._pods_of(obj, [self.workers()[i % len(self.workers())] for i in range(replicas)])
            obj["status"] = {"observedGeneration": meta["generation"], "replicas": replicas,
                             "updatedReplicas": replicas, "readyReplicas": replicas,
                             "availableReplicas": replicas,
                             "conditions": [{"type": "Available", "status": "True",
                                             "reason": "MinimumReplicasAvailable"}]}
        elif kind == "DaemonSet":
            nodes = self.nodes()
            self._pods_of(obj, nodes)
            n = len(nodes)
            obj["status"] = {"observedGeneration": meta["generation"], "currentNumberScheduled": n,
                             "desiredNumberScheduled": n, "numberMisscheduled": 0, "numberReady": n,
                             "updatedNumberScheduled": n, "numberAvailable": n}
        elif kind == "Pod":
            self._schedule(obj, self.workers()[next_seq(self.world) % len(self.workers())])

    def _schedule(self, pod: dict[str, Any], node: str) -> None:
        spec = pod.setdefault("spec", {})
        spec.setdefault("nodeName", node)
        host_network = spec.get("hostNetwork", False)
        address = (self.node_address(spec["nodeName"]) if host_network
                   else f"10.244.{self.nodes().index(spec['nodeName'])}.{next_seq(self.world) % 250 + 2}")
        pod["status"] = {"phase": "Running", "podIP": address, "hostIP": self.node_address(spec["nodeName"]),
                         "conditions": [{"type": t, "status": "True"} for t in
                                        ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                         "PodScheduled")],
                         "containerStatuses": [{"name": c.get("name", ""), "image": c.get("image", ""),
                                                "ready": True, "started": True, "restartCount": 0,
                                                "state": {"running": {"startedAt": now_iso()}}}
                                               for c in spec.get("containers", [])]}

    def node_address(self, node: str) -> str:
        return f"172.18.0.{self.nodes().index(node) + 2}"

    def _pods_of(self, owner: dict[str, Any], nodes: list[str]) -> None:
        uid, meta = owner["metadata"]["uid"], owner["metadata"]
        for k in [k for k, v in self.data["objects"].items()
                  if v["kind"] == "Pod" and v["metadata"].get("l7suite-owner") == uid]:
            del self.data["objects"][k]
        template = owner.get("spec", {}).get("template", {})
        template_hash = hashlib.sha1(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        for node in nodes:
            labels = dict(template.get("metadata", {}).get("labels", {}))
            if owner["kind"] == "Deployment":
                labels["pod-template-hash"] = template_hash
                name = f"{meta['name']}-{template_hash}-{suffix(self.world)}"
            else:
                name = f"{meta['name']}-{suffix(self.world)}"
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": meta.get("namespace", "default"), "labels": labels,
                                "l7suite-owner": uid, "uid": suffix(self.world, 12),
                                "creationTimestamp": now_iso(), "generation": 1,
                                "ownerReferences": [{"apiVersion": owner.get("apiVersion", "apps/v1"),
                                                     "kind": owner["kind"], "name": meta["name"], "uid": uid,
                                                     "controller": True}]},
                   "spec": json.loads(json.dumps(template.get("spec", {})))}
            self._schedule(pod, node)
            self.data["objects"][key("Pod", pod["metadata"]["namespace"], name)] = pod

    def leftovers(self, system: set[str]) -> list[str]:
        """Objects that are not the cluster's own (what a run applied and did not delete)."""
        out = []
        for k, obj in self.data["objects"].items():
            if obj["kind"] in ("Pod", "Node") or obj["metadata"].get("l7suite-system"):
                continue
            if obj["metadata"].get("namespace") in system:
                continue
            out.append(k)
        return sorted(out)


def system_object(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["l7suite-system"] = True
    return obj


def cluster_of(world: dict[str, Any], kubeconfig: str) -> Cluster | None:
    """The stand-in cluster a kubeconfig points at (by its current context `kind-<name>`), if it exists."""
    try:
        config = json.loads(Path(kubeconfig).read_text())
        name = str(config["current-context"]).removeprefix("kind-")
    except (OSError, ValueError, KeyError):
        return None
    return Cluster(world, name) if name in world["clusters"] else None


def kubeconfig_text(cluster: str, port: int) -> str:
    """A kubeconfig in kind's shape (context `kind-<name>`), written as JSON (valid YAML): no keys in it."""
    context = f"kind-{cluster}"
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": f"https://127.0.0.1:{port}",
                                                   "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [{"name": context, "user": {"token": "rehearsal-stand-in"}}],
    }, indent=2) + "\n"
