"""Local stand-ins for the pods behind a scenario's Services.

The envoy tier reads the same workloads the e2e tier applies: a Service's selector picks Deployments
(and Pods) of its namespace, each replica becomes one local backend named like a pod
(`deathstar-5d8b9c6f7d-x2k4q`), and the container image chooses what kind of server stands in: the
scenarios declare which (`standins` in l7suite/scenarios/<scenario>.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from l7suite.manifests import K8sObject, ManifestSet
from l7suite.scenarios import StandIn, declared_standins


def standins() -> dict[str, StandIn]:
    """image repository -> stand-in factory, as the scenarios declare them (their modules are imported at
    the first call, not here: they import the envoy-tier harness, which imports this module)."""
    return declared_standins()


def image_repository(image: str) -> str:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last)] + last.split(":", 1)[0]


def _pod_name(deployment: str, index: int) -> str:
    digest = hashlib.sha256(f"{deployment}/{index}".encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    suffix = "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 10, 2))
    return f"{deployment}-{digest[10:20]}-{suffix}"


@dataclass(frozen=True)
class PodSpec:
    name: str
    image: str
    source: K8sObject


def _matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pods_of_service(scenario: ManifestSet, namespace: str, service: str, referrer: K8sObject) -> list[PodSpec]:
    svc = scenario.get("Service", namespace, service)
    if svc is None:
        raise referrer.error(
            f"refers to Service {namespace}/{service}, which no manifest in {scenario.directory} defines"
        )
    selector = svc.spec.get("selector") or {}
    pods: list[PodSpec] = []
    for obj in scenario.of_kind("Deployment", "StatefulSet"):
        template = obj.spec.get("template", {})
        if obj.namespace == namespace and _matches(selector, template.get("metadata", {}).get("labels", {})):
            image = template["spec"]["containers"][0]["image"]
            pods += [PodSpec(_pod_name(obj.name, i), image, obj) for i in range(int(obj.spec.get("replicas", 1)))]
    for obj in scenario.of_kind("Pod"):
        if obj.namespace == namespace and _matches(selector, obj.data["metadata"].get("labels", {})):
            pods.append(PodSpec(obj.name, obj.spec["containers"][0]["image"], obj))
    if not pods:
        raise svc.error(f"selector {selector} matches no Deployment or Pod in {scenario.directory}", "spec.selector")
    return pods


@dataclass
class StandIns:
    """Backends per Service: (namespace, service) -> started backends."""

    by_service: dict[tuple[str, str], list] = field(default_factory=dict)

    def start_service(self, scenario: ManifestSet, namespace: str, service: str, referrer: K8sObject) -> list:
        key = (namespace, service)
        if key in self.by_service:
            return self.by_service[key]
        backends = []
        try:
            for pod in pods_of_service(scenario, namespace, service, referrer):
                factory = standins().get(image_repository(pod.image))
                if factory is None:
                    known = ", ".join(sorted(standins()))
                    raise pod.source.error(
                        f"no local stand-in for image {pod.image!r} (known: {known}); declare one in the "
                        f"scenario's `standins` (l7suite/scenarios/, docs/adding-a-scenario.md)")
                backends.append(factory(pod.name).start())
        except BaseException:
            for backend in backends:
                backend.stop()
            raise
        self.by_service[key] = backends
        return backends

    def all(self) -> list:
        return [b for group in self.by_service.values() for b in group]

    def stop(self) -> None:
        for backend in self.all():
            backend.stop()
        self.by_service.clear()
