"""`l7suite check PATH...`: CiliumEnvoyConfig / CiliumClusterwideEnvoyConfig files on real Envoy, every version.

Every CEC/CCEC document of the given files is translated as the Cilium agent would (l7suite/cilium/), with
the Services and policies beside them as context (check_inputs.py), then all of them are served together over
xDS to each chosen Envoy version, the versions side by side (check_on_envoy.py). Each config gets one verdict
per version (verdicts.py): ACK, NACK, NO ACK in N s, INVALID, printed as a table or JSON (check_report.py).
Exit status 0 only if every config got ACK on every version; 1 otherwise; 2 for a usage error (no config
found, unknown version).

What a check cannot show: no pods run, so every Service a config references is taken to exist with ready
backends and gets the EDS names the agent would publish, empty; cilium-envoy's own filters and network
policy are not there (upstream Envoy); a config that only fails together with configs of the cluster that
are not in the given files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from l7suite import MATRIX_FILE
from l7suite.envoy.binaries import EnvoyBinaryError, ensure_envoy
from l7suite.envoy.check_inputs import read_inputs, row_label, valid_configs
from l7suite.envoy.check_on_envoy import CANCELLED, check_version
from l7suite.envoy.check_report import Report, Row
from l7suite.envoy.process import stop_all
from l7suite.envoy.verdicts import Outcome
from l7suite.manifests import K8sObject, display_path
from l7suite.versions import UnknownVersion, envoy_versions

CHECK_TIMEOUT = 10.0  # seconds Envoy gets to ACK everything and make its listeners active (`--timeout`)
JOIN_POLL_S = 0.2  # how often the main thread wakes while the versions run, to notice Ctrl-C


class CheckError(RuntimeError):
    """Envoy could not be run for a check (not a verdict about a config)."""


def run_check(paths: list[Path], versions: list[str], timeout: float = CHECK_TIMEOUT,
              log: Any = None) -> Report:
    log = log or (lambda message: print(message, file=sys.stderr))
    inputs = read_inputs(paths)
    accepted, invalid, translated = valid_configs(inputs.configs, inputs.context)
    notes = list(inputs.notes) + translated.notes
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
        rows.append(Row(row_label(config), display_path(config.source), outcomes, config.kind, config.namespace,
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
    CANCELLED.clear()
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
                    # Joined with a timeout, in turns: the kernel may deliver Ctrl-C's SIGINT to any thread
                    # (gRPC's, Envoy's watchers); Python only runs its handler in the main thread, and a join
                    # without a timeout would sleep on through it (seen: the check still running 20 s later).
                    while thread.is_alive():
                        thread.join(JOIN_POLL_S)
        except BaseException:
            CANCELLED.set()  # before stop_all: no thread starts an Envoy stop_all would not see
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
