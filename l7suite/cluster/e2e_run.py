"""`tox -e e2e`'s runner: parallel scenarios first, disruptive ones alone, then the cluster goes.

    python -m l7suite.cluster.e2e_run [pytest options...]

1. `pytest suites/e2e -m "not disruptive" -n W --dist loadscope --keep-cluster ...`: modules (one
   scenario, one namespace each) spread over W xdist workers against one cluster;
2. `pytest suites/e2e -m disruptive --keep-cluster ...`: the resilience test alone, on that cluster;
3. `kind delete cluster` — always, even when a step failed or was interrupted, unless the user asked
   for `--keep-cluster` or brought a cluster with `--kubeconfig` (that one is never deleted).

W comes from L7SUITE_E2E_WORKERS (default 2). The exit code is the first failing step's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from l7suite.cluster import tools

NO_TESTS_COLLECTED = 5  # pytest's exit code when a marker leaves nothing to run


def option_value(args: Sequence[str], name: str, default: str | None = None) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def steps(args: Sequence[str], workers: int) -> list[list[str]]:
    pytest = [sys.executable, "-m", "pytest", "suites/e2e"]
    if "--plan" in args:
        return [[*pytest, *args]]
    keep = [] if "--keep-cluster" in args else ["--keep-cluster"]
    parallel = ["-n", str(workers), "--dist", "loadscope"] if workers > 1 else []
    later = [a for a in args if a != "--clean-alluredir"]  # step 2 adds to step 1's results
    return [[*pytest, "-m", "not disruptive", *parallel, *keep, *args],
            [*pytest, "-m", "disruptive", *keep, *later]]


def cleanup(args: Sequence[str]) -> list[str] | None:
    """The command that removes the run's cluster, or None when it must stay."""
    if "--plan" in args or "--keep-cluster" in args or option_value(args, "--kubeconfig"):
        return None
    return ["kind", "delete", "cluster", f"--name={option_value(args, '--cluster-name', 'l7suite')}"]


def main(args: list[str]) -> int:
    workers = int(os.environ.get("L7SUITE_E2E_WORKERS", "2"))
    code = 0
    try:
        for number, command in enumerate(steps(args, workers), start=1):
            print(f"[l7suite] e2e step {number}: {' '.join(command[2:])}", flush=True)
            result = subprocess.run(command, check=False).returncode
            if number == 2 and result == NO_TESTS_COLLECTED:
                result = 0  # `-k` or `-m` left no disruptive test: nothing failed
            code = code or result
    finally:
        removal = cleanup(args)
        if removal is not None:
            print(f"[l7suite] removing the cluster: {' '.join(removal)}", flush=True)
            done = tools.run(removal, 300)
            if done.returncode not in (0, 127):  # 127: kind absent, so no cluster was made
                print(f"[l7suite] cluster removal failed: {done.stderr.strip()}", file=sys.stderr)
                code = code or done.returncode
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
