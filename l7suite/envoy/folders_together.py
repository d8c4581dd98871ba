"""Config compatibility of several scenario folders on one Envoy, where that says what each folder alone would.

The config-compat scenario (l7suite/scenarios/config_compat.py) gives each folder of the manifests a verdict
per Envoy version: ACK, NACK, NO ACK in N s or INVALID, as the folder's configs fare when Envoy gets them on
their own. Loading the folders together on one Envoy per version spares an Envoy start (about 0.07 s of CPU
each, mostly Envoy's own static initialisation) and an xDS server per folder: for the 4 folders of manifests/
on Envoy 1.38.3, 0.14 s of CPU instead of 0.41 s. It stands for the folders' own verdicts only when it is all
ACKs and no folder can lean on another:
- every folder loads and translates on its own (an INVALID one is judged alone, naming its file and field);
- no Kubernetes object is in two folders unless identical (the merged set would keep one of them);
- no folder's translated resources mention a name another folder defines (a resource, or an EDS name the
  agent publishes for its Services): with no such reference, Envoy validates and subscribes each folder's
  resources exactly as when they are alone, so together ACK means ACK alone;
- Envoy ACKs everything and every listener becomes active.
Anything else returns None, and the caller judges each folder on an Envoy of its own, as before. A failing
folder so costs one more run: it ends at once on a NACK or on a cluster waiting for endpoints nobody
serves, and after SHARED_TIMEOUT seconds at most otherwise.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format

from l7suite.cilium.eds_names import published_names
from l7suite.cilium.translated import Translated
from l7suite.envoy.envoy_run import EnvoyRun, translate_scenario
from l7suite.envoy.verdicts import ScenarioConfigError
from l7suite.manifests import K8sObject, ManifestError, ManifestSet

# Seconds the shared run waits for the ACKs. Under the ADS server's initial fetch timeout, so that a run that
# cannot be answered (a cluster waiting for endpoints nobody serves) returns at once (AdsServer.wait_settled).
SHARED_TIMEOUT = 10.0


def defined_names(translated: Translated) -> set[str]:
    """Names a folder defines for Envoy: its resources' and the EDS names published for its Services."""
    names = {name for by_name in translated.resources.values() for name in by_name}
    return names | set(published_names(translated.services))


def mentioned_text(translated: Translated) -> str:
    return "\n".join(text_format.MessageToString(msg) for by_name in translated.resources.values()
                     for msg in by_name.values())


def independent(folders: dict[str, ManifestSet], translated: dict[str, Translated]) -> bool:
    """No object in two folders unless identical, and no folder's resources naming another folder's names."""
    seen: dict[tuple[str, str, str], dict] = {}
    for scenario in folders.values():
        for obj in scenario.objects:
            key = (obj.kind, obj.namespace, obj.name)
            if seen.setdefault(key, obj.data) != obj.data:
                return False
    names = {folder: defined_names(t) for folder, t in translated.items()}
    for folder, t in translated.items():
        text = mentioned_text(t)
        for other, theirs in names.items():
            if other != folder and any(name in text for name in theirs - names[folder]):
                return False
    return True


def merged(folders: dict[str, ManifestSet]) -> ManifestSet:
    """One set of every folder's objects, each identical object (a shared Namespace) once."""
    objects: dict[tuple[str, str, str], K8sObject] = {}
    for scenario in folders.values():
        for obj in scenario.objects:
            objects.setdefault((obj.kind, obj.namespace, obj.name), obj)
    first = next(iter(folders.values()))
    return ManifestSet("config-compat", first.directory.parent, list(objects.values()), dict(first.variables))


def all_ack_together(folders: dict[str, ManifestSet], binary: Path, workdir: Path) -> str | None:
    """Load every folder on one Envoy: its xDS ACK/NACK history when each folder alone would get ACK (see the
    module docstring), None when they have to be judged one by one. EnvoyRun's start returns only once Envoy
    ACKed every type it was sent or asked for, at the version sent, and made every listener active."""
    try:
        translated = {name: translate_scenario(scenario) for name, scenario in folders.items()}
    except ManifestError:
        return None
    if len(folders) < 2 or not independent(folders, translated):
        return None
    try:
        with EnvoyRun(merged(folders), binary, workdir, start_backends=False, apply_timeout=SHARED_TIMEOUT) as run:
            return "\n".join(e.describe() for e in run.ads.events)
    except (ManifestError, ScenarioConfigError):
        return None
