"""`l7suite check` without Envoy: which documents it checks, the verdict of each config from what Envoy said
(recorded on the suite's ADS server), the report, the exit status. With Envoy: suites/envoy/test_check_command.py."""

import json
import textwrap
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from envoy.service.discovery.v3 import discovery_pb2

from l7suite.cilium.cec_translation import translate_configs
from l7suite.envoy import config_check as check
from l7suite.envoy.check_inputs import read_inputs, valid_configs
from l7suite.envoy.check_on_envoy import findings
from l7suite.envoy.check_report import Report, Row
from l7suite.envoy.resources import CLUSTER, ENDPOINTS, LISTENER, ROUTE
from l7suite.envoy.verdicts import ACK, Outcome, Verdict
from l7suite.envoy.xds_server import AdsServer, ads_config_source
from suites.unit.cec_builders import eds_cluster, hcm_listener, make

CEC = """\
apiVersion: cilium.io/v2
kind: CiliumEnvoyConfig
metadata: {name: %s}
spec:
  resources:
  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
    name: %s
    connect_timeout: 1s
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_configs_are_checked_context_kept_and_other_documents_ignored_with_a_note(tmp_path):
    write(tmp_path / "cecs" / "a.yaml", CEC % ("a", "one") + "---\n" + CEC % ("b", "two"))
    write(tmp_path / "cecs" / "svc.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: []}\n"
                                         "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    write(tmp_path / "cecs" / "workflow.yaml", "on: push\njobs: {}\n")
    write(tmp_path / "cecs" / "broken.yaml", "kind: [\n")
    write(tmp_path / "README.md", "not yaml")
    inputs = read_inputs([tmp_path / "cecs"])
    assert [(c.kind, c.namespace, c.name) for c in inputs.configs] == [
        ("CiliumEnvoyConfig", "default", "a"), ("CiliumEnvoyConfig", "default", "b")]
    assert [(o.kind, o.name) for o in inputs.context] == [("Service", "web")]
    assert inputs.invalid == []
    folder = tmp_path / "cecs"
    assert inputs.notes == [f"{folder}/broken.yaml: ignored (not valid YAML, no CiliumEnvoyConfig in it)",
                            f"{folder}/svc.yml document 2: ignored (kind ConfigMap)",
                            f"{folder}/workflow.yaml document 1: ignored (not a Kubernetes object)"]


def test_a_config_file_that_is_not_yaml_or_lacks_a_field_is_invalid_with_file_and_field(tmp_path):
    bad_yaml = write(tmp_path / "bad.yaml", "kind: CiliumEnvoyConfig\nspec: [\n")
    no_resources = write(tmp_path / "empty.yaml", "apiVersion: cilium.io/v2\nkind: CiliumEnvoyConfig\n"
                                                  "metadata: {name: e, namespace: x}\nspec: {}\n")
    inputs = read_inputs([bad_yaml, no_resources])
    assert [(label, outcome.verdict) for label, _, outcome in inputs.invalid] == [
        (str(bad_yaml), Verdict.INVALID), (f"CiliumEnvoyConfig e ({no_resources})", Verdict.INVALID)]
    assert "not valid YAML: line 3" in inputs.invalid[0][2].details
    assert "spec.resources" in inputs.invalid[1][2].details


def test_a_missing_path_is_a_usage_error(tmp_path, capsys):
    assert check.main([str(tmp_path / "nope.yaml")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_an_unknown_envoy_version_lists_the_known_ones(tmp_path, capsys):
    write(tmp_path / "a.yaml", CEC % ("a", "one"))
    assert check.main([str(tmp_path), "--envoy-version", "0.1"]) == 2
    assert "known versions are" in capsys.readouterr().err


def test_no_config_in_the_paths_is_a_usage_error(tmp_path, capsys):
    write(tmp_path / "svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")
    assert check.main([str(tmp_path)]) == 2
    assert "no CiliumEnvoyConfig or CiliumClusterwideEnvoyConfig" in capsys.readouterr().err


def test_configs_the_agent_refuses_are_invalid_and_not_loaded():
    good = make([eds_cluster("shop/web")], name="good")
    clash = make([eds_cluster("shop/web", connect_timeout="9s")], name="clash")
    unnamed_route = make([hcm_listener("front")], name="ok2", spec={"services": [{"name": "web", "listener": "x"}]})
    accepted, invalid, _ = valid_configs([good, clash, unnamed_route], [])
    assert accepted == [good]
    assert {id(clash), id(unnamed_route)} == set(invalid)
    assert "also defined, differently" in invalid[id(clash)].details
    assert "no listener 'x'" in invalid[id(unnamed_route)].details


def test_configs_with_a_fixed_listener_port_run_versions_one_after_the_other():
    fixed = {**hcm_listener("f"), "address": {"socketAddress": {"address": "127.0.0.1", "portValue": 10000}}}
    assert check._fixed_ports([make([fixed])]) is True
    assert check._fixed_ports([make([hcm_listener()])]) is False


# ---- verdicts from what Envoy said ------------------------------------------------------------------------------
def request(type_url, names=(), nonce="", error=""):
    req = discovery_pb2.DiscoveryRequest(type_url=type_url, resource_names=list(names), response_nonce=nonce)
    if error:
        req.error_detail.message = error
    return req


def fake_run(configs, answers):
    """A run whose ADS server saw `answers`: (type, requested names, "ACK" | "NACK: text" | None)."""
    translated = translate_configs(configs, [], ads_config_source)
    ads = AdsServer()
    resources = {t: dict(r) for t, r in translated.resources.items()}
    ads.set_resources(resources)
    stream = ads.new_stream()
    for type_url, names, answer in answers:
        stream.on_request(request(type_url, names))
        response = stream.response_if_due(type_url)
        if answer is not None:
            nack = answer.removeprefix("NACK: ") if answer.startswith("NACK") else ""
            stream.on_request(request(type_url, names, response.nonce, nack))
    return SimpleNamespace(translated=translated, ads=ads)


def verdicts(run, pending_types=(), inactive=()):
    found = findings(run, run.ads.nacks(), run.ads.unacknowledged(list(pending_types)), list(inactive))
    return {c.name: ("NACK" if id(c) in found.nack else "NO ACK" if id(c) in found.pending else "ACK",
                     "\n".join(found.nack.get(id(c), found.pending.get(id(c), []))))
            for c in run.translated.configs()}


def test_a_nack_goes_to_the_config_whose_resource_envoy_names():
    one, two = make([hcm_listener("front", route="r1")], name="one"), make([hcm_listener("back", route="r2")],
                                                                             name="two")
    run = fake_run([one, two], [(LISTENER, (), "NACK: Error adding/updating listener(s) shop/two/back: "
                                               "Didn't find a registered implementation")])
    got = verdicts(run)
    assert got["one"][0] == "ACK"
    assert got["two"][0] == "NACK"
    assert "Didn't find a registered implementation" in got["two"][1]
    assert "'shop/two/back' comes from my-cec.yaml (CiliumEnvoyConfig shop/two, spec.resources[0])" in got["two"][1]


def test_a_nack_naming_no_resource_goes_to_every_config_with_that_type():
    one, two = make([hcm_listener("front", route="r1")], name="one"), make([eds_cluster("c")], name="two")
    got = verdicts(fake_run([one, two], [(LISTENER, (), "NACK: something broke")]))
    assert (got["one"][0], got["two"][0]) == ("NACK", "ACK")
    assert "names no resource" in got["one"][1]


def stuck_on_unserved_endpoints():
    """A CCEC whose cluster waits for EDS names nobody serves, and another config with a listener."""
    waiting = make([eds_cluster("default/echo-service", eds_cluster_config={"service_name":
                                                                            "default/echo-service:8080"})],
                   kind="CiliumClusterwideEnvoyConfig", namespace="", name="cb",
                   spec={"services": [{"name": "echo-service", "namespace": "default"}]})
    return waiting, make([hcm_listener("front", route="r")], name="other")


def test_an_eds_name_nobody_serves_is_the_root_cause_and_listeners_wait_for_it():
    waiting, other = stuck_on_unserved_endpoints()
    run = fake_run([waiting, other], [(CLUSTER, (), "ACK"), (ENDPOINTS, ["default/echo-service:8080"], "ACK")])
    got = verdicts(run, pending_types=[LISTENER])
    assert got["cb"][0] == "NO ACK"
    assert "cluster 'default/echo-service' waits for endpoints (EDS) 'default/echo-service:8080' that nobody " \
           "serves" in got["cb"][1]
    assert "no config names a port of it" in got["cb"][1]
    assert got["other"][0] == "NO ACK"
    assert "Listener 'shop/other/front' never acknowledged" in got["other"][1]
    assert "only once every cluster has its endpoints" in got["other"][1]


def test_a_start_stuck_on_endpoints_nobody_serves_is_judged_without_waiting_out_its_timeout():
    # Envoy asks for listeners only once every cluster has its endpoints, and a cluster waits for them at least
    # its initial_fetch_timeout: until then nothing pending can be answered, so the wait need not run out.
    waiting, other = stuck_on_unserved_endpoints()
    answers = [(CLUSTER, (), "ACK"), (ENDPOINTS, ["default/echo-service:8080"], "ACK")]
    stuck = fake_run([waiting, other], answers)
    started = time.monotonic()
    settled = stuck.ads.wait_settled(stuck.ads.versions(), timeout=10)
    assert (settled.pending, settled.nacks) == ([LISTENER], []) and time.monotonic() - started < 5
    # once Envoy has asked for the listeners, an answer can still come: the wait runs to its timeout
    asked = fake_run([waiting, other], [*answers, (LISTENER, (), None)])
    started = time.monotonic()
    assert asked.ads.wait_settled(asked.ads.versions(), timeout=0.5).pending == [LISTENER]
    assert time.monotonic() - started >= 0.5


def test_a_route_name_nobody_serves_and_a_warming_listener_are_no_ack():
    config = make([hcm_listener("front", route="r")], name="cfg")
    run = fake_run([config], [(LISTENER, (), "ACK"), (ROUTE, ["shop/cfg/r"], "ACK")])
    got = verdicts(run, inactive=["shop/cfg/front"])
    assert got["cfg"][0] == "NO ACK"
    assert "listener 'shop/cfg/front' waits for RouteConfiguration 'shop/cfg/r' that nobody serves" in got["cfg"][1]
    assert "acknowledged but never active (warming)" in got["cfg"][1]


# ---- the report ---------------------------------------------------------------------------------------------------
def report():
    nack = Outcome(Verdict.NACK, "Envoy rejected Listener (NACK): bad\n  'x' comes from a.yaml")
    slow = Outcome(Verdict.NO_ACK, "never acknowledged", 10.0)
    return Report(["1.36.4", "1.40.0"], [
        Row("CiliumEnvoyConfig default/a (a.yaml)", "a.yaml", {"1.36.4": ACK, "1.40.0": ACK}, "CiliumEnvoyConfig",
            "default", "a"),
        Row("CiliumEnvoyConfig default/b (b.yaml)", "b.yaml", {"1.36.4": nack, "1.40.0": slow}, "CiliumEnvoyConfig",
            "default", "b")], ["b.yaml document 2: ignored (kind Service)"])


def test_text_report_has_a_row_per_config_a_column_per_version_then_details():
    out = StringIO()
    report().write_text(out)
    assert out.getvalue() == textwrap.dedent("""\
        config                                1.36.4          1.40.0
        CiliumEnvoyConfig default/a (a.yaml)  ACK             ACK
        CiliumEnvoyConfig default/b (b.yaml)  NACK            NO ACK in 10 s
        note: b.yaml document 2: ignored (kind Service)

        == CiliumEnvoyConfig default/b (b.yaml) on Envoy 1.36.4: NACK
           Envoy rejected Listener (NACK): bad
             'x' comes from a.yaml

        == CiliumEnvoyConfig default/b (b.yaml) on Envoy 1.40.0: NO ACK in 10 s
           never acknowledged
        """)


def test_json_report_for_ci():
    data = json.loads(json.dumps(report().as_json()))
    assert data["ok"] is False
    assert data["versions"] == ["1.36.4", "1.40.0"]
    assert data["configs"][1]["name"] == "b"
    assert data["configs"][1]["results"]["1.40.0"] == {"verdict": "NO ACK", "label": "NO ACK in 10 s",
                                                       "details": "never acknowledged", "timeout_s": 10.0}
    assert Report(["1.40.0"], [report().rows[0]], []).ok is True
    assert Report(["1.40.0"], [], []).ok is False


@pytest.mark.parametrize("outcome, label", [
    (ACK, "ACK"), (Outcome(Verdict.NACK, "x"), "NACK"), (Outcome(Verdict.INVALID, "x"), "INVALID"),
    (Outcome(Verdict.NO_ACK, "x", 15.0), "NO ACK in 15 s"), (Outcome(Verdict.NO_ACK, "x", 2.5), "NO ACK in 2.5 s"),
])
def test_verdict_labels(outcome, label):
    assert outcome.label == label
