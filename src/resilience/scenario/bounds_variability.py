"""Pass 3 for the issue-14 demand keys: what a time-varying or negative-binomial demand
makes the compiler tabulate (:mod:`resilience.scenario.bounds` calls this).

The compiler builds one table per distinct (daily mean x surge multiplier) of such a dc
(:func:`resilience.compiler._demand_variation_fields`); each must fit
``MAX_POISSON_TABLE`` entries (or ``MAX_UNITS_PER_DAY`` when deterministic) and all of
them ``MAX_POISSON_ENTRIES``. A per-day series must cover the horizon and a trend must
keep every day's mean at 0 or more.
"""

from __future__ import annotations

from resilience.scenario.model import Node, Scenario
from resilience.scenario.queries import (
    daily_demand_means,
    demand_table_bottom,
    nb_table_top,
    poisson_table_top,
    surge_multipliers,
)
from resilience.scenario.values import (
    MAX_POISSON_ENTRIES,
    MAX_POISSON_TABLE,
    MAX_UNITS_PER_DAY,
    Errors,
    _at,
)

__all__ = ["check_variability"]


def _table_size(node: Node, mean: float) -> float:
    demand = node.demand
    if demand is None or demand.distribution == "deterministic":
        return 1.0
    bottom = demand_table_bottom(mean, demand.variance_to_mean)
    if demand.distribution == "negative_binomial":
        return nb_table_top(mean, demand.variance_to_mean) + 1.0 - bottom
    return poisson_table_top(mean) + 1.0 - bottom


def check_variability(scenario: Scenario, errors: Errors) -> bool:
    """Report a series shorter than the horizon, a trend that turns a mean negative, and
    tables past their bounds, each at the dc's demand key that causes it; False when
    something was reported (the daily means are then not defined for every day)."""
    before = len(errors.lines)
    _check(scenario, errors)
    return len(errors.lines) == before


def _check(scenario: Scenario, errors: Errors) -> None:
    T = scenario.horizon_days
    dcs = [n for n in scenario.nodes if n.kind == "dc"]
    entries = 0.0
    for node, (_, mults) in zip(dcs, surge_multipliers(scenario), strict=True):
        demand = node.demand
        if demand is None or not (demand.varies or demand.distribution == "negative_binomial"):
            continue
        where = _at(_at("nodes", node.name), "demand")
        if demand.mean_series and len(demand.mean_series) < T:
            errors.add(
                _at(where, "mean_series"),
                f"lists {len(demand.mean_series)} days, the horizon has {T}: give a mean "
                "for every day",
            )
            continue
        last = 1.0 + demand.trend_per_year * (T - 1) / 365.0
        if last < 0.0:
            errors.add(
                _at(where, "trend_per_year"),
                f"makes the mean negative before the end of the horizon (x {last:.3g} on "
                f"day {T - 1}): the trend is linear, 1 + trend_per_year x day / 365",
            )
            continue
        means = daily_demand_means(demand, T) or [demand.mean_per_day]
        for mean in sorted(set(means)):
            for mult in mults:
                daily = mean * mult
                size = _table_size(node, daily)
                deterministic = demand.distribution == "deterministic"
                if deterministic and not daily <= MAX_UNITS_PER_DAY:
                    errors.add(
                        where,
                        f"reaches {daily:.3g} units a day (surges included); the limit is "
                        f"{MAX_UNITS_PER_DAY:g}: count in larger units",
                    )
                    return
                if not size <= MAX_POISSON_TABLE:
                    errors.add(
                        where,
                        f"a day of mean {daily:.3g} (surges included) needs a table of "
                        f"{size:.3g} entries; the limit is {MAX_POISSON_TABLE:g}: count in "
                        "larger units",
                    )
                    return
                entries += size
        if entries > MAX_POISSON_ENTRIES:
            errors.add(
                where,
                f"its distinct daily means need demand tables of {entries:.3g} entries in "
                f"all; the limit is {MAX_POISSON_ENTRIES:g}: fewer distinct means (a "
                "coarser series, no trend) or a shorter horizon",
            )
            return
