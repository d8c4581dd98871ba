"""config-compat (the scenario: l7suite/scenarios/config_compat.py): every CiliumEnvoyConfig under the
manifests folder, translated as the agent does, is taken by every supported Envoy version. The terminal
summary prints a table per version with the verdict of each folder: ACK, NACK, NO ACK in N s or INVALID
(l7suite/envoy/verdicts.py).

A version's folders are first loaded together on one Envoy; where that can only mean ACK for each folder
alone (l7suite/envoy/folders_together.py says when), every folder gets ACK from it. Otherwise each folder is
loaded side by side on an Envoy of its own (own xDS server, ports and files: independent), and each test
reads its folder's verdict: a version then takes as long as its slowest folder, not their sum."""

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.envoy_runs import record_compat, scenario_outcome
from l7suite import MANIFESTS_DIR
from l7suite.envoy.binaries import ensure_envoy
from l7suite.envoy.envoy_run import DEFAULT_VARIABLES
from l7suite.envoy.folders_together import all_ack_together
from l7suite.envoy.resources import CLUSTER, LISTENER, SHORT
from l7suite.envoy.verdicts import ACK, Outcome, Verdict
from l7suite.manifests import ManifestError, available_scenarios, load_manifest_set
from l7suite.scenarios import config_compat
from suites.child_pytest import run_pytest

SCENARIO = config_compat.SCENARIO


def pytest_generate_tests(metafunc):
    if "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", compat_folders(Path(metafunc.config.getoption("--manifests-dir"))))


def compat_folders(root: Path) -> list[str]:
    """The folders that carry Envoy configs; loading errors surface in the test, naming the file."""
    root = root.resolve()
    return [n for n in available_scenarios(root) if _has_envoy_config(root, n)]


ENVOY_CONFIG_KIND = re.compile(r"^kind:\s*Cilium(Clusterwide)?EnvoyConfig\s*$", re.MULTILINE)


def _has_envoy_config(root, name) -> bool:
    return any(ENVOY_CONFIG_KIND.search(p.read_text()) for p in (root / name).glob("*.yaml"))


def verdict_from_envoy(run, timeout: float) -> Outcome:
    """A started run's verdict read from what Envoy said, not from the start having returned: no NACK in the
    xDS history; an ACK, at the version sent, of the listeners and clusters the configuration holds and of
    every other type Envoy asked for (types nobody uses are never asked for); every listener active."""
    acked = {(e.type_url, e.version) for e in run.ads.events if e.kind == "ACK"}
    nacked = [e.describe() for e in run.ads.events if e.kind == "NACK"]
    expected = {t: v for t, v in run.versions.items()
                if (t in (LISTENER, CLUSTER) and run.translated.resources.get(t)) or t in run.ads.requested}
    unacked = sorted(f"{SHORT.get(t, t)} version {v}" for t, v in expected.items() if (t, v) not in acked)
    inactive = sorted(set(run.translated.listener_ports) - set(run.admin.listeners()))
    if nacked:
        return Outcome(Verdict.NACK, "; ".join(nacked))
    if unacked or inactive:
        return Outcome(Verdict.NO_ACK, f"never ACKed: {unacked}; listeners not active: {inactive}", timeout)
    return ACK


def judge(name: str, manifests_dir: Path, binary: Path, workdir: Path, ack_timeout: float) -> tuple[Outcome, str]:
    """A folder's verdict on one Envoy, and Envoy's xDS ACK/NACK history ("" if none started)."""
    with scenario_outcome(name, manifests_dir, binary, workdir, start_backends=False,
                          ack_timeout=ack_timeout) as (run, outcome):
        if run is None:
            return outcome, ""
        return verdict_from_envoy(run, ack_timeout), "\n".join(e.describe() for e in run.ads.events)


def judged_together(names: list[str], manifests_dir: Path, binary: Path, workdir: Path) -> dict | None:
    """ACK for every folder from one Envoy, with its history, or None: they are judged one by one."""
    try:
        folders = {name: load_manifest_set(name, manifests_dir, DEFAULT_VARIABLES) for name in names}
    except ManifestError:
        return None
    history = all_ack_together(folders, binary, workdir)
    if history is None:
        return None
    together = f"(the {len(names)} folders together on one Envoy: l7suite/envoy/folders_together.py)\n{history}"
    return dict.fromkeys(names, (ACK, together))


