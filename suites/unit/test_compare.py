"""The two-share comparison behind the LEAST_REQUEST vs ROUND_ROBIN check: its false-failure rate,
its power at the sample size the envoy tier uses, and its agreement with scipy's Fisher test."""

import pytest
from scipy import stats

from l7suite.scenarios.grpc_lb import LB_CALLS
from l7suite.traffic.share_statistics import DEFAULT_ALPHA, compare_shares, fisher_power


def test_false_failure_rate_is_at_most_alpha_when_shares_are_equal():
    for share in (1 / 3, 0.2, 0.5):
        assert fisher_power(LB_CALLS, share, LB_CALLS, share) <= DEFAULT_ALPHA


def test_power_is_at_least_0_999_against_half_the_round_robin_share():
    assert fisher_power(LB_CALLS, 1 / 3, LB_CALLS, 1 / 6) >= 0.999


def test_power_agrees_with_a_simulation():
    rng = stats.binom
    a = rng.rvs(200, 0.4, size=400, random_state=1)
    b = rng.rvs(200, 0.3, size=400, random_state=2)
    simulated = sum(stats.fisher_exact([[x, 200 - x], [y, 200 - y]], alternative="greater").pvalue < 0.01
                    for x, y in zip(a, b, strict=True)) / 400
    assert fisher_power(200, 0.4, 200, 0.3, alpha=0.01) == pytest.approx(simulated, abs=0.08)


@pytest.mark.parametrize("rr, lr, larger_shown", [(266, 138, True), (200, 92, True), (200, 195, False),
                                                  (150, 200, False)])
def test_compare_shares(rr, lr, larger_shown):
    result = compare_shares("slow", "ROUND_ROBIN", rr, LB_CALLS, "LEAST_REQUEST", lr, LB_CALLS)
    assert result.larger_shown is larger_shown, result.describe()
    assert ("NOT significantly smaller" in result.describe()) is not larger_shown
    assert "alpha 0.0001" in result.describe() and f"/{LB_CALLS}" in result.describe()


def test_no_trials_is_an_error():
    with pytest.raises(ValueError):
        compare_shares("slow", "a", 0, 0, "b", 0, 10)
