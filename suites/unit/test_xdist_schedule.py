"""How the envoy tier's units are handed to xdist workers (fixtures/xdist_schedule.py), driven through
xdist's own LoadScopeScheduling with stand-in worker nodes: the run-once checks first, the heaviest modules'
units next, and the units that run statistical tests kept on one worker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fixtures import xdist_schedule
from fixtures.xdist_schedule import (
    ENVOY_TIER,
    envoy_tier_order,
    next_unit,
    pytest_xdist_make_scheduler,
    runs_statistics,
)

STATISTICAL = "from l7suite.traffic.share_statistics import check_share\n"
VERSIONS = ("1.37.0", "1.38.3")


class Node:
    """What the scheduler calls on a worker: it records the tests it is sent."""

    def __init__(self, name: str):
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += indexes

    def shutdown(self) -> None:
        self.shutting_down = True


def tier(root: Path) -> list[str]:
    """A small envoy tier under root: two statistical modules, two others and a check that runs once, as
    many tests (8) of either kind."""
    modules = {"test_grpc.py": (STATISTICAL, "ab"), "test_split.py": (STATISTICAL, "ab"),
               "test_redirect.py": ("", "ab"), "test_cpl.py": ("", "a")}
    (root / ENVOY_TIER).mkdir(parents=True)
    for name, (text, _) in modules.items():
        (root / ENVOY_TIER / name).write_text(text)
    (root / ENVOY_TIER / "test_hygiene.py").write_text("")
    ids = [f"{ENVOY_TIER}test_hygiene.py::test_nothing_is_left_behind[{e}]" for e in ("pass", "kill")]
    return ids + [f"{ENVOY_TIER}{m}::test_{t}[envoy-{v}]" for m, (_, tests) in modules.items() for v in VERSIONS
                  for t in tests]


def run(root: Path, collection: list[str], workers: int) -> dict[str, list[str]]:
    """Every test of the collection through the scheduler; the units each worker was given, in order."""
    config = SimpleNamespace(rootpath=root, option=SimpleNamespace(loadscopereorder=True),
                             getvalue={"dist": "loadscope", "tx": [f"{workers}*popen"]}.__getitem__)
    scheduler = pytest_xdist_make_scheduler(config, None)
    nodes = [Node(f"gw{i}") for i in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    done = {node: 0 for node in nodes}
    while any(done[n] < len(n.sent) for n in nodes):
        for node in nodes:  # the workers take turns finishing one test each
            if done[node] < len(node.sent):
                scheduler.mark_test_complete(node, node.sent[done[node]])
                done[node] += 1
    return {n.gateway.id: list(dict.fromkeys(scheduler._split_scope(collection[i]) for i in n.sent)) for n in nodes}


def test_statistical_units_go_to_one_worker_and_the_rest_to_the_other(tmp_path, monkeypatch):
    monkeypatch.setattr(xdist_schedule, "RESERVED_FOR_THE_END", 0)  # the affinity alone (the reserve: below)
    units = run(tmp_path, tier(tmp_path), workers=2)
    statistical = {u for u in units["gw0"] + units["gw1"] if "grpc" in u or "split" in u}
    assert len(statistical) == 4
    # gw0 asked first: every statistical unit and none of the others (each kind has as many tests)
    assert set(units["gw0"]) == statistical, units
    assert units["gw1"][0] == f"{ENVOY_TIER}test_hygiene.py", units  # the run-once check comes first
    assert not statistical & set(units["gw1"]), units


def test_a_worker_with_nothing_of_its_kind_left_takes_the_other_kind(tmp_path):
    collection = [n for n in tier(tmp_path) if "grpc" in n or "split" in n]  # statistical units only
    units = run(tmp_path, collection, workers=2)
    assert units["gw1"], f"the second worker got no work: {units}"
    assert sorted(units["gw0"] + units["gw1"]) == sorted(set(units["gw0"] + units["gw1"]))  # none given twice
    assert len(units["gw0"]) + len(units["gw1"]) == 4


def test_statistical_modules_are_recognised_by_their_import(tmp_path):
    tier(tmp_path)
    assert runs_statistics(f"{ENVOY_TIER}test_grpc.py@1.38.3", tmp_path)
    assert not runs_statistics(f"{ENVOY_TIER}test_redirect.py@1.38.3", tmp_path)
    assert not runs_statistics(f"{ENVOY_TIER}test_gone.py@1.38.3", tmp_path)  # no such file: any other unit
    (tmp_path / "suites" / "e2e").mkdir(parents=True)
    (tmp_path / "suites" / "e2e" / "test_split.py").write_text(STATISTICAL)
    assert not runs_statistics("suites/e2e/test_split.py", tmp_path)  # other tiers keep xdist's order


def test_next_unit_falls_back_to_the_head_of_the_queue(monkeypatch):
    monkeypatch.setattr(xdist_schedule, "RESERVED_FOR_THE_END", 1)
    is_statistics = {"a": False, "b": True, "c": False, "d": False}.__getitem__
    assert next_unit(["a", "b", "c"], is_statistics, statistics_worker=True) == "b"
    assert next_unit(["a", "b", "c"], is_statistics, statistics_worker=False) == "a"
    assert next_unit(["b"], is_statistics, statistics_worker=False) == "b"
    assert next_unit(["a", "c"], is_statistics, statistics_worker=True) == "a"


def test_the_other_worker_takes_statistical_units_before_its_reserve(monkeypatch):
    monkeypatch.setattr(xdist_schedule, "RESERVED_FOR_THE_END", 2)
    is_statistics = {"a": False, "b": True, "c": False, "d": False}.__getitem__
    assert next_unit(["a", "b", "c", "d"], is_statistics, statistics_worker=False) == "a"  # 3 of its own left
    assert next_unit(["b", "c", "d"], is_statistics, statistics_worker=False) == "b"  # 2: the reserve
    assert next_unit(["c", "d"], is_statistics, statistics_worker=False) == "c"  # no statistical one left


def test_the_other_worker_keeps_its_last_units_back_and_takes_statistical_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(xdist_schedule, "RESERVED_FOR_THE_END", 2)
    tier(tmp_path)  # the module files; the tests below: 4 per statistical unit, 1 per other unit
    collection = [f"{ENVOY_TIER}test_hygiene.py::test_nothing_is_left_behind[pass]"]
    collection += [f"{ENVOY_TIER}{m}::test_{t}[envoy-{v}]" for m in ("test_grpc.py", "test_split.py")
                   for v in VERSIONS for t in "abcd"]
    collection += [f"{ENVOY_TIER}{m}::test_a[envoy-{v}]" for m in ("test_redirect.py", "test_cpl.py") for v in VERSIONS]
    units = run(tmp_path, collection, workers=2)
    names = {w: [u.rsplit("/", 1)[-1] for u in got] for w, got in units.items()}
    # gw1 takes its own units until 2 are left, then the statistical ones; the 2 it kept back go to whichever
    # worker is free first (gw0 here, its statistical units done)
    assert names["gw1"] == ["test_hygiene.py", "test_redirect.py@1.37.0", "test_redirect.py@1.38.3",
                            "test_split.py@1.37.0", "test_split.py@1.38.3"], names
    assert names["gw0"] == ["test_grpc.py@1.37.0", "test_grpc.py@1.38.3", "test_cpl.py@1.37.0",
                            "test_cpl.py@1.38.3"], names


def test_run_once_checks_then_the_heaviest_modules_then_the_rest_each_in_the_order_given():
    once, grpc, live, egress, proxy = (f"{ENVOY_TIER}test_{m}.py" for m in
                                       ("hygiene", "grpc_lb", "live_update", "egress_allowlist", "proxy_redirect"))
    scopes = [f"{egress}@1.38.3", f"{live}@1.38.3", f"{proxy}@1.38.3", "suites/e2e/test_x.py", once,
              f"{grpc}@1.38.3", f"{egress}@1.37.0", f"{grpc}@1.37.0"]
    assert envoy_tier_order(scopes) == [once, f"{grpc}@1.38.3", f"{grpc}@1.37.0", f"{live}@1.38.3", f"{egress}@1.38.3",
                                        f"{proxy}@1.38.3", f"{egress}@1.37.0", "suites/e2e/test_x.py"]
