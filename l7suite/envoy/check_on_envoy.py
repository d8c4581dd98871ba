"""One `l7suite check` on one Envoy version: every accepted config loaded together, as the agent serves them,
and each config's verdict from what Envoy said (NACKs, names it never acknowledged, names it asked for that
nobody serves, listeners never active), each problem given to the config whose resource it names.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from l7suite.cilium.eds_names import explain_unserved
from l7suite.cilium.translated import Translated
from l7suite.envoy.envoy_run import EnvoyRun
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SHORT
from l7suite.envoy.verdict_details import nack_line, names_in_message, rds_names
from l7suite.envoy.verdicts import ACK, Outcome, Verdict
from l7suite.manifests import K8sObject, ManifestSet

# Set on Ctrl-C: a version's thread (a daemon, still running until the process ends) starts no further
# Envoy and makes no further files once the main thread has stopped the Envoys and removes their folder.
CANCELLED = threading.Event()


class Cancelled(Exception):
    """The check was interrupted; raised in a version's thread that was about to start an Envoy."""


@dataclass
class Findings:
    """Per config (by id), the lines of what went wrong on one Envoy."""

    nack: dict[int, list[str]] = field(default_factory=dict)
    pending: dict[int, list[str]] = field(default_factory=dict)
    # configs left waiting only because another config's cluster holds Envoy's start-up back
    masked: set[int] = field(default_factory=set)

    def add(self, kind: str, config: K8sObject, line: str) -> None:
        lines = (self.nack if kind == "nack" else self.pending).setdefault(id(config), [])
        if line not in lines:
            lines.append(line)


def _owner(translated: Translated, type_url: str, name: str) -> K8sObject | None:
    origin = translated.origin_of(type_url, name)
    return origin.config if origin else None


def check_version(version: str, binary: Path, configs: list[K8sObject], context: list[K8sObject],
                  timeout: float, workdir: Path) -> dict[int, Outcome]:
    """The verdict of each config (by id) on `version`: all configs in one Envoy, as the agent serves them;
    configs another config's waiting cluster kept from being loaded get a second Envoy without it."""
    outcomes, masked = check_on(version, binary, configs, context, timeout, workdir)
    if masked:
        again, _ = check_on(version, binary, [c for c in configs if id(c) in masked], context, timeout, workdir)
        outcomes.update(again)
    return outcomes


def check_on(version: str, binary: Path, configs: list[K8sObject], context: list[K8sObject],
             timeout: float, workdir: Path) -> tuple[dict[int, Outcome], set[int]]:
    """Load `configs` into one Envoy of `version`: the verdict of each config (by id), and the configs whose
    NO ACK comes from another config's cluster waiting for endpoints nobody serves."""
    if CANCELLED.is_set():
        raise Cancelled(f"Envoy {version} not started: the check was interrupted")
    # one Envoy's files in a folder of its own under the check's
    scenario = ManifestSet("check", Path.cwd(), [*context, *configs])
    run = EnvoyRun(scenario, binary, Path(tempfile.mkdtemp(prefix=f"envoy-{version}-", dir=workdir)),
                        start_backends=False, apply_timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        run.launch()
        settled = run.ads.wait_settled(run.versions, timeout)
        listeners = list(run.translated.listener_ports)
        for event in (e for e in settled.nacks if e.type_url == LISTENER):  # rejected ones never get active
            rejected = names_in_message(listeners, event.error) or listeners
            listeners = [n for n in listeners if n not in rejected]
        inactive = [] if settled.pending else run.inactive_listeners(
            listeners, max(deadline - time.monotonic(), 0.2))
        found = findings(run, settled.nacks, run.ads.unacknowledged(settled.pending), inactive)
        log = run.log_warnings()
    finally:
        run.stop()
    outcomes = {}
    for config in configs:
        key = id(config)
        if key in found.nack:
            outcomes[key] = Outcome(Verdict.NACK, "\n".join(found.nack[key]))
        elif key in found.pending:
            details = "\n".join(found.pending[key])
            if log:
                details += "\nEnvoy's warnings and errors (last lines of its log):\n" + log
            outcomes[key] = Outcome(Verdict.NO_ACK, details, timeout)
        else:
            outcomes[key] = ACK
    return outcomes, found.masked


def findings(run: EnvoyRun, nacks: list, unacked: dict[str, list[str]], inactive: list[str]) -> Findings:
    translated = run.translated
    found = Findings()
    configs = translated.configs()
    for event in nacks:
        names = [n for (t, n) in translated.origins if t == event.type_url]
        named = names_in_message(names, event.error)
        line = nack_line(event)
        owners = [_owner(translated, event.type_url, n) for n in named] if named else [
            c for c in configs if any(_owner(translated, event.type_url, n) is c for n in names)]
        for owner in owners:
            if owner is None:
                continue
            mine = [n for n in named if _owner(translated, event.type_url, n) is owner]
            found.add("nack", owner, "\n".join([line, *translated.origin_lines(event.type_url, mine)])
                      + ("" if mine else "\n  (Envoy's message names no resource; this config has some of that "
                                         "type)"))
    unserved = run.ads.unserved()
    root_causes = False
    for name in unserved.get(ENDPOINTS, []):
        for cluster, eds in translated.eds_names.items():
            owner = _owner(translated, CLUSTER, cluster)
            if eds == name and owner is not None:
                root_causes = True
                found.add("pending", owner, f"cluster {cluster!r} waits for endpoints (EDS) {name!r} that nobody "
                                            f"serves: {explain_unserved(name, translated.services)}")
    for name in unserved.get(ROUTE, []):
        for listener, msg in translated.resources.get(LISTENER, {}).items():
            owner = _owner(translated, LISTENER, listener)
            if name in rds_names(msg) and owner is not None:
                root_causes = True
                found.add("pending", owner, f"listener {listener!r} waits for RouteConfiguration {name!r} that "
                                            "nobody serves (RDS names are qualified like listener names: "
                                            "<namespace>/<config>/<name>)")
    for type_url, names in unacked.items():
        for name in names:
            owner = _owner(translated, type_url, name)
            if owner is not None:
                found.add("pending", owner, f"{SHORT.get(type_url, type_url)} {name!r} never acknowledged")
    for name in inactive:
        owner = _owner(translated, LISTENER, name)
        if owner is not None:
            found.add("pending", owner, f"listener {name!r} acknowledged but never active (warming)")
    if root_causes and LISTENER in unacked:
        for key, lines in found.pending.items():
            if not any("nobody serves" in line for line in lines) and key not in found.nack:
                found.masked.add(key)
                lines.append("Envoy asks for listeners only once every cluster has its endpoints: see the "
                             "configs whose clusters wait for endpoints nobody serves")
    return found
