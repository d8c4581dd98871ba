"""Benchmark of the envoy tier (a script, not a timed test).

Runs the whole envoy tier (`pytest suites/envoy`) once per supported Envoy version, each in its own
pytest process, and prints the wall time per version, the total, and the load client's requests per
second as the tier's tests report them (terminal summary section "load client requests/s"). With
`--repeat N` it does that N times and prints how many runs had any failure.

    python benchmarks/envoy_tier.py                 # every version of matrix.yaml, once
    python benchmarks/envoy_tier.py --repeat 20     # the issue's target: 20 runs, none failing
    python benchmarks/envoy_tier.py --versions 1.38 -- -k "not hygiene"

Targets on the 2-core reference machine (issue 3): whole tier for all versions in at most 60 s;
20 repeats with no failure.
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from l7suite.versions import envoy_versions  # noqa: E402

RPS_LINE = re.compile(r"^(\S+): (.+?) (\d+) req/s")
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s")


def run_version(version: str, extra: list[str]) -> tuple[float, bool, list[tuple[str, float]], str]:
    cmd = [sys.executable, "-m", "pytest", "suites/envoy", "-q", "-p", "no:pytest_kind", "-p", "no:cacheprovider",
           "--envoy-version", version, *extra]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    wall = time.monotonic() - started
    rps, section = [], False
    for line in done.stdout.splitlines():
        if line.startswith("="):
            section = "load client requests/s" in line
            continue
        if section and (m := RPS_LINE.match(line)):
            rps.append((m.group(2), float(m.group(3))))
    summary = next((m.group(1) for m in map(SUMMARY.search, reversed(done.stdout.splitlines())) if m), "no summary")
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-25:])
        print(f"    pytest exited {done.returncode} for {version}:\n{tail}", file=sys.stderr)
    return wall, done.returncode != 0, rps, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default="all", help="as --envoy-version: all (default), 1.38, 1.36,1.40, ...")
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
        print(f"run {run}/{args.repeat}")
        total, any_failed = 0.0, False
        for version in versions:
            wall, failed, rps, summary = run_version(version, args.pytest_args)
            total += wall
            any_failed |= failed
            figures = ", ".join(f"{what} {value:.0f} req/s" for what, value in rps) or "no load figures"
            print(f"  Envoy {version}: {wall:6.1f} s  {'FAILED' if failed else 'ok    '}  {summary}; {figures}")
        totals.append(total)
        failed_runs += any_failed
        print(f"  total: {total:.1f} s for {len(versions)} version(s){'  (with failures)' if any_failed else ''}")
    if args.repeat > 1:
        print(f"{args.repeat} runs: total wall time median {statistics.median(totals):.1f} s, "
              f"min {min(totals):.1f} s, max {max(totals):.1f} s; runs with any failure: {failed_runs}")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
