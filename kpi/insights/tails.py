"""Tail probabilities of counts, for the alert rules: how likely a window at least this far
from what was expected is by chance alone.

Counts of rare, independent events (sessions starting, orders, error sessions) are
Poisson; a share of trials (bounces among sessions) is binomial. Sums run in log space,
so tails as small as 1e-300 stay exact enough to compare. Pure functions, no numpy: a
check computes a few dozen of them.

`surprise` turns a tail probability into the alert rules' score, -log10 of the chance,
corrected for the number of windows tried (Bonferroni): 3 is one in a thousand.
"""

from __future__ import annotations

import math

__all__ = [
    "binomial_sf",
    "detection_limit",
    "normal_cdf",
    "poisson_cdf",
    "poisson_sf",
    "surprise",
]


def _log_poisson(i: int, lam: float) -> float:
    return i * math.log(lam) - lam - math.lgamma(i + 1)


def _log_sum(logs: list[float]) -> float:
    top = max(logs)
    return top + math.log(sum(math.exp(x - top) for x in logs))


def poisson_cdf(k: float, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam); a fractional k counts up to its floor."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    last = math.floor(k)
    return min(1.0, math.exp(_log_sum([_log_poisson(i, lam) for i in range(last + 1)])))


def poisson_sf(k: float, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam); a fractional k counts from its ceiling. Summed
    upwards (not 1 - cdf), so tiny tails keep their digits."""
    first = max(0, math.ceil(k))
    if first == 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # The terms fall off fast past the mean; 12 standard deviations and 60 more suffice.
    last = int(max(first, lam) + 12 * math.sqrt(lam) + 60)
    return min(1.0, math.exp(_log_sum([_log_poisson(i, lam) for i in range(first, last + 1)])))


def binomial_sf(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p); fractional k and n round to the conservative side
    (k up, n down), as they do after an overdispersion scaling."""
    first, trials = max(0, math.ceil(k)), math.floor(n)
    if first == 0:
        return 1.0
    if first > trials or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    logs = [
        math.lgamma(trials + 1) - math.lgamma(i + 1) - math.lgamma(trials - i + 1)
        + i * math.log(p) + (trials - i) * math.log1p(-p)
        for i in range(first, trials + 1)
    ]  # fmt: skip
    return min(1.0, math.exp(_log_sum(logs)))


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def surprise(p: float, tries: int = 1) -> float:
    """-log10 of the chance `p`, after `tries` windows were looked at (Bonferroni); 0 when
    the corrected chance is 1 or more. A `p` of 0 (beyond floating point) is 300."""
    corrected = p * max(1, tries)
    if corrected >= 1:
        return 0.0
    return 300.0 if corrected <= 0 else -math.log10(corrected)


def detection_limit(keep: float, score: float, tries: int = 1, power: float = 0.9) -> float:
    """The fewest sessions a window must be expected to hold for a drop to `keep` of them
    (0.1: an outage) to score at least `score` with probability `power`: the physics
    under the traffic rule. Below it, no threshold can tell the drop from chance without
    also raising false alerts; the answer is a longer window, that is, a later alert."""
    if not 0 <= keep < 1:
        raise ValueError("keep is the share that remains: 0 <= keep < 1")
    lam = 0.5
    while lam < 1e6:
        # The largest count that still scores: P(X <= x | lam) x tries <= 10^-score.
        x = -1
        while poisson_cdf(x + 1, lam) * tries <= 10**-score:
            x += 1
        if x >= 0 and poisson_cdf(x, keep * lam) >= power:
            return lam
        lam *= 1.02
    return math.inf