@pytest.fixture(scope="module")
def verdicts(envoy_binary, manifests_dir, tmp_path_factory, request) -> dict:
    """folder -> (verdict, xDS history), or the exception judging it raised: every folder of this version at once."""
    ack_timeout = request.config.getoption("--envoy-ack-timeout")
    names = compat_folders(manifests_dir)
    together = judged_together(names, manifests_dir, envoy_binary, tmp_path_factory.mktemp("together"))
    if together is not None:
        return together
    with ThreadPoolExecutor(len(names) or 1) as pool:
        futures = {name: pool.submit(judge, name, manifests_dir, envoy_binary, tmp_path_factory.mktemp(name),
                                     ack_timeout) for name in names}
    return {name: future.exception() or future.result() for name, future in futures.items()}


def test_envoy_accepts_every_resource(scenario_name, envoy_version, verdicts, request, evidence):
    judged = verdicts[scenario_name]
    if isinstance(judged, BaseException):
        raise judged
    outcome, history = judged
    if history:
        evidence.text("xDS ACK/NACK history", history)
    record_compat(request.config, scenario_name, envoy_version, outcome)
    if outcome.verdict is not Verdict.ACK:
        pytest.fail(f"scenario {scenario_name!r} on Envoy {envoy_version}: {outcome.describe()}", pytrace=False)


def test_folders_share_an_envoy_only_when_each_would_get_ack_alone(suite_envoy_version, tmp_path):
    # The shortcut's own check, once: the manifests' folders get ACK together; with one folder Envoy rejects,
    # there is no shared verdict and each folder is judged on its own Envoy (the table test below: NACK).
    binary = ensure_envoy(suite_envoy_version)
    for workdir in ("all", "w"):
        (tmp_path / workdir).mkdir()
    names = compat_folders(MANIFESTS_DIR)
    together = judged_together(names, MANIFESTS_DIR, binary, tmp_path / "all")
    assert together is not None, f"folders {names} no longer get ACK together on one Envoy (see " \
                                 "l7suite/envoy/folders_together.py): config-compat starts an Envoy per folder"
    assert {outcome.verdict for outcome, _ in together.values()} == {Verdict.ACK}
    assert "ACK" in next(iter(together.values()))[1]
    for name in ("proxy-redirect", "weighted-lb"):
        shutil.copytree(MANIFESTS_DIR / name, tmp_path / "copies" / name)
    cec = tmp_path / "copies" / "weighted-lb" / "cec.yaml"
    cec.write_text(cec.read_text().replace("connect_timeout: 5s", "connect_timeout: -1s", 1))
    assert judged_together(["proxy-redirect", "weighted-lb"], tmp_path / "copies", binary, tmp_path / "w") is None


# Copies of scenarios broken one way each: (scenario, file, old, new). Not module-level
# `SCENARIO`-driven: one child run of this module's compatibility test, once, on the first chosen version.
BROKEN = [
    # Cilium's circuit-breaker example before cilium/cilium#38158: a port-qualified EDS name with no port named
    ("circuit-breaker", "ccec.yaml", "    type: EDS\n", "    type: EDS\n    edsClusterConfig: "
     "{serviceName: 'circuit-break/echo-service:8080'}\n"),
    ("weighted-lb", "cec.yaml", "connect_timeout: 5s", "connect_timeout: -1s"),
    ("grpc-lb", "cec.yaml", "      name: currencyservice\n", "      name: currencyservice\n      ports: [http]\n"),
]


def test_the_table_shows_each_verdict(suite_envoy_version, tmp_path):
    for scenario, file, old, new in BROKEN:
        shutil.copytree(MANIFESTS_DIR / scenario, tmp_path / scenario)
        path = tmp_path / scenario / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}: update this test with the manifest"
        path.write_text(text.replace(old, new, 1))
    shutil.copytree(MANIFESTS_DIR / "proxy-redirect", tmp_path / "proxy-redirect")
    result = run_pytest(__file__, "-q", "-p", "no:pytest_kind", "-k", "test_envoy_accepts_every_resource",
                        "--envoy-version", suite_envoy_version, "--manifests-dir", str(tmp_path),
                        "--envoy-ack-timeout", "3")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    table = output[output.index("Envoy config compatibility"):].splitlines()[2:6]
    cells = {line.split()[0]: line.split(None, 1)[1].strip() for line in table}
    assert cells == {"circuit-breaker": "NO ACK in 3 s", "grpc-lb": "INVALID", "proxy-redirect": "ACK",
                     "weighted-lb": "NACK"}, output
    assert "'circuit-break/echo-service:8080' that nobody serves" in output
    assert "Envoy rejected Cluster (NACK): " in output and "spec.services[0].ports[0]" in output
