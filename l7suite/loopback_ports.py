"""Ports on 127.0.0.1 for Envoy's listeners, held until Envoy listens on them.

The agent gives a CEC listener without an address a proxy port of its own (l7suite/cilium/cec_translation.py
takes the allocator as a parameter); here that port is a free one on loopback.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable

# A port chosen for a listener stays bound here (SO_REUSEPORT, not listening) until Envoy listens on it
# (release_ports) or RESERVATION_S pass: a port only probed free could be taken, before Envoy binds it, by
# any socket of the machine bound to port 0 (a stand-in, another worker's listener: seen as Envoy's NACK
# "cannot bind ...: Address already in use"). Envoy binds its listeners with SO_REUSEPORT too.
RESERVATION_S = 30.0
MAX_TRIES = 50  # ports offered by the kernel before giving up (each one held already by another namespace)
_reserved: dict[int, tuple[socket.socket, float]] = {}
_reserved_lock = threading.Lock()


def free_loopback_port() -> int:
    """A free port on 127.0.0.1, in the calling thread's network namespace, for a listener, held until Envoy
    listens on it (above). Each namespace has ports of its own (l7suite/envoy/envoy_run.py chooses those of
    an Envoy in a namespace inside it), so a number held already, in another one, is passed over: the
    reservations go by number (release_ports), and a second socket under one number would be dropped open."""
    passed_over: list[socket.socket] = []
    try:
        for _ in range(MAX_TRIES):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", 0))
            port, now = int(sock.getsockname()[1]), time.monotonic()
            with _reserved_lock:
                for stale in [p for p, (_, at) in _reserved.items() if now - at > RESERVATION_S]:
                    _reserved.pop(stale)[0].close()
                if port not in _reserved:
                    _reserved[port] = (sock, now)
                    return port
            passed_over.append(sock)  # kept bound until a port is found, so the kernel offers another
        raise OSError(f"no loopback port free of the suite's own reservations in {MAX_TRIES} tries")
    finally:
        for sock in passed_over:
            sock.close()


def release_ports(ports: Iterable[int]) -> None:
    """Let go of the ports Envoy now listens on (or will not)."""
    with _reserved_lock:
        for port in ports:
            held = _reserved.pop(port, None)
            if held is not None:
                held[0].close()
