"""The one way a run deletes its kind cluster.

Three moments call it, each for a cluster the others leave alone: the session that brought the cluster up
without pytest-xdist (l7suite/cluster/install.py ClusterSession.down), the xdist controller once every
worker is done with the cluster a worker made (fixtures/e2e_cluster.py), and the e2e runner after both
pytest steps, which keep the cluster for each other (l7suite/cluster/e2e_run.py). A removal that fails
says so with the command that finishes it by hand; it never raises, so the run's own outcome stands.
"""

from __future__ import annotations

from collections.abc import Callable

from l7suite.cluster import tools

KIND_MISSING = 127  # tools.run: kind is not on PATH, so no cluster was made


def removal_command(name: str) -> list[str]:
    return ["kind", "delete", "cluster", f"--name={name}"]


def delete_kind_cluster(name: str, timeout: float, say: Callable[[str], None],
                        run: tools.Runner = tools.run) -> int:
    """`kind delete cluster --name=NAME` within `timeout` (deadline kind_delete); its exit code, 0 when kind
    is absent."""
    say(f"deleting kind cluster {name!r}")
    done = run(removal_command(name), timeout)
    if done.returncode in (0, KIND_MISSING):
        return 0
    say(f"could not delete kind cluster {name!r} (exit {done.returncode}): {done.stderr.strip()[-2000:]}; "
        f"remove it with `{' '.join(removal_command(name))}`")
    return done.returncode
