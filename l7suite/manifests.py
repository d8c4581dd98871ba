"""Scenario manifests: YAML folders shared by the envoy tier and the e2e tier.

A scenario is a folder `manifests/<scenario>/`. Every `*.yaml` file directly in it is part of the
scenario's base state; files under `stages/` are applied by tests at a given step (for example the
Star Wars L3/L4 policy, then the L7 policy). `${NAME}` placeholders are filled at load time from
values the tier supplies (for example the HTTP CONNECT proxy's address).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from l7suite import MANIFESTS_DIR

CEC_KINDS = ("CiliumEnvoyConfig", "CiliumClusterwideEnvoyConfig")
CLUSTERWIDE_KINDS = {"CiliumClusterwideEnvoyConfig", "CiliumClusterwideNetworkPolicy", "Namespace"}
DEFAULT_NAMESPACE = "default"
# libyaml's safe loader (in PyYAML's wheels) where present: the same documents as yaml.safe_load_all, parsed
# about ten times faster; every Envoy run of the envoy tier parses its scenario's manifests.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(ValueError):
    """A manifest is unusable. The message names the file, the object and the field."""

    def __init__(self, source: Path | str, message: str, field_path: str = "", obj: str = ""):
        self.source = Path(source)
        self.field_path = field_path
        self.obj = obj
        where = display_path(self.source)
        if obj:
            where += f" ({obj})"
        if field_path:
            where += f": {field_path}"
        super().__init__(f"{where}: {message}")


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)



@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes object and where it was read from."""

    data: dict[str, Any]
    source: Path
    document: int

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def name(self) -> str:
        return str(self.data["metadata"]["name"])

    @property
    def namespace(self) -> str:
        """Empty for cluster-wide kinds (a CCEC's names are qualified with an empty namespace); `default` for a
        namespaced object written without one, where `kubectl apply` puts it when the context names none."""
        if self.kind in CLUSTERWIDE_KINDS:
            return ""
        return str(self.data["metadata"].get("namespace") or DEFAULT_NAMESPACE)

    @property
    def spec(self) -> dict[str, Any]:
        return self.data.get("spec") or {}

    @property
    def ref(self) -> str:
        """How messages name the object: `Kind namespace/name` (or `Kind name` for cluster-wide kinds)."""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def error(self, message: str, field_path: str = "") -> ManifestError:
        return ManifestError(self.source, message, field_path, obj=f"document {self.document}, {self.ref}")


@dataclass
class ManifestSet:
    name: str
    directory: Path
    objects: list[K8sObject] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # the `${NAME}` values it was loaded with

    def of_kind(self, *kinds: str) -> list[K8sObject]:
        return [o for o in self.objects if o.kind in kinds]

    def envoy_configs(self) -> list[K8sObject]:
        return self.of_kind(*CEC_KINDS)

    def get(self, kind: str, namespace: str, name: str) -> K8sObject | None:
        for obj in self.objects:
            if obj.kind == kind and obj.name == name and obj.namespace == namespace:
                return obj
        return None

    def stage_files(self) -> dict[str, Path]:
        stages = self.directory / "stages"
        return {p.stem: p for p in sorted(stages.glob("*.yaml"))} if stages.is_dir() else {}

    def stage(self, name: str) -> list[K8sObject]:
        """The objects of `stages/<name>.yaml`, loaded with the scenario's own `${NAME}` values."""
        stages = self.stage_files()
        if name not in stages:
            raise ManifestError(self.directory / "stages", f"no stage {name!r}; stages: {', '.join(stages) or 'none'}")
        return load_file(stages[name], self.variables)


