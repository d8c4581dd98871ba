"""Benchmark of `l7suite check` (a script that prints figures, not a timed test).

Runs the command as a user does (a fresh `python -m l7suite.cli check ...` process, so interpreter start and
imports count) on a few files, every Envoy version of matrix.yaml side by side, and prints the wall time of
each run, then min / median / max. The first run fetches missing Envoy binaries and is reported apart.

    python benchmarks/check_command.py                      # suites/envoy/data/check/docs-like, 5 runs
    python benchmarks/check_command.py --repeat 10 -- my-cecs/
    python benchmarks/check_command.py --versions 1.38

Target on the 2-core reference machine (issue 12): a few files on all 5 versions in at most 5 s. The figures
depend on what else the machine runs; say so when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILES = REPO / "suites" / "envoy" / "data" / "check" / "docs-like"
TARGET_S = 5.0


def one_run(paths: list[str], versions: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "l7suite.cli", "check", "--json", "--envoy-version", versions, *paths]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"l7suite check failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the warm-up run (default 5)")
    parser.add_argument("--versions", default="all", help="--envoy-version for the command (default all)")
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT_FILES)], help="files or folders to check")
    args = parser.parse_args()

    warmup, report = one_run(args.paths, args.versions)
    configs = len(report["configs"])
    verdicts = sorted({r["label"] for c in report["configs"] for r in c["results"].values()})
    print(f"l7suite check: {configs} config(s) from {', '.join(args.paths)}")
    print(f"Envoy versions side by side: {', '.join(report['versions'])} ({len(report['versions'])})")
    print(f"CPUs: {os.cpu_count()}; load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"verdicts: {', '.join(verdicts)}")
    print(f"warm-up run (fetches missing Envoy binaries): {warmup:.2f} s")
    times = []
    for i in range(args.repeat):
        elapsed, _ = one_run(args.paths, args.versions)
        times.append(elapsed)
        print(f"run {i + 1}: {elapsed:.2f} s")
    if times:
        print(f"wall time over {len(times)} runs: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s (target <= {TARGET_S:g} s: "
              f"{'met' if max(times) <= TARGET_S else 'NOT met'} by the slowest run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
