"""The run's files and each result's labels and parameters, from a real allure-pytest run."""

import json
from types import SimpleNamespace

import pytest

from fixtures import reporting
from l7suite.report import environment, names
from l7suite.report.environment import RunInfo
from l7suite.report.results import read_results
from suites.report.sample_run import FAILING, PASSING, SAMPLE_LABEL, make_run


def parse_properties(text: str) -> dict[str, str]:
    """Just enough of Java's format for what we write (escaped separators in keys)."""
    out = {}
    for line in text.splitlines():
        i = next(i for i, ch in enumerate(line) if ch == "=" and line[i - 1] != "\\")
        out[line[:i].replace("\\ ", " ").replace("\\=", "=")] = line[i + 1:].replace("\\n", "\n")
    return out


def test_properties_escape_keys_and_line_breaks():
    text = environment.properties_text({"suite commit": "abc", "a=b": "two\nlines"})
    assert parse_properties(text) == {"suite commit": "abc", "a=b": "two\nlines"}
    assert text.splitlines()[0] == "suite\\ commit=abc"  # known keys first


def test_run_file_round_trips_and_rejects_other_schemas(tmp_path):
    info = RunInfo(tiers=["envoy"], started="s", finished="f", exit_status=1, environment={"kernel": "k"})
    environment.write_run_files(tmp_path, info)
    assert RunInfo.read(tmp_path / environment.RUN_FILE) == info
    data = json.loads((tmp_path / environment.RUN_FILE).read_text())
    (tmp_path / environment.RUN_FILE).write_text(json.dumps({**data, "schema": 99}))
    with pytest.raises(ValueError, match="schema 99"):
        RunInfo.read(tmp_path / environment.RUN_FILE)


EMBEDDED = "embedded in the agent image (Cilium 1.18.9)"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    # an embedded-mode run given an --envoy-image (the e2e tier refuses that; this sample has no e2e test):
    # its labels still name the Envoy it ran, inside the agent, never the image the chart would ignore
    return make_run(tmp_path_factory.mktemp("run"), "--cilium-version", "1.18.9",
                    "--envoy-image", "quay.io/cilium/cilium-envoy:v1.34.4", "--envoy-mode", "embedded")


def test_every_fact_is_written_or_said_unknown(sample):
    facts = parse_properties((sample / environment.PROPERTIES_FILE).read_text())
    assert list(facts)[:len(environment.ORDER)] == list(environment.ORDER)
    assert facts[environment.CILIUM] == "1.18.9 (requested)"
    assert facts[environment.CILIUM_ENVOY] == EMBEDDED
    assert facts[environment.MODE] == "embedded"
    assert facts[environment.KUBERNETES].startswith("unknown")
    assert facts[environment.COMMIT] == environment.git_commit()
    info = RunInfo.read(sample / environment.RUN_FILE)
    assert (info.tiers, info.exit_status, info.environment) == (["report"], 1, facts)


def test_each_result_has_tier_scenario_check_and_version_parameters(sample):
    results = {r.check: r for r in read_results(sample)}
    assert set(results) == {PASSING, FAILING}
    assert {c: (r.status, r.tier, r.scenario) for c, r in results.items()} == {
        PASSING: ("passed", "report", SAMPLE_LABEL), FAILING: ("failed", "report", SAMPLE_LABEL)}
    assert results[PASSING].parameters == {
        names.CILIUM_VERSION: "1.18.9", names.CILIUM_ENVOY_IMAGE: EMBEDDED,
        names.ENVOY_VERSION: "unknown (not recorded)", names.ENVOY_MODE: "embedded"}


