"""The tail probabilities under the alert rules, against sums written out by hand."""

from __future__ import annotations

import math

import pytest

from kpi.insights.tails import (
    binomial_sf,
    detection_limit,
    normal_cdf,
    poisson_cdf,
    poisson_sf,
    surprise,
)


def poisson_pmf(i: int, lam: float) -> float:
    return math.exp(-lam) * lam**i / math.factorial(i)


@pytest.mark.parametrize(("k", "lam"), [(0, 11.0), (2, 17.6), (12, 33.4), (40, 30.0)])
def test_the_poisson_lower_tail_is_the_sum_of_its_terms(k: int, lam: float) -> None:
    assert poisson_cdf(k, lam) == pytest.approx(sum(poisson_pmf(i, lam) for i in range(k + 1)))


@pytest.mark.parametrize(("k", "lam"), [(1, 0.0016), (2, 0.011), (30, 11.0), (3, 5.0)])
def test_the_poisson_upper_tail_keeps_its_digits_when_tiny(k: int, lam: float) -> None:
    """Summed upwards, not 1 - cdf, which would round a 1e-9 tail to 0."""
    exact = 1 - sum(poisson_pmf(i, lam) for i in range(k))
    assert poisson_sf(k, lam) == pytest.approx(exact, rel=1e-6 if exact > 1e-9 else 1e-3)
    assert poisson_sf(k, lam) > 0


def test_tails_at_their_edges() -> None:
    assert poisson_cdf(-1, 5.0) == 0.0 and poisson_sf(0, 5.0) == 1.0
    assert poisson_cdf(3, 0.0) == 1.0 and poisson_sf(1, 0.0) == 0.0
    # A fractional count rounds to the conservative side of each tail.
    assert poisson_cdf(2.7, 4.0) == poisson_cdf(2, 4.0)
    assert poisson_sf(2.2, 4.0) == poisson_sf(3, 4.0)


def test_the_binomial_upper_tail_is_the_sum_of_its_terms() -> None:
    n, p, k = 100, 0.5, 60
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_sf(k, n, p) == pytest.approx(exact)
    assert binomial_sf(0, n, p) == 1.0 and binomial_sf(101, n, p) == 0.0


def test_the_normal_tail_is_the_textbook_one() -> None:
    assert normal_cdf(-3) == pytest.approx(0.0013499, rel=1e-4)
    assert normal_cdf(0) == 0.5


def test_surprise_is_minus_log10_after_the_looks() -> None:
    assert surprise(1e-4) == pytest.approx(4.0)
    assert surprise(1e-4, tries=10) == pytest.approx(3.0)
    assert surprise(0.5, tries=4) == 0.0
    assert surprise(0.0) == 300.0


def test_the_detection_limit_grows_with_the_bar_and_shrinks_with_the_drop() -> None:
    """A deeper drop needs fewer expected sessions to be told from chance; a stricter
    score needs more. An outage (10 % left) at surprise 3 after 30 looks: ~17."""
    outage = detection_limit(0.1, 3.0, 30)
    assert 15 < outage < 20
    assert detection_limit(0.1, 4.0, 30) > outage > detection_limit(0.0, 3.0, 30)
    assert detection_limit(0.3, 3.0, 30) > outage
    with pytest.raises(ValueError):
        detection_limit(1.0, 3.0)
