"""Network namespaces for transparent-redirect scenarios, made so that none can outlive the suite.

A namespace is unnamed (no /var/run/netns entry): a holder process creates it with unshare(CLONE_NEWNET)
and dies with the suite (PR_SET_PDEATHSIG), and processes started in it (Envoy, the HTTP CONNECT proxy)
die with the suite too. The kernel frees the namespace, its addresses and its nftables rules with the
last process and socket in it, so even `kill -9` of the suite leaves nothing behind.

Python threads enter it one at a time (`with ns.entered():`): setns(2) moves only the calling thread, and
a socket keeps the namespace it was created in, so servers and clients of the suite live in it while the
rest of the process stays where it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

from l7suite.lifecycle import LIBC, StartedInWith, die_with_parent

CLONE_NEWNET = 0x40000000


class NetnsUnavailable(RuntimeError):
    """A kernel facility or a command the scenario needs is missing; the message says which."""


def _setns(fd: int) -> None:
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


def _holder_preexec() -> None:  # child, between fork and exec
    die_with_parent()
    if LIBC.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")  # Popen reports it as SubprocessError


def require_commands(*names: str) -> dict[str, str]:
    """Paths of the commands, or NetnsUnavailable naming the missing ones and their Debian packages."""
    packages = {"nft": "nftables", "ip": "iproute2"}
    found = {n: shutil.which(n) for n in names}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        install = " ".join(sorted({packages.get(n, n) for n in missing}))
        raise NetnsUnavailable(f"command(s) {', '.join(missing)} not found: apt-get install -y {install}")
    return {n: p for n, p in found.items() if p}


class NetNamespace(StartedInWith):
    def __init__(self) -> None:
        self.commands = require_commands("ip", "nft")
        self._holder: subprocess.Popen | None = None
        self.fd = -1

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        sleep = shutil.which("sleep") or "/bin/sleep"
        try:
            # Popen returns once the child has exec'd, so unshare() has happened by then (or failed here)
            self._holder = subprocess.Popen([sleep, "infinity"], stdin=subprocess.DEVNULL,
                                            preexec_fn=_holder_preexec)
        except subprocess.SubprocessError:
            raise NetnsUnavailable("unshare(CLONE_NEWNET) was refused: creating a network namespace needs "
                                   "CAP_SYS_ADMIN (run as root) and a kernel with network namespaces") from None
        self.fd = os.open(f"/proc/{self._holder.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        if os.stat(f"/proc/{self._holder.pid}/ns/net").st_ino == os.stat("/proc/thread-self/ns/net").st_ino:
            raise NetnsUnavailable("the holder process is still in the suite's own network namespace")
        self.run(["ip", "link", "set", "lo", "up"])

    def stop(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait(5)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # ---- entering --------------------------------------------------------------------------
    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block with this thread in the namespace (sockets made here stay in it)."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self.fd)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

    def preexec(self, also: Callable[[], None] | None = None) -> Callable[[], None]:
        """A preexec_fn that dies with the suite and enters the namespace before exec."""
        fd = self.fd

        def enter() -> None:
            die_with_parent()
            if LIBC.setns(fd, CLONE_NEWNET) != 0:
                os._exit(98)
            if also is not None:
                also()

        return enter

    # ---- commands in the namespace ----------------------------------------------------------
    def run(self, argv: list[str], stdin: str | None = None, what: str = "") -> str:
        """Run a command inside the namespace; NetnsUnavailable with its error output if it fails."""
        argv = [self.commands.get(argv[0], argv[0]), *argv[1:]]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                              preexec_fn=self.preexec(), pass_fds=(self.fd,))
        if done.returncode != 0:
            raise NetnsUnavailable(f"{what or ' '.join(argv)} failed in the test namespace "
                                   f"(exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def add_address(self, address: str, device: str = "lo") -> None:
        self.run(["ip", "addr", "add", f"{address}/32", "dev", device])

    def load_nft(self, ruleset: str) -> None:
        try:
            self.run(["nft", "-f", "-"], stdin=ruleset, what="loading nftables rules")
        except NetnsUnavailable as exc:
            raise NetnsUnavailable(f"{exc}\n(the kernel needs nf_tables with NAT support: nft_chain_nat, "
                                   f"nft_redir; the ruleset was:\n{ruleset})") from None