def available_scenarios(manifests_dir: Path = MANIFESTS_DIR) -> list[str]:
    return sorted(p.name for p in manifests_dir.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def scenario_dir(name: str, manifests_dir: Path = MANIFESTS_DIR) -> Path:
    directory = manifests_dir / name
    if not directory.is_dir() or not any(directory.glob("*.yaml")):
        known = ", ".join(available_scenarios(manifests_dir)) or "none"
        raise ManifestError(directory, f"no scenario {name!r} here; scenarios in {manifests_dir}: {known}")
    return directory


def load_manifest_set(
    name: str, manifests_dir: Path = MANIFESTS_DIR, variables: dict[str, str] | None = None
) -> ManifestSet:
    directory = scenario_dir(name, manifests_dir)
    objects: list[K8sObject] = []
    for path in sorted(directory.glob("*.yaml")):
        objects.extend(load_file(path, variables))
    return ManifestSet(name=name, directory=directory, objects=objects, variables=dict(variables or {}))


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders_in(directory: Path) -> list[str]:
    """The `${NAME}` placeholders of a scenario's base files (what a tier must supply to load it)."""
    return sorted({n for p in directory.glob("*.yaml") for n in _PLACEHOLDER.findall(p.read_text())})


def load_file(path: Path, variables: dict[str, str] | None = None) -> list[K8sObject]:
    text = path.read_text()
    needed = sorted(set(_PLACEHOLDER.findall(text)))
    missing = [n for n in needed if n not in (variables or {})]
    if missing:
        raise ManifestError(path, f"placeholder(s) {', '.join(missing)} have no value in this tier")
    if needed:
        text = string.Template(text).substitute(variables or {})
    objects = []
    for index, doc in parse_documents(path, text):
        obj = K8sObject(data=doc, source=path, document=index)
        check_object(obj)
        objects.append(obj)
    return objects


def parse_documents(path: Path, text: str) -> list[tuple[int, Any]]:
    """The non-empty YAML documents of a file, numbered from 1; ManifestError names the line of bad YAML."""
    try:
        documents = list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(path, f"not valid YAML: {line}{problem}") from None
    return [(index, doc) for index, doc in enumerate(documents, start=1) if doc is not None]


def check_object(obj: K8sObject) -> None:
    """ManifestError (file, document, field) unless `obj` is a Kubernetes object the suite can use."""
    data = obj.data
    where = f"document {obj.document}"
    if not isinstance(data, dict):
        raise ManifestError(obj.source, "expected a mapping (a Kubernetes object)", obj=where)
    for key in ("apiVersion", "kind"):
        if not data.get(key):
            raise ManifestError(obj.source, "required field is missing", key, obj=where)
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ManifestError(obj.source, "required field is missing", "metadata.name", obj=f"{where}, {data['kind']}")
    if obj.kind in CEC_KINDS:
        _check_envoy_config(obj)


def _check_envoy_config(obj: K8sObject) -> None:
    """The CRD's shape (pkg/k8s/apis/cilium.io/v2 cec_types.go): `resources` required, each with `@type`;
    `services[].name` and `backendServices[].name` required.
    The agent's own rules are in l7suite/cilium/."""
    if not isinstance(obj.data.get("spec"), dict):
        raise obj.error("required field is missing", "spec")
    resources = obj.spec.get("resources")
    if not isinstance(resources, list) or not resources:
        raise obj.error("required field is missing or empty", "spec.resources")
    for i, res in enumerate(resources):
        if not isinstance(res, dict) or not res.get("@type"):
            raise obj.error("every Envoy resource needs '@type'", f"spec.resources[{i}].@type")
        kind = str(res["@type"]).rsplit(".", 1)[-1]
        if kind != "ClusterLoadAssignment" and not res.get("name"):
            raise obj.error(f"required field is missing (the agent refuses the config: \"unspecified {kind} name\")",
                            f"spec.resources[{i}].name")
    for key in ("services", "backendServices"):
        entries = obj.spec.get(key) or []
        if not isinstance(entries, list):
            raise obj.error("expected a list", f"spec.{key}")
        for i, svc in enumerate(entries):
            if not isinstance(svc, dict) or not svc.get("name"):
                raise obj.error("required field is missing", f"spec.{key}[{i}].name")
