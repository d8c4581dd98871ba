"""Benchmark of the envoy tier (a script, not a timed test).

Runs the whole envoy tier as `tox -e envoy` does (`pytest suites/envoy --envoy-version all -n 2
--dist loadscope`: each module, all its Envoy versions, on one worker) and prints its wall time, the
time spent per Envoy version (setup + call + teardown of each test, from pytest's JUnit XML; the suite's own
checks, which run once, on a line of their own), and
the load client's requests per second as the tier's tests report them (terminal summary sections
"... req/s"). With `--repeat N` it does that N times and prints how many runs had any failure.

    python benchmarks/envoy_tier.py                 # every version of matrix.yaml, once
    python benchmarks/envoy_tier.py --repeat 20     # the issue's target: 20 runs, none failing
    python benchmarks/envoy_tier.py --versions 1.38 -- -k "not hygiene"

Targets on the 2-core reference machine (issue 3): whole tier for all versions in at most 60 s;
20 repeats with no failure.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from l7suite.versions import envoy_versions  # noqa: E402

RPS_LINE = re.compile(r"^(\S+): .*\b\d+ (?:req|calls)/s")
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s")
VERSION_ID = re.compile(r"envoy-(\d+\.\d+\.\d+)")
SUITE_ROW = "suite's own checks"


def run_tier(versions: str, workers: str, extra: list[str]) -> tuple[float, bool, dict[str, float], list[str], str]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "suites/envoy", "-q", "-p", "no:pytest_kind", "-p",
               "no:cacheprovider", "--envoy-version", versions, "-n", workers, "--dist", "loadscope",
               f"--junitxml={junit}", "-o", "junit_duration_report=total", *extra]
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - started
        per_version: dict[str, float] = defaultdict(float)
        if junit.exists():
            for case in ET.parse(junit).iter("testcase"):
                match = VERSION_ID.search(case.get("name", ""))
                per_version[match.group(1) if match else SUITE_ROW] += float(case.get("time", 0))
    rps, section = [], False
    for line in done.stdout.splitlines():
        if line.startswith("="):
            section = "/s" in line or "requests" in line or "calls" in line
            continue
        if section and RPS_LINE.match(line):
            rps.append(line.strip())
    summary = next((m.group(1) for m in map(SUMMARY.search, reversed(done.stdout.splitlines())) if m), "no summary")
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-25:])
        print(f"    pytest exited {done.returncode}:\n{tail}", file=sys.stderr)
    return wall, done.returncode != 0, dict(per_version), rps, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="all", help="as --envoy-version: all (default), 1.38, 1.36,1.40, ...")
    parser.add_argument("--workers", default=os.environ.get("L7SUITE_ENVOY_WORKERS", "2"),
                        help="pytest-xdist workers, as tox -e envoy (default 2; 0 runs in one process)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole benchmark N times")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    # A shell without job control starts background commands with SIGINT ignored, and children inherit
    # that; the tier's Ctrl-C hygiene test needs its child pytest to get SIGINT. Handle it here, so the
    # children start with the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    versions = envoy_versions().resolve([args.versions])
    failed_runs = 0
    totals = []
    for run in range(1, args.repeat + 1):
        print(f"run {run}/{args.repeat}", flush=True)
        wall, failed, per_version, rps, summary = run_tier(",".join(versions), args.workers, args.pytest_args)
        for version in [*versions, SUITE_ROW]:
            print(f"  {'Envoy ' + version if version != SUITE_ROW else version}: {per_version.get(version, 0):6.1f} s")
        if run == 1:
            print("  load client:" + "".join(f"\n    {line}" for line in rps) if rps else "  no load figures")
        print(f"  total wall time: {wall:.1f} s for {len(versions)} version(s); {summary}"
              f"{'  (FAILED)' if failed else ''}", flush=True)
        totals.append(wall)
        failed_runs += failed
    if args.repeat > 1:
        print(f"{args.repeat} runs: total wall time median {statistics.median(totals):.1f} s, "
              f"min {min(totals):.1f} s, max {max(totals):.1f} s; runs with any failure: {failed_runs}")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
