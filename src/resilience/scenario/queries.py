"""Questions about a validated scenario's network, answered in one place.

Which (node, item) pairs hold stock, which lanes can bring an item to one of them, the
sourcing and stock policy in force under a strategy, and the order the kernel processes
nodes in. :mod:`resilience.compiler` compiles from these answers and the scenario checks
(:mod:`resilience.scenario.check`) judge a file with the same rules, so the two can never
disagree on what a stock point or a candidate lane is.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from resilience.scenario.model import Demand, Lane, Scenario, Sourcing, StockPolicy, Strategy

__all__ = [
    "candidate_lanes",
    "daily_demand_means",
    "demand_table_bottom",
    "planning_demand_mean",
    "planning_lead_days",
    "candidate_sources",
    "expected_outflow",
    "lanes_by_item",
    "order_up_to_level",
    "nb_table_top",
    "poisson_table_top",
    "processing_order",
    "resolve_sourcing",
    "stock_policies",
    "stock_policy",
    "stock_points",
    "stocked_items",
    "surge_multipliers",
]


class _Ends(Protocol):
    @property
    def source(self) -> str: ...

    @property
    def destination(self) -> str: ...


_L = TypeVar("_L", bound=_Ends)


def stocked_items(kind: str, item: str, bom: Iterable[str]) -> list[str]:
    """Items a node of ``kind`` stocks: a dc its item, a plant its BOM components (plants
    make to order, so they stock components, never their product), a supplier none."""
    if kind == "dc":
        return [item]
    if kind == "plant":
        return list(bom)
    return []


def stock_points(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (node, item) that holds inventory, in a stable order.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    list of (str, str)
        ``(node name, item)`` per :func:`stocked_items`: ordered by node declaration,
        then BOM order within a plant. These are the compiled network's positions.
    """
    return [
        (node.name, item)
        for node in scenario.nodes
        for item in stocked_items(node.kind, node.item, node.bom)
    ]


def candidate_lanes(lanes: Iterable[_L], items: Mapping[str, str], at: str, item: str) -> list[_L]:
    """The ``lanes`` into ``at`` whose source's item (per ``items``) is ``item``, in order.

    Works on anything with ``source`` and ``destination``: a scenario's lanes, or the
    lane drafts of a file being checked (whose ``items`` may still lack some nodes).
    """
    return [lane for lane in lanes if lane.destination == at and items.get(lane.source) == item]


def lanes_by_item(lanes: Iterable[_L], items: Mapping[str, str]) -> dict[tuple[str, str], list[_L]]:
    """:func:`candidate_lanes` of every (destination, item) at once, each in lane order:
    one pass over the lanes, where asking stock point by stock point is quadratic (a
    plant with thousands of components, each by its own lane)."""
    index: dict[tuple[str, str], list[_L]] = {}
    for lane in lanes:
        item = items.get(lane.source)
        if item is not None:
            index.setdefault((lane.destination, item), []).append(lane)
    return index


def candidate_sources(scenario: Scenario, at: str, item: str) -> list[Lane]:
    """Lanes that can bring ``item`` to ``at``: into ``at``, from a node whose item it is.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    at : str
        Name of the receiving stock point.
    item : str
        Item wanted there.

    Returns
    -------
    list of Lane
        In lane declaration order; empty when none (or when ``at`` is unknown).
    """
    items = {node.name: node.item for node in scenario.nodes}
    return candidate_lanes(scenario.lanes, items, at, item)


