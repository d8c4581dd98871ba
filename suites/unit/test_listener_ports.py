"""A listener's port stays held from its choice until Envoy listens on it (l7suite/cilium/cec_translation.py), in
the network namespace Envoy binds it in."""

import socket

import pytest

from l7suite import MANIFESTS_DIR, loopback_ports
from l7suite.envoy.envoy_run import DEFAULT_VARIABLES, translate_scenario
from l7suite.loopback_ports import free_loopback_port, release_ports
from l7suite.manifests import load_manifest_set
from l7suite.standins.netns import NetNamespace


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


def test_the_ports_of_an_envoy_in_a_namespace_are_held_in_that_namespace():
    # proxy-redirect's Envoy binds its listener inside a network namespace: a port held only in the suite's own
    # namespace can be taken there (seen: NACK "cannot bind '127.0.0.1:34433': Address already in use")
    with NetNamespace() as netns:
        translated = translate_scenario(load_manifest_set("weighted-lb", MANIFESTS_DIR, DEFAULT_VARIABLES), netns)
        ports = list(translated.listener_ports.values())
        assert ports
        try:
            with netns.entered():
                for port in ports:
                    with pytest.raises(OSError):
                        bound(port).close()
        finally:
            release_ports(ports)


def offered_ports(offers: list[int], closed: list[int]) -> type:
    """A stand-in for socket.socket in l7suite.loopback_ports: the kernel offers `offers`, in turn; the port of
    each socket closed is appended to `closed`."""

    class OfferedSocket:
        def __init__(self, *args):
            self.port = offers.pop(0)

        def setsockopt(self, *args):
            pass

        def bind(self, address):
            pass

        def getsockname(self):
            return ("127.0.0.1", self.port)

        def close(self):
            closed.append(self.port)

    return OfferedSocket


def test_a_port_number_held_already_in_another_namespace_is_passed_over(monkeypatch):
    # two namespaces have ports of their own: the kernel may offer a number held already in the other one
    closed: list[int] = []
    monkeypatch.setattr(loopback_ports.socket, "socket", offered_ports([40001, 40001, 40002], closed))
    first = loopback_ports.free_loopback_port()
    second = loopback_ports.free_loopback_port()
    try:
        assert (first, second) == (40001, 40002)
        assert closed == [40001]  # the second offer of 40001, not the reservation
    finally:
        release_ports([first, second])
