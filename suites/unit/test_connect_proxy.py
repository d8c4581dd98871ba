"""The CONNECT proxy stand-in (l7suite/standins/connect_proxy.py, proxy.py in a process group of its own):
it starts and logs its tunnels, and a start that fails leaves no process behind."""

import os
import socket

import pytest

from l7suite.loopback_ports import free_loopback_port, release_ports
from l7suite.standins.connect_proxy import ConnectProxy


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_started_proxy_logs_each_tunnel(tmp_path):
    port = free_loopback_port()
    release_ports([port])  # the proxy binds it
    with socket.create_server(("127.0.0.1", 0)) as target:
        proxy = ConnectProxy("127.0.0.1", port, tmp_path).start()
        try:
            host, target_port = target.getsockname()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as tunnel:
                tunnel.sendall(f"CONNECT {host}:{target_port} HTTP/1.1\r\nHost: {host}:{target_port}\r\n\r\n"
                               .encode())
                assert tunnel.recv(1024).startswith(b"HTTP/1.1 200"), proxy.log_tail()
                target.accept()[0].close()
            assert proxy.wait_connects(1) == [f"{host}:{target_port}"], proxy.log_tail()
        finally:
            proxy.stop()


def test_wait_connects_returns_what_was_logged_when_the_count_never_comes(tmp_path):
    proxy = ConnectProxy("127.0.0.1", 1, tmp_path)  # never started: its log is written here
    proxy.log_path.write_text("... CONNECT 10.0.0.1:443 ...\n")
    assert proxy.wait_connects(2, timeout=0.3) == ["10.0.0.1:443"]


def test_a_proxy_that_cannot_bind_fails_the_start_and_leaves_nothing(tmp_path):
    # a port bound but not listening: proxy.py cannot bind it, and nothing accepts a connection meanwhile
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        proxy = ConnectProxy("127.0.0.1", taken.getsockname()[1], tmp_path)
        with pytest.raises(RuntimeError, match="the CONNECT proxy exited with"):
            proxy.start(timeout=60)  # it ends long before: the wait stops when the process does
    assert proxy.proc is None, "start() did not stop the proxy it started"


def test_a_start_interrupted_while_waiting_stops_the_proxy(tmp_path, monkeypatch):
    port = free_loopback_port()
    release_ports([port])
    proxy = ConnectProxy("127.0.0.1", port, tmp_path)
    started = []

    def interrupted() -> bool:
        started.append(proxy.proc.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(proxy, "_accepts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        proxy.start()
    assert proxy.proc is None and started
    assert not group_alive(started[0]), "the proxy's process group outlived an interrupted start"

