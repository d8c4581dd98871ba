"""A listener's port stays held from its choice until Envoy listens on it (l7suite/cilium/cec_translation.py)."""

import socket

import pytest

from l7suite.loopback_ports import free_loopback_port, release_ports


def bound(port: int, reuseport: bool = False) -> socket.socket:
    sock = socket.socket()
    try:
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def test_a_chosen_port_is_held_until_released_and_envoy_can_bind_it_meanwhile():
    port = free_loopback_port()
    with pytest.raises(OSError):  # what took a merely probed port before Envoy did: any other bound socket
        bound(port).close()
    with bound(port, reuseport=True) as envoy:  # Envoy binds its listeners with SO_REUSEPORT
        envoy.listen()
        release_ports([port])
    bound(port).close()
