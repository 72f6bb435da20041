"""Exact answers for the ordering policies (issue-14 policy), from docs/model.md alone.

The network: one dc with Poisson(mu) (or deterministic) demand, backorders, one always-UP
supplier of unlimited capacity at lead time L, L' = max(L, 1). Nothing here imports the
simulator; the policy parameters are read from the scenario's YAML text.

The order of events of a day t (docs/model.md): receive what is due, serve (backlog
first), measure on hand and backlog, then order at the inventory position IP = on hand +
in transit - backlog. Write J_t for IP after day t's order (J_{-1}: the stock on day -1,
nothing in transit). Demand lowers IP by d_t whether it is served or backlogged, so
J_t = J_{t-1} - d_t + order_t(J_{t-1} - d_t, t): a Markov chain on the integers (levels and
demand are whole units), started at J_{-1}. An order placed on day m arrives at step 2 of
day m + L (L >= 1) or at the end of day m (L = 0): every order placed on or before day
m = s - L' is on hand by the time day s is served, none placed later is. So before
serving day s, on hand - backlog = J_m - Y with Y = d_{m+1} + ... + d_{s-1} (s - 1 - m
days, Poisson((s - 1 - m) mu), independent of J_m), where m = max(s - L', -1) (the start
counts as an order on day -1: nothing is in transit then). The backlog is served first, so
filled_s = min(d_s, (J_m - Y)^+); after serving, NI_s = J_m - Y - d_s, on hand = NI^+,
backlog = NI^-. The expectations below follow by summing over the law of J_m (propagated
exactly with numpy) and of the independent Poisson demands.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

OrderRule = Callable[[np.ndarray, int], np.ndarray]


def poisson_pmf(mean: float) -> np.ndarray:
    """pmf of Poisson(mean) at 0 .. K, K = mean + 12 sd + 20: the rest is below 1e-20."""
    if mean <= 0:
        return np.ones(1)
    top = int(math.ceil(mean + 12.0 * math.sqrt(mean) + 20.0))
    return stats.poisson.pmf(np.arange(top + 1), mean)


def position_laws(mean: float, start: int, horizon: int, rule: OrderRule, low: int) -> tuple:
    """Laws of J_{-1} .. J_{T-1} on the integers low .. high, and P(an order on day t).

    ``rule(x, t)``: the order (units) at inventory position x (an integer array) on day t.
    Returns (values, laws [T + 1, states], order_probability [T]). Raises if a law puts
    more than 1e-12 below ``low`` (the grid was too small)."""
    d = poisson_pmf(mean)
    # the highest position: start, or a level an order reaches from low .. start
    probe = np.arange(low, start + 1)
    high = max(start, max(int((probe + rule(probe, t)).max()) for t in range(horizon)))
    values = np.arange(low, high + 1)
    laws = np.zeros((horizon + 1, values.size))
    laws[0, start - low] = 1.0
    ordering = np.zeros(horizon)
    for t in range(horizon):
        before = np.convolve(laws[t][::-1], d)[::-1]  # law of J_{t-1} - d_t ...
        lost = before[: d.size - 1].sum()  # ... whose first d.size - 1 cells lie below low
        assert lost < 1e-12, f"the grid's low end {low} is too high"
        before = before[d.size - 1 :]
        order = rule(values, t)
        after = np.zeros(values.size)
        np.add.at(after, values + order - low, before)
        laws[t + 1] = after
        ordering[t] = before[order > 0].sum()
    return values, laws, ordering


def policy_metrics(
    mean: float, lead: int, horizon: int, start: int, rule: OrderRule, low: int
) -> dict[str, float]:
    """Fill rate, mean on hand, mean backlog and expected orders placed over T days."""
    values, laws, ordering = position_laws(mean, start, horizon, rule, low)
    cover = max(lead, 1)
    d = poisson_pmf(mean)
    filled = on_hand = backlog = 0.0
    for s in range(horizon):
        m = max(s - cover, -1)
        y = poisson_pmf((s - 1 - m) * mean)
        # law of J_m - Y on values[0] - (len(y) - 1) .. values[-1]
        pre = np.convolve(laws[m + 1][::-1], y)[::-1]
        pre_values = np.arange(values[0] - (y.size - 1), values[-1] + 1)
        stock = np.clip(pre_values, 0, None)
        # E[min(d, x)] = sum_{j < x} P(d > j)
        sf = np.concatenate([[0.0], np.cumsum(1.0 - np.cumsum(d))])
        filled += float(np.dot(pre, sf[np.minimum(stock, d.size)]))
        post = np.convolve(pre[::-1], d)[::-1]
        post_values = np.arange(pre_values[0] - (d.size - 1), pre_values[-1] + 1)
        on_hand += float(np.dot(post, np.clip(post_values, 0, None)))
        backlog += float(np.dot(post, np.clip(-post_values, 0, None)))
    return {
        "fill_rate": filled / (horizon * mean),
        "mean_on_hand": on_hand / horizon,
        "mean_backlog": backlog / horizon,
        "orders_placed": float(ordering.sum()),
    }


# ----------------------------------------------------------------------------- order rules


def with_quantities(rule: OrderRule, moq: float = 0.0, lot: float = 0.0) -> OrderRule:
    """``rule`` then the minimum order quantity, then up to a whole number of lots."""

    def shaped(x: np.ndarray, t: int) -> np.ndarray:
        q = rule(x, t)
        q = np.where(q > 0, np.maximum(q, moq), 0)
        if lot:
            q = np.where(q > 0, lot * np.ceil(q / lot), 0)
        return q.astype(np.int64)

    return shaped


def s_S_rule(s: int, S: int) -> OrderRule:
    """(s, S): up to S when IP <= s."""
    return lambda x, t: np.where(x <= s, S - x, 0)


def r_Q_rule(r: int, Q: int) -> OrderRule:
    """(r, Q): the smallest n Q with IP + n Q > r, i.e. n = floor((r - IP) / Q) + 1."""
    return lambda x, t: np.where(x <= r, ((r - x) // Q + 1) * Q, 0)


def R_S_rule(S: int, review: int, offset: int) -> OrderRule:
    """(R, S): up to S on the days t = offset (mod R)."""
    return lambda x, t: np.where((t - offset) % review == 0, np.maximum(S - x, 0), 0)


# ----------------------------------------------------------------------------- closed forms


def r_Q_long_run(mean: float, lead: int, r: int, Q: int) -> dict[str, float]:
    """(r, Q) in the long run: J uniform on r+1 .. r+Q (demand moves J round a cycle of
    Q states, each reached equally often), so with Y ~ Poisson((L' - 1) mu) and
    X = Y + d ~ Poisson(L' mu): fill = (1/Q) sum_j E[min(d, (j - Y)^+)] / mu, on hand =
    (1/Q) sum_j E[(j - X)^+], backlog = (1/Q) sum_j E[(X - j)^+]."""
    cover = max(lead, 1)
    fill = on_hand = backlog = 0.0
    d = poisson_pmf(mean)
    sf = np.concatenate([[0.0], np.cumsum(1.0 - np.cumsum(d))])
    y = poisson_pmf((cover - 1) * mean)
    x = poisson_pmf(cover * mean)
    for j in range(r + 1, r + Q + 1):
        stock = np.clip(j - np.arange(y.size), 0, d.size)
        fill += float(np.dot(y, sf[stock])) / Q
        net = j - np.arange(x.size)
        on_hand += float(np.dot(x, np.clip(net, 0, None))) / Q
        backlog += float(np.dot(x, np.clip(-net, 0, None))) / Q
    return {"fill_rate": fill / mean, "mean_on_hand": on_hand, "mean_backlog": backlog}


def s_S_stationary(mean: float, s: int, S: int) -> np.ndarray:
    """The stationary law of J on s+1 .. S under (s, S): the left eigenvector of the
    transition matrix P[i, j] = P(J_t = j | J_{t-1} = i) for eigenvalue 1, solved with
    numpy (pi (P - I) = 0, sum pi = 1)."""
    values = np.arange(s + 1, S + 1)
    n = values.size
    d = poisson_pmf(mean)
    P = np.zeros((n, n))
    for i, x in enumerate(values):
        for k, p in enumerate(d):
            y = x - k
            P[i, (S if y <= s else y) - (s + 1)] += p
    A = np.vstack([(P - np.eye(n)).T, np.ones(n)])
    b = np.concatenate([np.zeros(n), [1.0]])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def R_S_closed_form(mean: float, lead: int, horizon: int, S: int, review: int, offset: int):
    """(R, S): every review lifts J to S (demand never raises it, and it starts at S),
    so J_m = S - (demand on the days after the last review on or before m, or after day
    -1). Before serving day s: J_m - Y = S - D_n, D_n ~ Poisson(n mu) the demand of the
    n = s - 1 - k(s) days after k(s), the last review day on or before s - L' (or -1):
    the demand over up to R + L' - 1 days. fill = (1/T) sum_s E[min(d, (S - D_n)^+)] / mu,
    on hand = (1/T) sum_s E[(S - D_{n+1})^+], backlog = (1/T) sum_s E[(D_{n+1} - S)^+]."""
    cover = max(lead, 1)
    d = poisson_pmf(mean)
    sf = np.concatenate([[0.0], np.cumsum(1.0 - np.cumsum(d))])
    filled = on_hand = backlog = 0.0
    for s in range(horizon):
        m = s - cover
        last = -1
        if m >= offset:
            last = m - (m - offset) % review
        n = s - 1 - last
        y = poisson_pmf(n * mean)
        stock = np.clip(S - np.arange(y.size), 0, d.size)
        filled += float(np.dot(y, sf[stock]))
        x = poisson_pmf((n + 1) * mean)
        net = S - np.arange(x.size)
        on_hand += float(np.dot(x, np.clip(net, 0, None)))
        backlog += float(np.dot(x, np.clip(-net, 0, None)))
    return {
        "fill_rate": filled / (horizon * mean),
        "mean_on_hand": on_hand / horizon,
        "mean_backlog": backlog / horizon,
    }


def deterministic_cycle(
    mu: int, lead: int, horizon: int, start: int, rule: OrderRule
) -> dict[str, np.ndarray]:
    """Deterministic demand mu a day: the exact trajectory. J_t = J_{t-1} - mu +
    order_t; on hand after serving day s = (J_m - (s - m) mu)^+, m = max(s - L', -1), as
    above with every demand equal to mu; an order is placed on day t when order_t > 0."""
    cover = max(lead, 1)
    J = [start]
    orders = []
    for t in range(horizon):
        x = J[-1] - mu
        q = int(rule(np.array([x]), t)[0])
        orders.append(q)
        J.append(x + q)
    on_hand = np.array(
        [max(J[max(s - cover, -1) + 1] - (s - max(s - cover, -1)) * mu, 0) for s in range(horizon)]
    )
    return {"on_hand": on_hand.astype(float), "orders": np.array(orders), "position": np.array(J)}


def cycle_length(values: np.ndarray) -> int:
    """The period of the tail of a trajectory (its second half repeats with it)."""
    half = values[len(values) // 2 :]
    for p in range(1, len(half) // 2):
        if np.array_equal(half[p:], half[:-p]):
            return p
    raise AssertionError("no cycle in the trajectory")


def ceil_cover(mu: float, days: float) -> int:
    """ceil(mu x days) as docs/model.md derives a level from days of cover."""
    return int(math.ceil(mu * days - 1e-9))
