"""Statistical checks of traffic shares.

A weighted route picks a cluster independently per request, so the count that reaches one group in
n requests is Binomial(n, p). The check is scipy's exact two-sided binomial test at level `alpha`:
when the configuration is right it fails with probability at most `alpha` (its false-failure rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_ALPHA = 1e-4


def acceptance_interval(n: int, p: float, alpha: float = DEFAULT_ALPHA) -> tuple[int, int]:
    """Smallest and largest counts k the exact two-sided test accepts (p-value >= alpha).

    scipy's two-sided p-value of k sums the probabilities of all outcomes no likelier than k;
    computed here for every k at once, it is checked against binomtest itself in the unit tests.
    """
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    order = np.sort(pmf)
    cumulative = np.cumsum(order)
    # same relative tolerance scipy uses when comparing probabilities
    idx = np.searchsorted(order, pmf * (1 + 1e-7), side="right") - 1
    pvalues = np.minimum(1.0, cumulative[idx])
    accepted = np.nonzero(pvalues >= alpha)[0]
    return int(accepted[0]), int(accepted[-1])


def power(n: int, p: float, true_p: float, alpha: float = DEFAULT_ALPHA) -> float:
    """Probability that the check rejects when the real share is `true_p` instead of `p`."""
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
    def passed(self) -> bool:
        return self.p_value >= self.alpha

    @property
    def observed(self) -> float:
        return self.successes / self.trials if self.trials else float("nan")

    def describe(self) -> str:
        lo, hi = self.interval
        return (f"{self.group} share {self.successes}/{self.trials} = {self.observed:.1%}, expected "
                f"{self.expected:.0%}: exact binomial test p = {self.p_value:.3g} "
                f"({'accepted' if self.passed else 'REJECTED'} at alpha {self.alpha:g}; "
                f"accepted counts {lo}..{hi}, false-failure rate <= {self.alpha:g})")


def check_share(group: str, successes: int, trials: int, expected: float,
                alpha: float = DEFAULT_ALPHA) -> ShareCheck:
    if trials <= 0:
        raise ValueError("no trials: nothing to test")
    result = stats.binomtest(successes, trials, expected, alternative="two-sided")
    return ShareCheck(group, successes, trials, expected, alpha, float(result.pvalue),
                      acceptance_interval(trials, expected, alpha))
