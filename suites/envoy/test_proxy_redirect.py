"""proxy-redirect on real Envoy (the scenario and its world: l7suite/scenarios/proxy_redirect.py): the
client pod's connection to an external address is redirected transparently (nftables in a network namespace
of the suite's own) into Envoy's proxy-listener, which tunnels it with HTTP CONNECT through a real web proxy
(proxy.py, the lab's 3proxy). The proxy must receive `CONNECT <the address the client dialed>`, not the
listener's own address, and the client must get the destination's answer.

The namespace, the world's servers and the proxy do not depend on the Envoy version: they are made once per
module (`world`) and each version's Envoy and redirect rules run in them (`redirect_run`).
"""

from contextlib import ExitStack

import pytest

from l7suite.envoy.verdicts import ScenarioConfigError
from l7suite.manifests import ManifestError, load_manifest_set
from l7suite.scenarios import proxy_redirect
from l7suite.scenarios.proxy_redirect import LISTENER, PROXY_ADDRESS, WORLD, ProxyRedirectRun, ProxyWorld
from l7suite.standins.netns import NetnsUnavailable

SCENARIO = proxy_redirect.SCENARIO
ALLOWED = "api.github.com"  # matches the policy's toFQDNs *.github.com
DENIED = "google.com"  # the lab's check that anything else is refused


def fail_setup(message: str) -> None:
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The namespace, the world's HTTP servers and the CONNECT proxy, for every Envoy version of the module."""
    with ExitStack() as stack:
        try:
            started = stack.enter_context(ProxyWorld(tmp_path_factory.mktemp("proxy-world")))
        except NetnsUnavailable as exc:
            message = f"scenario {SCENARIO.name!r} needs a network namespace with nftables redirects: {exc}"
        else:
            yield started
            return
    fail_setup(message)


@pytest.fixture(scope="module")
def redirect_run(world, manifests_dir, envoy_binary, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("proxy-redirect")
    with ExitStack() as stack:
        try:
            scenario = load_manifest_set(SCENARIO.envoy_folder, manifests_dir, {"PROXY_ADDRESS": PROXY_ADDRESS})
            run = stack.enter_context(ProxyRedirectRun(world, scenario, envoy_binary, workdir))
        except NetnsUnavailable as exc:
            message = f"scenario {SCENARIO.name!r} needs a network namespace with nftables redirects: {exc}"
        except (ManifestError, ScenarioConfigError) as exc:
            message = f"scenario {SCENARIO.name!r}: {exc}"
        else:
            yield run
            return
    fail_setup(message)


def test_listener_is_named_like_cilium_names_it(redirect_run):
    assert LISTENER in redirect_run.envoy.admin.listeners()


def test_proxy_receives_connect_to_the_dialed_address_and_client_gets_the_answer(redirect_run, evidence):
    before = len(redirect_run.proxy.connects())
    fetch = redirect_run.get(ALLOWED)
    connects = redirect_run.proxy.wait_connects(before + 1)
    listener_address = redirect_run.envoy.admin.listeners().get(LISTENER)
    tunnels = redirect_run.envoy.admin.stat("tcp.tcp_stats.downstream_cx_total")
    evidence.json("client fetch through the proxy", {"fetch": fetch.__dict__, "proxy CONNECTs": connects,
                                                     "listener": listener_address, "nftables": redirect_run.ruleset})
    evidence.text("CONNECT proxy log", redirect_run.proxy.log_tail(100))
    assert tunnels >= 1, "the connection did not go through Envoy's tcp_proxy (tcp.tcp_stats.downstream_cx_total 0)"
    new = connects[before:]
    assert new == [fetch.dialed], (f"the proxy should have received CONNECT {fetch.dialed} (the address the client "
                                   f"dialed); it received {new or 'nothing'} (listener at {listener_address})")
    assert fetch.ok, f"curl http://{ALLOWED}/status from the pod failed: {fetch.error}"
    assert fetch.answer["destination"] == ALLOWED


def test_destination_the_policy_does_not_allow_is_not_proxied(redirect_run, evidence):
    """The lab waits out `curl --max-time 1 https://google.com` (exit 28: no answer within 1 s). Here the
    policy's drop rule counts the pod's connection attempt (its SYN): a dropped SYN gets no answer, and every
    retransmission meets the same rule, so the client can only time out, as curl did. The counter shows that
    within milliseconds, where the lab's check waits a full second; the socket is checked to have had no
    answer (neither connected nor refused) when the drop was counted. Not proxied: Envoy's tcp_proxy counted
    no connection, the destination served nothing and the proxy logged no CONNECT to it."""
    before_connects = len(redirect_run.proxy.connects())
    before_requests = redirect_run.targets[DENIED].requests
    tunnels = redirect_run.envoy.admin.stat("tcp.tcp_stats.downstream_cx_total")
    attempt = redirect_run.attempt_denied(DENIED, timeout=1.0)  # the lab's curl --max-time 1
    tunnels_after = redirect_run.envoy.admin.stat("tcp.tcp_stats.downstream_cx_total")
    evidence.json("denied destination", {"attempt": attempt.__dict__, "nftables": redirect_run.ruleset,
                                         "tcp.tcp_stats.downstream_cx_total": [tunnels, tunnels_after]})
    assert not attempt.answered, f"{DENIED} is outside the policy's toFQDNs but answered: {attempt.error}"
    assert attempt.dropped >= 1, (f"the pod's connection to {attempt.dialed} was not dropped by the policy "
                                  f"within 1 s ({attempt.error or 'no answer, no drop counted'})")
    assert tunnels_after == tunnels, "the denied connection went through Envoy's tcp_proxy"
    assert redirect_run.targets[DENIED].requests == before_requests
    assert f"{WORLD[DENIED]}:80" not in redirect_run.proxy.connects()[before_connects:]