def resolve_sourcing(
    scenario: Scenario, strategy: Strategy | str | None = None
) -> dict[tuple[str, str], Sourcing]:
    """The sourcing in force at every stock point.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    strategy : Strategy, str or None
        The strategy (or its name) whose ``sourcing`` entries replace the base entries of
        the same (at, item). None: the base network as written.

    Returns
    -------
    dict
        ``(at, item) -> Sourcing`` for every stock point, in :func:`stock_points` order:
        the strategy's entry, else the base entry, else ``Sourcing(at, item, "split",
        shares)`` over its :func:`candidate_sources` in equal shares. So a single
        candidate lane gets ``{source: 1.0}``. Several candidate lanes with no entry
        are split evenly; validation rejects that in a file (which to use is a
        decision), so only a hand-built scenario gets there.

        A stock point with no candidate lane is valid and gets empty ``shares``: it
        never receives anything, and starts with (then only draws down) its order-up-to
        level. Validation lets this through only where it is harmless: a dc with its
        ``item`` given, no demand and no dc with demand downstream (a dc with demand
        downstream, or a plant component, with no lane bringing it is an error).
    """
    if isinstance(strategy, str):
        strategy = scenario.strategy(strategy)
    entries = {(s.at, s.item): s for s in scenario.sourcing}
    if strategy is not None:
        entries.update({(s.at, s.item): s for s in strategy.sourcing})
    candidates = lanes_by_item(scenario.lanes, {n.name: n.item for n in scenario.nodes})
    resolved = {}
    for at, item in stock_points(scenario):
        if (at, item) in entries:
            resolved[(at, item)] = entries[(at, item)]
            continue
        lanes = candidates.get((at, item), [])
        shares = {lane.source: 1.0 / len(lanes) for lane in lanes}
        resolved[(at, item)] = Sourcing(at=at, item=item, mode="split", shares=shares)
    return resolved


def stock_policy(scenario: Scenario, strategy: Strategy, at: str, item: str) -> StockPolicy:
    """The stock policy of (``at``, ``item``) under ``strategy``, by the precedence of
    :class:`~resilience.scenario.model.Strategy`: the strategy's ``stock`` entries, its
    ``buffer_days``, the base ``stock`` entries, then the base ``buffer_days``."""
    return _StockIndex(scenario, strategy).policy(at, item)


def stock_policies(scenario: Scenario, strategy: Strategy) -> dict[tuple[str, str], StockPolicy]:
    """:func:`stock_policy` of every stock point (in :func:`stock_points` order), with the
    entries indexed once rather than scanned per stock point."""
    index = _StockIndex(scenario, strategy)
    return {(at, item): index.policy(at, item) for at, item in stock_points(scenario)}


class _StockIndex:
    """The first entry matching each (at, item) and (at, every item), by list position."""

    def __init__(self, scenario: Scenario, strategy: Strategy) -> None:
        self.scenario = scenario
        self.strategy = strategy
        self.own = self._first(strategy.stock)
        self.base = self._first(scenario.stock)

    @staticmethod
    def _first(
        entries: Iterable[StockPolicy],
    ) -> dict[tuple[str, str | None], tuple[int, StockPolicy]]:
        first: dict[tuple[str, str | None], tuple[int, StockPolicy]] = {}
        for i, e in enumerate(entries):
            first.setdefault((e.at, e.item), (i, e))
        return first

    @staticmethod
    def _match(first, at: str, item: str) -> StockPolicy | None:
        # the entry earliest in the list among those for this item and for every item
        hits = [h for h in (first.get((at, item)), first.get((at, None))) if h is not None]
        return min(hits, key=lambda h: h[0])[1] if hits else None

    def policy(self, at: str, item: str) -> StockPolicy:
        hit = self._match(self.own, at, item)
        if hit is not None:
            return hit
        if self.strategy.buffer_days is not None:
            return StockPolicy(at=at, item=item, buffer_days=self.strategy.buffer_days)
        hit = self._match(self.base, at, item)
        if hit is not None:
            return hit
        return StockPolicy(at=at, item=item, buffer_days=self.scenario.buffer_days)


