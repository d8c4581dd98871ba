"""The pytest commands of an e2e run, made from the user's arguments (the `tox -e e2e -- ARGS`).

Pure functions of the argument list, so a unit test reads exactly what each step will run:
`plan_step` (`--plan` only), `first_step` (every scenario but the disruptive ones, over xdist workers,
keeping the cluster for step 2), `second_step` (the disruptive scenario alone, adopting step 1's cluster)
and `cleanup` (the cluster's removal, when the run made it). l7suite/cluster/e2e_run.py runs them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from l7suite.cluster.cluster_removal import removal_command


def option_value(args: Sequence[str], name: str, default: str | None = None) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def without_option(args: Sequence[str], name: str, takes_value: bool) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == name:
            skip = takes_value
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def pytest_command() -> list[str]:
    return [sys.executable, "-m", "pytest", "suites/e2e"]


def plan_step(args: Sequence[str]) -> list[str]:
    """A plan writes no results: tox's --alluredir/--clean-alluredir must not wipe the last run's."""
    return [*pytest_command(), *without_option(without_option(args, "--alluredir", True), "--clean-alluredir", False)]


def first_step(args: Sequence[str], workers: int) -> list[str]:
    keep = [] if "--keep-cluster" in args else ["--keep-cluster"]  # the cluster only, for step 2
    parallel = ["-n", str(workers), "--dist", "loadscope"] if workers > 1 else []
    return [*pytest_command(), "-m", "not disruptive", *parallel, *keep, *args]


def second_step(args: Sequence[str], adopt: Path | None) -> list[str]:
    """Step 2 on step 1's cluster (`adopt`: its kubeconfig), or bringing one up when step 1 made none."""
    later = [a for a in args if a != "--clean-alluredir"]  # step 2 adds to step 1's results
    if adopt is not None and not option_value(args, "--kubeconfig"):
        later = [*without_option(later, "--preload-images", False), "--kubeconfig", str(adopt)]
    keep = [] if "--keep-cluster" in args or adopt is not None else ["--keep-cluster"]
    return [*pytest_command(), "-m", "disruptive", *keep, *later]


def steps(args: Sequence[str], workers: int, adopt: Path | None = None) -> list[list[str]]:
    """The pytest commands of a run (step 2 as it runs when step 1 left the cluster `adopt`)."""
    if "--plan" in args:
        return [plan_step(args)]
    return [first_step(args, workers), second_step(args, adopt)]


def cluster_name(args: Sequence[str]) -> str:
    return option_value(args, "--cluster-name", "l7suite") or "l7suite"


def cleanup(args: Sequence[str]) -> list[str] | None:
    """The command that removes the run's cluster, or None when it must stay."""
    if "--plan" in args or "--keep-cluster" in args or option_value(args, "--kubeconfig"):
        return None
    return removal_command(cluster_name(args))
