"""Does weighted-lb's count follow the model its check assumes? A script, not a test: it prints figures.

test_split_is_80_20 (suites/envoy/test_weighted_lb.py) and live-update's 50/50 check state a false-failure
rate of at most 1e-4 because the number of answers from deathstar in n requests is Binomial(n, p): Envoy
draws the weighted cluster for each request on its own. If the draws were not independent (per connection,
per batch, a skewed random source), the count would spread wider than Binomial and the checks would fail
more often than they say. This script sends weighted-lb's traffic exactly as the test does (REQUESTS
requests over CLIENTS keep-alive connections) `--repeat` times on one Envoy of each chosen version and
prints, per version:
- the mean count and its variance against the Binomial variance n p (1 - p);
- the dispersion test: sum over repeats of (x - n p)^2 / (n p (1 - p)) is chi-square with `repeat` degrees
  of freedom under the model; its two-sided p-value (scipy.stats.chi2);
- the smallest and largest count, with the test's acceptance interval.

    python benchmarks/split_dispersion.py --versions 1.39 --repeat 300    # about 100 s on 2 cores

The figures measured on the 2-core machine: docs/statistics.md "Does the model hold?".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from l7suite import MANIFESTS_DIR  # noqa: E402
from l7suite.envoy.binaries import ensure_envoy  # noqa: E402
from l7suite.envoy.envoy_run import DEFAULT_VARIABLES, EnvoyRun  # noqa: E402
from l7suite.envoy.verdicts import ScenarioConfigError, outcome_of  # noqa: E402
from l7suite.manifests import load_manifest_set  # noqa: E402
from l7suite.scenarios import weighted_lb  # noqa: E402
from l7suite.traffic.answering_pods import answering_pod, per_deployment  # noqa: E402
from l7suite.traffic.http_load import run_requests  # noqa: E402
from l7suite.traffic.share_statistics import acceptance_interval  # noqa: E402
from l7suite.versions import UnknownVersion, envoy_versions  # noqa: E402
from suites.envoy.test_weighted_lb import CLIENTS  # noqa: E402

GROUP = "deathstar"


def counts_on(version: str, repeat: int) -> list[int]:
    """deathstar's answers in each of `repeat` rounds of the test's traffic, on one Envoy of `version`."""
    binary = ensure_envoy(version)
    folder = weighted_lb.SCENARIO.envoy_folder
    if folder is None:
        raise SystemExit("weighted-lb declares no envoy-tier manifests (l7suite/scenarios/weighted_lb.py)")
    scenario = load_manifest_set(folder, MANIFESTS_DIR, DEFAULT_VARIABLES)
    counts = []
    with tempfile.TemporaryDirectory() as workdir, EnvoyRun(scenario, binary, Path(workdir)) as run:
        url = weighted_lb.listener_url(run) + "/v1/"
        for done in range(repeat):
            answers = run_requests(url, weighted_lb.REQUESTS, concurrency=CLIENTS, host=weighted_lb.HOST,
                                   key=answering_pod, deadline=60)
            if dict(answers.statuses) != {200: weighted_lb.REQUESTS}:
                raise SystemExit(f"Envoy {version}, round {done + 1}: not every request answered 200: "
                                 f"{answers.summary()}")
            counts.append(per_deployment(answers.keys).get(GROUP, 0))
            if (done + 1) % 50 == 0:
                print(f"  {version}: {done + 1}/{repeat} rounds", file=sys.stderr, flush=True)
    return counts


def describe(version: str, counts: list[int]) -> str:
    from scipy import stats

    n, p = weighted_lb.REQUESTS, weighted_lb.EXPECTED_SHARES[GROUP]
    variance = n * p * (1 - p)
    statistic = sum((x - n * p) ** 2 for x in counts) / variance
    tail = stats.chi2.sf(statistic, len(counts))
    p_value = min(1.0, 2 * min(tail, 1 - tail))  # too wide and too narrow both break the model
    lo, hi = acceptance_interval(n, p)
    return (f"Envoy {version}: {len(counts)} rounds of {n} requests: {GROUP} mean {statistics.mean(counts):.1f} "
            f"(expected {n * p:.0f}), variance {statistics.variance(counts):.0f} (Binomial {variance:.0f}); "
            f"dispersion test p = {p_value:.2g}; counts {min(counts)}..{max(counts)}, the test accepts {lo}..{hi}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--versions", default="all",
                        help="Envoy versions of matrix.yaml, as --envoy-version takes them (1.39, all, ...)")
    parser.add_argument("--repeat", type=int, default=300, help="rounds of the test's traffic per version")
    args = parser.parse_args()
    try:
        versions = envoy_versions().resolve([args.versions])
    except UnknownVersion as exc:
        parser.error(str(exc))
    for version in versions:
        try:
            counts = counts_on(version, args.repeat)
        except ScenarioConfigError as exc:
            raise SystemExit(f"Envoy {version}: weighted-lb did not start: {outcome_of(exc).describe()}") from exc
        print(describe(version, counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
