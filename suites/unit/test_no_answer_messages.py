"""Nothing answers behind a port-forward (Envoy admin, Hubble Relay): the failure names what did not
answer, where and within what deadline, not a bare URLError or an empty grpc.FutureTimeoutError."""

import socket

import pytest

from l7suite.envoy.admin_client import AdminClient, AdminUnreachable
from l7suite.hubble.relay_client import HubbleClient, HubbleUnavailable


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_envoy_admin_without_answer_names_the_envoy_and_the_path(closed_port):
    admin = AdminClient(f"http://127.0.0.1:{closed_port}", timeout=1,
                        label="admin API of kube-system/cilium-envoy-x7k2p")
    with pytest.raises(AdminUnreachable) as failure:
        admin.listeners()
    assert str(failure.value).startswith("admin API of kube-system/cilium-envoy-x7k2p: GET /listeners got no answer")


def test_hubble_relay_without_answer_names_the_target_and_the_deadline(closed_port):
    label = f"Hubble Relay (kube-system/svc/hubble-relay:80 via port-forward 127.0.0.1:{closed_port})"
    with HubbleClient(f"127.0.0.1:{closed_port}", label=label) as client, \
            pytest.raises(HubbleUnavailable) as failure:
        client.wait_ready(0.3)
    assert str(failure.value) == f"{label}: no gRPC connection within 0.3s"
