"""The exact formulas against each other (no simulation): two derivations of one answer
must agree to rounding, so a slip in one of them cannot pass as a kernel bug."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.validation import exact


def test_up_probabilities_solve_the_chain_recursion():
    a, b, T = 0.07, 0.2, 50
    p = exact.up_probabilities(a, b, T)
    assert p[0] == 1.0  # day -1
    np.testing.assert_allclose(p[1:], p[:-1] * (1 - a) + (1 - p[:-1]) * b, rtol=0, atol=1e-15)
    assert exact.up_probabilities(a, b, 100_000)[-1] == pytest.approx(b / (a + b), abs=1e-15)


@pytest.mark.parametrize(
    ("a", "b", "k"), [(0.02, 0.1, 0), (0.02, 0.1, 3), (0.1, 0.25, 2), (0.3, 0.05, 10)]
)
def test_buffer_dp_matches_closed_form_and_renewal(a, b, k):
    T = 300
    dp = exact.lost_probabilities_dp(a, b, T, k)
    np.testing.assert_allclose(dp, exact.lost_probabilities_closed_form(a, b, T, k), atol=1e-14)
    renewal = exact.lost_probabilities_renewal(a, exact.geometric_survival(b, T), T, k)
    np.testing.assert_allclose(renewal, dp, atol=1e-14)
    if k == 0:  # zero buffer: lost on day t iff DOWN on day t-1
        np.testing.assert_allclose(dp, 1 - exact.up_probabilities(a, b, T)[:-1], atol=1e-14)


def test_buffer_dp_tends_to_long_run():
    a, b, k = 0.02, 0.1, 3
    lost = exact.lost_probabilities_dp(a, b, 20_000, k)
    assert lost[-1] == pytest.approx(a / (a + b) * (1 - b) ** k, rel=1e-12)
    geometric_excess = (1 - b) ** k / b  # sum_{j >= k} (1 - b)^j
    assert exact.long_run_lost(a, 1 / b, geometric_excess) == pytest.approx(
        a / (a + b) * (1 - b) ** k
    )


@pytest.mark.parametrize(
    "survival",
    [
        lambda T: exact.lognormal_survival(8.0, 1.0, T),
        lambda T: exact.pareto_survival(2.0, 2.5, T),
    ],
    ids=["lognormal", "pareto"],
)
def test_renewal_tends_to_renewal_reward(survival):
    a, T, k = 0.02, 6000, 4
    s = survival(T)
    mean = float(s.sum())  # sum_{j >= 0} P(D > j), truncated at T (tails are tiny here)
    excess = float(s[k:].sum())
    lost = exact.lost_probabilities_renewal(a, s, T, k)
    assert lost[-200:].mean() == pytest.approx(excess / (1 / a + mean), rel=2e-3)


def test_excess_means():
    # Pareto: the Hurwitz-zeta tail against a long direct sum plus an integral tail
    m, alpha, k = 2.0, 2.5, 3
    j = np.arange(k, 10**6, dtype=np.float64)
    direct = np.where(j >= m, (m / np.maximum(j, m)) ** alpha, 1.0).sum()
    direct += m**alpha * (10**6 - 0.5) ** (1 - alpha) / (alpha - 1)
    assert exact.pareto_excess_mean(m, alpha, k) == pytest.approx(direct, rel=1e-9)
    n = np.arange(2, 10**6, dtype=np.float64)  # P(X > 0) = P(X > 1) = 1, then (m/n)^alpha
    tail = m**alpha * (10**6 - 0.5) ** (1 - alpha) / (alpha - 1)
    assert exact.pareto_excess_mean(m, alpha, 0) == pytest.approx(
        2 + ((m / n) ** alpha).sum() + tail, rel=1e-9
    )
    # lognormal: E[X] < E[ceil X] < E[X] + 1, E[X] = median exp(sigma^2 / 2); and the
    # mean of ceil(X) by integrating ceil(x) against the density on each unit interval
    median, sigma = 8.0, 1.0
    mean_x = median * math.exp(sigma**2 / 2)
    e_ceil = exact.lognormal_excess_mean(median, sigma, 0)
    assert mean_x < e_ceil < mean_x + 1
    dist = stats.lognorm(s=sigma, scale=median)
    edges = np.arange(0, 200_000, dtype=np.float64)
    by_interval = float(np.sum(edges[1:] * np.diff(dist.cdf(edges)))) + 200_000 * dist.sf(edges[-1])
    assert e_ceil == pytest.approx(by_interval, rel=1e-9)


def test_sourcing_fill_matches_closed_forms():
    T = 120
    pa = exact.up_probabilities(0.03, 0.1, T)[:-1]
    pb = exact.up_probabilities(0.05, 0.2, T)[:-1]
    c = exact.up_probabilities(0.01, 0.1, T)[:-1]  # no shock (start 0.01, end 0.1)
    sources = [(0.03, 0.1, True), (0.05, 0.2, True)]
    fill = exact.sourcing_fill(sources, [0.5, 0.5], "failover", None, T)
    np.testing.assert_allclose(fill, 1 - (1 - pa) * (1 - pb), atol=1e-14)
    fill = exact.sourcing_fill(sources, [0.7, 0.3], "split", None, T)
    np.testing.assert_allclose(fill, 0.7 * pa + 0.3 * pb, atol=1e-14)
    fill = exact.sourcing_fill(sources, [0.5, 0.5], "failover", (0.01, 0.1, 0.0), T)
    np.testing.assert_allclose(fill, c * (1 - (1 - pa) * (1 - pb)), atol=1e-14)
    near = [(0.03, 0.1, True), (0.05, 0.2, False)]
    fill = exact.sourcing_fill(near, [0.5, 0.5], "failover", (0.01, 0.1, 0.0), T)
    np.testing.assert_allclose(fill, 1 - (1 - c * pa) * (1 - pb), atol=1e-14)
    fill = exact.sourcing_fill(sources[:1], [1.0], "split", (0.01, 0.1, 0.4), T)
    np.testing.assert_allclose(fill, pa * (c + 0.4 * (1 - c)), atol=1e-14)
    assert fill[0] == 1.0  # day -1: all UP, no shock


def test_base_stock_against_direct_sums():
    """Steady-state days of exact.base_stock against double sums written out by hand."""
    mu, S, L = 3.0, 9, 2  # n = 2 from day 1 on
    T = 2000
    got = exact.base_stock(mu, S, L, T)
    pmf = stats.poisson.pmf(np.arange(80), mu)
    filled = sum(pmf[y] * pmf[d] * min(d, max(S - y, 0)) for y in range(80) for d in range(80))
    on_hand = sum(pmf[x1] * pmf[x2] * max(S - x1 - x2, 0) for x1 in range(80) for x2 in range(80))
    backlog = sum(pmf[x1] * pmf[x2] * max(x1 + x2 - S, 0) for x1 in range(80) for x2 in range(80))
    day0 = exact.base_stock(mu, S, L, 1)  # day 0: n = 1
    assert got["fill_rate"] == pytest.approx(
        (day0["fill_rate"] + (T - 1) * filled / mu) / T, rel=1e-12
    )
    assert got["mean_on_hand"] == pytest.approx(
        (day0["mean_on_hand"] + (T - 1) * on_hand) / T, rel=1e-12
    )
    assert got["mean_backlog"] == pytest.approx(
        (day0["mean_backlog"] + (T - 1) * backlog) / T, rel=1e-12
    )
    assert day0["fill_rate"] == pytest.approx(
        sum(pmf[d] * min(d, S) for d in range(80)) / mu, rel=1e-12
    )
