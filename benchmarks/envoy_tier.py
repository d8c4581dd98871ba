"""Benchmark of the envoy tier (a script, not a timed test).

Longer than 250 lines because it is one script a person reads top to bottom: running the tier, parsing
pytest's JUnit XML and printing the tables belong together.

Runs the whole envoy tier as `tox -e envoy` does (`pytest suites/envoy --envoy-version all -n 2
--dist loadscope --alluredir ...`; units of work as
fixtures/xdist_schedule.py makes them) and prints:
- the wall time of each run, the CPU time it used (and what other processes used meanwhile: a machine that
  is not idle inflates every figure), and how busy each xdist worker was;
- the time per scenario (test module) and per Envoy version: setup + call + teardown of its tests, from
  pytest's JUnit XML (the suite's own checks, which run once, in a column of their own); and the CPU time
  of the same, with what the run spent outside any test (interpreter start-up, imports, collection): the
  tier is CPU-bound on 2 cores, so CPU seconds are what a change has to save (benchmarks/cpu_per_test.py);
- the fixed cost and the cost of each added Envoy version: the tier is also run with one version
  (`--scaling-runs` times), and wall(N versions) = fixed + N x per-version is solved from the two medians;
- the load client's requests per second as the tier's tests report them (terminal summary sections
  "... req/s");
- with `--repeat N`: the median, min and max wall time, and how many runs had any failure;
- with `--against CHECKOUT`: the same for another checkout, its runs alternated with this one's, and in how
  many of the pairs this one was faster (the machine's speed drifts within an hour: docs/envoy-tier.md);
- for a run with a failure: its failure lines, and where its whole output and its Allure results (the
  failures' evidence: Envoy logs, xDS history, config_dump) were saved.

    python benchmarks/envoy_tier.py                 # every version of matrix.yaml, once (+ one 1-version run)
    python benchmarks/envoy_tier.py --repeat 10     # the median of 10 runs (issue 13's target: <= 20 s)
    python benchmarks/envoy_tier.py --repeat 20     # and that none of 20 runs fails
    python benchmarks/envoy_tier.py --versions 1.38 --scaling-runs 0 -- -k "not hygiene"
    python benchmarks/envoy_tier.py --repeat 6 --scaling-runs 0 --against ../before   # alternated with another checkout

Run it with the tox env's interpreter (`.tox/envoy/bin/python benchmarks/envoy_tier.py`) on an otherwise
idle machine: other work on the same cores inflates every figure.
Targets on the 2-core reference machine (issue 13): the whole tier for all versions, median of 10 runs, at
most 20 s wall; 20 repeats with no failure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.cpu_per_test import reaped_children_cpu  # noqa: E402
from l7suite.versions import envoy_versions  # noqa: E402

FAILURE_LINE = re.compile(r"^(E  |FAILED |ERROR |_{3,} .* _{3,}$)")
RPS_LINE = re.compile(r"^(\S+): .*\b\d+ (?:req|calls)/s")
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s")
VERSION_ID = re.compile(r"envoy-(\d+\.\d+\.\d+)")
# xdist's verbose line per test: "[gw1] [ 42%] PASSED suites/envoy/test_x.py::test_y[envoy-1.38.3]"
WORKER_LINE = re.compile(r"^\[(gw\d+)\] \[\s*\d+%\] [A-Z]+ (\S+::\S+)")
ONCE = "once"  # column of the checks that run once (hygiene, broken manifests, ...): not per Envoy version


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy so far (/proc/stat: all but idle and iowait; guest time
    is already in user)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    wall: float
    failed: bool
    summary: str
    cpu: float = 0.0  # user + sys seconds of the run's processes (pytest, workers, Envoys, child runs)
    others: float = 0.0  # CPU seconds other processes of the machine used meanwhile
    # module -> version (or ONCE) -> seconds of setup + call + teardown; and their CPU seconds
    times: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_times: dict[str, dict[str, float]] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=dict)  # worker -> seconds of the tests it ran
    workers: dict[str, set[str]] = field(default_factory=dict)  # worker -> modules it ran (some of)
    rps: list[str] = field(default_factory=list)


def module_of(classname: str) -> str:
    """The test module of a JUnit classname (`suites.envoy.test_grpc_lb` -> `test_grpc_lb`)."""
    parts = classname.split(".")
    return next((p for p in reversed(parts) if p.startswith("test_")), parts[-1])


def junit_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) of a test in pytest's JUnit XML, from its node id."""
    path, rest = nodeid.split("::", 1)
    classname = path.removesuffix(".py").replace("/", ".")
    if "::" in rest:
        cls, rest = rest.rsplit("::", 1)
        classname += "." + cls.replace("::", ".")
    return classname, rest