def processing_order(scenario: Scenario) -> list[int]:
    """Reverse topological order of nodes (a buyer before its sources), ties by declaration.

    Raises
    ------
    ValueError
        If the lanes have a cycle (validation rejects those; this guards direct API use).
    """
    index = {n.name: i for i, n in enumerate(scenario.nodes)}
    buyers_left = [0] * len(scenario.nodes)  # how many buyers of node i are not yet placed
    sources_of: list[list[int]] = [[] for _ in scenario.nodes]
    for lane in scenario.lanes:
        buyers_left[index[lane.source]] += 1
        sources_of[index[lane.destination]].append(index[lane.source])
    # the ready nodes in a heap: the first declared of them is placed next
    ready = [i for i in range(len(scenario.nodes)) if buyers_left[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for s in sources_of[i]:
            buyers_left[s] -= 1
            if buyers_left[s] == 0:
                heapq.heappush(ready, s)
    if len(order) < len(scenario.nodes):
        raise ValueError("the lane network has a cycle")
    return order


def expected_outflow(
    scenario: Scenario, sourcing: Mapping[tuple[str, str], Sourcing]
) -> dict[tuple[str, str], float]:
    """Mean daily outflow of each stock point: DC demand means (not surged) propagated up
    by sourcing shares and bills of materials (``sourcing``: :func:`resolve_sourcing`)."""
    nodes = {n.name: n for n in scenario.nodes}
    made = {n.name: 0.0 for n in scenario.nodes}  # units a node ships per day
    outflow = {key: 0.0 for key in stock_points(scenario)}
    for i in processing_order(scenario):
        node = scenario.nodes[i]
        if node.kind == "dc":
            key = (node.name, node.item)
            mean = planning_demand_mean(node.demand, scenario.horizon_days)
            outflow[key] += made[node.name] + mean
            keys = [key]
        elif node.kind == "plant":
            for item, qty in node.bom.items():
                outflow[(node.name, item)] += made[node.name] * qty
            keys = [(node.name, item) for item in node.bom]
        else:
            keys = []
        for key in keys:
            for source, share in sourcing[key].shares.items():
                if share > 0:
                    made[nodes[source].name] += outflow[key] * share
    return outflow


def order_up_to_level(policy: StockPolicy, outflow: float, lead: int) -> float:
    """Level S of a stock point under ``policy``: as given, or mean ``outflow`` x (``lead``,
    the longest active lead time, at least 1, + buffer days), rounded up. Not finite
    (unrounded) when the product overflows: validation refuses such a level."""
    if policy.order_up_to is not None:
        return float(policy.order_up_to)
    cover = max(lead, 1) + float(policy.buffer_days or 0.0)
    # ceil with a tolerance so 100 x 1.0 stays 100 despite binary round-off
    level = outflow * cover - 1e-9
    return float(math.ceil(level)) if math.isfinite(level) else level


def surge_multipliers(scenario: Scenario) -> list[tuple[list[int], list[float]]]:
    """Per dc (declaration order): the surges covering it (indices into
    ``demand_surges``) and the demand multiplier of each combination of them, indexed by
    bitmask (bit b: the b-th covering surge is active), multiplied in bit order."""
    dcs = [n.name for n in scenario.nodes if n.kind == "dc"]
    covering: dict[str, list[int]] = {name: [] for name in dcs}
    for m, surge in enumerate(scenario.demand_surges):
        for name in surge.dcs:
            covering[name].append(m)
    result = []
    for name in dcs:
        surges = covering[name]
        k = len(surges)
        mults = []
        for mask in range(2**k):
            mult = 1.0
            for b in range(k):
                if mask >> b & 1:
                    mult *= scenario.demand_surges[surges[b]].multiplier
            mults.append(mult)
        result.append((surges, mults))
    return result


def poisson_table_top(mean: float) -> float:
    """Largest demand K of the Poisson(``mean``) table the compiler builds (entries
    0..K): mean + 12 sd + 20, rounded up, so the truncated tail mass is far below 1e-20;
    0 for a mean <= 0, inf when not finite."""
    if mean <= 0:
        return 0.0
    top = mean + 12.0 * math.sqrt(mean) + 20.0
    return float(math.ceil(top)) if math.isfinite(top) else math.inf


# ----------------------------------------------------------------------------- issue-14 demand

#: Days of the months of a 365-day year: day t is in month MONTH_OF_DAY[t % 365].
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MONTH_OF_DAY = tuple(m for m, days in enumerate(_MONTH_DAYS) for _ in range(days))


def daily_demand_means(demand: Demand | None, horizon: int) -> list[float] | None:
    """The mean of each day 0..horizon-1 of a time-varying ``demand``, None when it is
    stationary (or absent): base(t) x season(t) x (1 + trend_per_year x t / 365), in that
    order of float operations (the kernel's tables and the reference both start here)."""
    if demand is None or not demand.varies:
        return None
    means = []
    for t in range(horizon):
        mean = demand.mean_series[t] if demand.mean_series else demand.mean_per_day
        if demand.monthly:
            mean = mean * demand.monthly[MONTH_OF_DAY[t % 365]]
        if demand.weekly:
            mean = mean * demand.weekly[t % 7]
        if demand.trend_per_year:
            mean = mean * (1.0 + demand.trend_per_year * t / 365.0)
        means.append(mean)
    return means


def planning_demand_mean(demand: Demand | None, horizon: int) -> float:
    """The mean daily demand that derived order-up-to levels (buffer_days) plan with: the
    stationary mean, or for a time-varying demand the average of its daily means over
    the horizon."""
    if demand is None:
        return 0.0
    means = daily_demand_means(demand, horizon)
    return demand.mean_per_day if means is None else math.fsum(means) / horizon


def planning_lead_days(lane: Lane) -> float:
    """The lead time a derived order-up-to level covers: the lane's lead time, or for a
    stochastic one E[max(L, 1)] (max(L, 1) being what a deterministic level covers)."""
    return lane.lead_time_days if lane.lead_time is None else lane.lead_time.mean_cover


def nb_table_top(mean: float, variance_to_mean: float) -> float:
    """Largest demand K of the negative binomial table the compiler builds (entries
    0..K): the first K from mean + 12 sd + 20 on (doubling the distance, then halving
    back) whose tail bound pmf(K) / (1 - ratio) is below 1e-20, the pmf ratio
    pmf(k+1) / pmf(k) = (k + r) / (k + 1) x q falling towards q = 1 - 1/v (r > 1) or
    rising to it (r < 1); 0 for a mean <= 0, inf when not finite."""
    if mean <= 0:
        return 0.0
    v = variance_to_mean
    start = mean + 12.0 * math.sqrt(mean * v) + 20.0
    if not math.isfinite(start):
        return math.inf
    r, q = mean / (v - 1.0), 1.0 - 1.0 / v
    log_q = math.log(q)
    log_base = r * math.log(1.0 / v) - math.lgamma(r)

    def small(k: float) -> bool:
        log_pmf = math.lgamma(k + r) - math.lgamma(k + 1.0) + log_base + k * log_q
        ratio = max((k + r) / (k + 1.0) * q, q)
        return ratio < 1.0 and log_pmf - math.log1p(-ratio) < math.log(1e-20)

    lo = hi = float(math.ceil(start))
    while not small(hi):
        lo, hi = hi, hi * 2.0
        if hi > 1e12:
            return math.inf
    while hi - lo > 1.0:  # the smallest K (within 1) past which the tail is small
        mid = math.floor((lo + hi) / 2.0)
        lo, hi = (lo, mid) if small(mid) else (mid, hi)
    return hi


def demand_table_bottom(mean: float, variance_to_mean: float = 1.0) -> float:
    """Smallest demand of a time-varying or negative-binomial table: mean - 12 sd - 20
    (sd = sqrt(variance_to_mean x mean)), rounded down, at least 0. The CDF below it is
    under 1e-20 (Poisson and negative binomial lower tails fall at least as fast as a
    normal's), so skipping it changes no draw but a uniform of exactly 0."""
    if mean <= 0:
        return 0.0
    return float(max(0, math.floor(mean - 12.0 * math.sqrt(mean * variance_to_mean) - 20.0)))
