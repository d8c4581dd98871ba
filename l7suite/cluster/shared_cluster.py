"""One cluster for every pytest-xdist worker of a run.

Each worker is a process with its own session, so the session-scoped cluster fixture would run once
per worker. Instead, the first worker to take an exclusive lock (fcntl.flock on a file in the run's
state folder) brings the cluster up and records its kubeconfig; the others wait on the lock, then adopt
that kubeconfig. A failed bring-up is recorded too, so the other workers fail at once with the same
message instead of trying again. Workers never delete the cluster: the controller does, at the end of
the run (it created the state folder and knows when every worker is done).

The state folder is per run (the controller makes it and passes it in L7SUITE_E2E_STATE_DIR), so two
runs on one machine, against two clusters, share nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path

STATE_ENV = "L7SUITE_E2E_STATE_DIR"
# Set by the e2e runner for step 1: the file in which a pytest step says "the cluster is up and ready"
# (its kubeconfig). A half-made cluster (bring-up failed after `kind create`) exists too, so the runner
# cannot tell the two apart by asking kind; it adopts only what this file names.
READY_ENV = "L7SUITE_E2E_READY_FILE"


class SharedClusterFailed(RuntimeError):
    pass


def _state_file(state_dir: Path, cluster: str) -> Path:
    return state_dir / f"{cluster}.json"


def read_state(state_dir: Path, cluster: str) -> dict[str, str]:
    path = _state_file(state_dir, cluster)
    return dict(json.loads(path.read_text())) if path.exists() else {}


def attempted(state: dict[str, str]) -> bool:
    """A worker started bringing the cluster up (it may exist, whole or half-made)."""
    return any(state.get(key) for key in ("started", "created", "error"))


def shared_kubeconfig(state_dir: Path, cluster: str, bring_up: Callable[[], Path]) -> tuple[Path, bool]:
    """(kubeconfig, brought up by this call). `bring_up` runs in exactly one worker per run."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / f"{cluster}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        state = read_state(state_dir, cluster)
        if state.get("error"):
            raise SharedClusterFailed(f"another worker could not bring the cluster up: {state['error']}")
        if state.get("kubeconfig"):
            return Path(state["kubeconfig"]), False
        # recorded first: a worker killed mid-way (kill -9) still leaves the controller a cluster to delete
        _state_file(state_dir, cluster).write_text(json.dumps({"started": "yes"}))
        try:
            kubeconfig = bring_up()
        except BaseException as exc:
            _state_file(state_dir, cluster).write_text(json.dumps({"started": "yes",
                                                                    "error": f"{type(exc).__name__}: {exc}"}))
            raise
        _state_file(state_dir, cluster).write_text(json.dumps({"kubeconfig": str(kubeconfig), "created": "yes"}))
        return kubeconfig, True


def mark_ready(kubeconfig: Path, environ: dict[str, str] | None = None) -> None:
    """Called once a pytest step has a ready cluster; a no-op outside the e2e runner."""
    target = (os.environ if environ is None else environ).get(READY_ENV)
    if target:
        Path(target).write_text(str(kubeconfig))


def ready_kubeconfig(ready_file: Path) -> Path | None:
    """The kubeconfig a step marked ready, or None when no step got a ready cluster."""
    if not ready_file.is_file():
        return None
    kubeconfig = Path(ready_file.read_text().strip())
    return kubeconfig if kubeconfig.is_file() else None
