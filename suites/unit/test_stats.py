"""The binomial share check: its false-failure rate, its agreement with scipy, and its power."""

import pytest
from scipy import stats

from l7suite.traffic.share_statistics import DEFAULT_ALPHA, acceptance_interval, binomial_pvalue, check_share, power

N = 1000  # the weighted-lb sample size


def test_acceptance_interval_agrees_with_scipy_binomtest_at_its_edges():
    lo, hi = acceptance_interval(N, 0.8, DEFAULT_ALPHA)
    for k, accepted in ((lo, True), (lo - 1, False), (hi, True), (hi + 1, False)):
        assert bool(stats.binomtest(k, N, 0.8).pvalue >= DEFAULT_ALPHA) is accepted, k


@pytest.mark.parametrize("n, p", [(N, 0.8), (N, 0.5), (1003, 0.5), (200, 0.2), (37, 1 / 3)])
def test_check_share_p_value_is_scipys_binomtest(n, p):
    lo, hi = acceptance_interval(n, p, DEFAULT_ALPHA)
    for k in sorted({*range(0, n + 1, max(1, n // 100)), lo - 1, lo, hi, hi + 1, n}):
        expected = stats.binomtest(k, n, p).pvalue
        assert binomial_pvalue(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300), k
    assert check_share("g", lo, n, p).p_value == binomial_pvalue(lo, n, p)


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
