"""Exact answers of the canonical cases, derived from docs/model.md alone.

Nothing here imports the simulator: these are the hand-derived values the Monte Carlo
estimates of ``tests/validation`` are checked against. Days are t = 0 .. T-1 and day -1
is the initial state (every node UP, no shock active, on-hand = S, empty pipeline).

Conventions used throughout:

- A 2-state daily chain (node availability, regional shock) "fails" (UP -> DOWN, or no
  shock -> shock) with probability ``a`` and "recovers" with probability ``b``; it is
  updated at step 1 of each day, so day t's state is the state after t + 1 updates from
  day -1. With p_t = P(UP on day t), p_{-1} = 1 and
  p_{t+1} = p_t (1 - a) + (1 - p_t) b, whose solution is
  p_t = pi + (1 - pi)(1 - a - b)^(t+1), pi = b / (a + b).
- An outage's length D is the number of consecutive DOWN days it causes (the failure day
  included). Geometric chains: P(D > j) = (1 - b)^j. Drawn durations (lognormal/Pareto):
  D = ceil(X) >= 1 (docs/model-notes.md), so P(D > j) = P(X > j) for integers j >= 0.
  A node that recovers is UP on its recovery day and can fail again from the next day on;
  its UP spell therefore lasts a geometric number U >= 1 of days, E[U] = 1/a.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

# ----------------------------------------------------------------------------- chains


def up_probabilities(fail: float, recover: float, horizon: int) -> np.ndarray:
    """P(UP on day t) of a 2-state chain started UP on day -1, for t = -1 .. T-1.

    Element i is day i - 1 (element 0 is day -1 and equals 1):
    p_t = pi + (1 - pi)(1 - a - b)^(t+1), pi = b / (a + b).
    """
    steps = np.arange(horizon + 1, dtype=np.float64)  # t + 1
    if fail + recover == 0.0:
        return np.ones(horizon + 1)
    pi = recover / (fail + recover)
    return pi + (1.0 - pi) * (1.0 - fail - recover) ** steps


def stationary_up(fail: float, recover: float) -> float:
    """Long-run fraction of days UP of a geometric 2-state chain: b / (a + b)."""
    return recover / (fail + recover)


def sourcing_fill(
    sources: list[tuple[float, float, bool]],
    shares: list[float],
    mode: str,
    shock: tuple[float, float, float] | None,
    horizon: int,
) -> np.ndarray:
    """E[fill on day t], t = 0 .. T-1, of a DC with S = mu, lead time 0, deterministic
    demand, fed by independent sources of unlimited capacity.

    ``sources``: (fail, recover, in the shocked region) per active source; ``shares``
    their shares; ``shock``: (start, end, capacity fraction f) of the one regional shock
    chain, or None. Day t's fill is what the sources shipped on day t-1 (see the tests),
    a function of avail_i = UP_i x (f if the shock is active and i is in its region else 1):
    failover min(1, sum_i avail_i), split sum_i w_i avail_i. The expectation enumerates
    the 2^(n+1) joint states of the independent chains on day t-1.
    """
    n = len(sources)
    up = [up_probabilities(a, b, horizon)[:horizon] for a, b, _ in sources]  # day t-1
    calm = (
        np.ones(horizon)
        if shock is None
        else up_probabilities(shock[0], shock[1], horizon)[:horizon]
    )
    fraction = 1.0 if shock is None else shock[2]
    fill = np.zeros(horizon)
    for shocked in (False, True):
        weight_shock = 1.0 - calm if shocked else calm
        for states in range(2**n):
            weight = weight_shock.copy()
            avail = []
            for i, (_, _, in_region) in enumerate(sources):
                is_up = bool(states >> i & 1)
                weight = weight * (up[i] if is_up else 1.0 - up[i])
                avail.append(float(is_up) * (fraction if shocked and in_region else 1.0))
            if mode == "failover":
                value = min(1.0, sum(avail))
            elif mode == "split":
                value = sum(w * x for w, x in zip(shares, avail, strict=True))
            else:
                raise ValueError(f"unknown sourcing mode {mode!r}")
            fill += weight * value
    return fill


# ----------------------------------------------------------------------------- outages


def geometric_survival(recover: float, horizon: int) -> np.ndarray:
    """P(D > j), j = 0 .. T, for geometric outages: (1 - b)^j."""
    return (1.0 - recover) ** np.arange(horizon + 1, dtype=np.float64)


def lognormal_survival(median: float, sigma: float, horizon: int) -> np.ndarray:
    """P(D > j) = P(X > j), j = 0 .. T, X lognormal with the given median and log-sd."""
    j = np.arange(horizon + 1, dtype=np.float64)
    out = np.ones(horizon + 1)
    out[1:] = stats.norm.sf((np.log(j[1:]) - math.log(median)) / sigma)
    return out


def pareto_survival(min_days: float, alpha: float, horizon: int) -> np.ndarray:
    """P(D > j) = P(X > j), j = 0 .. T, X Pareto: P(X > x) = (min/x)^alpha for x >= min."""
    j = np.arange(horizon + 1, dtype=np.float64)
    out = np.ones(horizon + 1)
    tail = j >= min_days
    out[tail] = (min_days / j[tail]) ** alpha
    return out


def lost_probabilities_dp(
    fail: float, recover: float, horizon: int, buffer_days: int
) -> np.ndarray:
    """P(a lost-sales day on day t), t = 0 .. T-1, for the k-day buffer case (geometric).

    Markov chain over (supplier state, days into the outage), ages capped at k + 1
    (geometric outages are memoryless, so the cap loses nothing): state 0 = UP,
    state j = DOWN for the j-th consecutive day (j = 1 .. k), state k + 1 = DOWN for
    k + 1 days or more. UP -> 1 w.p. a; j -> UP w.p. b, j -> min(j + 1, k + 1) w.p. 1 - b.
    Day t's demand is lost iff day t-1 is in state k + 1 (see the test's derivation).
    """
    k = int(buffer_days)
    n = k + 2
    move = np.zeros((n, n))
    move[0, 0], move[0, 1] = 1.0 - fail, fail
    for j in range(1, n):
        move[j, 0] = recover
        move[j, min(j + 1, n - 1)] += 1.0 - recover
    state = np.zeros(n)
    state[0] = 1.0  # day -1: UP
    lost = np.zeros(horizon)
    for t in range(horizon):
        lost[t] = state[n - 1]  # state of day t-1
        state = state @ move
    return lost


def lost_probabilities_closed_form(
    fail: float, recover: float, horizon: int, buffer_days: int
) -> np.ndarray:
    """Closed form of :func:`lost_probabilities_dp`: DOWN on days t-k-1 .. t-1 has
    probability (1 - p_{t-k-1}) (1 - b)^k, and 0 when t-k-1 < 0 (day -1 is UP)."""
    k = int(buffer_days)
    p = up_probabilities(fail, recover, horizon)  # p[i] = p_{i-1}
    lost = np.zeros(horizon)
    t = np.arange(k + 1, horizon)
    lost[t] = (1.0 - p[t - k]) * (1.0 - recover) ** k  # p[t - k] = p_{t-k-1}
    return lost


def lost_probabilities_renewal(
    fail: float, survival: np.ndarray, horizon: int, buffer_days: int
) -> np.ndarray:
    """P(a lost-sales day on day t) for any outage-length law (P(D > j) = ``survival[j]``).

    Alternating renewal process: an outage starts on day s with probability
    f_s = a P(UP on day s-1), and its length is drawn independently of the past, so
    P(DOWN on day t, outage started on day s) = f_s P(D > t - s) and
    P(UP on day t) = 1 - sum_{s <= t} f_s P(D > t - s). Day t is lost iff day t-1 is DOWN
    in an outage that started on or before day t-1-k:
    lost_t = sum_{s <= t-1-k} f_s P(D > t-1-s).
    """
    k = int(buffer_days)
    f = np.zeros(horizon)
    up_prev = 1.0  # P(UP on day -1)
    lost = np.zeros(horizon)
    T = horizon
    rev = np.ascontiguousarray(survival[: T + 1][::-1])  # rev[i] = P(D > T - i)
    # elementwise products, not np.dot: thousands of threaded BLAS calls crawl on a busy machine
    for t in range(T):
        if t - 1 - k >= 0:  # outages started on s = 0 .. t-1-k, still running on day t-1
            lost[t] = float((f[: t - k] * rev[T - t + 1 : T - k + 1]).sum())
        f[t] = fail * up_prev
        up_prev = 1.0 - float((f[: t + 1] * rev[T - t :]).sum())
    return lost


def lognormal_excess_mean(median: float, sigma: float, k: int) -> float:
    """E[(D - k)^+] for D = ceil(X), X lognormal; k = 0 gives E[ceil(X)].

    Sum of P(X > j) over j >= k, to j where the terms are below 1e-18 of the sum.
    """
    top = int(median * math.exp(sigma * 12.0)) + 10
    j = np.arange(max(k, 1), top, dtype=np.float64)
    tail = stats.norm.sf((np.log(j) - math.log(median)) / sigma)
    return float(np.sum(tail)) + (1.0 if k == 0 else 0.0)


def pareto_excess_mean(min_days: float, alpha: float, k: int) -> float:
    """E[(D - k)^+] for D = ceil(X), X Pareto(min, alpha > 1): terms below min are 1, the
    rest min^alpha sum_{j >= J} j^-alpha = min^alpha zeta(alpha, J) (Hurwitz zeta)."""
    first = max(k, math.ceil(min_days))  # first j >= k with j >= min (there P(X > j) < 1)
    ones = max(0, first - k)
    return ones + min_days**alpha * float(special.zeta(alpha, first))


def long_run_lost(fail: float, mean_outage: float, excess: float) -> float:
    """Long-run lost-sales fraction with a k-day buffer (renewal-reward).

    A cycle is an UP spell (mean 1/a days) then an outage of D days; in a cycle the days
    whose yesterday was at least the (k+1)-th DOWN day number (D - k)^+, so the fraction
    is E[(D - k)^+] / (1/a + E[D]). Geometric: a (1 - b)^k / (a + b).
    """
    return excess / (1.0 / fail + mean_outage)


# ----------------------------------------------------------------------------- base stock


def _expected_min(mean: float, m: np.ndarray) -> np.ndarray:
    """E[min(d, m)] for d ~ Poisson(mean) and integers m >= 0: sum_{j<m} P(d > j)."""
    top = int(m.max()) if m.size else 0
    sf = stats.poisson.sf(np.arange(top), mean)
    cum = np.concatenate([[0.0], np.cumsum(sf)])
    return cum[m]


def base_stock(mean: float, order_up_to: int, lead_time: int, horizon: int) -> dict[str, float]:
    """Fill rate, mean on-hand and mean backlog of a base-stock DC over T days.

    Single always-UP supplier with unlimited capacity, lead time L, backorders, Poisson
    demand d_t, S = ``order_up_to`` (an integer), L' = max(L, 1). Every day the DC orders
    exactly that day's demand (IP = S after each order, demand lowers IP by d whether it is
    served or backlogged), and what is ordered on day s serves from day s + L'. Net
    inventory after serving on day t is therefore NI_t = S - X_t with
    X_t = d_{t-n+1} + ... + d_t ~ Poisson(n mu), n = n_t = min(t + 1, L') (no demand
    before day 0). On-hand = NI^+, backlog = NI^-; before serving, on-hand - backlog =
    S - Y_t with Y_t = X_t - d_t ~ Poisson((n - 1) mu) independent of d_t, and since the
    backlog is served first, filled_t = min(d_t, (S - Y_t)^+).
    """
    S = int(order_up_to)
    if order_up_to != S or S < 0:
        raise ValueError(f"order_up_to must be a non-negative integer, got {order_up_to}")
    cover = max(lead_time, 1)
    days_with_n = {n: 0 for n in range(1, cover + 1)}
    for t in range(horizon):
        days_with_n[min(t + 1, cover)] += 1
    filled = on_hand = backlog = 0.0
    y = np.arange(S)  # Y values leaving S - Y > 0
    for n, count in days_with_n.items():
        if count == 0:
            continue
        pmf_y = stats.poisson.pmf(y, (n - 1) * mean) if n > 1 else (y == 0).astype(float)
        e_filled = float(np.dot(pmf_y, _expected_min(mean, S - y)))
        x = np.arange(S)
        e_on_hand = float(np.dot(stats.poisson.pmf(x, n * mean), S - x))  # E[(S - X)^+]
        e_backlog = n * mean - S + e_on_hand  # E[(X - S)^+]
        filled += count * e_filled
        on_hand += count * e_on_hand
        backlog += count * e_backlog
    return {
        "fill_rate": filled / (horizon * mean),
        "mean_on_hand": on_hand / horizon,
        "mean_backlog": backlog / horizon,
    }


# ----------------------------------------------------------------------------- time to survive


def first_passage_survival(mean: float, stock: float, days: int) -> np.ndarray:
    """P(TTS > j), j = 0 .. days - 1, for a dc holding ``stock`` when its only source
    stops for good, Poisson(``mean``) demand, lost sales.

    Nothing arrives after the stop, so day s + j (s the first day of the outage) is the
    first short day iff the cumulative demand C_j = d_s + ... + d_{s+j} first exceeds the
    stock there (every earlier day was served in full because C_{j-1} <= stock, and day
    s + j cannot be: d_{s+j} > stock - C_{j-1}). So TTS = min{j : C_j > stock} and
    P(TTS > j) = P(C_j <= stock) = F(stock; (j + 1) mean), C_j ~ Poisson((j + 1) mean).
    """
    j = np.arange(days, dtype=np.float64)
    return stats.poisson.cdf(stock, (j + 1.0) * mean)


def first_passage_mean(mean: float, stock: float, days: int) -> float:
    """E[TTS] = sum_{j >= 0} P(TTS > j) (terms beyond ``days`` must be negligible)."""
    survival = first_passage_survival(mean, stock, days)
    assert survival[-1] < 1e-12, "horizon too short for the first passage"
    return float(survival.sum())


def deterministic_tts(stock: float, mean: float) -> int:
    """Days a stock of ``stock`` units (on hand plus what is in transit, every shipment of
    the pipeline arriving by the day it is needed) serves demand ``mean`` a day in full:
    floor(stock / mean); the day after is short (partly when the ratio is fractional)."""
    return int(math.floor(stock / mean + 1e-12))


def partial_tts(stock: float, mean: float, supply: float) -> int:
    """A stock point of level ``stock`` fed over a lead-time-0 lane by a source that can
    ship only ``supply`` < ``mean`` a day: it starts day s + j with stock - j (mean -
    supply), so the first short day is j = floor((stock - mean) / (mean - supply)) + 1."""
    return int(math.floor((stock - mean) / (mean - supply) + 1e-12)) + 1


# ----------------------------------------------------------------------------- push production


def push_level(
    mean: float,
    rate: int,
    order_up_to: int,
    storage_cap: int,
    initial_stock: int,
    component_stock: float,
    horizon: int,
    produce_after_orders: bool = False,
) -> dict[str, float]:
    """Fill rate and mean on-hand of a plant pushing ``rate`` units a day into finished
    goods (cap C) and a base-stock DC (S, lost sales, Poisson demand) pulling from them,
    every lead time 0 and the component never short (docs/model.md, "Push production").

    The state at the end of a day is (X, F): the DC's on hand and the finished goods
    (day -1: X = S, F = initial stock). Day t: step 3 serves min(d, X), leaving
    X' = X - min(d, X) (measured: X' + F + the component stock S_c); step 4a makes
    min(r, C - F) (room under the cap; the component and capacity do not bind), so
    F' = F + min(r, C - F); step 4 the DC orders S - X' (IP = on hand: lead 0) and the
    plant ships min(S - X', F') from its finished goods, on hand at once. The component
    stock point orders what production drew and gets it back the same day, so it holds
    S_c at every step 3. Every quantity is an integer, so (X, F) is a Markov chain on
    {0..S} x {0..C}, and its distribution is carried forward day by day exactly.
    ``produce_after_orders`` (a wrong order of events, for the checker's test): the
    plant ships min(S - X', F) first and makes min(r, C - F + shipped) after.
    """
    S, C, r = int(order_up_to), int(storage_cap), int(rate)
    p = np.zeros((S + 1, C + 1))
    p[S, int(initial_stock)] = 1.0
    pmf = stats.poisson.pmf(np.arange(S + 1), mean)
    served = 0.0
    on_hand = 0.0
    for _ in range(horizon):
        nxt = np.zeros_like(p)
        for x in range(S + 1):
            # the distribution of what is left after serving: x - k for k < x, 0 for d >= x
            left = np.zeros(S + 1)
            left[x - np.arange(x)] = pmf[:x]
            left[0] += 1.0 - pmf[:x].sum()
            e_served = float(np.dot(pmf[:x], np.arange(x))) + x * (1.0 - pmf[:x].sum())
            for f in range(C + 1):
                w = p[x, f]
                if w == 0.0:
                    continue
                served += w * e_served
                on_hand += w * (float(np.dot(left, np.arange(S + 1))) + f)
                made = f + min(r, C - f)
                for x1 in range(S + 1):
                    if produce_after_orders:
                        ship = min(S - x1, f)
                        rest = f - ship
                        nxt[x1 + ship, rest + min(r, C - rest)] += w * left[x1]
                        continue
                    ship = min(S - x1, made)
                    nxt[x1 + ship, made - ship] += w * left[x1]
        p = nxt
    return {
        "fill_rate": served / (horizon * mean),
        "mean_on_hand": on_hand / horizon + component_stock,
    }
