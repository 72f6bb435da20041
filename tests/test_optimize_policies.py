"""Ordering-policy levels as decision variables (issue-14 policy).

An optimisation variable is a path into the scenario document, so a strategy's policy
levels (``strategies.X.stock[i].policy.Q``, ``.r``, ``.s``, ``.S``, ``.review_days``)
are decision variables like buffer days; this checks that the search over (r, Q) with a
fixed cost per order lands where the exact cost (tests/validation/policy_exact.py) has
its minimum.
"""

from __future__ import annotations

import resilience.api as api
from tests.validation import policy_exact as px

MU, LEAD, HORIZON, HOLD, PENALTY, ORDER = 10.0, 2, 120, 1.0, 19.0, 150.0
R_VALUES = range(0, 31, 5)
Q_VALUES = range(10, 91, 10)


def scenario() -> dict:
    return {
        "name": "optimize r Q",
        "horizon_days": HORIZON,
        "demand_mode": "backorder",
        "regions": {"home": {}},
        "nodes": {
            "supplier": {"kind": "supplier", "region": "home", "item": "widget"},
            "dc": {
                "kind": "dc",
                "region": "home",
                "item": "widget",
                "demand": {"distribution": "poisson", "mean_per_day": MU},
                "holding_cost_per_unit_day": HOLD,
                "backlog_penalty_per_unit_day": PENALTY,
            },
        },
        "lanes": [{"from": "supplier", "to": "dc", "lead_time_days": LEAD}],
        "strategies": {
            "batch": {
                "stock": [
                    {"at": "dc", "policy": {"type": "r_Q", "r": 20, "Q": 40}, "order_cost": ORDER}
                ]
            }
        },
    }


def optimization() -> dict:
    path = "strategies.batch.stock[0].policy"
    return {
        "base_strategy": "batch",
        "variables": [
            {"name": "r", "type": "integer", "path": f"{path}.r", "bounds": [0, 30], "step": 5},
            {"name": "Q", "type": "integer", "path": f"{path}.Q", "bounds": [10, 90], "step": 10},
        ],
        "objective": "mean_total_cost",
        "budget": {"evaluations": 40},
        "paths": 1000,
        "verify": {"top": 3, "paths": 4000},
    }


def exact_cost(r: int, Q: int) -> float:
    """E[total cost] over the horizon: holding and backlog penalty per unit-day after
    serving, plus the order cost per order placed, from the exact law of the inventory
    position (an always-UP supplier: every order ships)."""
    rule = px.with_quantities(px.r_Q_rule(r, Q))
    m = px.policy_metrics(MU, LEAD, HORIZON, r + Q, rule, r - 80)
    return (
        HORIZON * (HOLD * m["mean_on_hand"] + PENALTY * m["mean_backlog"])
        + ORDER * m["orders_placed"]
    )


def test_search_over_r_and_Q_finds_a_near_optimal_policy():
    costs = {(r, Q): exact_cost(r, Q) for r in R_VALUES for Q in Q_VALUES}
    best = min(costs, key=costs.get)
    # a check on the test: the optimum is inside the ranges (ordering cost against
    # holding for Q, holding against backlog for r)
    assert min(Q_VALUES) < best[1] < max(Q_VALUES) and min(R_VALUES) < best[0] < max(R_VALUES)
    result = api.optimize(scenario(), optimization(), seed=11)
    values = result.recommended_evaluation.values
    found = (int(values["r"]), int(values["Q"]))
    assert costs[found] <= costs[best] * 1.02, (found, costs[found], best, costs[best])
