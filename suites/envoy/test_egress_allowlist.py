"""egress-allowlist on real Envoy (the scenario and its control plane: l7suite/scenarios/egress_allowlist.py):
allowed names pass with their certificate verified, another is refused and counted, one added over xDS
passes with the same Envoy process.
"""

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from l7suite.envoy.envoy_run import EnvoyRun
from l7suite.envoy.xds_events import XdsNack
from l7suite.loopback_ports import free_loopback_port
from l7suite.manifests import ManifestError, ManifestSet, load_manifest_set
from l7suite.scenarios import egress_allowlist
from l7suite.scenarios.egress_allowlist import (
    LISTENER_NAME,
    STAT_PREFIX,
    allowlist_from,
    allowlist_resources,
    https_get,
)
from l7suite.standins.destinations import Destination
from l7suite.standins.tls_certs import make_certificate

SCENARIO = egress_allowlist.SCENARIO
REFUSED = "google.com"  # the lab's example of a destination the policy does not allow
ADDED = "registry.npmjs.org"  # added to the list over xDS by the last test
NO_MATCH = f"listener.{STAT_PREFIX}.no_filter_chain_match"


@dataclass
class Egress:
    run: EnvoyRun
    port: int
    allowed: list[str]
    targets: dict[str, Destination]
    ca_file: str

    def push(self, names: list[str]) -> None:
        versions = self.run.ads.set_resources(
            allowlist_resources({n: self.targets[n].address for n in names}, self.port))
        try:
            self.run.ads.wait_applied(versions, timeout=15)
        except XdsNack as exc:
            pytest.fail(f"Envoy rejected the allowlist configuration: {exc}", pytrace=False)
        self.run.wait_listeners([LISTENER_NAME])

    def get(self, name: str):
        return https_get(self.port, name, self.ca_file)

    def no_match(self) -> int:
        return self.run.admin.stat(NO_MATCH)


@pytest.fixture(scope="module")
def egress(manifests_dir: Path, envoy_binary: Path, tmp_path_factory):
    try:
        allowed = allowlist_from(load_manifest_set(SCENARIO.envoy_folder, manifests_dir))
    except ManifestError as exc:
        message = f"scenario {SCENARIO.name!r}: {exc}"
        pytest.fail(message, pytrace=False)
    workdir = tmp_path_factory.mktemp(SCENARIO.name)
    names = sorted({*allowed, REFUSED, ADDED})
    certificate = make_certificate(workdir / "tls", names)
    targets: dict[str, Destination] = {}
    with ExitStack() as stack:
        for name in names:
            targets[name] = Destination(name, certificate=certificate).start()
            stack.callback(targets[name].stop)
        # No CiliumEnvoyConfig here: the allowlist control plane is the only source of this Envoy's config.
        run = stack.enter_context(EnvoyRun(ManifestSet(SCENARIO.name, workdir), envoy_binary, workdir))
        egress = Egress(run, free_loopback_port(), allowed, targets, str(certificate.cert))
        egress.push(egress.allowed)
        yield egress


def test_control_plane_connected_state_reads_1(egress):
    assert egress.run.admin.stat("control_plane.connected_state") == 1


def test_allowed_names_pass(egress, evidence):
    attempts = [egress.get(name) for name in egress.allowed]
    evidence.json("allowed names through the egress listener", [a.__dict__ for a in attempts])
    for attempt in attempts:
        assert attempt.ok, f"{attempt.name} is on the allowlist but was refused: {attempt.error}"
        assert attempt.answer == {"destination": attempt.name, "sni": attempt.name}


def test_name_outside_the_list_is_refused_and_counted(egress, evidence):
    assert REFUSED not in egress.allowed, f"{REFUSED} must not be on the allowlist for this check"
    before = egress.no_match()
    attempt = egress.get(REFUSED)
    after = egress.no_match()
    evidence.json("refused name", {"attempt": attempt.__dict__, NO_MATCH: [before, after]})
    assert not attempt.ok, f"{REFUSED} is not on the allowlist but got through: {attempt.answer}"
    assert egress.targets[REFUSED].requests == 0
    assert after == before + 1, f"{NO_MATCH} went from {before} to {after} for one refused connection"


def test_adding_a_name_over_xds_lets_it_through_without_restart(egress, evidence):
    assert ADDED not in egress.allowed, f"{ADDED} must not be on the allowlist before this check adds it"
    pid = egress.run.envoy.pid
    assert not egress.get(ADDED).ok, f"{ADDED} passed before it was added"
    egress.push([*egress.allowed, ADDED])
    attempt = egress.get(ADDED)
    evidence.json("added name", attempt.__dict__)
    assert attempt.ok, f"{ADDED} was added to the allowlist over xDS but is still refused: {attempt.error}"
    assert attempt.answer == {"destination": ADDED, "sni": ADDED}
    assert egress.run.envoy.pid == pid and egress.run.envoy.proc.poll() is None, "Envoy was restarted"
    assert all(egress.get(name).ok for name in egress.allowed), "names allowed before were lost by the update"
    assert egress.run.admin.stat("control_plane.connected_state") == 1
