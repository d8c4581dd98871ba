"""What `l7suite check` reads: the CEC/CCEC documents of the given files (folders: every *.yaml / *.yml under
them) and, as context, the Services, workloads and network policies beside them (a Service's ports decide
which port-qualified EDS names exist; a policy's listener reference gets the original destination back).
Other documents are ignored with a note; a config the agent would refuse is INVALID before any Envoy runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from l7suite.cilium.cec_translation import placeholder_port, translate_configs
from l7suite.cilium.translated import Translated
from l7suite.envoy.verdicts import Outcome, Verdict
from l7suite.envoy.xds_server import ads_config_source
from l7suite.manifests import CEC_KINDS, K8sObject, ManifestError, check_object, display_path, parse_documents

CONTEXT_KINDS = ("Service", "Deployment", "StatefulSet", "Pod", "CiliumNetworkPolicy",
                 "CiliumClusterwideNetworkPolicy", "Namespace")
MENTIONS_CONFIG = re.compile(r"^kind:\s*Cilium(Clusterwide)?EnvoyConfig\s*$", re.MULTILINE)


@dataclass
class Inputs:
    """What the given paths hold: configs to check, context objects, files that could not be read, notes."""

    configs: list[K8sObject] = field(default_factory=list)
    context: list[K8sObject] = field(default_factory=list)
    invalid: list[tuple[str, str, Outcome]] = field(default_factory=list)  # (row label, file, INVALID outcome)
    notes: list[str] = field(default_factory=list)


def row_label(config: K8sObject) -> str:
    return f"{config.ref} ({display_path(config.source)})"


def yaml_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return list(dict.fromkeys(files))


def read_inputs(paths: list[Path]) -> Inputs:
    out = Inputs()
    for path in yaml_files(paths):
        text = path.read_text(errors="replace")
        try:
            documents = parse_documents(path, text)
        except ManifestError as exc:
            if MENTIONS_CONFIG.search(text):
                out.invalid.append((display_path(path), display_path(path), Outcome(Verdict.INVALID, str(exc))))
            else:
                out.notes.append(f"{display_path(path)}: ignored (not valid YAML, no CiliumEnvoyConfig in it)")
            continue
        for index, doc in documents:
            kind = doc.get("kind") if isinstance(doc, dict) else None
            obj = K8sObject(data=doc, source=path, document=index)
            if kind in CEC_KINDS:
                try:
                    check_object(obj)
                except ManifestError as exc:
                    name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc, dict) else "?"
                    out.invalid.append((f"{kind} {name} ({display_path(path)})", display_path(path),
                                        Outcome(Verdict.INVALID, str(exc))))
                    continue
                out.configs.append(obj)
            elif kind in CONTEXT_KINDS:
                try:
                    check_object(obj)
                    out.context.append(obj)
                except ManifestError as exc:
                    out.notes.append(f"ignored as context: {exc}")
            else:
                what = f"kind {kind}" if kind else "not a Kubernetes object"
                out.notes.append(f"{display_path(path)} document {index}: ignored ({what})")
    return out


def valid_configs(configs: list[K8sObject], context: list[K8sObject]
                  ) -> tuple[list[K8sObject], dict[int, Outcome], Translated]:
    """Configs the agent would accept (translated alone, then together); the others' INVALID outcomes; the
    accepted configs translated together (for their notes: its listeners have placeholder ports, as these
    translations only validate and reserve no loopback port; Envoy gets a translation of its own)."""
    invalid: dict[int, Outcome] = {}
    accepted: list[K8sObject] = []
    merged = Translated()
    for config in configs:
        try:
            together = translate_configs([*accepted, config], context, ads_config_source, placeholder_port)
        except ManifestError as exc:
            invalid[id(config)] = Outcome(Verdict.INVALID, str(exc))
            continue
        accepted.append(config)
        merged = together
    return accepted, invalid, merged