def test_evidence_is_attached_to_passing_and_failing_checks_with_charts(sample):
    attachments = {}
    for path in sample.glob("*-result.json"):
        data = json.loads(path.read_text())
        attachments[data["name"]] = {(a["name"], a["type"]) for a in data["attachments"]}
        for a in data["attachments"]:
            assert (sample / a["source"]).stat().st_size > 0
    assert ("weighted split (chart)", "image/svg+xml") in attachments[PASSING]
    assert ("weighted split (chart)", "image/svg+xml") in attachments[FAILING]
    assert ("hubble flows", "application/json") in attachments[FAILING]
    assert len(attachments[PASSING]) == 6


def test_the_fallback_report_is_written_alongside_with_the_evidence(sample):
    page = (sample / "pytest-html.html").read_text()
    assert PASSING in page and FAILING in page
    assert "weighted split (chart)" in page and "image/svg+xml" in page


def test_facts_an_xdist_worker_recorded_reach_the_controller_that_writes_the_run_files(monkeypatch):
    # the e2e cluster fixture records what the cluster runs in a worker; the controller, which writes
    # environment.properties, learns it from the worker's reports (serialised as xdist does)
    facts = {environment.CILIUM: "1.18.14", environment.MODE: "daemonset", environment.FACTS_FROM: "the cluster"}
    worker = SimpleNamespace(stash=pytest.Stash())
    worker.stash[reporting.RECORDED] = dict(facts)
    item = SimpleNamespace(config=worker, user_properties=[("other", "kept")])
    reporting.pytest_runtest_makereport(item, None)  # before pytest makes the report from the item
    report = pytest.TestReport("suites/e2e/test_x.py::test_a", ("suites/e2e/test_x.py", 1, "test_a"), {},
                               "passed", None, "call", user_properties=item.user_properties)
    controller = SimpleNamespace(stash=pytest.Stash())
    controller.stash[reporting.RECORDED] = {}
    monkeypatch.setattr(reporting, "_CONFIG", controller)
    reporting.pytest_runtest_logreport(pytest.TestReport._from_json(report._to_json()))
    assert controller.stash[reporting.RECORDED] == facts
    assert report.user_properties == [("other", "kept"), (reporting.RECORDED_PROPERTY, facts)]


def test_a_run_of_both_tiers_names_both_modes_with_what_the_cluster_recorded(monkeypatch):
    # the e2e cluster fixture records what the cluster runs (ObservedCilium.labels()); the run's facts
    # built from it still name the envoy tier's standalone Envoy next to the cluster's mode
    monkeypatch.setattr(environment, "kind_version", lambda: "kind v0.32.0")
    monkeypatch.setattr(environment, "git_commit", lambda: "abc")
    recorded = {environment.CILIUM: "1.18.14", environment.CILIUM_ENVOY: "quay.io/cilium/cilium-envoy:v1.34.4",
                environment.MODE: "daemonset", environment.KUBERNETES: "v1.33.1", environment.ENVOY: "1.34.4",
                environment.RELAY_PORT: "4245", environment.FACTS_FROM: "the cluster"}
    options = {"--cilium-version": "1.18.9", "--envoy-image": None, "--envoy-mode": "embedded"}
    config = SimpleNamespace(stash=pytest.Stash(), getoption=lambda name, default=None: options.get(name, default))
    config.stash[reporting.RECORDED] = dict(recorded)
    facts = reporting.run_environment(config, {"envoy", "e2e"}, {"1.35.0"})
    assert facts[environment.MODE] == f"{names.ENVOY_TIER_MODE}; daemonset"
    assert facts[environment.ENVOY] == "1.35.0 (upstream, envoy tier); 1.34.4"
    assert facts[environment.CILIUM] == "1.18.14"  # read from the cluster, not "(requested)"
    assert facts[environment.CILIUM_ENVOY] == "quay.io/cilium/cilium-envoy:v1.34.4"
    assert facts[environment.KUBERNETES] == "v1.33.1"
    assert facts[environment.KIND] == "kind v0.32.0"
    assert (facts[environment.RELAY_PORT], facts[environment.FACTS_FROM]) == ("4245", "the cluster")
