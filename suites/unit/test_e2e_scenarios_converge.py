"""Convergence before assertions (issue 11, defect i): N answers in a row within a deadline, every attempt
logged with its time; and the Star Wars steps run against a deathstar whose policy lags behind the apply:
no check before the policy answers, and `PUT /v1/exhaust-port` never before the L7 policy is in force."""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field

import pytest

import suites.e2e.test_starwars as starwars
from l7suite.cluster.converge import NotConverged, converge
from l7suite.cluster.timeouts import Timeouts
from l7suite.traffic.pod_probes import ExecResult
from l7suite.traffic.pod_probes.curl import STATUS_MARKER


def no_sleep(seconds: float) -> None:
    pass


class Clock:
    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


def test_converges_only_after_n_in_a_row():
    answers = iter([1, 0, 1, 1, 0, 1, 1, 1, 0])
    lines: list[str] = []
    result = converge("ready", lambda: next(answers), bool, 60, consecutive=3, log=lines.append, sleep=no_sleep,
                      clock=Clock())
    assert [a.ok for a in result.attempts] == [True, False, True, True, False, True, True, True]
    assert lines[0] == "ready: #1 2023-11-14T22:13:21.500+00:00 ok: 1 (1/3 in a row)"
    assert lines[-1].endswith("ok: 1 (3/3 in a row)")


def test_not_converging_lists_every_attempt_with_its_time_and_is_bounded_in_count():
    probes: list[int] = []
    with pytest.raises(NotConverged) as info:
        converge("xwing dropped", lambda: probes.append(1) or "exit 0, HTTP 200", lambda a: False, 10,
                 describe=str, interval=1.0, sleep=no_sleep, clock=Clock())
    assert len(probes) == 13  # deadline/interval + consecutive: the count bound holds without a real clock
    message = str(info.value)
    assert message.startswith("xwing dropped: not 3 times in a row within 10s (deadline converge, "
                              "l7suite/cluster/timeouts.py); 13 attempts:\n#1 2023-11-14T22:13:21.500+00:00 "
                              "not yet: exit 0, HTTP 200\n#2 ")
    assert message.count("not yet") == 13


# ---- the Star Wars steps against a deathstar that lags behind the policy apply --------------------------


@dataclass
class Deathstar:
    """Answers curl argv as the deathstar (starwars v2.1) and Cilium would; a stage's policy takes effect
    only `lag` requests after its apply (the agents have not realized it yet)."""

    lag: int
    policy: str = "none"  # in force: none, l4, l7
    pending: tuple[str, int] | None = None
    exploded_before_l7: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def stage(self, name: str) -> None:
        self.pending = ({"l4-policy": "l4", "l7-policy": "l7", "tiefighter-egress": "l7"}[name], self.lag)

    def exec(self, namespace, pod, argv, timeout) -> ExecResult:
        if self.pending is not None:
            wanted, left = self.pending
            self.pending = (wanted, left - 1) if left > 0 else None
            if left == 0:
                self.policy = wanted
        method, url = argv[argv.index("-X") + 1], argv[-1]
        path = re.sub(r"^http://[^/]+", "", url)
        self.requests.append(f"{pod} {method} {path} [{self.policy}]")
        if pod == "xwing" and self.policy in ("l4", "l7"):
            return ExecResult(28, STATUS_MARKER + "000\n", "")
        if self.policy == "l7" and (method, path) != ("POST", "/v1/request-landing"):
            return ExecResult(0, "Access denied\n" + STATUS_MARKER + "403\n", "")
        if (method, path) == ("PUT", "/v1/exhaust-port"):
            self.exploded_before_l7.append(self.requests[-1])
            return ExecResult(0, "Panic: deathstar exploded\n" + STATUS_MARKER + "503\n", "")
        body = "Ship landed\n" if path == "/v1/request-landing" else '{"hostname": "deathstar-1"}\n'
        return ExecResult(0, body + STATUS_MARKER + "200\n", "")


class Scenario:
    def __init__(self, deathstar: Deathstar):
        self.deathstar = deathstar
        self.kube = self
        self.timeouts = Timeouts(converge=60.0)
        self.lines: list[str] = []

    def apply_stage(self, name: str) -> None:
        self.deathstar.stage(name)

    def exec(self, *args) -> ExecResult:
        return self.deathstar.exec(*args)

    def progress(self, line: str) -> None:
        self.lines.append(line)


class Flows:
    def restart(self) -> None:
        pass

    def fetch(self) -> list:
        return []


class Evidence:
    def __init__(self):
        self.texts: dict[str, str] = {}

    def text(self, name: str, body: str) -> None:
        self.texts[name] = body


@pytest.fixture
def quiet_flows(monkeypatch):
    monkeypatch.setattr(starwars, "converge", functools.partial(converge, sleep=no_sleep), raising=False)
    monkeypatch.setattr(starwars, "wait_for_flows", lambda *a, **k: None)


def run_step(step, cluster_scenario: Scenario, evidence: Evidence) -> None:
    given = {"cluster_scenario": cluster_scenario, "hubble_flows": Flows(), "evidence": evidence}
    step(**{name: given[name] for name in inspect.signature(step).parameters})


@pytest.mark.parametrize("lag", [0, 4])
def test_l3l4_step_checks_only_once_xwing_is_dropped(quiet_flows, lag):
    deathstar = Deathstar(lag=lag)
    evidence = Evidence()
    run_step(starwars.test_l3l4_policy_drops_xwing_and_lands_tiefighter, Scenario(deathstar), evidence)
    assert ("not yet" in evidence.texts["converged: L3/L4 policy"]) == (lag > 0)


@pytest.mark.parametrize("lag", [0, 4])
def test_l7_step_never_sends_exhaust_port_before_the_l7_policy_is_in_force(quiet_flows, lag):
    deathstar = Deathstar(lag=lag, policy="l4")
    cluster_scenario = Scenario(deathstar)
    run_step(starwars.test_l7_policy_denies_exhaust_port_and_allows_landing, cluster_scenario, Evidence())
    assert deathstar.exploded_before_l7 == []
    assert "tiefighter PUT /v1/exhaust-port [l7]" in deathstar.requests
    first_put = deathstar.requests.index("tiefighter PUT /v1/exhaust-port [l7]")
    assert deathstar.requests[first_put - 6:first_put] == ["tiefighter GET /v1/ [l7]",
                                                           "tiefighter POST /v1/request-landing [l7]"] * 3
