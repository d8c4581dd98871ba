"""The rehearsal's fixtures (its runs start at the first test that needs one: suites/rehearsal/rehearsal_runs.py),
and its banner: the rehearsal says what it is at the top of its output, a test of the harness, not a result."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from l7suite import REPO_ROOT
from suites.rehearsal.planned import Planned
from suites.rehearsal.rehearsal_runs import RUN_TIMEOUT, Rehearsal, cluster_names, start_all
from suites.rehearsal.runner import BANNER, Run


def pytest_report_header() -> str:
    return BANNER


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    r = start_all(tmp_path_factory.mktemp("rehearsal"))
    yield r
    for name in r.threads:
        r.threads[name].join(RUN_TIMEOUT)
    for cluster in set(cluster_names().values()):  # pytest-kind-ng's kubeconfig folder, per cluster
        shutil.rmtree(REPO_ROOT / ".pytest-kind" / cluster, ignore_errors=True)


@pytest.fixture(scope="session")
def planned(rehearsal: Rehearsal) -> Planned:
    run = rehearsal.get("plan")
    assert run.codes == [0], f"`tox -e e2e -- --plan` failed:\n{run.output[-4000:]}"
    return Planned.parse(run.output)


@pytest.fixture(scope="session")
def full(rehearsal: Rehearsal) -> Run:
    return rehearsal.get("full")
