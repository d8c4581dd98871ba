"""`l7suite check PATH...`: CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig files on real Envoy, every version.

Every CEC/CCEC document of the given files (folders: every *.yaml / *.yml under them) is translated as the
Cilium agent would (l7suite/cilium/cec_translation.py), then all of them are served together over xDS to each
chosen Envoy
version, the versions side by side. Each config gets one verdict per version (l7suite/envoy/verdicts.py): ACK,
NACK, NO ACK in N s, INVALID. Services, Deployments and network policies in the same files are used as
context (a Service's ports decide which port-qualified EDS names exist; a policy's listener reference gets
the original destination back); other documents are ignored with a note. Exit status 0 only if every
config got ACK on every version; 1 otherwise; 2 for a usage error (no config found, unknown version).

What a check cannot show: no pods run, so every Service a config references is taken to exist with ready
backends and gets the EDS names the agent would publish, empty; cilium-envoy's own filters and network
policy are not there (upstream Envoy); a config that only fails together with configs of the cluster that
are not in the given files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from l7suite import MATRIX_FILE
from l7suite.cilium.cec_translation import Translated
from l7suite.cilium.eds_names import explain_unserved
from l7suite.envoy.binaries import EnvoyBinaryError, ensure_envoy
from l7suite.envoy.envoy_run import EnvoyRun, names_in_message, rds_names, translate_configs
from l7suite.envoy.process import stop_all
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE, SHORT
from l7suite.envoy.verdicts import ACK, Outcome, Verdict
from l7suite.manifests import CEC_KINDS, K8sObject, ManifestError, ManifestSet, check_object, parse_documents
from l7suite.manifests import display_path as _display
from l7suite.versions import UnknownVersion, envoy_versions

# Set on Ctrl-C: a version's thread (a daemon, still running until the process ends) starts no further
# Envoy and makes no further files once the main thread has stopped the Envoys and removes their folder.
_CANCELLED = threading.Event()


class Cancelled(Exception):
    """The check was interrupted; raised in a version's thread that was about to start an Envoy."""


