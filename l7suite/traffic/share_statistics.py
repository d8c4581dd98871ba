"""Statistical checks of traffic shares, each with its false-failure rate `alpha`.

- One share against its expected value (`check_share`): a weighted route picks a cluster independently per
  request, so the count that reaches one group in n requests is Binomial(n, p). The check is scipy's exact
  two-sided binomial test (`binomtest`) at level `alpha`: when the configuration is right it fails with
  probability at most `alpha`.
- Two shares against each other (`compare_shares`): is the share of group X under configuration A larger
  than under B? Used for load-balancing algorithms: the share of calls a slowed replica gets under
  ROUND_ROBIN versus LEAST_REQUEST. The test is scipy's Fisher exact test, one-sided (H1: A's share > B's
  share), at level `alpha`: if the two configurations really gave the same share it fails with probability
  at most `alpha`. The model treats calls as independent draws; under ROUND_ROBIN they are more regular
  than that, which only makes the test more conservative for A.

scipy is imported where a test is computed, not at import: only the processes that run a statistical
check pay for it (about 1.4 s of CPU each), not every envoy-tier process and child run.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ALPHA = 1e-4


def acceptance_interval(n: int, p: float, alpha: float = DEFAULT_ALPHA) -> tuple[int, int]:
    """Smallest and largest counts k the exact two-sided test accepts (p-value >= alpha).

    binomtest's two-sided p-value of k sums the probabilities of all outcomes no likelier than k (with a
    relative tolerance of 1e-7); computed here for every k at once, it is checked against binomtest itself
    in suites/unit/test_stats.py.
    """
    import numpy as np
    from scipy import stats

    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    order = np.sort(pmf)
    cumulative = np.cumsum(order)
    idx = np.searchsorted(order, pmf * (1 + 1e-7), side="right") - 1
    accepted = np.nonzero(np.minimum(1.0, cumulative[idx]) >= alpha)[0]
    return int(accepted[0]), int(accepted[-1])


def power(n: int, p: float, true_p: float, alpha: float = DEFAULT_ALPHA) -> float:
    """Probability that the check rejects when the real share is `true_p` instead of `p`."""
    from scipy import stats

    lo, hi = acceptance_interval(n, p, alpha)
    return float(stats.binom.cdf(lo - 1, n, true_p) + stats.binom.sf(hi, n, true_p))


@dataclass(frozen=True)
class ShareCheck:
    group: str
    successes: int
    trials: int
    expected: float
    alpha: float
    p_value: float
    interval: tuple[int, int]

    @property
    def consistent(self) -> bool:
        """The count is consistent with the expected share: the test does not reject it at `alpha`."""
        return self.p_value >= self.alpha

    @property
    def observed(self) -> float:
        return self.successes / self.trials if self.trials else float("nan")

    def describe(self) -> str:
        lo, hi = self.interval
        return (f"{self.group} share {self.successes}/{self.trials} = {self.observed:.1%}, expected "
                f"{self.expected:.0%}: exact binomial test p = {self.p_value:.3g} "
                f"({'accepted' if self.consistent else 'REJECTED'} at alpha {self.alpha:g}; "
                f"accepted counts {lo}..{hi}, false-failure rate <= {self.alpha:g})")


def check_share(group: str, successes: int, trials: int, expected: float,
                alpha: float = DEFAULT_ALPHA) -> ShareCheck:
    from scipy import stats

    if trials <= 0:
        raise ValueError("no trials: nothing to test")
    p_value = float(stats.binomtest(successes, trials, expected, alternative="two-sided").pvalue)
    return ShareCheck(group, successes, trials, expected, alpha, p_value, acceptance_interval(trials, expected, alpha))


@dataclass(frozen=True)
class ShareComparison:
    group: str
    a: str
    a_hits: int
    a_trials: int
    b: str
    b_hits: int
    b_trials: int
    alpha: float
    p_value: float

    @property
    def larger_shown(self) -> bool:
        """The test shows the share under `a` larger than under `b` (rejects equal shares at `alpha`)."""
        return self.p_value < self.alpha

    def describe(self) -> str:
        a_share, b_share = self.a_hits / self.a_trials, self.b_hits / self.b_trials
        verdict = "significantly smaller" if self.larger_shown else "NOT significantly smaller"
        return (f"{self.group} got {self.b_hits}/{self.b_trials} = {b_share:.1%} of calls under {self.b} and "
                f"{self.a_hits}/{self.a_trials} = {a_share:.1%} under {self.a}: {verdict} under {self.b} "
                f"(Fisher's exact test, one-sided, p = {self.p_value:.3g}, alpha {self.alpha:g} = its "
                f"false-failure rate)")


def compare_shares(group: str, a: str, a_hits: int, a_trials: int, b: str, b_hits: int, b_trials: int,
                   alpha: float = DEFAULT_ALPHA) -> ShareComparison:
    """Does `group` get a larger share under `a` than under `b`?"""
    if a_trials <= 0 or b_trials <= 0:
        raise ValueError("no trials: nothing to compare")
    from scipy import stats

    table = [[a_hits, a_trials - a_hits], [b_hits, b_trials - b_hits]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return ShareComparison(group, a, a_hits, a_trials, b, b_hits, b_trials, alpha, p_value)


def fisher_power(n_a: int, p_a: float, n_b: int, p_b: float, alpha: float = DEFAULT_ALPHA,
                 mass: float = 1e-12) -> float:
    """Exact power of the one-sided Fisher test above: the probability that it detects true shares
    p_a > p_b with n_a and n_b calls. Outcomes of joint probability below `mass` are left out, so the
    result is low by at most that much (and so is never an overstatement)."""
    import numpy as np
    from scipy import stats

    ka = _support(n_a, p_a, mass)
    kb = _support(n_b, p_b, mass)
    grid_a, grid_b = np.meshgrid(ka, kb, indexing="ij")
    # one-sided p-value of table [[k_a, n_a-k_a], [k_b, n_b-k_b]]: P(X >= k_a) for the hypergeometric
    # X of k_a+k_b hits among n_a+n_b calls, n_a of them under A
    pvalues = stats.hypergeom.sf(grid_a - 1, n_a + n_b, grid_a + grid_b, n_a)
    weights = np.outer(stats.binom.pmf(ka, n_a, p_a), stats.binom.pmf(kb, n_b, p_b))
    return float(weights[pvalues < alpha].sum())


def _support(n: int, p: float, mass: float):
    import numpy as np
    from scipy import stats

    lo = int(stats.binom.ppf(mass / 2, n, p))
    hi = int(stats.binom.isf(mass / 2, n, p))
    return np.arange(max(lo - 1, 0), min(hi + 1, n) + 1)
