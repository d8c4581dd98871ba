"""Does a name resolve in cluster DNS, as seen from a client pod (`dig +short` in netshoot)?

`dig +short NAME` prints one answer per line: addresses for A records, and for a CNAME chain the target
names (ending in `.`) before the addresses (ISC BIND `dig` manual, +short). A name that does not resolve
prints nothing and still exits 0, so the answer is read, not the exit code. `+time`/`+tries` bound the
query (dig's defaults are 5 s and 3 tries).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from l7suite.cluster.converge import Convergence, converge
from l7suite.traffic.pod_probes import Exec

QUERY_SECONDS = 2


def dig_argv(name: str) -> list[str]:
    return ["dig", "+short", f"+time={QUERY_SECONDS}", "+tries=1", name]


def addresses(stdout: str) -> list[str]:
    """The IP addresses of `dig +short` output (CNAME targets and dig's `;;` notes left out)."""
    out = []
    for line in stdout.splitlines():
        word = line.strip()
        try:
            ipaddress.ip_address(word)
        except ValueError:
            continue
        out.append(word)
    return out


@dataclass(frozen=True)
class Lookup:
    name: str
    exit_code: int
    addresses: tuple[str, ...]
    error: str

    def __str__(self) -> str:
        found = ", ".join(self.addresses) or "no address"
        return f"{self.name} -> {found}" + (f" (dig exit {self.exit_code}: {self.error})" if self.exit_code else "")


def lookup(run: Exec, namespace: str, pod: str, name: str) -> Lookup:
    done = run(namespace, pod, dig_argv(name), QUERY_SECONDS + 30)
    return Lookup(name, done.exit_code, tuple(addresses(done.stdout)), done.stderr.strip()[-300:])


def wait_resolvable(run: Exec, namespace: str, pod: str, expected: dict[str, str], deadline: float,
                    log: Callable[[str], None] = lambda line: None,
                    sleep: Callable[[float], None] = time.sleep) -> Convergence[list[Lookup]]:
    """Every name of `expected` resolves to its address from `pod`, 3 times in a row (l7suite.cluster.converge)."""
    names = list(expected)
    return converge(f"{', '.join(names)} resolve in cluster DNS",
                    lambda: [lookup(run, namespace, pod, name) for name in names],
                    lambda found: all(expected[f.name] in f.addresses for f in found), deadline,
                    describe=lambda found: "; ".join(map(str, found)), log=log, sleep=sleep)