CHECK_TIMEOUT = 10.0  # seconds Envoy gets to ACK everything and make its listeners active (`--timeout`)
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
    return f"{config.ref} ({_display(config.source)})"


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
                out.invalid.append((_display(path), _display(path), Outcome(Verdict.INVALID, str(exc))))
            else:
                out.notes.append(f"{_display(path)}: ignored (not valid YAML, no CiliumEnvoyConfig in it)")
            continue
        for index, doc in documents:
            kind = doc.get("kind") if isinstance(doc, dict) else None
            obj = K8sObject(data=doc, source=path, document=index)
            if kind in CEC_KINDS:
                try:
                    check_object(obj)
                except ManifestError as exc:
                    name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc, dict) else "?"
                    out.invalid.append((f"{kind} {name} ({_display(path)})", _display(path),
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
                out.notes.append(f"{_display(path)} document {index}: ignored ({what})")
    return out


def valid_configs(configs: list[K8sObject], context: list[K8sObject]) -> tuple[list[K8sObject], dict[int, Outcome]]:
    """Configs the agent would accept (translated alone, then together); the others' INVALID outcomes."""
    invalid: dict[int, Outcome] = {}
    accepted: list[K8sObject] = []
    for config in configs:
        try:
            translate_configs([*accepted, config], context)
        except ManifestError as exc:
            invalid[id(config)] = Outcome(Verdict.INVALID, str(exc))
            continue
        accepted.append(config)
    return accepted, invalid


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


class CheckError(RuntimeError):
    """Envoy could not be run for a check (not a verdict about a config)."""


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
    if _CANCELLED.is_set():
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
        findings = _findings(run, settled.nacks, run.ads.unacknowledged(settled.pending), inactive)
        log = run.log_warnings()
    finally:
        run.stop()
    outcomes = {}
    for config in configs:
        key = id(config)
        if key in findings.nack:
            outcomes[key] = Outcome(Verdict.NACK, "\n".join(findings.nack[key]))
        elif key in findings.pending:
            details = "\n".join(findings.pending[key])
            if log:
                details += "\nEnvoy's warnings and errors (last lines of its log):\n" + log
            outcomes[key] = Outcome(Verdict.NO_ACK, details, timeout)
        else:
            outcomes[key] = ACK
    return outcomes, findings.masked


def _findings(run: EnvoyRun, nacks: list, unacked: dict[str, list[str]], inactive: list[str]) -> Findings:
    translated = run.translated
    found = Findings()
    configs = translated.configs()
    for event in nacks:
        names = [n for (t, n) in translated.origins if t == event.type_url]
        named = names_in_message(names, event.error)
        line = f"Envoy rejected {SHORT.get(event.type_url, event.type_url)} (NACK): {event.error}"
        owners = [_owner(translated, event.type_url, n) for n in named] if named else [
            c for c in configs if any(_owner(translated, event.type_url, n) is c for n in names)]
        for owner in owners:
            if owner is None:
                continue
            mine = [n for n in named if _owner(translated, event.type_url, n) is owner]
            origins = [(n, origin.describe()) for n in mine if (origin := translated.origin_of(event.type_url, n))]
            found.add("nack", owner, line + "".join(f"\n  {n!r} comes from {o}" for n, o in origins)
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


@dataclass(frozen=True)
class Row:
    """One config (or one file that could not be read) and its verdict per Envoy version."""

    label: str
    file: str
    results: dict[str, Outcome]
    kind: str = ""
    namespace: str = ""
    name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"config": self.label, "file": self.file, "kind": self.kind, "namespace": self.namespace,
                "name": self.name, "results": {v: o.as_json() for v, o in self.results.items()}}


@dataclass
class Report:
    versions: list[str]
    rows: list[Row]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(o.verdict is Verdict.ACK for row in self.rows for o in row.results.values())

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "versions": self.versions, "notes": self.notes,
                "configs": [row.as_json() for row in self.rows]}

    def write_text(self, out: TextIO) -> None:
        width = max([len("config"), *(len(row.label) for row in self.rows)]) + 2
        cell = max([10, *(len(o.label) + 2 for row in self.rows for o in row.results.values())])
        out.write("config".ljust(width) + "".join(v.ljust(cell) for v in self.versions).rstrip() + "\n")
        for row in self.rows:
            out.write(row.label.ljust(width) + "".join(row.results[v].label.ljust(cell)
                                                       for v in self.versions).rstrip() + "\n")
        for note in self.notes:
            out.write(f"note: {note}\n")
        for row in self.rows:
            label, results = row.label, row.results
            by_details: dict[str, list[str]] = {}
            for version in self.versions:
                outcome = results[version]
                if outcome.verdict is not Verdict.ACK:
                    by_details.setdefault(outcome.describe(), []).append(version)
            for text, versions in by_details.items():
                head, _, body = text.partition(": ")
                out.write(f"\n== {label} on Envoy {', '.join(versions)}: {head}\n")
                out.write("".join(f"   {line}\n" for line in body.splitlines()))


def run_check(paths: list[Path], versions: list[str], timeout: float = CHECK_TIMEOUT,
              log: Any = None) -> Report:
    log = log or (lambda message: print(message, file=sys.stderr))
    inputs = read_inputs(paths)
    accepted, invalid = valid_configs(inputs.configs, inputs.context)
    notes = list(inputs.notes)
    if accepted:
        notes += translate_configs(accepted, inputs.context).notes
    binaries = {v: ensure_envoy(v, log=log) for v in versions} if accepted else {}
    results: dict[str, dict[int, Outcome]] = {}
    if accepted:
        side_by_side = not _fixed_ports(accepted)
        if not side_by_side:
            notes.append("a listener has a fixed address: Envoy versions were run one after the other")
        results = _run_versions(versions, binaries, accepted, inputs.context, timeout, side_by_side)
    rows: list[Row] = []
    for config in inputs.configs:
        if id(config) in invalid:
            outcomes = dict.fromkeys(versions, invalid[id(config)])
        else:
            outcomes = {v: results[v][id(config)] for v in versions}
        rows.append(Row(row_label(config), _display(config.source), outcomes, config.kind, config.namespace,
                        config.name))
    rows += [Row(label, file, dict.fromkeys(versions, outcome)) for label, file, outcome in inputs.invalid]
    return Report(versions, rows, notes)


def _fixed_ports(configs: list[K8sObject]) -> bool:
    """Does a listener name its own port? Envoys of several versions would then compete for it."""
    for config in configs:
        for raw in config.spec["resources"]:
            address = raw.get("address") if str(raw.get("@type", "")).endswith(".Listener") else None
            sock = (address or {}).get("socket_address") or (address or {}).get("socketAddress") or {}
            if sock.get("port_value") or sock.get("portValue"):
                return True
    return False


def _run_versions(versions: list[str], binaries: dict[str, Path], configs: list[K8sObject],
                  context: list[K8sObject], timeout: float, side_by_side: bool) -> dict[str, dict[int, Outcome]]:
    results: dict[str, dict[int, Outcome]] = {}
    errors: dict[str, Exception] = {}
    _CANCELLED.clear()
    # Every Envoy's files live under one folder, removed when the check ends, also on Ctrl-C (after the
    # Envoys are stopped: they die with the process anyway, PR_SET_PDEATHSIG).
    with tempfile.TemporaryDirectory(prefix="l7suite-check-", ignore_cleanup_errors=True) as root:

        def one(version: str) -> None:
            try:
                results[version] = check_version(version, binaries[version], configs, context, timeout, Path(root))
            except Exception as exc:  # reported by the main thread
                errors[version] = exc

        try:
            if not side_by_side:
                for version in versions:
                    one(version)
            else:
                # daemon threads: Ctrl-C ends the run at once instead of waiting for every version's timeout
                threads = [threading.Thread(target=one, args=(v,), daemon=True, name=f"check-{v}") for v in versions]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        except BaseException:
            _CANCELLED.set()  # before stop_all: no thread starts an Envoy stop_all would not see
            stop_all()
            raise
    for version, exc in errors.items():
        raise CheckError(f"checking on Envoy {version} failed: {exc}") from exc
    return results


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="l7suite check")
    parser.description = ("Load CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig files into real Envoy, as the "
                          "Cilium agent would serve them, and print ACK, NACK, NO ACK in N s or INVALID per "
                          "config and Envoy version.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="YAML files or folders")
    parser.add_argument("--envoy-version", action="append", default=[], metavar="X",
                        help="exact (1.38.3), minor (1.38) or 'all'; repeatable or comma-separated "
                             "(default: the minor cilium-envoy main uses, from matrix.yaml)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for CI)")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="S",
                        help=f"seconds Envoy gets per version before NO ACK (default {CHECK_TIMEOUT:g})")
    return parser


def matrix_file() -> Path:
    """The clone's matrix.yaml, or the copy installed with the package (`pip install .`, the pre-commit hook)."""
    return MATRIX_FILE if MATRIX_FILE.is_file() else Path(__file__).with_name("matrix.yaml")


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The check command with parsed arguments: prints the report, returns the exit status."""
    try:
        versions = envoy_versions(matrix_file()).resolve(args.envoy_version)
        report = run_check(args.paths, versions, args.timeout)
    except (UnknownVersion, FileNotFoundError, EnvoyBinaryError, CheckError) as exc:
        print(f"l7suite check: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        stop_all()
        print("l7suite check: interrupted", file=sys.stderr)
        return 130
    if not report.rows:
        print("l7suite check: no CiliumEnvoyConfig or CiliumClusterwideEnvoyConfig in "
              f"{', '.join(str(p) for p in args.paths)}", file=sys.stderr)
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        report.write_text(sys.stdout)
    return 0 if report.ok else 1