def run_tier(versions: list[str], workers: str, extra: list[str], log_dir: Path, label: str,
             repo: Path = REPO) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        junit, results = Path(tmp) / "junit.xml", Path(tmp) / "allure-results"
        cmd = [sys.executable, "-m", "pytest", "suites/envoy", "-v", "-p", "no:pytest_kind", "-p",
               "no:cacheprovider", "-p", "benchmarks.cpu_per_test",
               "--envoy-version", ",".join(versions), "-n", workers, "--dist", "loadscope",
               "--alluredir", str(results), "--clean-alluredir",
               f"--junitxml={junit}", "-o", "junit_duration_report=total", *extra]
        # as tox runs it: tox hands the env only the variables pass_env lists, so a PYTHONDONTWRITEBYTECODE of
        # the caller's (a sandbox may set it) would make every process compile the suite's modules again
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if repo != REPO:  # another checkout (--against): its modules before the ones installed in this env
            env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
        busy_before, cpu_before = machine_busy(), reaped_children_cpu()
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - started
        cpu = reaped_children_cpu() - cpu_before
        others = max(0.0, machine_busy() - busy_before - cpu)
        times: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        cpu_times: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        per_test: dict[tuple[str, str], float] = {}
        if junit.exists():
            for case in ET.parse(junit).iter("testcase"):
                match = VERSION_ID.search(case.get("name", ""))
                module = module_of(case.get("classname", "?"))
                column = match.group(1) if match else ONCE
                seconds = float(case.get("time", 0))
                times[module][column] += seconds
                cpu_times[module][column] += sum(float(p.get("value", 0)) for p in case.iter("property")
                                                 if p.get("name") == "cpu_s")
                per_test[(case.get("classname", ""), case.get("name", ""))] = seconds
        if done.returncode != 0 and results.is_dir():  # the failures' evidence: Envoy logs, xDS history, ...
            shutil.copytree(results, log_dir / f"{label}-allure-results", dirs_exist_ok=True)
    lines = done.stdout.splitlines()
    by_worker: dict[str, set[str]] = defaultdict(set)
    busy: dict[str, float] = defaultdict(float)
    rps, section = [], False
    for line in lines:
        if match := WORKER_LINE.match(line):
            worker, nodeid = match.groups()
            by_worker[worker].add(nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py"))
            busy[worker] += per_test.get(junit_key(nodeid), 0.0)
        if line.startswith("="):
            section = "/s" in line or "requests" in line or "calls" in line
            continue
        if section and RPS_LINE.match(line):
            rps.append(line.strip())
    summary = next((m.group(1) for m in map(SUMMARY.search, reversed(lines)) if m), "no summary")
    if done.returncode != 0:
        log = log_dir / f"{label}.log"
        log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        failures = [line for line in lines if FAILURE_LINE.match(line)][:60]
        tail = "\n".join(failures or lines[-25:] + done.stderr.splitlines()[-10:])
        print(f"    pytest exited {done.returncode} (whole output: {log}; evidence: {label}-allure-results "
              f"next to it):\n{tail}", file=sys.stderr)
    return Run(wall, done.returncode != 0, summary, cpu, others, {m: dict(v) for m, v in times.items()},
               {m: dict(v) for m, v in cpu_times.items()}, dict(busy), dict(by_worker), rps)


def print_run(run: Run, versions: list[str]) -> None:
    print(f"  wall {run.wall:.1f} s for {len(versions)} version(s); {run.summary}{'  (FAILED)' if run.failed else ''}")
    cores = os.cpu_count() or 1
    print(f"    CPU: the run {run.cpu:.1f} s (user+sys), other processes {run.others:.1f} s, of {cores} cores x "
          f"{run.wall:.1f} s = {cores * run.wall:.0f} s" + ("  (machine not idle: figures inflated)"
                                                             if run.others > 0.05 * cores * run.wall else ""))
    for worker in sorted(run.workers):
        print(f"    {worker}: busy {run.busy[worker]:5.1f} s: {', '.join(sorted(run.workers[worker]))}")
    if run.busy:
        print(f"    start-up, collection and idle tail: {run.wall - max(run.busy.values()):.1f} s "
              "(wall minus the busiest worker)", flush=True)


def print_table(runs: list[Run], versions: list[str], cpu: bool = False) -> None:
    """Median over the runs of each module's time (or CPU time) per version, with row and column totals."""
    columns = [*versions, ONCE]
    figures = [r.cpu_times if cpu else r.times for r in runs]
    modules = sorted({m for f in figures for m in f})

    def median(module: str, column: str) -> float:
        return statistics.median(f.get(module, {}).get(column, 0.0) for f in figures)

    cells = {(m, c): median(m, c) for m in modules for c in columns}
    width = max([len("per version"), *map(len, modules)]) + 2
    label = "median of " + (f"{len(runs)} runs" if len(runs) > 1 else "1 run")
    what = "CPU time (user+sys, with the children reaped)" if cpu else "time"
    print(f"{what} per scenario (test module) and Envoy version, s (setup+call+teardown, {label}):")
    print("  " + "".ljust(width) + "".join(c.rjust(9) for c in columns) + "total".rjust(9))
    for m in modules:
        row = [cells[m, c] for c in columns]
        print("  " + m.ljust(width) + "".join(f"{v:9.1f}" for v in row) + f"{sum(row):9.1f}")
    totals = [sum(cells[m, c] for m in modules) for c in columns]
    print("  " + "per version".ljust(width) + "".join(f"{v:9.1f}" for v in totals) + f"{sum(totals):9.1f}")
    if versions:
        print(f"  each Envoy version: {statistics.mean(totals[:-1]):.1f} s of test {what} (mean of the columns), "
              f"spread over the workers; the checks that run once: {totals[-1]:.1f} s")
    if cpu:
        outside = statistics.median(r.cpu - sum(sum(v.values()) for v in r.cpu_times.values()) for r in runs)
        print(f"  CPU outside any test (interpreters' start-up, imports, collection, xdist): {outside:.1f} s")


def print_scaling(full: list[Run], single: list[Run], versions: list[str]) -> None:
    n = len(versions)
    wall_n = statistics.median(r.wall for r in full)
    wall_1 = statistics.median(r.wall for r in single)
    per_version = (wall_n - wall_1) / (n - 1)
    fixed = wall_1 - per_version
    print(f"scaling: median wall {wall_1:.1f} s with 1 version ({versions[0]}, {len(single)} run(s)), "
          f"{wall_n:.1f} s with {n}")
    print(f"  fixed cost {fixed:.1f} s (start-up, collection, the checks that run once) + {per_version:.1f} s per "
          f"added Envoy version: wall ~= {fixed:.1f} + {per_version:.1f} x versions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="all", help="as --envoy-version: all (default), 1.38, 1.36,1.40, ...")
    parser.add_argument("--workers", default=os.environ.get("L7SUITE_ENVOY_WORKERS", "2"),
                        help="pytest-xdist workers, as tox -e envoy (default 2; 0 runs in one process)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole tier N times")
    parser.add_argument("--scaling-runs", type=int, default=None,
                        help="runs with only the first version, for the fixed vs per-version cost "
                             "(default: 1, or 3 with --repeat > 1; 0: skip)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="where the whole output of a run with a failure is saved (default: a new temporary "
                             "folder)")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKOUT",
                        help="another checkout of the suite (e.g. a `git worktree` of the commit before): each run "
                             "of this one is followed by a run of that one, and both medians are printed; the "
                             "machine's speed drifts over an hour, alternating runs compares like with like")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="envoy-tier-benchmark-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    # A shell without job control starts background commands with SIGINT ignored, and children inherit
    # that; the tier's Ctrl-C hygiene test needs its child pytest to get SIGINT. Handle it here, so the
    # children start with the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    versions = envoy_versions().resolve([args.versions])
    scaling_runs = args.scaling_runs if args.scaling_runs is not None else (3 if args.repeat > 1 else 1)
    if len(versions) < 2:
        scaling_runs = 0
    against = args.against.resolve() if args.against else None
    if against is not None and not (against / "benchmarks" / "cpu_per_test.py").is_file():
        parser.error(f"--against {args.against}: not a checkout of the suite (no benchmarks/cpu_per_test.py)")
    runs: list[Run] = []
    other: list[Run] = []
    for index in range(1, args.repeat + 1):
        print(f"run {index}/{args.repeat}", flush=True)
        run = run_tier(versions, args.workers, args.pytest_args, log_dir, f"run-{index}")
        print_run(run, versions)
        if index == 1:
            print("  load client:" + "".join(f"\n    {line}" for line in run.rps) if run.rps else "  no load figures")
        runs.append(run)
        if against is not None:
            print(f"run {index}/{args.repeat} of {against}", flush=True)
            other.append(run_tier(versions, args.workers, args.pytest_args, log_dir, f"against-{index}", against))
            print_run(other[-1], versions)
    single: list[Run] = []
    for index in range(1, scaling_runs + 1):
        print(f"scaling run {index}/{scaling_runs}: Envoy {versions[0]} only", flush=True)
        single.append(run_tier(versions[:1], args.workers, args.pytest_args, log_dir, f"scaling-run-{index}"))
        print_run(single[-1], versions[:1])
    print()
    print_table(runs, versions)
    print_table(runs, versions, cpu=True)
    if single:
        print_scaling(runs, single, versions)
    if other:
        faster = sum(mine.wall < theirs.wall for mine, theirs in zip(runs, other, strict=True))
        print(f"against {against}: wall median {statistics.median(r.wall for r in other):.1f} s (min "
              f"{min(r.wall for r in other):.1f} s, max {max(r.wall for r in other):.1f} s), CPU median "
              f"{statistics.median(r.cpu for r in other):.1f} s, runs with any failure: "
              f"{sum(r.failed for r in other)}; this checkout faster in {faster} of {len(runs)} alternated pairs")
    failed_runs = sum(r.failed for r in runs)
    walls = [r.wall for r in runs]
    print(f"{args.repeat} run(s) of {len(versions)} version(s): wall median {statistics.median(walls):.1f} s, "
          f"min {min(walls):.1f} s, max {max(walls):.1f} s; CPU median {statistics.median(r.cpu for r in runs):.1f} s, "
          f"other processes median {statistics.median(r.others for r in runs):.1f} s; runs with any failure: "
          f"{failed_runs}" + (f"; 1-version runs with any failure: {sum(r.failed for r in single)}" if single else ""))
    return 1 if failed_runs or any(r.failed for r in single) else 0


if __name__ == "__main__":
    sys.exit(main())
