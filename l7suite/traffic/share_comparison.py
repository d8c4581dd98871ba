"""Comparing two traffic shares: is the share of group X under configuration A larger than under B?

Used for load-balancing algorithms: the share of calls a slowed replica gets under ROUND_ROBIN versus
LEAST_REQUEST. The test is Fisher's exact test, one-sided (H1: A's share > B's share), at level `alpha`:
if the two configurations really gave the same share it fails with probability at most `alpha`. The
model treats calls as independent draws; under ROUND_ROBIN they are more regular than that, which only
makes the test more conservative for A.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_ALPHA = 1e-4


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
    def passed(self) -> bool:
        return self.p_value < self.alpha

    def describe(self) -> str:
        a_share, b_share = self.a_hits / self.a_trials, self.b_hits / self.b_trials
        verdict = "significantly smaller" if self.passed else "NOT significantly smaller"
        return (f"{self.group} got {self.b_hits}/{self.b_trials} = {b_share:.1%} of calls under {self.b} and "
                f"{self.a_hits}/{self.a_trials} = {a_share:.1%} under {self.a}: {verdict} under {self.b} "
                f"(Fisher's exact test, one-sided, p = {self.p_value:.3g}, alpha {self.alpha:g} = its "
                f"false-failure rate)")


def compare_shares(group: str, a: str, a_hits: int, a_trials: int, b: str, b_hits: int, b_trials: int,
                   alpha: float = DEFAULT_ALPHA) -> ShareComparison:
    """Does `group` get a larger share under `a` than under `b`?"""
    if a_trials <= 0 or b_trials <= 0:
        raise ValueError("no trials: nothing to compare")
    table = [[a_hits, a_trials - a_hits], [b_hits, b_trials - b_hits]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return ShareComparison(group, a, a_hits, a_trials, b, b_hits, b_trials, alpha, p_value)


def fisher_power(n_a: int, p_a: float, n_b: int, p_b: float, alpha: float = DEFAULT_ALPHA,
                 mass: float = 1e-12) -> float:
    """Exact power of the one-sided Fisher test above: the probability that it detects true shares
    p_a > p_b with n_a and n_b calls. Outcomes of joint probability below `mass` are left out, so the
    result is low by at most that much (and so is never an overstatement)."""
    ka = _support(n_a, p_a, mass)
    kb = _support(n_b, p_b, mass)
    grid_a, grid_b = np.meshgrid(ka, kb, indexing="ij")
    # one-sided p-value of table [[k_a, n_a-k_a], [k_b, n_b-k_b]]: P(X >= k_a) for the hypergeometric
    # X of k_a+k_b hits among n_a+n_b calls, n_a of them under A
    pvalues = stats.hypergeom.sf(grid_a - 1, n_a + n_b, grid_a + grid_b, n_a)
    weights = np.outer(stats.binom.pmf(ka, n_a, p_a), stats.binom.pmf(kb, n_b, p_b))
    return float(weights[pvalues < alpha].sum())


def _support(n: int, p: float, mass: float) -> np.ndarray:
    lo = int(stats.binom.ppf(mass / 2, n, p))
    hi = int(stats.binom.isf(mass / 2, n, p))
    return np.arange(max(lo - 1, 0), min(hi + 1, n) + 1)
