"""The ordering-policy validation cases (issue-14 policy): exact values of
scenarios/validation/policy-*.yaml, read from the YAML text (not through the scenario
reader), by the rules of docs/model.md ("Ordering policies"). The derivations are in
tests/validation/policy_exact.py and tests/validation/test_policies.py."""

from __future__ import annotations

import numpy as np

from tests.validation import policy_exact as px


def _strategy(doc: dict, strategy: str) -> dict:
    return doc.get("strategies", {}).get(strategy) or {}


def _entry(doc: dict, strategy: str) -> dict:
    """The dc's stock entry: the strategy's, else the scenario's."""
    for entries in (_strategy(doc, strategy).get("stock", []), doc.get("stock", [])):
        for entry in entries:
            if entry["at"] == "dc":
                return entry
    raise AssertionError("no stock entry for dc")


def _order_cost(doc: dict, strategy: str) -> float:
    """Resolved on its own: the strategy's entry if it sets one, else the scenario's."""
    for entries in (_strategy(doc, strategy).get("stock", []), doc.get("stock", [])):
        for entry in entries:
            if entry["at"] == "dc" and "order_cost" in entry:
                return float(entry["order_cost"])
    return 0.0


def _lead(doc: dict, strategy: str) -> int:
    for entries in (_strategy(doc, strategy).get("sourcing", []), doc.get("sourcing", [])):
        for entry in entries:
            if entry["at"] == "dc":
                used = {s for s, w in entry["shares"].items() if w > 0}
                return max(int(ln["lead_time_days"]) for ln in doc["lanes"] if ln["from"] in used)
    (lane,) = doc["lanes"]
    return int(lane["lead_time_days"])


def _mean(doc: dict) -> float:
    return float(doc["nodes"]["dc"]["demand"]["mean_per_day"])


def _level(policy: dict, key: str, mu: float, cover: float) -> int:
    """A level in units, or from days of cover: ceil(mu (cover + days))."""
    if key in policy:
        return int(policy[key])
    return px.ceil_cover(mu, cover + float(policy[f"{key}_days"]))


def rule_of(doc: dict, strategy: str) -> tuple[int, px.OrderRule, int]:
    """(stock on day -1, the order rule with its quantities, the lowest level)."""
    entry = _entry(doc, strategy)
    mu, L = _mean(doc), _lead(doc, strategy)
    cover = max(L, 1)
    policy = entry.get("policy", "base_stock")
    if policy == "base_stock":
        if "order_up_to" in entry:
            S = int(entry["order_up_to"])
        else:
            S = px.ceil_cover(mu, cover + float(entry["buffer_days"]))
        start, low = S, S
        rule = px.R_S_rule(S, 1, 0)
    elif policy["type"] == "s_S":
        s, S = _level(policy, "s", mu, cover), _level(policy, "S", mu, cover)
        start, low, rule = S, s, px.s_S_rule(s, S)
    elif policy["type"] == "r_Q":
        r, Q = _level(policy, "r", mu, cover), int(policy["Q"])
        start, low, rule = r + Q, r, px.r_Q_rule(r, Q)
    else:
        R = int(policy["review_days"])
        S = _level(policy, "S", mu, R - 1 + cover)
        start, low = S, S - px.poisson_pmf(R * mu).size
        rule = px.R_S_rule(S, R, int(policy.get("offset_days", 0)))
    rule = px.with_quantities(
        rule, float(entry.get("min_order_qty", 0)), float(entry.get("lot_multiple", 0))
    )
    return start, rule, low


_CHAINS: dict[tuple[str, str], dict[str, float]] = {}


def chain_metrics(doc: dict, strategy: str) -> dict[str, float]:
    """policy_exact.policy_metrics of the dc under ``strategy`` (cached per scenario)."""
    key = (doc["name"], strategy)
    if key not in _CHAINS:
        start, rule, low = rule_of(doc, strategy)
        mu = _mean(doc)
        grid_low = low - 2 * px.poisson_pmf(mu).size - 5
        T = int(doc["horizon_days"])
        metrics = px.policy_metrics(mu, _lead(doc, strategy), T, start, rule, grid_low)
        metrics["order_cost"] = _order_cost(doc, strategy) * metrics["orders_placed"]
        _CHAINS[key] = metrics
    return _CHAINS[key]


