"""Typed scenario objects: what a validated scenario file becomes.

``schema.py`` builds these from YAML (its read and check passes are the only place that
validates); ``compiler.py`` turns them into flat arrays. Field meanings follow docs/model.md and docs/scenario-format.md.
All probabilities are per day. ``math.inf`` means "no capacity limit".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

NodeKind = Literal["supplier", "plant", "dc"]
SourcingMode = Literal["split", "failover"]
DemandMode = Literal["lost_sales", "backorder"]
DurationDistribution = Literal["geometric", "lognormal", "pareto"]
DemandDistribution = Literal["poisson", "deterministic", "negative_binomial"]
OrderPolicyKind = Literal["s_S", "r_Q", "R_S"]
EventKind = Literal["node_outage", "regional_shock", "lane_disruption", "demand_surge"]
ProductionMode = Literal["pull", "push"]
ProductionPlan = Literal["level", "forecast", "campaign"]


@dataclass(frozen=True)
class OutageDuration:
    """How long an outage lasts once a node fails (an input: time-to-recover)."""

    distribution: DurationDistribution = "geometric"
    median_days: float | None = None  # lognormal: exp(mu)
    sigma: float | None = None  # lognormal: sd of log duration
    min_days: float | None = None  # pareto: scale x_m
    alpha: float | None = None  # pareto: tail index


@dataclass(frozen=True)
class Outage:
    """A node's own 2-state daily chain: UP fails w.p. ``failure_probability``;
    DOWN recovers w.p. ``recovery_probability`` (geometric) or after a drawn duration."""

    failure_probability: float
    recovery_probability: float = 1.0
    duration: OutageDuration = field(default_factory=OutageDuration)


@dataclass(frozen=True)
class Demand:
    """A dc's daily demand. Stationary unless one of the issue-14 fields below is set: the
    mean of day t is then ``base(t) x season(t) x (1 + trend_per_year x t / 365)``,
    base(t) = ``mean_series[t]`` if given, else ``mean_per_day``
    (:func:`~resilience.scenario.queries.daily_demand_means`)."""

    distribution: DemandDistribution
    mean_per_day: float
    # issue-14 demand variability (docs/model.md, "Demand beyond stationary Poisson")
    variance_to_mean: float = 1.0  # negative_binomial: variance / mean (> 1)
    monthly: tuple[float, ...] = ()  # 12 multipliers, months of a 365-day year from day 0
    weekly: tuple[float, ...] = ()  # 7 multipliers, day t gets weekly[t % 7]
    trend_per_year: float = 0.0  # linear: x (1 + trend_per_year x t / 365)
    mean_series: tuple[float, ...] = ()  # per-day base mean (mean_series / mean_csv)

    @property
    def varies(self) -> bool:
        """Whether the daily mean moves with the day."""
        return bool(self.monthly or self.weekly or self.trend_per_year or self.mean_series)


@dataclass(frozen=True)
class Production:
    """How a plant makes its item (docs/model.md, "Push production"): ``pull`` makes to
    order (the default); ``push`` makes to a plan into the plant's finished-goods stock:
    ``level`` ``rate_per_day`` every day, ``forecast`` the mean daily flow through the
    plant, ``campaign`` a ``batch`` every ``every_days`` days from ``offset_days`` on."""

    mode: ProductionMode = "pull"
    plan: ProductionPlan | None = None
    rate_per_day: float | None = None
    batch: float | None = None
    every_days: int | None = None
    offset_days: int = 0
    storage_cap: float = math.inf  # most finished goods on hand; production stops there
    initial_stock: float = 0.0  # finished goods on hand at day -1


# issue-14 quality: defects, jidoka and expediting (docs/model.md, "Quality and jidoka",
# "Expediting")


@dataclass(frozen=True)
class Incident:
    """A quality-incident chain: starts w.p. ``start_probability`` a day, ends w.p.
    ``end_probability``; while it lasts the defect fraction is ``fraction``."""

    start_probability: float
    end_probability: float
    fraction: float


@dataclass(frozen=True)
class Defects:
    """Defective share of the shipments of a lane (or of everything a plant ships):
    found at receipt and scrapped at ``scrap_cost_per_unit``."""

    fraction: float
    binomial: bool = False  # Binomial per day's shipment instead of the fixed share
    incident: Incident | None = None
    scrap_cost_per_unit: float = 0.0


@dataclass(frozen=True)
class Jidoka:
    """A plant stops its line when the day's incoming defect fraction exceeds
    ``threshold``; a stop ends w.p. ``recovery_probability`` a day."""

    threshold: float
    recovery_probability: float


@dataclass(frozen=True)
class Expedite:
    """An emergency source of the stock point (``at``, ``item``; item None: every item
    stocked at ``at``). ``capacity_per_day`` 0 means none (how a strategy switches a
    scenario's expediting off)."""

    at: str
    item: str | None = None
    lead_time_days: int = 0
    unit_premium: float = 0.0
    capacity_per_day: float = math.inf
    below_days: float | None = None  # trigger: IP below this many days of mean outflow
    below_units: float | None = None  # trigger: IP below this many units
    when_sources_down: bool = False


@dataclass(frozen=True)
class Node:
    name: str
    kind: NodeKind
    region: str
    item: str  # what the node makes (supplier/plant) or stocks and sells (dc)
    capacity_per_day: float = math.inf
    outage: Outage | None = None
    bom: dict[str, float] = field(default_factory=dict)  # plant: component item -> units per unit
    demand: Demand | None = None  # dc only
    holding_cost_per_unit_day: float = 0.0
    lost_sale_margin: float = 0.0  # dc: cost per lost unit
    backlog_penalty_per_unit_day: float = 0.0  # dc: cost per backlogged unit-day
    ttr_days: int | None = None  # time-to-recover of a full outage (resilience stress input)
    production: Production | None = None  # plant only; None: pull (make to order)
    # issue-14 quality
    defects: Defects | None = None  # plant: the defects of everything it ships
    jidoka: Jidoka | None = None  # plant only


@dataclass(frozen=True)
class LeadTime:
    """A stochastic lead time (issue-14): whole days ``values[i]`` with probability
    ``probs[i]`` (a discretised lognormal arrives here as its table), one draw per
    shipment."""

    values: tuple[int, ...]
    probs: tuple[float, ...]
    distribution: str = "discrete"  # as written: discrete or lognormal

    @property
    def mean_cover(self) -> float:
        """E[max(L, 1)]: the pipeline days a derived order-up-to level covers."""
        return math.fsum(max(v, 1) * p for v, p in zip(self.values, self.probs, strict=True))


@dataclass(frozen=True)
class Lane:
    """``lead_time_days`` is the lead time, or for a stochastic ``lead_time`` its longest
    value (what bounds the pipeline and the shortage-tracing windows)."""

    source: str
    destination: str
    lead_time_days: int
    capacity_per_day: float = math.inf
    unit_cost: float = 0.0
    qualification_cost_per_day: float = 0.0  # fixed cost per day while a strategy uses the lane
    lead_time: LeadTime | None = None  # issue-14 stochastic lead time; None: deterministic
    defects: Defects | None = None  # issue-14 quality (overrides its source plant's)

    @property
    def key(self) -> str:
        return f"{self.source}->{self.destination}"


@dataclass(frozen=True)
class Shock:
    """A 2-state common-cause chain: inactive -> active w.p. start, active -> inactive w.p. end."""

    name: str
    start_probability: float
    end_probability: float


@dataclass(frozen=True)
class RegionShock(Shock):
    capacity_fraction: float = 0.0  # 0: every node of the region DOWN; (0,1): limited


@dataclass(frozen=True)
class Region:
    name: str
    shocks: tuple[RegionShock, ...] = ()


@dataclass(frozen=True)
class LaneShock(Shock):
    lanes: tuple[str, ...] = ()  # lane keys "source->destination"
    extra_lead_time_days: int = 0


@dataclass(frozen=True)
class DemandSurge(Shock):
    dcs: tuple[str, ...] = ()
    multiplier: float = 1.0


@dataclass(frozen=True)
class Event:
    """A scripted event: acts on days ``start_day .. start_day + duration_days - 1`` (cut
    at the horizon) on top of the random processes, and draws no random number.

    ``node_outage``: ``node`` works at ``capacity_fraction`` (0: DOWN); ``regional_shock``:
    every node of ``region`` does; ``lane_disruption``: shipments dispatched on ``lanes``
    (keys "source->destination") take ``extra_lead_time_days`` more, or none is dispatched
    (``closed``); ``demand_surge``: the demand mean of ``dcs`` is multiplied by
    ``multiplier``. docs/model.md ("Scripted events") says how they combine.
    """

    kind: EventKind
    start_day: int
    duration_days: int
    name: str = ""
    node: str | None = None
    region: str | None = None
    lanes: tuple[str, ...] = ()
    dcs: tuple[str, ...] = ()
    capacity_fraction: float = 0.0
    extra_lead_time_days: int = 0
    closed: bool = False
    multiplier: float = 1.0

    @property
    def end_day(self) -> int:
        """The first day after the event (exclusive end)."""
        return self.start_day + self.duration_days


@dataclass(frozen=True)
class Sourcing:
    """How the stock point ``at`` buys ``item``: shares per source node, and the mode."""

    at: str
    item: str
    mode: SourcingMode
    shares: dict[str, float]


@dataclass(frozen=True)
class OrderPolicy:
    """How a stock point decides its order (docs/model.md, "Ordering policies").

    ``kind`` ``s_S``: order up to S when the inventory position is at or below s;
    ``r_Q``: order the smallest multiple of Q that lifts it above r; ``R_S``: order up to
    S on the days t with t = offset_days (mod review_days). Each level is given in units
    or as days of cover (``*_days``, see queries.policy_levels), never both."""

    kind: OrderPolicyKind
    s: float | None = None
    S: float | None = None
    r: float | None = None
    Q: float | None = None
    s_days: float | None = None
    S_days: float | None = None
    r_days: float | None = None
    review_days: int = 1
    offset_days: int = 0


@dataclass(frozen=True)
class StockPolicy:
    """Order-up-to level of (``at``, ``item``): ``order_up_to`` units or ``buffer_days`` of cover.
    ``item`` None means every item stocked at ``at``."""

    at: str
    item: str | None = None
    buffer_days: float | None = None
    order_up_to: float | None = None
    # issue-14 policy: None = base stock at the level above; min_order_qty and
    # lot_multiple (0 = none) shape any policy's order; order_cost (None = not set here)
    # is charged per order placed and resolved on its own (queries.order_cost_of)
    policy: OrderPolicy | None = None
    min_order_qty: float = 0.0
    lot_multiple: float = 0.0
    order_cost: float | None = None


@dataclass(frozen=True)
class Strategy:
    """Overrides on the base network. Precedence, highest first: the strategy's ``stock``
    entries, the strategy's ``buffer_days`` (for every stock point), the base ``stock``
    entries, the base ``buffer_days``. ``sourcing`` entries replace the base entry of the
    same (at, item)."""

    name: str
    description: str = ""
    buffer_days: float | None = None
    stock: tuple[StockPolicy, ...] = ()
    sourcing: tuple[Sourcing, ...] = ()
    events: tuple[Event, ...] = ()  # appended to the scenario's events
    random_disruptions: bool | None = None  # None: the scenario's setting
    # issue-14 push: plant name -> its production under this strategy (over the node's)
    production: dict[str, Production] = field(default_factory=dict)
    expedite: tuple[Expedite, ...] = ()  # issue-14 quality: replace the scenario's entries


@dataclass(frozen=True)
class Scenario:
    name: str
    horizon_days: int
    nodes: tuple[Node, ...]
    lanes: tuple[Lane, ...]
    regions: tuple[Region, ...] = ()
    description: str = ""
    demand_mode: DemandMode = "lost_sales"
    buffer_days: float = 0.0
    baseline: str = ""  # the strategy others are compared with ("" = the first)
    currency: str = ""  # how money is labelled in tables and figures ("" = "currency")
    sourcing: tuple[Sourcing, ...] = ()
    stock: tuple[StockPolicy, ...] = ()
    lane_shocks: tuple[LaneShock, ...] = ()
    demand_surges: tuple[DemandSurge, ...] = ()
    strategies: tuple[Strategy, ...] = (Strategy("base"),)
    events: tuple[Event, ...] = ()  # scripted events (every strategy), in file order
    random_disruptions: bool = True  # False: random processes have no effect (still drawn)
    expedite: tuple[Expedite, ...] = ()  # issue-14 quality: emergency sources
    # The first day from which `first_unmet_day` looks for unmet demand. Not a file key:
    # `resilience stress` sets it to the outage start (dataclasses.replace).
    watch_day: int = 0
    source_text: str = ""  # the YAML as loaded (for provenance in results)
    source_path: str | None = None

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def strategy(self, name: str) -> Strategy:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def strategy_names(self) -> list[str]:
        return [s.name for s in self.strategies]

    def events_of(self, strategy: Strategy | str) -> tuple[Event, ...]:
        """The scripted events of ``strategy``: the scenario's, then the strategy's own."""
        if isinstance(strategy, str):
            strategy = self.strategy(strategy)
        return self.events + strategy.events

    def random_disruptions_of(self, strategy: Strategy | str) -> bool:
        """Whether the random processes act under ``strategy`` (its setting, else the
        scenario's)."""
        if isinstance(strategy, str):
            strategy = self.strategy(strategy)
        if strategy.random_disruptions is not None:
            return strategy.random_disruptions
        return self.random_disruptions

    def production_of(self, strategy: Strategy | str, node: Node) -> Production | None:
        """How ``node`` produces under ``strategy``: the strategy's entry, else the node's
        own; None or mode pull: make to order."""
        if isinstance(strategy, str):
            strategy = self.strategy(strategy)
        return getattr(strategy, "production", {}).get(node.name, node.production)
