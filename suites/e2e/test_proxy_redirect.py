"""proxy-redirect on kind (the scenario: l7suite/scenarios/proxy_redirect.py): egress to allowed names goes
through the proxy-listener, whose tcp_proxy tunnels it with HTTP CONNECT through an external web proxy
(3proxy) to the address the client dialed; other names are dropped.

kind has no internet, so the "external" world is containers on kind's Docker network: 3proxy and two
json-mock HTTP servers, reached by names cluster DNS resolves (headless Services with an EndpointSlice
at the container's address). The stage `external-names` is proxy-policy with those names in place of
*.github.com. Containers are named after the cluster and removed at the end, pass or fail.

Before any request: the stage's policy is in force on every agent (apply_stage waits for the policy
revision, l7suite/cluster/policy_revision.py), and both names resolve in cluster DNS from the client pod
to their container's address, 3 times in a row (`dig +short`, every attempt logged and kept): a name
that does not resolve yet would make curl fail with exit 6, which is neither the drop nor the redirect
under test.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from l7suite.cluster import tools
from l7suite.cluster.cilium_envoy_admin import dump_names_regex, dumped_names, listeners_and_dump, qualified_listener
from l7suite.cluster.cluster_dns import wait_resolvable
from l7suite.cluster.docker_side import (
    PROXY_IMAGE,
    TARGET_IMAGE,
    TARGET_PORT,
    DockerSideError,
    ExternalContainers,
    connected_to,
    external_name_objects,
)
from l7suite.cluster.nodes import nodes
from l7suite.hubble.expect import FlowExpectation, wait_for_flows
from l7suite.scenarios import proxy_redirect
from l7suite.traffic.pod_probes.curl import CURL_TIMED_OUT, CurlRequest, curl

SCENARIO = proxy_redirect.SCENARIO
NS = proxy_redirect.NAMESPACE
pytestmark = pytest.mark.e2e

CLIENT = "proxy-client"
ALLOWED, DENIED = "allowed-web", "denied-web"


def url(name: str) -> str:
    return f"http://{fqdn(name)}:{TARGET_PORT}/"


@pytest.fixture(scope="module")
def external(cluster, e2e_plan):
    """The proxy and the two targets on the nodes' Docker network; removed when the module ends."""
    with ExitStack() as stack:
        try:
            containers = stack.enter_context(ExternalContainers(tools.run, e2e_plan.options.cluster_name,
                                                                nodes(cluster)[0]))
        except (DockerSideError, tools.CommandFailed) as exc:
            if e2e_plan.options.kubeconfig is not None:
                pytest.skip(f"proxy-redirect needs the cluster's nodes as Docker containers (kind): {exc}")
            raise
        addresses = {"proxy": containers.start("proxy", PROXY_IMAGE),
                     ALLOWED: containers.start(ALLOWED, TARGET_IMAGE, {"PORT": str(TARGET_PORT)}),
                     DENIED: containers.start(DENIED, TARGET_IMAGE, {"PORT": str(TARGET_PORT)})}
        yield containers, addresses


@pytest.fixture(scope="module")
def scenario_variables(external) -> dict[str, str]:
    return {"PROXY_ADDRESS": external[1]["proxy"]}


def fqdn(name: str) -> str:
    return f"{name}.{NS}.svc.cluster.local"


@pytest.fixture(scope="module")
def names(cluster_scenario, external, tmp_path_factory) -> dict[str, str]:
    addresses = external[1]
    objects = [o for n in (ALLOWED, DENIED) for o in external_name_objects(NS, n, addresses[n], TARGET_PORT)]
    path = Path(tmp_path_factory.mktemp("proxy-redirect")) / "external-names.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    cluster_scenario.kube.apply(path)
    cluster_scenario.apply_stage("external-names")
    wait_resolvable(cluster_scenario.kube.exec, NS, CLIENT, {fqdn(n): addresses[n] for n in (ALLOWED, DENIED)},
                    cluster_scenario.kube.timeouts.converge, log=cluster_scenario.progress)
    return addresses


def proxy_log_connects(external, address: str, deadline: float) -> list:
    """3proxy's log lines of CONNECTs to `address`, waited for within `deadline` (timeouts: log_wait)."""
    containers, _ = external
    return Retrying(stop=stop_after_delay(deadline), wait=wait_fixed(1), retry=retry_if_result(lambda r: not r),
                    retry_error_callback=lambda state: state.outcome.result())(
        lambda: connected_to(containers.logs("proxy"), address, TARGET_PORT))


def test_allowed_name_goes_through_the_proxy(cluster_scenario, names, external, hubble_flows, evidence):
    hubble_flows.restart()
    answer = curl(cluster_scenario.kube.exec, NS, CLIENT, CurlRequest(url(ALLOWED), max_time=5))
    evidence.text("3proxy log", external[0].logs("proxy"))
    assert (answer.exit_code, answer.status) == (0, 200), answer
    connects = proxy_log_connects(external, names[ALLOWED], cluster_scenario.kube.timeouts.log_wait)
    assert connects, f"3proxy logged no CONNECT {names[ALLOWED]}:{TARGET_PORT}"
    wait_for_flows(lambda: [f for f in hubble_flows.fetch() if f.IP.destination == names[ALLOWED]], [
        FlowExpectation("redirected to proxy-listener", source_pod=f"{NS}/{CLIENT}", verdict="FORWARDED",
                        observation_point="TO_PROXY", traffic_direction="EGRESS"),
    ], cluster_scenario.kube.timeouts.flows)


def test_other_names_are_dropped(cluster_scenario, names, external, hubble_flows):
    hubble_flows.restart()
    answer = curl(cluster_scenario.kube.exec, NS, CLIENT, CurlRequest(url(DENIED), max_time=2))
    assert (answer.exit_code, answer.status) == (CURL_TIMED_OUT, None), answer
    wait_for_flows(lambda: [f for f in hubble_flows.fetch() if f.IP.destination == names[DENIED]], [
        FlowExpectation("denied by proxy-policy", source_pod=f"{NS}/{CLIENT}", verdict="DROPPED",
                        drop_reason="POLICY_DENIED", traffic_direction="EGRESS"),
    ], cluster_scenario.kube.timeouts.flows)
    assert not connected_to(external[0].logs("proxy"), names[DENIED], TARGET_PORT)


def test_envoy_admin_lists_the_listener(daemonset_admin, cluster_scenario, names, evidence):
    listener = qualified_listener(NS, "proxy-envoy", "proxy-listener")
    listeners, dump = listeners_and_dump(cluster_scenario.kube, NS, CLIENT, [f"{NS}/proxy-envoy/"])
    evidence.json("cilium-envoy /config_dump (proxy-envoy)", dump)
    assert listener in listeners, f"{listener} not among {sorted(listeners)}"
    assert listener in dumped_names(dump), dump_names_regex([f"{NS}/proxy-envoy/"])