def chain_value(metric: str):
    """An exact-value function of ``metric`` from the inventory position's chain."""

    def value(doc: dict, strategy: str) -> float:
        return chain_metrics(doc, strategy)[metric]

    value.__name__ = f"chain_{metric}"
    value.__doc__ = f"{metric} from the exact law of the inventory position (policy_exact)."
    return value


def r_Q_long_run_value(metric: str):
    """The long-run (r, Q) value (J uniform on r+1 .. r+Q) of ``metric``."""

    def value(doc: dict, strategy: str) -> float:
        mu, L = _mean(doc), _lead(doc, strategy)
        policy = _entry(doc, strategy)["policy"]
        r, Q = _level(policy, "r", mu, max(L, 1)), int(policy["Q"])
        return px.r_Q_long_run(mu, L, r, Q)[metric]

    value.__name__ = f"r_Q_long_run_{metric}"
    return value


def R_S_value(metric: str):
    """The (R, S) closed form of ``metric`` from the demand since the last review."""

    def value(doc: dict, strategy: str) -> float:
        mu, L = _mean(doc), _lead(doc, strategy)
        policy = _entry(doc, strategy)["policy"]
        R = int(policy["review_days"])
        S = _level(policy, "S", mu, R - 1 + max(L, 1))
        T = int(doc["horizon_days"])
        return px.R_S_closed_form(mu, L, T, S, R, int(policy.get("offset_days", 0)))[metric]

    value.__name__ = f"R_S_{metric}"
    return value


def cycle(doc: dict, strategy: str) -> dict[str, np.ndarray]:
    """The deterministic trajectory of the dc under ``strategy``."""
    start, rule, _ = rule_of(doc, strategy)
    mu = int(_mean(doc))
    return px.deterministic_cycle(mu, _lead(doc, strategy), int(doc["horizon_days"]), start, rule)


def cycle_on_hand(doc: dict, strategy: str) -> float:
    """Mean on hand of the trajectory, summed day by day as the kernel sums it."""
    total = 0.0
    for x in cycle(doc, strategy)["on_hand"]:
        total += float(x)
    return total / int(doc["horizon_days"])


def cycle_orders(doc: dict, strategy: str) -> float:
    return float((cycle(doc, strategy)["orders"] > 0).sum())


def cycle_order_cost(doc: dict, strategy: str) -> float:
    total = 0.0
    cost = _order_cost(doc, strategy)
    for q in cycle(doc, strategy)["orders"]:
        total += cost if q > 0 else 0.0
    return total


# ----------------------------------------------------------------------------- deliberately wrong


def r_Q_ordering_below_r(doc: dict, strategy: str) -> float:
    """Wrong: ordering only while IP < r (J uniform on r .. r+Q-1)."""
    entry = _entry(doc, strategy)
    policy = dict(entry["policy"])
    mu, L = _mean(doc), _lead(doc, strategy)
    r = _level(policy, "r", mu, max(L, 1)) - 1
    rule = px.with_quantities(px.r_Q_rule(r, int(policy["Q"])))
    T = int(doc["horizon_days"])
    return px.policy_metrics(mu, L, T, r + int(policy["Q"]), rule, r - 100)["mean_on_hand"]


def one_day_late(doc: dict, strategy: str) -> float:
    """Wrong: an order serving from day t + L + 1 (lead time one day too long)."""
    start, rule, low = rule_of(doc, strategy)
    mu, L = _mean(doc), _lead(doc, strategy)
    return px.policy_metrics(mu, max(L, 1) + 1, int(doc["horizon_days"]), start, rule, low - 60)[
        "fill_rate"
    ]
