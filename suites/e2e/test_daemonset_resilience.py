"""Envoy as its own DaemonSet survives an agent restart (the lab's "Embedded Envoy" vs "Separate
DaemonSet" steps, seed 002): tiefighter lands in a loop under the Star Wars L7 policy while `ds/cilium`
is restarted.

--envoy-mode daemonset: no request of the loop fails, cilium-envoy runs one pod per node and no Envoy
process runs in the agent pods. --envoy-mode embedded: the reverse placement, and the failures are
counted and kept as evidence (the lab reports losses there), not asserted away. Disruptive: it
restarts a component every scenario uses, so it runs alone (`pytest -m disruptive`).
"""

from __future__ import annotations

import threading
import time

import pytest

from l7suite.cluster import tools
from l7suite.cluster.readiness import Component, wait_ready
from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.probes import ExecResult
from l7suite.probes.curl import CurlRequest, curl
from l7suite.scenarios.nodes import AGENT_SELECTOR, ENVOY_SELECTOR, agent_pod_on, node_of, nodes, ready_pods
from l7suite.scenarios.resilience import PROC_SCAN, envoy_processes, parse_loop, steady_loop_script, stop_argv

SCENARIO = "starwars"
NS = "starwars"
pytestmark = [pytest.mark.e2e, pytest.mark.disruptive]
PLAN_NOTES = (
    "L7 policy; one exec loops POST /v1/request-landing from tiefighter (every 0.5 s, at most 10 min) while "
    "`kubectl rollout restart ds/cilium`; daemonset: zero failed requests; embedded: failures counted as evidence",
    "placement: cilium-envoy one pod per node and no Envoy process in the agents (embedded: the reverse)",
)

LANDING = CurlRequest(f"http://deathstar.{NS}.svc.cluster.local/v1/request-landing", method="POST", max_time=2)
LOOP_MAX_SECONDS = 600  # the loop's own bound; it normally stops (stop file) a few seconds after the rollout
WARM_UP = 5.0  # seconds of requests before the restart
SETTLE = 10.0  # seconds of requests after the agents are ready again
RESTART_TIMEOUT = 480.0
FLOW_TIMEOUT = 90.0  # Hubble's buffers restart with the agents


@pytest.fixture(scope="module")
def l7_policy(scenario):
    scenario.apply_stage("l7-policy")
    answer = curl(scenario.kube.exec, NS, "tiefighter", LANDING)  # also makes embedded Envoy start
    assert (answer.status, answer.body.strip()) == (200, "Ship landed")
    return scenario


def test_envoy_placement(l7_policy, e2e_plan, evidence):
    kube = l7_policy.kube
    envoy_pods = ready_pods(kube, "kube-system", ENVOY_SELECTOR)
    # embedded Envoy starts where an L7 policy needs it: the node of a deathstar (ingress policy)
    deathstar = ready_pods(kube, NS, "class=deathstar")[0]["metadata"]["name"]
    agents = {n: agent_pod_on(kube, n) for n in nodes(kube)}
    processes = {}
    for node, agent in agents.items():
        scan = kube.exec("kube-system", agent, ["sh", "-c", PROC_SCAN], 60)
        assert scan.exit_code == 0, scan.stderr
        processes[node] = envoy_processes(scan.stdout)
    evidence.json("Envoy processes per agent pod", processes)
    if e2e_plan.options.envoy_mode == "daemonset":
        assert sorted(p["spec"]["nodeName"] for p in envoy_pods) == sorted(agents), "one cilium-envoy per node"
        assert all(not found for found in processes.values()), processes
    else:
        assert envoy_pods == [] and kube.get("DaemonSet", "kube-system", "cilium-envoy") is None
        assert processes[node_of(kube, NS, deathstar)], f"no Envoy process in the agent next to {deathstar}"


def test_agent_restart_keeps_l7_traffic(l7_policy, e2e_plan, hubble_flows, evidence):
    kube = l7_policy.kube
    result: list[ExecResult] = []
    loop = threading.Thread(target=lambda: result.append(kube.exec(
        NS, "tiefighter", ["sh", "-c", steady_loop_script(LANDING, LOOP_MAX_SECONDS)], LOOP_MAX_SECONDS + 60)))
    loop.start()
    try:
        time.sleep(WARM_UP)
        restart_started = time.time()
        tools.check(kube.kubectl("-n", "kube-system", "rollout", "restart", "daemonset/cilium", timeout=60))
        wait_ready(lambda c: kube.get(c.kind, c.namespace, c.name),
                   [Component("DaemonSet", "kube-system", "cilium")], RESTART_TIMEOUT)
        restart_done = time.time()
        time.sleep(SETTLE)
    finally:
        kube.exec(NS, "tiefighter", stop_argv(), 30)
        loop.join(timeout=LOOP_MAX_SECONDS + 90)
    assert result, "the request loop's exec did not return"
    steady = parse_loop(result[0].stdout)
    summary = {**steady.summary(), "restart": [int(restart_started), int(restart_done)],
               "envoy mode": e2e_plan.options.envoy_mode}
    evidence.json("requests during the agent restart", summary)
    assert steady.ended and steady.covers(restart_started, restart_done), summary
    if e2e_plan.options.envoy_mode == "daemonset":
        assert steady.failed() == [], f"{len(steady.failed())} of {len(steady.ticks)} requests failed: {summary}"
    hubble_flows.restart()
    answer = curl(kube.exec, NS, "tiefighter", LANDING)
    assert (answer.status, answer.body.strip()) == (200, "Ship landed"), "L7 policy after the restart"
    wait_for_flows(hubble_flows.fetch, [
        FlowExpectation("landing forwarded by Envoy after the restart", source_pod=f"{NS}/tiefighter",
                        flow_type="L7", l7_type="REQUEST", verdict="FORWARDED", http_method="POST",
                        http_path="/v1/request-landing"),
    ], FLOW_TIMEOUT)


def test_agents_are_back(l7_policy):
    agents = ready_pods(l7_policy.kube, "kube-system", AGENT_SELECTOR)
    assert sorted(p["spec"]["nodeName"] for p in agents) == nodes(l7_policy.kube)
