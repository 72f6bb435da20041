"""Exact answers for issue-14 demand and lead-time variability (derivations:
tests/validation/test_demand_variability.py). Worked out with numpy / scipy from the
parameters alone, apart from the package's own tables."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def lost_sales_trajectory(demand: list[float], order_up_to: float, lead_time: int):
    """(on hand after serving per day, lost units per day) of a dc with deterministic
    demand ``demand[t]``, an always-UP unlimited supplier with lead time L >= 1 and lost
    sales. Every day the dc orders what it served (IP = S after each order), and the
    order of day s arrives at step 2 of day s + L, so before serving on day t the dc holds
    S minus what it served on days t-L+1 .. t-1: served_t = min(d_t, that)."""
    served: list[float] = []
    on_hand, lost = [], []
    for t, d in enumerate(demand):
        pending = sum(served[max(0, t - lead_time + 1) : t])
        before = order_up_to - pending
        x = min(d, before)
        served.append(x)
        on_hand.append(before - x)
        lost.append(d - x)
    return on_hand, lost


def _nb(mean: float, variance_to_mean: float, days: int):
    """Demand over ``days`` iid days of NB(mean, v x mean): NB(days r, p), r = mean/(v-1),
    p = 1/v (scipy's nbinom(n, p) counts failures before the n-th success)."""
    r = mean / (variance_to_mean - 1.0)
    return stats.nbinom(days * r, 1.0 / variance_to_mean)


def nb_base_stock(
    mean: float, variance_to_mean: float, order_up_to: int, lead_time: int, horizon: int
) -> dict[str, float]:
    """Fill rate, mean on hand and mean backlog of a base-stock dc with NB demand and
    backorders: exact.base_stock's argument with the NB sums (n = min(t + 1, L') days of
    demand X_t ~ NB(n r, p), Y_t = X_t - d_t ~ NB((n - 1) r, p) independent of d_t)."""
    S = int(order_up_to)
    cover = max(lead_time, 1)
    d = _nb(mean, variance_to_mean, 1)
    k = np.arange(S)
    tail_d = d.sf(k)  # P(d > k), k < S: E[min(d, m)] = sum_{k < m} P(d > k)
    e_min = np.concatenate([[0.0], np.cumsum(tail_d)])  # e_min[m] = E[min(d, m)], m <= S
    filled = on_hand = backlog = 0.0
    for t in range(horizon):
        n = min(t + 1, cover)
        pmf_y = _nb(mean, variance_to_mean, n - 1).pmf(k) if n > 1 else (k == 0).astype(float)
        filled += float(np.dot(pmf_y, e_min[S - k]))
        e_on_hand = float(np.dot(_nb(mean, variance_to_mean, n).pmf(k), S - k))
        on_hand += e_on_hand
        backlog += n * mean - S + e_on_hand
    return {
        "fill_rate": filled / (horizon * mean),
        "mean_on_hand": on_hand / horizon,
        "mean_backlog": backlog / horizon,
    }


def lognormal_lead_pmf(mean: float, sd: float, cap: int) -> dict[int, float]:
    """P(L = k) of ceil(X) >= 1 cut at ``cap`` days, X lognormal of ``mean`` and ``sd``
    (sigma^2 = ln(1 + sd^2 / mean^2), mu = ln(mean) - sigma^2 / 2)."""
    sigma = math.sqrt(math.log(1.0 + (sd / mean) ** 2))
    x = stats.lognorm(sigma, scale=math.exp(math.log(mean) - sigma**2 / 2.0))
    pmf = {k: float(x.cdf(k) - x.cdf(k - 1)) for k in range(1, cap)}
    pmf[cap] = float(x.sf(cap - 1))
    return pmf


def crossing_base_stock(
    demand: float, order_up_to: float, lead_pmf: dict[int, float], horizon: int
) -> dict[str, float]:
    """Base stock with deterministic demand d, backorders and a lead time drawn per
    order: net stock after serving on day t is S - d - d N_t, N_t = sum_{j=1..t} B_j with
    independent B_j ~ Bernoulli(P(L > j)) (the order of day t - j still in transit);
    on hand = NS^+, backlog = NS^-, filled_t = min(d, max(0, NS_t + d))."""
    tail = {j: sum(p for v, p in lead_pmf.items() if v > j) for j in range(1, horizon + 1)}
    pmf = np.array([1.0])  # N_0 = 0
    on_hand = backlog = filled = 0.0
    for t in range(horizon):
        if t >= 1:
            q = tail[t]
            pmf = np.concatenate([pmf * (1.0 - q), [0.0]]) + np.concatenate([[0.0], pmf * q])
        n = np.arange(pmf.size)
        ns = order_up_to - demand - demand * n
        on_hand += float(np.dot(pmf, np.maximum(ns, 0.0)))
        backlog += float(np.dot(pmf, np.maximum(-ns, 0.0)))
        filled += float(np.dot(pmf, np.clip(ns + demand, 0.0, demand)))
    return {
        "fill_rate": filled / (horizon * demand),
        "mean_on_hand": on_hand / horizon,
        "mean_backlog": backlog / horizon,
    }
