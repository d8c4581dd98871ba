"""Nothing outlives a run: no Envoy process, no listening port, after a pass, a failure, Ctrl-C or kill -9.

The four child runs are independent (own scenario, own Envoy, own ports; the checks pick each run's sockets
by the processes that hold them), so they are started together and each test then ends its own: the module
lasts about as long as one child's start, not four.
"""

import contextlib
import ctypes
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from l7suite.scenarios import SUITE_SELF_CHECKS
from suites.child_pytest import ForkedPytest, start_pytest
from suites.processes import alive, wait_for

SCENARIO = SUITE_SELF_CHECKS
PROBE = "suites/envoy/data/hygiene_probe.py"
EXIT = {"pass": 0, "fail": 1, "interrupt": 2, "kill": -signal.SIGKILL}


def gone(pid: int) -> bool:
    """Dead and reaped: orphans of the killed child come to this process (a subreaper), which reaps them."""
    with contextlib.suppress(ChildProcessError):  # not ours: the child pytest reaped it
        os.waitpid(pid, os.WNOHANG)
    return not alive(pid)


def socket_inodes(pids: list[int]) -> set[int]:
    """Inodes of the sockets these processes hold (their /proc/<pid>/fd links read `socket:[inode]`)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # an fd closed while we looked
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def holders(inodes: set[int]) -> dict[int, str]:
    """Which processes hold these sockets now (pid: command line), to explain a failure."""
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if socket_inodes([int(proc.name)]) & inodes:
                    found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    return found


def listening_sockets() -> dict[int, int]:
    """Kernel's listening TCP sockets: inode -> port. The run's own sockets are picked by inode, as held by
    its processes: another process may listen on the same port number on another address ([::1]), or take
    the port later (ephemeral ports are reused quickly on a busy machine)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                found[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


@dataclass
class Probe:
    child: ForkedPytest
    out: Path  # where the probe writes what it holds
    log: Path


@pytest.fixture(scope="module")
def probes(suite_envoy_version, tmp_path_factory):
    """One child run of the probe per ending, all started at once; each waits for its test's signal."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    started: dict[str, Probe] = {}
    try:
        for ending in EXIT:
            folder = tmp_path_factory.mktemp(f"probe-{ending}")
            out, log = folder / "probe.json", folder / "log"
            mode = "hang" if ending in ("interrupt", "kill") else ending
            child = start_pytest(PROBE, "-q", "-p", "no:pytest_kind", "--envoy-version", suite_envoy_version,
                                 env={"L7SUITE_PROBE_OUT": str(out), "L7SUITE_PROBE_MODE": mode}, log=log)
            started[ending] = Probe(child, out, log)
        yield started
    finally:
        for probe in started.values():
            if probe.child.poll() is None:
                probe.child.kill()
                probe.child.wait()


@pytest.mark.parametrize("ending", list(EXIT))
def test_nothing_is_left_behind(ending, probes):
    child, out, log = probes[ending].child, probes[ending].out, probes[ending].log
    try:
        assert wait_for(out.exists, 60), "the probe never started its scenario:\n" + log.read_text()
        held = json.loads(out.read_text())
        held_inodes = socket_inodes([child.pid, held["envoy_pid"]])
        ours = {inode: port for inode, port in listening_sockets().items() if inode in held_inodes}
        assert alive(held["envoy_pid"]) and set(ours.values()) == set(held["ports"]), (held, ours)
        out.with_suffix(".go").touch()
        if ending == "interrupt":
            child.send_signal(signal.SIGINT)
        elif ending == "kill":
            child.kill()
        assert child.wait(60) == EXIT[ending], log.read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert wait_for(lambda: gone(held["envoy_pid"]), 10), f"Envoy {held['envoy_pid']} outlived the run"
    # The kernel finishes tearing down the sockets of a SIGKILLed process a moment after its files are
    # closed (seen here: listed as LISTEN, held by no process, for a few hundred milliseconds).
    wait_for(lambda: not set(listening_sockets()) & set(ours), 5)
    still = {inode: port for inode, port in listening_sockets().items() if inode in ours}
    assert not still, f"sockets of the run still listening after it ended (inode: port): {still}; " \
        f"held by: {holders(set(still))}"
