"""Push production plans (issue 14, part 2): what each push plant plans to make a day.

Definitions the compiler and the reference simulator share (docs/model.md, "Push
production"): the day-by-day plan of a push plant and the most finished goods it can
ever hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from resilience.scenario.model import Production, Scenario, Sourcing, Strategy
from resilience.scenario.queries import expected_outflow, resolve_sourcing, stock_points
from resilience.scenario.values import MAX_ON_HAND_UNITS

__all__ = ["check_production", "finished_goods_bound", "plant_flow", "production_plans"]


def plant_flow(
    scenario: Scenario, sourcing: Mapping[tuple[str, str], Sourcing], plant: str
) -> float:
    """The mean daily flow through ``plant``: the expected outflow (DC demand means, not
    surged, carried upstream) of every stock point buying from it, times its share, added
    in stock-point order. The forecast a ``forecast`` plan produces to."""
    outflow = expected_outflow(scenario, sourcing)
    flow = 0.0
    for key in stock_points(scenario):
        share = sourcing[key].shares.get(plant, 0.0)
        if share > 0:
            flow += outflow[key] * share
    return flow


def plan_of(production: Production, horizon: int, flow: float) -> np.ndarray:
    """Units planned on each day 0..horizon-1: ``level`` rate_per_day every day,
    ``forecast`` the plant's mean flow every day, ``campaign`` a batch on days offset,
    offset + every, ... and nothing in between."""
    plan = np.zeros(horizon)
    if production.plan == "level":
        plan[:] = float(production.rate_per_day or 0.0)
    elif production.plan == "forecast":
        plan[:] = flow
    else:
        every = int(production.every_days or 1)
        plan[int(production.offset_days) :: every] = float(production.batch or 0.0)
    return plan


def production_plans(
    scenario: Scenario, strategy: Strategy, sourcing: Mapping[tuple[str, str], Sourcing]
) -> list[tuple[int, Production, np.ndarray]]:
    """(node index, production, plan [T]) of every push plant under ``strategy``, in
    declaration order."""
    out = []
    for n, node in enumerate(scenario.nodes):
        if node.kind != "plant":
            continue
        production = scenario.production_of(strategy, node)
        if production is None or production.mode != "push":
            continue
        flow = plant_flow(scenario, sourcing, node.name) if production.plan == "forecast" else 0.0
        out.append((n, production, plan_of(production, int(scenario.horizon_days), flow)))
    return out


def finished_goods_bound(production: Production, plan: np.ndarray) -> float:
    """The most finished goods a push plant can hold: its storage cap, or what it starts
    with plus everything it plans to make."""
    made = production.initial_stock + float(np.sum(plan))
    return float(min(production.storage_cap, made)) if math.isfinite(made) else math.inf


def check_production(scenario: Scenario, errors) -> None:
    """The finished goods a push plant can hold (its cap, or its start plus every unit
    it plans over the horizon) within MAX_ON_HAND_UNITS, placed where the plan is set:
    the compiler adds them to the on-hand bound of the exact int64 daily on-hand sums."""
    pushed = any(n.production is not None for n in scenario.nodes)
    if not pushed and not any(s.production for s in scenario.strategies):
        return  # every plant makes to order: nothing to bound
    reported: set[str] = set()
    for strategy in scenario.strategies:
        plans = production_plans(scenario, strategy, resolve_sourcing(scenario, strategy))
        for n, production, plan in plans:
            name = scenario.nodes[n].name
            own = strategy.production.get(name) is production
            place = (
                f"strategies.{strategy.name}.production.{name}"
                if own
                else f"nodes.{name}.production"
            )
            bound = finished_goods_bound(production, plan)
            if bound <= MAX_ON_HAND_UNITS or place in reported:
                continue
            reported.add(place)
            errors.add(
                place,
                f"lets the finished goods of {name} reach {bound:.4g} units (its start plus "
                f"what the {production.plan} plan makes over {scenario.horizon_days} days); "
                f"the limit is {MAX_ON_HAND_UNITS:g}: set a storage_cap, or count in larger units",
            )
