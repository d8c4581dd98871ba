"""The binomial share check: its false-failure rate, its agreement with scipy, and its power."""

import pytest
from scipy import stats

from l7suite.traffic.share_statistics import DEFAULT_ALPHA, acceptance_interval, check_share, power

N = 1000  # the weighted-lb sample size


def test_acceptance_interval_agrees_with_scipy_binomtest_at_its_edges():
    lo, hi = acceptance_interval(N, 0.8, DEFAULT_ALPHA)
    for k, accepted in ((lo, True), (lo - 1, False), (hi, True), (hi + 1, False)):
        assert bool(stats.binomtest(k, N, 0.8).pvalue >= DEFAULT_ALPHA) is accepted, k


def test_false_failure_rate_is_at_most_alpha():
    lo, hi = acceptance_interval(N, 0.8, DEFAULT_ALPHA)
    rejected_when_right = stats.binom.cdf(lo - 1, N, 0.8) + stats.binom.sf(hi, N, 0.8)
    assert rejected_when_right <= DEFAULT_ALPHA


def test_rejects_a_70_30_split_with_power_of_at_least_0_999():
    assert power(N, 0.8, 0.7, DEFAULT_ALPHA) >= 0.999


@pytest.mark.parametrize("deathstar, consistent", [(800, True), (770, True), (700, False), (500, False), (900, False)])
def test_check_share_accepts_80_20_and_rejects_other_splits(deathstar, consistent):
    check = check_share("deathstar", deathstar, N, 0.8)
    assert check.consistent is consistent, check.describe()


def test_description_states_rate_and_sample_size():
    text = check_share("deathstar", 700, N, 0.8).describe()
    assert "700/1000" in text and "REJECTED" in text and "false-failure rate <= 0.0001" in text


def test_no_trials_is_an_error():
    with pytest.raises(ValueError):
        check_share("deathstar", 0, 0, 0.8)
