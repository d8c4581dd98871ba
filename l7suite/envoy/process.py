"""Run one Envoy process fed by an ADS server, with its admin API on loopback, and always stop it.

Envoy is started with PR_SET_PDEATHSIG so that it dies with the suite even when the suite is killed
hard, and every live process is also stopped at interpreter exit: no Envoy outlives a run.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from l7suite.envoy.admin_client import AdminClient
from l7suite.lifecycle import dying_with_parent

_LIVE: set[EnvoyProcess] = set()
# Held from an Envoy's fork until it is in _LIVE, and while stop_all() lists them: stop_all() in one thread
# (Ctrl-C during `l7suite check`) stops every Envoy whose process exists, also one that another thread is
# starting at that moment.
_LIVE_LOCK = threading.Lock()


def bootstrap(xds_host: str, xds_port: int, node_id: str) -> dict:
    """Bootstrap that takes listeners and clusters from ADS, like cilium-envoy's takes them from the agent.
    `xds_host` "unix:/path" means the ADS server listens on that Unix socket (`xds_port` unused)."""
    if xds_host.startswith("unix:"):
        xds_address: dict = {"pipe": {"path": xds_host.removeprefix("unix:")}}
    else:
        xds_address = {"socket_address": {"address": xds_host, "port_value": xds_port}}
    grpc_service = {
        "envoy_grpc": {
            "cluster_name": "l7suite-xds",
            # Reconnect fast when the control plane comes back (the agent-restart scenario).
            "retry_policy": {"retry_back_off": {"base_interval": "0.1s", "max_interval": "0.5s"}},
        }
    }
    return {
        "node": {"id": node_id, "cluster": "l7suite"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "set_node_on_first_message_only": True,
                "grpc_services": [grpc_service],
            },
            "lds_config": {"ads": {}, "resource_api_version": "V3"},
            "cds_config": {"ads": {}, "resource_api_version": "V3"},
        },
        "static_resources": {
            "clusters": [
                {
                    "name": "l7suite-xds",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": "l7suite-xds",
                        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": xds_address}}]}],
                    },
                }
            ]
        },
    }


class EnvoyProcess:
    def __init__(self, binary: Path, workdir: Path, xds_host: str, xds_port: int, node_id: str,
                 concurrency: int = 1, preexec: Callable[[], None] | None = None):
        self.binary = binary
        self.workdir = workdir
        self.config_path = workdir / "bootstrap.json"
        self.log_path = workdir / "envoy.log"
        self.admin_path = workdir / "admin-address"
        self.concurrency = concurrency
        # runs in the child before exec; must itself set PR_SET_PDEATHSIG (e.g. NetNamespace.preexec()).
        # None: Envoy is started through dying_with_parent (no preexec_fn, so no fork of the suite's process).
        self.preexec = preexec
        self.config_path.write_text(json.dumps(bootstrap(xds_host, xds_port, node_id), indent=1))
        self.proc: subprocess.Popen | None = None
        self.admin: AdminClient | None = None

    def start(self, timeout: float = 20.0) -> AdminClient:
        self.admin_path.unlink(missing_ok=True)
        cmd = [str(self.binary), "-c", str(self.config_path), "--admin-address-path", str(self.admin_path),
               "--disable-hot-restart", "--concurrency", str(self.concurrency), "--log-level", "info",
               "--log-path", str(self.log_path), "--drain-time-s", "1", "--parent-shutdown-time-s", "2"]
        # stderr goes to a file, never a pipe: a full pipe would block Envoy.
        preexec = self.preexec
        if preexec is None:
            cmd, preexec = dying_with_parent(cmd)
        with _LIVE_LOCK, open(self.workdir / "envoy.stderr", "wb") as err:
            self.proc = proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=err, preexec_fn=preexec)
            _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:  # also when another thread stopped it (stop_all)
                raise RuntimeError(f"Envoy exited with {proc.returncode} during start-up:\n{self.output_tail()}")
            text = self.admin_path.read_text().strip() if self.admin_path.exists() else ""
            if text:
                self.admin = AdminClient(f"http://{text}")
                return self.admin
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"Envoy wrote no admin address within {timeout:.0f}s:\n{self.output_tail()}")

    def output_tail(self, lines: int = 60) -> str:
        parts = []
        for path in (self.log_path, self.workdir / "envoy.stderr"):
            if path.exists():
                parts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(p for p in parts if p)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)


def stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for envoy in live:
        envoy.stop()


atexit.register(stop_all)
