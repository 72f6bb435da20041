"""Pass 3: bound what the compiler and the kernel would compute from a valid scenario.

The read and check passes judge what a file says; this pass judges what it implies, so
that a file that validates also runs: every derived quantity the compiler computes
(demand x surge multipliers, Poisson table sizes, expected outflow carried up through
shares and bills of materials, order-up-to levels, the most a network can hold on hand,
pipeline lengths) is finite and within the bounds of :mod:`resilience.scenario.values`,
each error placed at the value it comes from. The quantities are computed by the same
functions the compiler uses (:mod:`resilience.scenario.queries`), so the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from resilience.scenario.bounds_variability import check_variability
from resilience.scenario.drafts import Drafts
from resilience.scenario.model import Scenario, StockPolicy, Strategy
from resilience.scenario.policies import policy_levels
from resilience.scenario.queries import (
    expected_outflow,
    order_up_to_level,
    planning_lead_days,
    poisson_table_top,
    processing_order,
    resolve_sourcing,
    stock_points,
    stock_policies,
    surge_multipliers,
)
from resilience.scenario.values import (
    MAX_ON_HAND_UNITS,
    MAX_PIPELINE_CELLS,
    MAX_PIPELINE_DAYS,
    MAX_POISSON_ENTRIES,
    MAX_POISSON_TABLE,
    MAX_UNITS_PER_DAY,
    Errors,
    _at,
)

__all__ = ["check_bounds", "max_poisson_mean"]

_LARGER_UNIT = "count in larger units (kg instead of g, pallets instead of units)"


def max_poisson_mean(entries: int = MAX_POISSON_TABLE) -> float:
    """The largest Poisson mean whose table has at most ``entries`` entries (about)."""
    # entries = mean + 12 sqrt(mean) + 21 (rounded up): solve for sqrt(mean)
    root = (-12.0 + math.sqrt(144.0 + 4.0 * (entries - 21))) / 2.0
    return root * root


def _g(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class _Places:
    """Where each value the derived quantities come from was written in the file."""

    scenario: Scenario
    lanes: Mapping[str, str]  # lane key -> its place
    policies: Mapping[int, str]  # id of a StockPolicy read from a stock entry -> its place
    listed_strategies: bool  # the file names its strategies

    @classmethod
    def of(cls, scenario: Scenario, drafts: Drafts) -> _Places:
        policies = {}
        entries = [*drafts.stock, *(e for s in drafts.strategies for e in s.stock)]
        for entry in entries:
            if isinstance(entry.value, StockPolicy):
                key = "order_up_to" if entry.value.order_up_to is not None else "buffer_days"
                policies[id(entry.value)] = _at(entry.place, key)
        return cls(scenario, dict(drafts.lanes.keys), policies, bool(drafts.strategies))

    def mean(self, dc: str) -> str:
        return _at(_at(_at("nodes", dc), "demand"), "mean_per_day")

    def surge(self, index: int) -> str:
        return _at(_at("demand_surges", self.scenario.demand_surges[index].name), "multiplier")

    def bom(self, plant: str, item: str) -> str:
        return _at(_at(_at("nodes", plant), "bom"), item)

    def policy(self, strategy: Strategy, policy: StockPolicy) -> str:
        """The key that set ``policy`` (a stock entry, or a strategy's or the base buffer_days)."""
        if id(policy) in self.policies:
            return self.policies[id(policy)]
        if strategy.buffer_days is not None and self.listed_strategies:
            return _at(_at("strategies", strategy.name), "buffer_days")
        return "buffer_days"

    def strategy(self, strategy: Strategy) -> str:
        return f" under strategy {strategy.name}" if self.listed_strategies else ""


def check_bounds(scenario: Scenario, drafts: Drafts, errors: Errors) -> None:
    """Report every derived quantity of ``scenario`` (valid by passes 1 and 2) that is not
    finite or beyond its bound; ``drafts`` places each at the value it comes from."""
    places = _Places.of(scenario, drafts)
    most_demand = _check_demand(scenario, places, errors)
    variability_ok = check_variability(scenario, errors)  # issue-14 demand
    _check_pipelines(scenario, places, errors)
    if most_demand is None or not variability_ok:
        return  # the expected outflow starts from the demand means: judged above
    reported: set[str] = set()
    for strategy in scenario.strategies:
        _check_strategy(scenario, strategy, places, most_demand, reported, errors)


# ----------------------------------------------------------------------------- demand


def _check_demand(scenario: Scenario, places: _Places, errors: Errors) -> list[float] | None:
    """Each dc's demand under every combination of its surges: finite, at most
    MAX_UNITS_PER_DAY (deterministic) or a table of at most MAX_POISSON_TABLE entries
    (Poisson), all tables together at most MAX_POISSON_ENTRIES. Returns each dc's largest
    daily demand (None when one was out of bounds: reported)."""
    dcs = [n for n in scenario.nodes if n.kind == "dc"]
    most: list[float] = []
    entries: list[float] = []  # Poisson table entries per dc
    ok = True
    for node, (surges, mults) in zip(dcs, surge_multipliers(scenario), strict=True):
        demand = node.demand
        mean = demand.mean_per_day if demand else 0.0
        poisson = demand is not None and demand.distribution == "poisson"
        largest = 0.0
        total = 0.0
        for mask, mult in enumerate(mults):
            daily = mean * mult
            size = poisson_table_top(daily) + 1.0 if poisson else 1.0
            bad = not size <= MAX_POISSON_TABLE if poisson else not daily <= MAX_UNITS_PER_DAY
            if bad:
                ok = False
                _report_demand(node.name, mean, daily, size, poisson, surges, mask, places, errors)
                break
            largest = max(largest, size - 1.0 if poisson else daily)
            total += size
        most.append(largest)
        entries.append(total)
    if ok and sum(entries) > MAX_POISSON_ENTRIES:
        ok = False
        j = max(range(len(dcs)), key=lambda j: entries[j])
        tables = len(surge_multipliers(scenario)[j][1])
        errors.add(
            _at(_at("nodes", dcs[j].name), "demand"),
            f"the Poisson demand tables of every dc (one per combination of the surges "
            f"covering it) need {sum(entries):.0f} entries in all, the limit is "
            f"{MAX_POISSON_ENTRIES}; {dcs[j].name}'s {tables} take {entries[j]:.0f}: "
            "use distribution: deterministic, fewer surges or a smaller unit",
        )
    return most if ok else None


def _report_demand(
    dc: str,
    mean: float,
    daily: float,
    size: float,
    poisson: bool,
    surges: list[int],
    mask: int,
    places: _Places,
    errors: Errors,
) -> None:
    active = [m for b, m in enumerate(surges) if mask >> b & 1]
    surged = "".join(
        f" x surge {places.scenario.demand_surges[m].name} "
        f"{places.scenario.demand_surges[m].multiplier:g}"
        for m in active
    )
    place = places.surge(active[-1]) if active else places.mean(dc)
    what = f"demand mean {mean:g} of {dc}{surged}"
    if poisson:
        errors.add(
            place,
            f"{what} needs a Poisson table of {_g(size)} entries; the limit is "
            f"{MAX_POISSON_TABLE:g} (a mean up to about {max_poisson_mean():,.0f} a day, "
            "surges included); use distribution: deterministic or a smaller unit",
        )
    else:
        errors.add(
            place,
            f"{what} is {_g(daily)} units a day; the limit is {MAX_UNITS_PER_DAY:g}, "
            f"{_LARGER_UNIT}",
        )


# ----------------------------------------------------------------------------- pipelines


def _check_pipelines(scenario: Scenario, places: _Places, errors: Errors) -> None:
    """A lane's lead time with every lane shock on it active: at most MAX_PIPELINE_DAYS;
    the kernel's ring (that + 1 days x stock points) at most MAX_PIPELINE_CELLS."""
    extra = {lane.key: 0 for lane in scenario.lanes}
    for shock in scenario.lane_shocks:
        for key in shock.lanes:
            extra[key] += shock.extra_lead_time_days
    longest, longest_key = -1, None
    for lane in scenario.lanes:
        days = lane.lead_time_days + extra[lane.key]
        if days > MAX_PIPELINE_DAYS:
            errors.add(
                places.lanes[lane.key],
                f"lead time {lane.lead_time_days} days plus {extra[lane.key]} extra days of "
                f"the lane shocks on it is {days} days; the limit is {MAX_PIPELINE_DAYS}",
            )
        elif days > longest:
            longest, longest_key = days, lane.key
    positions = len(stock_points(scenario))
    cells = (longest + 1) * positions
    if longest_key is not None and cells > MAX_PIPELINE_CELLS:
        errors.add(
            places.lanes[longest_key],
            f"its {longest} days in transit (lane shocks included) make the simulation's "
            f"pipeline {longest + 1} days x {positions} stock points = {cells} slots; the "
            f"limit is {MAX_PIPELINE_CELLS} (1 GiB a thread): shorten the lead time or the "
            "lane shocks' extra days, or split the network",
        )


# ----------------------------------------------------------------------------- stock levels


def _check_strategy(
    scenario: Scenario,
    strategy: Strategy,
    places: _Places,
    most_demand: list[float],
    reported: set[str],
    errors: Errors,
) -> None:
    """Expected outflow, order-up-to levels and the most on hand under ``strategy``."""
    sourcing = resolve_sourcing(scenario, strategy)
    outflow = expected_outflow(scenario, sourcing)
    if not _check_outflow(scenario, strategy, sourcing, outflow, places, reported, errors):
        return
    lanes = {lane.key: lane for lane in scenario.lanes}
    levels: list[tuple[float, str]] = []  # (S, place of the policy that set it)
    ok = True
    for (at, item), policy in stock_policies(scenario, strategy).items():
        shares = sourcing[(at, item)].shares
        lead = max(
            (planning_lead_days(lanes[f"{s}->{at}"]) for s, share in shares.items() if share > 0),
            default=0,
        )
        level = _most_position(policy, outflow[(at, item)], lead)
        place = places.policy(strategy, policy)
        if not level <= MAX_ON_HAND_UNITS:
            ok = False
            if place not in reported:
                reported.add(place)
                message = _level_message(
                    strategy, at, item, policy, outflow[(at, item)], lead, level, places
                )
                errors.add(place, message)
        levels.append((max(level, 0.0), place))
    if not ok:
        return
    stocked = float(max(sum(s for s, _ in levels), 1.0))
    backlog = _backlog_bound(scenario, strategy, most_demand)
    total = stocked + backlog
    if total > MAX_ON_HAND_UNITS:
        largest, place = max(levels)
        if backlog > stocked:
            place = "demand_mode"
        if place in reported:
            return
        reported.add(place)
        backlog_note = (
            f", plus {_g(backlog)} of backlog that impaired dcs may be restocked for "
            "(backorder mode: horizon x their largest daily demand)"
            if backlog
            else ""
        )
        errors.add(
            place,
            f"lets on hand reach {_g(total)} units{places.strategy(strategy)}: order-up-to "
            f"levels {_g(stocked)} (the largest {_g(largest)}){backlog_note}; the limit is "
            f"{MAX_ON_HAND_UNITS:g}, as daily on-hand means are exact int64 sums of on hand "
            f"x 2**8 over paths (more would leave fewer than 1,000 paths a run); "
            f"{_LARGER_UNIT}",
        )


def _check_outflow(
    scenario: Scenario,
    strategy: Strategy,
    sourcing: Mapping[tuple[str, str], object],
    outflow: Mapping[tuple[str, str], float],
    places: _Places,
    reported: set[str],
    errors: Errors,
) -> bool:
    """Mean outflow of every stock point at most MAX_UNITS_PER_DAY; one error where it
    first goes beyond (a stock point none of whose buyers is beyond), not at every source
    upstream of it."""
    beyond = {key for key, x in outflow.items() if not x <= MAX_UNITS_PER_DAY}
    if not beyond:
        return True
    buyers: dict[str, list[tuple[str, str]]] = {}  # node -> stock points it ships to
    for key, entry in sourcing.items():
        for source, share in entry.shares.items():  # type: ignore[attr-defined]
            if share > 0:
                buyers.setdefault(source, []).append(key)
    at_node: dict[str, list[tuple[str, str]]] = {}
    for key in outflow:  # in stock-point order
        if key in beyond:
            at_node.setdefault(key[0], []).append(key)
    nodes = scenario.nodes
    for i in processing_order(scenario):  # buyers first
        node = nodes[i]
        for key in at_node.get(node.name, ()):
            if any(b in beyond for b in buyers.get(node.name, ())):
                continue  # beyond because a buyer is: reported there
            at, item = key
            if node.kind == "plant":
                place = places.bom(at, item)
                why = f"{node.bom[item]:g} per unit made"
            else:
                place = _at("nodes", at)
                why = "its own demand and what it ships to other dcs"
            if place in reported:
                continue
            reported.add(place)
            errors.add(
                place,
                f"makes the mean outflow of {at}/{item} {_g(outflow[key])} units a day"
                f"{places.strategy(strategy)} ({why}); the limit is "
                f"{MAX_UNITS_PER_DAY:g}, {_LARGER_UNIT}",
            )
    return False


def _most_position(policy: StockPolicy, outflow: float, lead: int) -> float:
    """The most the inventory position can reach: the order-up-to level, or under an
    ordering policy or order quantity rules (issue-14 policy) PolicyLevels.top."""
    if policy.policy is None and not policy.min_order_qty and not policy.lot_multiple:
        return order_up_to_level(policy, outflow, lead)
    return policy_levels(policy, outflow, lead).top


def _level_message(
    strategy: Strategy,
    at: str,
    item: str,
    policy: StockPolicy,
    outflow: float,
    lead: int,
    level: float,
    places: _Places,
) -> str:
    limit = f"the limit is {MAX_ON_HAND_UNITS:g} units on hand"
    if policy.policy is not None or policy.min_order_qty or policy.lot_multiple:
        return (
            f"lets the inventory position of {at}/{item} reach {_g(level)} units"
            f"{places.strategy(strategy)} (its policy's levels plus min_order_qty and "
            f"lot_multiple); {limit}, use lower levels or larger units"
        )
    if policy.order_up_to is not None:
        return f"order-up-to level {level:g} of {at}/{item} is above {limit}"
    cover = max(lead, 1) + float(policy.buffer_days or 0.0)
    return (
        f"gives {at}/{item} an order-up-to level of {_g(level)} units{places.strategy(strategy)} "
        f"(mean outflow {_g(outflow)} a day x {cover:g} days of cover); {limit}, "
        "use fewer days of cover or larger units"
    )


def _backlog_bound(scenario: Scenario, strategy: Strategy, most_demand: list[float]) -> float:
    """Backorder mode: horizon x the largest daily demand of every dc that can serve less
    than asked while it holds stock (finite capacity, an outage, a shocked region, or a
    scripted outage or regional shock), so that on hand may grow past its level by its
    backlog (compiler.on_hand_bound). Scripted surges scale the largest demand by the
    product of every one covering the dc (at least what any days of them can reach)."""
    if scenario.demand_mode != "backorder":
        return 0.0
    events_of = getattr(scenario, "events_of", None)  # scripted events, where the model has them
    events = events_of(strategy) if events_of is not None else ()
    shocked = {r.name for r in scenario.regions if r.shocks}
    struck_nodes = {e.node for e in events if e.kind == "node_outage"}
    struck_regions = {e.region for e in events if e.kind == "regional_shock"}
    bound = 0.0
    dcs = [n for n in scenario.nodes if n.kind == "dc"]
    for node, most, (_, mults) in zip(dcs, most_demand, surge_multipliers(scenario), strict=True):
        impaired = (
            not math.isinf(node.capacity_per_day)
            or (node.outage is not None and node.outage.failure_probability > 0.0)
            or node.region in shocked
            or node.name in struck_nodes
            or node.region in struck_regions
        )
        if not impaired:
            continue
        scripted = math.prod(
            max(1.0, e.multiplier)
            for e in events
            if e.kind == "demand_surge" and node.name in e.dcs
        )
        if scripted > 1.0 and node.demand is not None:
            daily = node.demand.mean_per_day * max(mults) * scripted
            most = poisson_table_top(daily) if node.demand.distribution == "poisson" else daily
        bound += scenario.horizon_days * most
    return bound
