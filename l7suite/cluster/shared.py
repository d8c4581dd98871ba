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
from collections.abc import Callable
from pathlib import Path

STATE_ENV = "L7SUITE_E2E_STATE_DIR"


class SharedClusterFailed(RuntimeError):
    pass


def _state_file(state_dir: Path, cluster: str) -> Path:
    return state_dir / f"{cluster}.json"


def read_state(state_dir: Path, cluster: str) -> dict[str, str]:
    path = _state_file(state_dir, cluster)
    return dict(json.loads(path.read_text())) if path.exists() else {}


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
        try:
            kubeconfig = bring_up()
        except BaseException as exc:
            _state_file(state_dir, cluster).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            raise
        _state_file(state_dir, cluster).write_text(json.dumps({"kubeconfig": str(kubeconfig), "created": "yes"}))
        return kubeconfig, True
