"""Exact answers of issue 14's quality cases (Binomial yield, expediting, jidoka).

Each function takes the raw YAML document of its scenario under scenarios/validation/
and a strategy name, reads the parameters itself (not through resilience.schema), and
returns the exact expected value derived in tests/validation/test_quality.py from the
order of events of docs/model.md. Horizons are short, so the finite-horizon values are
computed day by day (no long-run approximation).
"""

from __future__ import annotations

import math

import numpy as np

from tests.validation import exact


def _rate(data: dict, mean_key: str, prob_key: str) -> float:
    return 1.0 / float(data[mean_key]) if mean_key in data else float(data[prob_key])


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    return np.array([math.comb(n, k) * p**k * (1.0 - p) ** (n - k) for k in range(n + 1)])


def _mu(doc: dict) -> float:
    return float(doc["nodes"]["dc"]["demand"]["mean_per_day"])


def _yield(doc: dict, strategy: str) -> tuple[float, int, int, float]:
    """(defect fraction p, S, T, mu) of the binomial-yield scenario."""
    p = float(doc["lanes"][0]["defects"]["fraction"])
    mu = _mu(doc)
    buffer = float(doc["strategies"][strategy]["buffer_days"])
    S = int(math.ceil(mu * (1 + buffer) - 1e-9))  # lead time 1
    return p, S, int(doc["horizon_days"]), mu


def _yield_days(doc: dict, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """E[filled_t] and E[defective_t] for t = 0..T-1: the Markov chain on the on hand h
    after serving. Day 0 serves mu from S; from then on the order placed after serving
    (S - h, lead time 1) arrives the next day with B ~ Binomial(S - h, p) defective, so
    the day starts with h + (S - h) - B = S - B, fills min(mu, S - B) and leaves
    h' = max(0, S - B - mu)."""
    p, S, T, mu = _yield(doc, strategy)
    m = int(mu)
    h0 = S - m
    dist = np.zeros(S + 1)
    dist[h0] = 1.0
    filled = [float(min(mu, S))]
    bad = [0.0]
    for _ in range(1, T):
        new = np.zeros(S + 1)
        f = b = 0.0
        for h in np.nonzero(dist)[0]:
            n = S - int(h)
            pmf = _binomial_pmf(n, p)
            for k, w in enumerate(pmf):
                x = S - k
                f += dist[h] * w * min(m, x)
                b += dist[h] * w * k
                new[max(0, x - m)] += dist[h] * w
        dist = new
        filled.append(f)
        bad.append(b)
    return np.array(filled), np.array(bad)


def yield_fill(doc: dict, strategy: str) -> float:
    """Fill rate: E[sum filled] / (mu T) (deterministic demand)."""
    filled, _ = _yield_days(doc, strategy)
    return float(filled.sum() / (_mu(doc) * len(filled)))


def yield_fill_closed_form(doc: dict, strategy: str) -> float:
    """S = mu (no buffer): 1 - p (T - 1) / T."""
    p, S, T, mu = _yield(doc, strategy)
    assert mu == S
    return 1.0 - p * (T - 1) / T


def yield_defective(doc: dict, strategy: str) -> float:
    """Mean defective units over the horizon (S = mu: mu p (T - 1))."""
    _, bad = _yield_days(doc, strategy)
    return float(bad.sum())


def _expedite(doc: dict, strategy: str) -> tuple[np.ndarray, float, float, float]:
    """(q_t = P(supplier DOWN on day t), t = 0..T-1; expedite capacity; premium; mu)."""
    outage = doc["nodes"]["supplier"]["outage"]
    a, b = float(outage["failure_probability"]), float(outage["recovery_probability"])
    T = int(doc["horizon_days"])
    q = 1.0 - exact.up_probabilities(a, b, T)
    (entry,) = doc["strategies"][strategy]["expedite"]
    return q, float(entry["capacity_per_day"]), float(entry["unit_premium"]), _mu(doc)


def expedite_fill(doc: dict, strategy: str) -> float:
    """Day t >= 1 starts with 10 when the supplier was UP on day t-1 (its shipment
    arrives), else with the c expedited units (min(c, S) = c here): fill
    1 - (mu - c) sum_{t>=1} q_{t-1} / (mu T)."""
    q, c, _, mu = _expedite(doc, strategy)
    T = len(q)
    return float(1.0 - (mu - c) * q[: T - 1].sum() / (mu * T))


def expedite_units(doc: dict, strategy: str) -> float:
    """c units on every day the supplier is DOWN: c sum_t q_t."""
    q, c, _, _ = _expedite(doc, strategy)
    return float(c * q.sum())


def expedite_cost(doc: dict, strategy: str) -> float:
    q, c, premium, _ = _expedite(doc, strategy)
    return float(premium * c * q.sum())


def line_stop_days(doc: dict, strategy: str) -> float:
    """E[line-stop days] = sum_t P(stopped_t), the chain (I_t, stopped_t) propagated from
    (0, 0) on day -1: I moves as its 2-state chain, stopped_0 = 0, and for t >= 1
    stopped_t = I_{t-1} or (stopped_{t-1} and not R_t), R_t ~ Bernoulli(rho)."""
    plant = doc["nodes"]["plant"]
    rho = _rate(plant["jidoka"], "mean_recovery_days", "recovery_probability")
    incident = doc["lanes"][0]["defects"]["incident"]
    r = _rate(incident, "mean_days_between", "start_probability")
    q = _rate(incident, "mean_days", "end_probability")
    T = int(doc["horizon_days"])
    step_i = np.array([[1.0 - r, r], [q, 1.0 - q]])  # [I_{t-1}, I_t]
    # joint [I, stopped] after day 0: I_0 from I_{-1} = 0, stopped_0 = 0
    joint = np.zeros((2, 2))
    joint[:, 0] = step_i[0]
    total = 0.0
    for _ in range(1, T):
        new = np.zeros((2, 2))
        for i in range(2):
            for s in range(2):
                w = joint[i, s]
                stop = 1.0 if i == 1 else (1.0 - rho) * s
                for i2 in range(2):
                    new[i2, 1] += w * step_i[i, i2] * stop
                    new[i2, 0] += w * step_i[i, i2] * (1.0 - stop)
        joint = new
        total += joint[:, 1].sum()
    return float(total)
