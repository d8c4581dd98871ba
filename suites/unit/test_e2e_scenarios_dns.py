"""proxy-redirect (issue 11, defect i): no request before the new names resolve in cluster DNS from the
client pod; `dig +short` read on its output forms (BIND 9 dig manual, +short: one answer a line, CNAME
targets with a trailing dot; failures as `;;` comment lines on stdout)."""

from __future__ import annotations

import pytest

from l7suite.cluster.cluster_dns import addresses, dig_argv, wait_resolvable
from l7suite.cluster.converge import NotConverged
from l7suite.traffic.pod_probes import ExecResult

ALLOWED = "allowed-web.proxy.svc.cluster.local"
DENIED = "denied-web.proxy.svc.cluster.local"


@pytest.mark.parametrize("stdout, found", [
    ("172.18.0.6\n", ["172.18.0.6"]),
    ("web.example.net.\n172.18.0.6\n172.18.0.7\n", ["172.18.0.6", "172.18.0.7"]),  # a CNAME first
    ("", []),  # NXDOMAIN: +short prints nothing
    (";; connection timed out; no servers could be reached\n", []),
    ("fd00:10:96::a\n", ["fd00:10:96::a"]),
])
def test_addresses_of_dig_short(stdout, found):
    assert addresses(stdout) == found


def test_dig_is_bounded():
    assert dig_argv(ALLOWED) == ["dig", "+short", "+time=2", "+tries=1", ALLOWED]


class Dns:
    """Cluster DNS that learns the headless Services' records after `late` queries of each name."""

    def __init__(self, late: int, records: dict[str, str]):
        self.late, self.records, self.asked = late, records, {n: 0 for n in records}
        self.calls: list[list[str]] = []

    def __call__(self, namespace, pod, argv, timeout):
        self.calls.append([namespace, pod, *argv])
        name = argv[-1]
        self.asked[name] += 1
        return ExecResult(0, f"{self.records[name]}\n" if self.asked[name] > self.late else "", "")


def test_names_are_waited_for_until_both_resolve_three_times_in_a_row():
    dns = Dns(late=2, records={ALLOWED: "172.18.0.6", DENIED: "172.18.0.7"})
    result = wait_resolvable(dns, "proxy", "proxy-client", {ALLOWED: "172.18.0.6", DENIED: "172.18.0.7"}, 60,
                             sleep=lambda s: None)
    assert [a.ok for a in result.attempts] == [False, False, True, True, True]
    assert result.attempts[0].observed == f"{ALLOWED} -> no address; {DENIED} -> no address"
    assert {tuple(c[:3]) for c in dns.calls} == {("proxy", "proxy-client", "dig")}


def test_a_name_that_resolves_elsewhere_is_not_taken():
    dns = Dns(late=0, records={ALLOWED: "10.0.0.9", DENIED: "172.18.0.7"})
    with pytest.raises(NotConverged, match=f"{ALLOWED} -> 10.0.0.9"):
        wait_resolvable(dns, "proxy", "proxy-client", {ALLOWED: "172.18.0.6", DENIED: "172.18.0.7"}, 5,
                        sleep=lambda s: None)
