"""Compile a validated scenario + one strategy into flat numpy arrays for the kernels.

Nothing after this module sees Python objects: the kernels take a ``Network`` (a
NamedTuple of contiguous arrays, integer ids) and scalars. Entity indices (nodes, DCs,
region shocks, lane shocks, surges) follow the scenario's declaration order and never
depend on the strategy, which is what makes common random numbers hold across strategies.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from resilience.errors import ScenarioError

# The kernel owns these constants (numba's cache sees only the kernel file); they are
# re-exported here for the layers above.
# - FILL_BINS: bins of the per-day network fill-rate histogram: [k/100, (k+1)/100) for
#   k < 100, then exactly 1 in its own bin so a "full service" day is not blurred into
#   [0.99, 1).
# - FILL_FIXED_POINT, ON_HAND_FIXED_POINT (2**32, 2**8): fixed-point scales for per-day
#   sums: integer sums are associative, so any split of the paths into blocks, threads or
#   shards gives the same bits (tests/test_invariance.py).
# - UNIT_EPS: a shortfall below this many units is float round-off from fractional
#   shares, not a shortage (used for stockout days and time-to-survive).
# - GUIDE_RESOLUTION: guide-table entries per Poisson CDF entry. One, in int32: the
#   kernel takes the guess's first step as a select, so only the rare second step is a
#   branch, and every table of a 1,024-node network fits in 0.25 MB. With 8 entries of
#   int64 they took 4 MB, and their cache misses were a quarter of its kernel time
#   (1,024 nodes 1.37x faster with 1 in int32; small networks unchanged). The guide
#   only picks where the search starts: no entry changes a drawn value.
from resilience.kernels.simulate import (
    FILL_BINS,
    FILL_FIXED_POINT,
    GUIDE_RESOLUTION,
    N_DEMAND,
    N_FILLED,
    N_IMPAIRED,
    N_LOST,
    N_NODE_METRICS,
    N_ON_HAND,
    N_STOCKOUT,
    ON_HAND_FIXED_POINT,
    UNIT_EPS,
)
from resilience.scenario.model import (
    Defects,
    Demand,
    Event,
    LeadTime,
    Node,
    Scenario,
    Sourcing,
    Strategy,
)
from resilience.scenario.policies import POLICY_CODE, order_costs, policy_levels
from resilience.scenario.production import finished_goods_bound, production_plans
from resilience.scenario.queries import (
    daily_demand_means,
    demand_table_bottom,
    expected_outflow,
    nb_table_top,
    order_up_to_level,
    planning_lead_days,
    poisson_table_top,
    processing_order,
    resolve_sourcing,
    stock_points,
    stock_policies,
    surge_multipliers,
)
from resilience.scenario.values import MAX_POISSON_ENTRIES, MAX_POISSON_TABLE

__all__ = [
    "FILL_BINS",
    "FILL_FIXED_POINT",
    "GUIDE_RESOLUTION",
    "ON_HAND_BINS",
    "ON_HAND_FIXED_POINT",
    "UNIT_EPS",
    "CompiledStrategy",
    "Network",
    "compile_strategy",
    "demand_cdf",
    "demand_table",
    "lead_time_cdf",
    "expected_outflow",
    "dc_daily_demand_most",
    "guide_table",
    "node_metric_bounds",
    "on_hand_bound",
    "poisson_cdf",
    "processing_order",
    "resolve_sourcing",
    "stock_points",
    "strategies_json",
]

KIND_CODE = {"supplier": 0, "plant": 1, "dc": 2}
MODE_CODE = {"split": 0, "failover": 1}
DURATION_CODE = {"geometric": 0, "lognormal": 1, "pareto": 2}

# Bins of the per-day on-hand histogram; the kernel reads the count from array shapes.
ON_HAND_BINS = 200


class Network(NamedTuple):
    """Flat arrays describing one strategy of one scenario (shapes in brackets).

    N nodes, P stock points (positions), A lanes, D DCs, RS region shocks, K lane shocks,
    M demand surges, F lane-shock memberships, Q total Poisson-table entries.
    """

    horizon: int
    backorder: bool
    # pipeline rings: stock point p's arrivals of day t are in row
    # pos_pipe_ptr[p] + t % (its ring length), one more than its longest possible lead time
    # (on the generated 1,024-node network a third of one network-wide ring)
    pos_pipe_ptr: np.ndarray  # [P+1]
    # nodes [N]
    node_kind: np.ndarray
    node_region: np.ndarray
    node_capacity: np.ndarray  # inf = unlimited
    node_fail_p: np.ndarray  # 0 = never fails
    node_recover_p: np.ndarray
    node_duration_kind: np.ndarray  # 0 geometric, 1 lognormal, 2 pareto
    node_duration_a: np.ndarray  # lognormal: median days; pareto: min days
    node_duration_b: np.ndarray  # lognormal: sigma; pareto: alpha
    node_pos_ptr: np.ndarray  # [N+1] positions of node n are pos_ptr[n]:pos_ptr[n+1]
    node_out_pos: np.ndarray  # dc: the position it ships from; else -1
    processing_order: np.ndarray  # [N] each node before the nodes that supply it
    # positions [P]
    pos_node: np.ndarray
    pos_order_up_to: np.ndarray
    pos_holding_cost: np.ndarray
    pos_bom_qty: np.ndarray  # plant component: units per unit made; else 1
    pos_mode: np.ndarray  # 0 split, 1 failover
    pos_src_ptr: np.ndarray  # [P+1] active sources of p are src_*[ptr[p]:ptr[p+1]]
    src_lane: np.ndarray
    src_share: np.ndarray
    # lanes [A]
    lane_src_node: np.ndarray
    lane_dst_pos: np.ndarray
    lane_lead_time: np.ndarray
    lane_capacity: np.ndarray
    lane_unit_cost: np.ndarray
    # capacity left today is kept only for the C lanes it can limit (finite capacity, or
    # closed by a scripted event); the rest share row C, which stays inf (inf - x = inf),
    # so a large network with unlimited lanes does not walk an [A, W] array every day
    capped_lane: np.ndarray  # [C] the lane of each row
    lane_cap_row: np.ndarray  # [A] lane a's row (C: unlimited)
    lane_shock_ptr: np.ndarray  # [A+1] lane shocks covering lane a
    lane_shock_idx: np.ndarray  # [F]
    # DCs [D]
    dc_node: np.ndarray
    dc_pos: np.ndarray
    dc_poisson: np.ndarray  # bool
    dc_mean: np.ndarray
    dc_lost_margin: np.ndarray
    dc_backlog_penalty: np.ndarray
    dc_surge_ptr: np.ndarray  # [D+1] surges covering dc j
    dc_surge_idx: np.ndarray
    dc_table_ptr: np.ndarray  # [D+1] one table per combination (bitmask) of active surges
    table_mult: np.ndarray  # [tables] demand multiplier of each combination
    table_cdf_ptr: np.ndarray  # [tables+1]
    table_cdf: np.ndarray  # [Q] Poisson CDF, last entry 1
    table_guide: np.ndarray  # [Q x GUIDE_RESOLUTION] see guide_table
    # region shocks [RS], lane shocks [K], surges [M]
    rshock_region: np.ndarray
    rshock_start: np.ndarray
    rshock_end: np.ndarray
    rshock_fraction: np.ndarray
    lshock_start: np.ndarray
    lshock_end: np.ndarray
    lshock_extra: np.ndarray
    surge_start: np.ndarray
    surge_end: np.ndarray
    surge_mult: np.ndarray
    n_regions: int
    qualification_cost_per_day: float
    on_hand_max: float  # sum of order-up-to levels: the top edge of the on-hand histogram
    # scripted events (docs/model.md, "Scripted events"): per-day arrays, each of shape
    # (0, ...) when the strategy has no event of its kind, so the kernel skips the work
    has_events: bool
    event_node_cap: np.ndarray  # [T, N] capacity fraction cap, 1 = none (node, regional)
    event_lane_extra: np.ndarray  # [T, A] int64 extra lead days of shipments dispatched
    event_lane_closed: np.ndarray  # [T, A] bool: no shipment dispatched on the lane
    event_dc_table: np.ndarray  # [T, D] first Poisson table (mask 0) of the day's surges
    # time-to-survive tracing (docs/model.md, "Time to survive and shortage duration")
    dc_up_ptr: np.ndarray  # [D+1] nodes upstream of dc j (itself included), active lanes
    dc_up_node: np.ndarray
    dc_up_lshock_ptr: np.ndarray  # [D+1] lane shocks covering an active lane upstream of j
    dc_up_lshock: np.ndarray
    dc_window: np.ndarray  # [D] pipeline time: the longest replenishment path into dc j
    event_dc_onset: np.ndarray  # [T, D] latest start of a scripted lane/demand event on j
    node_can_impair: np.ndarray  # [N] bool: an outage, a regional shock or an event can hit it
    watch_day: int  # first day first_unmet_day looks at
    # issue-14 push production (docs/model.md, "Push production"), Q push plants: each
    # push_* array has a 0-length first dimension without them, so the kernel skips the
    # production step. A push plant's finished goods are a stock point of their own,
    # numbered after every other (outside node_pos_ptr's ranges, so it never orders).
    node_material_kind: np.ndarray  # [N] what a source ships from: 0 unlimited (supplier),
    # 1 its components, made to order (pull plant), 2 its stock point node_out_pos (dc,
    # push plant's finished goods)
    push_node: np.ndarray  # [Q] the plant
    push_fg_pos: np.ndarray  # [Q] its finished-goods stock point
    push_storage_cap: np.ndarray  # [Q] most finished goods on hand, inf = none
    push_plan: np.ndarray  # [T, Q] units planned per day ((0, 0) without push plants)
    # issue-14 stochastic lead times (docs/model.md, "Stochastic lead times"): lane a's
    # lead time is lane_lead_time[a] + lane_lt_delta[i], i the first entry of
    # lane_lt_cdf[ptr[a]:ptr[a+1]] above the shipment's uniform; no entry: deterministic.
    # Time-varying and negative-binomial demand need no field of their own: they are
    # per-day tables (event_dc_table) and tables of another CDF (dc_poisson: a table draw)
    lane_lt_ptr: np.ndarray  # [A+1]
    lane_lt_cdf: np.ndarray  # [entries] CDF over each stochastic lane's values, last 1
    lane_lt_delta: np.ndarray  # [entries] int64 value - lane_lead_time (the longest value)
    # issue-14 demand: table t's entry k is demand k + table_lo[t] (0 but for the tables
    # of a time-varying or negative-binomial dc, which skip their empty lower tail)
    table_lo: np.ndarray  # [tables] int64
    # ordering policies (issue-14 policy; docs/model.md, "Ordering policies"): [P] each,
    # of shape (0,) when every stock point runs plain base stock without an order cost,
    # so the kernel orders S - IP as before
    pol_kind: np.ndarray  # int64: 0 base stock, 1 (s, S), 2 (r, Q), 3 (R, S)
    pol_low: np.ndarray  # s or r
    pol_high: np.ndarray  # S (base stock, (s, S), (R, S)) or Q
    pol_review: np.ndarray  # int64 review period R (1 unless (R, S))
    pol_offset: np.ndarray  # int64 first review day (0 .. R - 1)
    pol_moq: np.ndarray  # minimum order quantity (0 = none)
    pol_lot: np.ndarray  # lot multiple (0 = none)
    pol_order_cost: np.ndarray  # fixed cost per order placed
    # issue-14 quality: defects, jidoka and expediting (docs/model.md, "Quality and
    # jidoka", "Expediting"); each array has length 0 when the strategy does not use its
    # feature, so the kernel skips the work
    lane_defect: np.ndarray  # [A] int64 defect entry of the lane, E - 1 (null entry) = none
    defect_fraction: np.ndarray  # [E] defective share outside an incident (the last: 0)
    defect_binomial: np.ndarray  # [E] bool: Binomial per day's shipment
    defect_chunk: np.ndarray  # [E] int64 units per Binomial chunk at defect_fraction
    defect_inc_start: np.ndarray  # [E] incident chain (start 0: no incident)
    defect_inc_end: np.ndarray  # [E]
    defect_inc_fraction: np.ndarray  # [E] defective share during an incident
    defect_inc_chunk: np.ndarray  # [E] int64
    defect_scrap_cost: np.ndarray  # [E] per defective unit
    defect_entity: np.ndarray  # [E] int64 rng entity of the incident chain
    node_jidoka_threshold: np.ndarray  # [N] inf = no jidoka
    node_jidoka_recover: np.ndarray  # [N] a line stop ends w.p. this a day
    pos_exp_capacity: np.ndarray  # [P] emergency units a day, 0 = no expediting (all 0: none)
    pos_exp_trigger: np.ndarray  # [P] expedite when IP is below this (-inf: never)
    pos_exp_down: np.ndarray  # [P] bool: expedite while no regular source is up
    pos_exp_lead: np.ndarray  # [P] int64
    pos_exp_premium: np.ndarray  # [P] cost per expedited unit
    pos_jidoka: np.ndarray  # [P] bool: a component stock point of a jidoka plant
    has_expedite: bool  # some stock point expedites (else the kernel skips the pass)


@dataclass(frozen=True)
class CompiledStrategy:
    """A ``Network`` plus the labels the Python layer needs to describe its outputs."""

    name: str
    network: Network
    node_names: tuple[str, ...]
    node_kinds: tuple[str, ...]
    node_regions: tuple[str, ...]
    positions: tuple[tuple[str, str], ...]  # (node, item) per stock point
    order_up_to: dict[str, float]  # "node/item" -> S
    sourcing: dict[str, dict]  # "node/item" -> {"mode": ..., "shares": {...}}
    # issue-14 push: plant -> its push plan (empty when every plant makes to order)
    production: dict[str, dict] = field(default_factory=dict)
    # issue-14 policy: "node/item" -> resolved policy (levels in units, order cost) of
    # every stock point, empty when all run plain base stock without an order cost
    policies: dict[str, dict] = field(default_factory=dict)

    def describe(self) -> dict:
        """JSON-ready resolved definition, stored in result metadata (``production`` and
        ``policies`` only where used, so the metadata of other networks is as before)."""
        out: dict = {"order_up_to": self.order_up_to, "sourcing": self.sourcing}
        if self.production:
            out["production"] = self.production
        if self.policies:
            out["policies"] = self.policies
        return out


def _f(values) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


def _i(values, dtype=np.int64) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))


def _ptr(counts) -> np.ndarray:
    return _i(np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))]))


def compile_strategy(scenario: Scenario, strategy: Strategy | str) -> CompiledStrategy:
    """Flatten ``scenario`` under ``strategy`` into a ``CompiledStrategy``."""
    if isinstance(strategy, str):
        strategy = scenario.strategy(strategy)
    region_index = {r.name: i for i, r in enumerate(scenario.regions)}
    for n in scenario.nodes:  # a hand-built scenario may use regions it does not list
        region_index.setdefault(n.region, len(region_index))
    sourcing = resolve_sourcing(scenario, strategy)
    stock = _stock_point_fields(scenario, strategy, sourcing)
    fields: dict[str, Any] = {
        **_node_fields(scenario, region_index),
        **stock.fields,
        **_lane_fields(scenario),
        **_dc_fields(scenario),
        **_shock_fields(scenario, region_index),
    }
    events = scenario.events_of(strategy)
    fields.update(_event_fields(scenario, events, fields))
    fields.update(_lane_capacity_rows(fields))
    fields.update(_trace_fields(scenario, events, fields))
    fields.update(_demand_variation_fields(scenario, events, fields))
    fields.update(_lead_time_fields(scenario))
    if not scenario.random_disruptions_of(strategy):
        fields.update(_without_random_disruptions(fields))
    fields["node_can_impair"] = _can_impair(fields)
    # policies first: they reset the ordering points' levels, then push plants append
    # their finished-goods points to those arrays
    policies = _policy_fields(scenario, strategy, sourcing, fields, stock.order_up_to)
    fields.update(_production_fields(scenario, strategy, sourcing, fields))
    fields.update(_quality_fields(scenario, strategy, sourcing, fields))
    fields["pos_pipe_ptr"] = _pipeline_rings(fields)
    network = Network(
        horizon=int(scenario.horizon_days),
        backorder=scenario.demand_mode == "backorder",
        n_regions=len(region_index),
        watch_day=int(scenario.watch_day),
        **fields,
    )
    return CompiledStrategy(
        name=strategy.name,
        network=network,
        node_names=tuple(n.name for n in scenario.nodes),
        node_kinds=tuple(n.kind for n in scenario.nodes),
        node_regions=tuple(n.region for n in scenario.nodes),
        positions=tuple(stock.positions),
        order_up_to=stock.order_up_to,
        sourcing=stock.sourcing,
        production={
            scenario.nodes[n].name: {
                k: v for k, v in asdict(p).items() if v is not None and v != math.inf
            }
            for n, p, _ in production_plans(scenario, strategy, sourcing)
        },
        policies=policies,
    )


def _node_fields(scenario: Scenario, region_index: dict[str, int]) -> dict[str, np.ndarray]:
    """Per-node arrays [N] and the processing order."""
    nodes = scenario.nodes
    durations = [_duration_params(n) for n in nodes]
    return {
        "node_kind": _i([KIND_CODE[n.kind] for n in nodes]),
        "node_region": _i([region_index[n.region] for n in nodes]),
        "node_capacity": _f([n.capacity_per_day for n in nodes]),
        "node_fail_p": _f([n.outage.failure_probability if n.outage else 0.0 for n in nodes]),
        "node_recover_p": _f([n.outage.recovery_probability if n.outage else 1.0 for n in nodes]),
        "node_duration_kind": _i(
            [DURATION_CODE[n.outage.duration.distribution] if n.outage else 0 for n in nodes]
        ),
        "node_duration_a": _f([a for a, _ in durations]),
        "node_duration_b": _f([b for _, b in durations]),
        "processing_order": _i(processing_order(scenario)),
    }


@dataclass(frozen=True)
class _StockPoints:
    fields: dict[str, Any]  # Network fields of positions, their sources and their nodes
    positions: list[tuple[str, str]]
    order_up_to: dict[str, float]  # "node/item" -> S
    sourcing: dict[str, dict]  # "node/item" -> {"mode": ..., "shares": {...}}


def _stock_point_fields(
    scenario: Scenario, strategy: Strategy, sourcing: dict[tuple[str, str], Sourcing]
) -> _StockPoints:
    """Positions [P], their active sources, and where each node's positions are."""
    nodes = scenario.nodes
    node_index = {n.name: i for i, n in enumerate(nodes)}
    lane_index = {lane.key: i for i, lane in enumerate(scenario.lanes)}
    positions = stock_points(scenario)
    outflow = expected_outflow(scenario, sourcing)
    # S: as given, or mean outflow x (longest active lead time, at least 1, + buffer days)
    policies = stock_policies(scenario, strategy)
    pos_node, pos_S, pos_hold, pos_qty, pos_mode = [], [], [], [], []
    src_counts, src_lane, src_share = [], [], []
    order_up_to, sourcing_desc = {}, {}
    for at, item in positions:
        node = nodes[node_index[at]]
        entry = sourcing[(at, item)]
        active = [
            (lane_index[f"{source}->{at}"], share)
            for source, share in entry.shares.items()
            if share > 0
        ]
        lead = max((planning_lead_days(scenario.lanes[a]) for a, _ in active), default=0)
        level = order_up_to_level(policies[(at, item)], outflow[(at, item)], lead)
        pos_node.append(node_index[at])
        pos_S.append(max(level, 0.0))
        pos_hold.append(node.holding_cost_per_unit_day)
        pos_qty.append(node.bom.get(item, 1.0) if node.kind == "plant" else 1.0)
        pos_mode.append(MODE_CODE[entry.mode])
        src_counts.append(len(active))
        src_lane.extend(a for a, _ in active)
        src_share.extend(s for _, s in active)
        key = f"{at}/{item}"
        order_up_to[key] = pos_S[-1]
        sourcing_desc[key] = {"mode": entry.mode, "shares": dict(entry.shares)}

    counts = [0] * len(nodes)
    for p in pos_node:
        counts[p] += 1
    node_out_pos = [-1] * len(nodes)
    for p, (at, _) in enumerate(positions):
        if nodes[node_index[at]].kind == "dc":
            node_out_pos[node_index[at]] = p
    qualification = sum(scenario.lanes[a].qualification_cost_per_day for a in set(src_lane))
    fields = {
        "node_pos_ptr": _ptr(counts),
        "node_out_pos": _i(node_out_pos),
        "pos_node": _i(pos_node),
        "pos_order_up_to": _f(pos_S),
        "pos_holding_cost": _f(pos_hold),
        "pos_bom_qty": _f(pos_qty),
        "pos_mode": _i(pos_mode),
        "pos_src_ptr": _ptr(src_counts),
        "src_lane": _i(src_lane),
        "src_share": _f(src_share),
        "qualification_cost_per_day": float(qualification),
        "on_hand_max": float(max(sum(pos_S), 1.0)),
    }
    return _StockPoints(fields, positions, order_up_to, sourcing_desc)


# ----------------------------------------------------------------------------- ordering policies


def _policy_fields(
    scenario: Scenario,
    strategy: Strategy,
    sourcing: dict[tuple[str, str], Sourcing],
    fields: dict[str, Any],
    order_up_to: dict[str, float],
) -> dict[str, dict]:
    """The ordering-policy arrays (issue-14 policy) into ``fields``, and the resolved
    policies by "node/item". Without a policy, order rule or order cost anywhere the
    arrays have shape (0,) and nothing else changes; with one, each stock point starts
    at its policy's start level (``pos_order_up_to``, ``order_up_to``) and the on-hand
    histogram reaches the sum of the levels the positions can reach (``on_hand_max``)."""
    lane_index = {lane.key: i for i, lane in enumerate(scenario.lanes)}
    outflow = expected_outflow(scenario, sourcing)
    entries = stock_policies(scenario, strategy)
    costs = order_costs(scenario, strategy)
    resolved = []
    for at, item in stock_points(scenario):
        active = [s for s, share in sourcing[(at, item)].shares.items() if share > 0]
        # the lead time a derived level covers, as for buffer_days (and the bounds pass):
        # E[max(L, 1)] of a stochastic lead time, not its longest value
        lead = max(
            (planning_lead_days(scenario.lanes[lane_index[f"{s}->{at}"]]) for s in active),
            default=0,
        )
        resolved.append(policy_levels(entries[(at, item)], outflow[(at, item)], lead))
    cost = [costs[key] for key in stock_points(scenario)]
    used = any(not p.plain for p in resolved) or any(c > 0 for c in cost)
    P = len(resolved) if used else 0
    pick = resolved[:P]
    fields.update(
        pol_kind=_i([POLICY_CODE[p.kind] for p in pick]),
        pol_low=_f([p.low for p in pick]),
        pol_high=_f([max(p.high, 0.0) for p in pick]),
        pol_review=_i([p.review_days for p in pick]),
        pol_offset=_i([p.offset_days for p in pick]),
        pol_moq=_f([p.min_order_qty for p in pick]),
        pol_lot=_f([p.lot_multiple for p in pick]),
        pol_order_cost=_f(cost[:P]),
    )
    if not used:
        return {}
    starts = [max(p.start, 0.0) for p in resolved]
    fields["pos_order_up_to"] = _f(starts)
    fields["on_hand_max"] = float(max(sum(max(p.top, 0.0) for p in resolved), 1.0))
    described = {}
    for (at, item), p, c, start in zip(stock_points(scenario), resolved, cost, starts, strict=True):
        key = f"{at}/{item}"
        order_up_to[key] = start
        described[key] = {**p.describe(), "order_cost": c}
    return described


def _lane_fields(scenario: Scenario) -> dict[str, Any]:
    """Per-lane arrays [A] and the lane shocks covering each."""
    lshocks = scenario.lane_shocks
    lane_index = {lane.key: i for i, lane in enumerate(scenario.lanes)}
    node_index = {n.name: i for i, n in enumerate(scenario.nodes)}
    items = {n.name: n.item for n in scenario.nodes}
    pos_index = {key: i for i, key in enumerate(stock_points(scenario))}
    covering: list[list[int]] = [[] for _ in scenario.lanes]
    for k, shock in enumerate(lshocks):
        for key in shock.lanes:
            covering[lane_index[key]].append(k)
    lane_dst_pos = [
        pos_index.get((lane.destination, items[lane.source]), -1) for lane in scenario.lanes
    ]
    return {
        "lane_src_node": _i([node_index[lane.source] for lane in scenario.lanes]),
        "lane_dst_pos": _i(lane_dst_pos),
        "lane_lead_time": _i([lane.lead_time_days for lane in scenario.lanes]),
        "lane_capacity": _f([lane.capacity_per_day for lane in scenario.lanes]),
        "lane_unit_cost": _f([lane.unit_cost for lane in scenario.lanes]),
        "lane_shock_ptr": _ptr([len(c) for c in covering]),
        "lane_shock_idx": _i([k for c in covering for k in c]),
    }


def _dc_fields(scenario: Scenario) -> dict[str, np.ndarray]:
    """Per-DC arrays [D], the surges covering each, and one Poisson table per
    combination (bitmask) of a DC's active surges."""
    nodes = scenario.nodes
    dcs = [i for i, n in enumerate(nodes) if n.kind == "dc"]
    pos_index = {key: i for i, key in enumerate(stock_points(scenario))}
    covering = surge_multipliers(scenario)  # per dc: its surges, a multiplier per bitmask
    surges_of = [surges for surges, _ in covering]
    table_counts, table_mult, cdf_parts = [], [], []
    for j, i in enumerate(dcs):
        demand = nodes[i].demand
        mean = demand.mean_per_day if demand else 0.0
        poisson = demand is not None and demand.distribution == "poisson"
        mults = covering[j][1]
        table_counts.append(len(mults))
        for mult in mults:
            table_mult.append(mult)
            cdf_parts.append(poisson_cdf(mean * mult) if poisson else np.ones(1))
    table_cdf = np.concatenate(cdf_parts) if cdf_parts else np.zeros(0)
    table_guide = np.concatenate([guide_table(c) for c in cdf_parts]) if cdf_parts else []
    demands = [nodes[i].demand for i in dcs]
    return {
        "dc_node": _i(dcs),
        "dc_pos": _i([pos_index[(nodes[i].name, nodes[i].item)] for i in dcs]),
        "dc_poisson": np.ascontiguousarray(
            [d is not None and d.distribution == "poisson" for d in demands], dtype=np.bool_
        ).reshape(-1),
        "dc_mean": _f([d.mean_per_day if d else 0.0 for d in demands]),
        "dc_lost_margin": _f([nodes[i].lost_sale_margin for i in dcs]),
        "dc_backlog_penalty": _f([nodes[i].backlog_penalty_per_unit_day for i in dcs]),
        "dc_surge_ptr": _ptr([len(s) for s in surges_of]),
        "dc_surge_idx": _i([m for s in surges_of for m in s]),
        "dc_table_ptr": _ptr(table_counts),
        "table_mult": _f(table_mult),
        "table_cdf_ptr": _ptr([len(c) for c in cdf_parts]),
        "table_cdf": _f(table_cdf),
        "table_guide": _i(table_guide, np.int32),
    }


def _shock_fields(scenario: Scenario, region_index: dict[str, int]) -> dict[str, np.ndarray]:
    """Region shocks [RS], lane shocks [K] and demand surges [M]: their chains and effects."""
    rshocks = [(region_index[r.name], s) for r in scenario.regions for s in r.shocks]
    lshocks = scenario.lane_shocks
    surges = scenario.demand_surges
    return {
        "rshock_region": _i([r for r, _ in rshocks]),
        "rshock_start": _f([s.start_probability for _, s in rshocks]),
        "rshock_end": _f([s.end_probability for _, s in rshocks]),
        "rshock_fraction": _f([s.capacity_fraction for _, s in rshocks]),
        "lshock_start": _f([s.start_probability for s in lshocks]),
        "lshock_end": _f([s.end_probability for s in lshocks]),
        "lshock_extra": _i([s.extra_lead_time_days for s in lshocks]),
        "surge_start": _f([s.start_probability for s in surges]),
        "surge_end": _f([s.end_probability for s in surges]),
        "surge_mult": _f([s.multiplier for s in surges]),
    }


def _duration_params(node: Node) -> tuple[float, float]:
    if node.outage is None:
        return 0.0, 0.0
    d = node.outage.duration
    if d.distribution == "lognormal":
        return float(d.median_days), float(d.sigma)
    if d.distribution == "pareto":
        return float(d.min_days), float(d.alpha)
    return 0.0, 0.0


def poisson_cdf(mean: float) -> np.ndarray:
    """CDF of Poisson(``mean``) at k = 0..K, with the last entry forced to 1.

    K = mean + 12 sd + 20 (:func:`~resilience.scenario.queries.poisson_table_top`), so the
    truncated tail mass is far below 1e-20; the pmf is computed in log space so large
    means do not underflow exp(-mean).

    Raises
    ------
    ScenarioError
        If the table would have more than ``MAX_POISSON_TABLE`` entries: validation
        refuses such a scenario, this guards what it does not see (a hand-built scenario)
        from a multi-GiB allocation.
    """
    if mean <= 0:
        return np.ones(1)
    top_k = poisson_table_top(mean)
    if not top_k + 1 <= MAX_POISSON_TABLE:
        raise ScenarioError(
            f"a Poisson demand mean of {mean:g} (surges included) needs a table of "
            f"{top_k + 1:.3g} entries, the limit is {MAX_POISSON_TABLE:g} (a mean up to "
            "about 988,000 a day): use distribution: deterministic or a smaller unit"
        )
    top = int(top_k)
    k = np.arange(top + 1, dtype=np.float64)
    log_pmf = k * math.log(mean) - mean - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(np.exp(log_pmf))
    cdf = np.minimum(cdf, 1.0)
    cdf[-1] = 1.0
    return cdf


def on_hand_bound(network: Network) -> float:
    """The most units ``network`` can hold on hand, summed over its stock points, on any
    day of any path: what the kernel's fixed-point on-hand sums must hold.

    A stock point's inventory position (on hand + in transit - backlog) starts at its
    order-up-to level S and orders only bring it back up to S, so on hand never exceeds
    S plus its backlog; under an ordering policy (issue-14 policy) the same holds with
    S the most an order lifts the position to (its start level plus its minimum order
    quantity plus its lot multiple), which ``on_hand_max`` then sums. Only a dc serving customers keeps a backlog (backorder mode), and
    one that is never impaired (unlimited capacity, no outage, no regional shock) serves
    from stock until it runs out: with a backlog it holds nothing. So the bound is
    ``on_hand_max`` (the sum of the levels S), plus, in backorder mode, horizon x the
    largest daily demand of every dc that can be impaired (its most backlog).
    """
    bound = float(network.on_hand_max)
    if not network.backorder:
        return bound
    for j, n in enumerate(network.dc_node.tolist()):
        if _dc_can_be_impaired(network, n):
            bound += network.horizon * dc_daily_demand_most(network, j)
    return bound


def _dc_can_be_impaired(network: Network, n: int) -> bool:
    shocked = set(network.rshock_region.tolist())
    # scripted events (when the network has them): capacity caps per day and node
    event_cap = getattr(network, "event_node_cap", np.ones((0, 0)))
    return (
        not math.isinf(network.node_capacity[n])
        or network.node_fail_p[n] > 0.0
        or int(network.node_region[n]) in shocked
        or bool(event_cap.shape[0] and (event_cap[:, n] < 1.0).any())
    )


def dc_daily_demand_most(network: Network, j: int) -> float:
    """The largest demand dc ``j`` can see in a day: the top of its largest Poisson table
    (surges, scripted ones included), or its mean times the largest multiplier."""
    lengths = np.diff(network.table_cdf_ptr)
    # the first of the extra tables a scripted surge draws a dc's demand from
    event_table = getattr(network, "event_dc_table", np.zeros((0, 0), np.int64))
    first, stop = int(network.dc_table_ptr[j]), int(network.dc_table_ptr[j + 1])
    tables = set(range(first, stop))
    if event_table.shape[0]:
        for start in np.unique(event_table[:, j]).tolist():
            tables.update(range(start, start + stop - first))
    if network.dc_poisson[j]:
        # a table of a time-varying or negative-binomial dc starts at demand table_lo
        lo = getattr(network, "table_lo", np.zeros(len(lengths), np.int64))
        return float(max(lengths[t] - 1 + lo[t] for t in tables))
    return float(network.dc_mean[j] * max(network.table_mult[t] for t in tables))


def node_metric_bounds(network: Network) -> np.ndarray:
    """[N, N_NODE_METRICS] the most each per-node metric of a path can be: the top edges
    of the per-node summary histograms (docs/results-format.md, "Per-node summaries").

    Mean on hand: the levels S of the node's stock points (on hand never exceeds S plus
    a backlog, :func:`on_hand_bound`; with ordering policies or push plants, whose stock
    can exceed its starting level, the network's whole on-hand bound), plus horizon x its most daily demand for a dc that
    can keep a backlog; impaired and stockout days: the horizon; a dc's demanded, filled
    and lost units: horizon x its most daily demand (0 for other nodes).
    """
    N = network.node_kind.shape[0]
    T = float(network.horizon)
    hi = np.zeros((N, N_NODE_METRICS))
    if network.pol_kind.shape[0] or network.push_node.shape[0]:
        # an ordering policy's lots and a push plant's finished goods can lift a stock
        # point above its starting level: the network's on-hand bound holds for any node
        hi[:, N_ON_HAND] = on_hand_bound(network)
    else:
        np.add.at(hi[:, N_ON_HAND], network.pos_node, network.pos_order_up_to)
    hi[:, N_IMPAIRED] = T
    hi[:, N_STOCKOUT] = T
    for j, n in enumerate(network.dc_node.tolist()):
        units = T * dc_daily_demand_most(network, j)
        hi[n, [N_DEMAND, N_FILLED, N_LOST]] = units
        if network.backorder and _dc_can_be_impaired(network, n):
            hi[n, N_ON_HAND] += units
    return hi


def guide_table(cdf: np.ndarray) -> np.ndarray:
    """guide[i] = first k with cdf[k] > i / size, size = GUIDE_RESOLUTION x len(cdf):
    inversion of u then starts at guide[floor(u x size)], which is rarely too low."""
    size = len(cdf) * GUIDE_RESOLUTION
    thresholds = np.arange(size, dtype=np.float64) / size
    return np.searchsorted(cdf, thresholds, side="right").astype(np.int32)


def strategies_json(compiled: list[CompiledStrategy]) -> str:
    return json.dumps({c.name: c.describe() for c in compiled}, sort_keys=True)


# ----------------------------------------------------------------------------- scripted events


def _event_fields(scenario: Scenario, events: tuple[Event, ...], fields: dict) -> dict[str, Any]:
    """Per-day arrays of the scripted ``events`` (docs/model.md, "Scripted events"), and
    the fields they extend: a longer pipeline for extra lead days, and the Poisson tables
    of every (random surges, scripted surges) combination a dc meets. Without events of a
    kind its arrays have shape (0, ...) and nothing else changes."""
    T = int(scenario.horizon_days)
    nodes = scenario.nodes
    N, A, D = len(nodes), len(scenario.lanes), len(fields["dc_node"])
    kinds = {e.kind for e in events}
    out: dict[str, Any] = {"has_events": bool(events)}
    cap = np.ones((T if kinds & {"node_outage", "regional_shock"} else 0, N))
    extra = np.zeros((T if "lane_disruption" in kinds else 0, A), np.int64)
    closed = np.zeros((T if "lane_disruption" in kinds else 0, A), np.bool_)
    lane_index = {lane.key: a for a, lane in enumerate(scenario.lanes)}
    for e in events:
        days = slice(e.start_day, min(e.end_day, T))
        if e.kind in ("node_outage", "regional_shock"):
            hit = [i for i, n in enumerate(nodes) if n.name == e.node or n.region == e.region]
            for i in hit:  # the harshest fraction applies, as among regional shocks
                cap[days, i] = np.minimum(cap[days, i], e.capacity_fraction)
        elif e.kind == "lane_disruption":
            for key in e.lanes:
                extra[days, lane_index[key]] += e.extra_lead_time_days
                closed[days, lane_index[key]] |= e.closed
    out["event_node_cap"] = np.ascontiguousarray(cap)
    out["event_lane_extra"] = np.ascontiguousarray(extra)
    out["event_lane_closed"] = np.ascontiguousarray(closed)
    out.update(_event_tables(scenario, events, fields, T, D))
    return out


def _event_tables(
    scenario: Scenario, events: tuple[Event, ...], fields: dict, T: int, D: int
) -> dict[str, Any]:
    """``event_dc_table`` [T, D]: the first table (mask 0) to draw dc j's demand from on
    day t. A day without a scripted surge on j uses j's own tables; each distinct
    combination of scripted surges active together gets 2**k more tables (one per mask
    of j's k random surges) appended to the table arrays, of multiplier (random surges'
    product, in bit order) x each scripted multiplier in event order, so that the kernel
    draws Poisson(mean x multiplier) as the reference computes it."""
    surges = [(i, e) for i, e in enumerate(events) if e.kind == "demand_surge"]
    if not surges:
        return {"event_dc_table": np.zeros((0, D), np.int64)}
    nodes = scenario.nodes
    dcs = [i for i, n in enumerate(nodes) if n.kind == "dc"]
    table_ptr = fields["dc_table_ptr"]
    table_mult = list(fields["table_mult"])
    lengths = list(np.diff(fields["table_cdf_ptr"]))
    cdf_parts = [fields["table_cdf"]]
    guide_parts = [fields["table_guide"]]
    n_tables = int(table_ptr[-1])
    table = np.empty((T, D), np.int64)
    for j, i in enumerate(dcs):
        node = nodes[i]
        demand = node.demand
        mean = demand.mean_per_day if demand else 0.0
        poisson = demand is not None and demand.distribution == "poisson"
        base = [table_mult[t] for t in range(table_ptr[j], table_ptr[j + 1])]
        first: dict[tuple[int, ...], int] = {(): int(table_ptr[j])}
        mine = [(k, e) for k, e in surges if node.name in e.dcs]
        # the combination of active surges changes only where one starts or ends
        cuts = sorted({0, T, *(min(d, T) for _, e in mine for d in (e.start_day, e.end_day))})
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            combo = tuple(k for k, e in mine if e.start_day <= lo < e.end_day)
            if combo not in first:
                first[combo] = n_tables
                for mult in base:
                    for k in combo:
                        mult *= events[k].multiplier
                    cdf = poisson_cdf(mean * mult) if poisson else np.ones(1)
                    table_mult.append(mult)
                    lengths.append(len(cdf))
                    cdf_parts.append(cdf)
                    guide_parts.append(guide_table(cdf))
                    n_tables += 1
            table[lo:hi, j] = first[combo]
    return {
        "event_dc_table": table,
        "table_mult": _f(table_mult),
        "table_cdf_ptr": _ptr(lengths),
        "table_cdf": _f(np.concatenate(cdf_parts)),
        "table_guide": _i(np.concatenate(guide_parts), np.int32),
    }


def _lane_capacity_rows(fields: dict) -> dict[str, np.ndarray]:
    """``capped_lane`` and ``lane_cap_row`` (see Network): the lanes whose capacity can
    bind on some day, in lane order, each with a row; every other lane gets row C."""
    closable = fields["event_lane_closed"].any(axis=0)  # [0, A] without events: all False
    capped = np.flatnonzero(np.isfinite(fields["lane_capacity"]) | closable)
    rows = np.full(len(fields["lane_capacity"]), len(capped), np.int64)
    rows[capped] = np.arange(len(capped))
    return {"capped_lane": _i(capped), "lane_cap_row": _i(rows)}


def _longest_lead_times(fields: dict) -> np.ndarray:
    """[A] each lane's longest possible lead time: its longest value, every lane shock
    covering it at once and the most extra days a scripted event gives it."""
    longest = fields["lane_lead_time"].astype(np.int64)
    ptr, idx, extra = fields["lane_shock_ptr"], fields["lane_shock_idx"], fields["lshock_extra"]
    for a in range(len(longest)):
        longest[a] += int(extra[idx[ptr[a] : ptr[a + 1]]].sum())
    if fields["event_lane_extra"].shape[0]:
        longest += fields["event_lane_extra"].max(axis=0)
    return longest


def _pipeline_rings(fields: dict) -> np.ndarray:
    """``pos_pipe_ptr`` [P+1]: each stock point's ring is one row longer than the longest
    lead time of anything shipped to it (its active lanes, its emergency source), so an
    arrival never lands on a row still holding an earlier one; a stock point nothing is
    shipped to gets one row, which stays empty (a push plant's finished goods, numbered
    after the points pos_exp_lead covers)."""
    longest = _longest_lead_times(fields)
    src_ptr, src_lane, exp_lead = fields["pos_src_ptr"], fields["src_lane"], fields["pos_exp_lead"]
    rows = []
    for p in range(len(fields["pos_node"])):
        most = max((int(longest[a]) for a in src_lane[src_ptr[p] : src_ptr[p + 1]]), default=0)
        rows.append(max(most, int(exp_lead[p]) if p < len(exp_lead) else 0) + 1)
    return _ptr(rows)


def _trace_fields(scenario: Scenario, events: tuple[Event, ...], fields: dict) -> dict[str, Any]:
    """What the kernel needs to trace a shortage to its disruption (docs/model.md, "Time
    to survive and shortage duration"): each dc's upstream nodes and lane shocks over the
    strategy's active lanes, its pipeline time, and the onsets of scripted lane and
    demand events that bear on it."""
    T = int(scenario.horizon_days)
    nodes = scenario.nodes
    N, A = len(nodes), len(scenario.lanes)
    pos_node, pos_src_ptr, src_lane = fields["pos_node"], fields["pos_src_ptr"], fields["src_lane"]
    lane_src = fields["lane_src_node"]
    lanes_into: list[list[int]] = [[] for _ in range(N)]  # active lanes into node n
    for p in range(len(pos_node)):
        lanes_into[int(pos_node[p])].extend(
            int(a) for a in src_lane[pos_src_ptr[p] : pos_src_ptr[p + 1]]
        )
    # a lane's weight: days from a source's shipment to the first day it can serve, with
    # every lane shock and the most scripted extra days on it
    weight = _longest_lead_times(fields) + (fields["lane_lead_time"] == 0)
    window = [0] * N  # the longest path of lane weights into each node
    for n in reversed(fields["processing_order"].tolist()):  # every source before its buyers
        window[n] = max(
            (int(weight[a]) + window[int(lane_src[a])] for a in lanes_into[n]), default=0
        )
    covering: list[list[int]] = [[] for _ in range(A)]
    lane_index = {lane.key: a for a, lane in enumerate(scenario.lanes)}
    for k, shock in enumerate(scenario.lane_shocks):
        for key in shock.lanes:
            covering[lane_index[key]].append(k)
    dcs = [int(n) for n in fields["dc_node"]]
    up_nodes, up_shocks, windows, up_lanes = [], [], [], []
    for j in dcs:
        seen, stack = {j}, [j]
        while stack:
            m = stack.pop()
            for a in lanes_into[m]:
                src = int(lane_src[a])
                if src not in seen:
                    seen.add(src)
                    stack.append(src)
        lanes = sorted({a for m in seen for a in lanes_into[m]})
        up_nodes.append(sorted(seen))
        up_lanes.append(lanes)
        up_shocks.append(sorted({k for a in lanes for k in covering[a]}))
        windows.append(window[j])
    lane_keys = {a: lane.key for a, lane in enumerate(scenario.lanes)}
    bearing = [e for e in events if e.kind in ("lane_disruption", "demand_surge")]
    onset = np.full((T if bearing else 0, len(dcs)), -1, np.int64)
    for j, n in enumerate(dcs):
        keys = {lane_keys[a] for a in up_lanes[j]}
        for e in bearing:
            if e.kind == "demand_surge" and nodes[n].name not in e.dcs:
                continue
            if e.kind == "lane_disruption" and keys.isdisjoint(e.lanes):
                continue
            last = min(e.end_day, T) - 1
            days = slice(e.start_day, min(last + windows[j] + 1, T))
            onset[days, j] = np.maximum(onset[days, j], e.start_day)
    return {
        "dc_up_ptr": _ptr([len(u) for u in up_nodes]),
        "dc_up_node": _i([n for u in up_nodes for n in u]),
        "dc_up_lshock_ptr": _ptr([len(u) for u in up_shocks]),
        "dc_up_lshock": _i([k for u in up_shocks for k in u]),
        "dc_window": _i(windows),
        "event_dc_onset": onset,
    }


def _without_random_disruptions(fields: dict) -> dict[str, np.ndarray]:
    """``random_disruptions: false``: every random chain compiled as one that never
    starts. Random numbers are keyed by (seed, path, purpose, entity, day), so no other
    draw changes: a path's demand is the same draw with the random processes on or off."""
    return {
        name: np.zeros_like(fields[name])
        for name in ("node_fail_p", "rshock_start", "lshock_start", "surge_start")
    }


def _can_impair(fields: dict) -> np.ndarray:
    """Nodes whose availability can fall below 1: an outage chain that can fail, a region
    with a shock that can start, or a scripted outage (the kernel tracks only their
    impairment spells)."""
    shocked = np.unique(fields["rshock_region"][fields["rshock_start"] > 0.0])
    can = (fields["node_fail_p"] > 0.0) | np.isin(fields["node_region"], shocked)
    if fields["event_node_cap"].shape[0]:
        can |= (fields["event_node_cap"] < 1.0).any(axis=0)
    return np.ascontiguousarray(can, dtype=np.bool_)


# ----------------------------------------------------------------------------- push production


def _production_fields(
    scenario: Scenario, strategy: Strategy, sourcing: dict[tuple[str, str], Sourcing], fields: dict
) -> dict[str, Any]:
    """Push plants (docs/model.md, "Push production"): a finished-goods stock point per
    push plant, appended after every other stock point (starting stock: its
    initial_stock; the plant's holding rate), that its buyers ship from as from a dc's
    stock, and the day-by-day plan. Without push plants only node_material_kind is new
    (the node kinds) and every other field is left as it was."""
    T = int(scenario.horizon_days)
    plans = production_plans(scenario, strategy, sourcing)
    kind = fields["node_kind"].copy()
    out: dict[str, Any] = {
        "node_material_kind": kind,
        "push_node": _i([]),
        "push_fg_pos": _i([]),
        "push_storage_cap": _f([]),
        "push_plan": np.zeros((0, 0)),
    }
    if not plans:
        return out
    P = len(fields["pos_node"])
    push_node, push_pos, caps, starts = [], [], [], []
    node_out_pos = fields["node_out_pos"].copy()
    for i, (n, production, _) in enumerate(plans):
        kind[n] = 2
        node_out_pos[n] = P + i
        push_node.append(n)
        push_pos.append(P + i)
        caps.append(production.storage_cap)
        starts.append(production.initial_stock)
    holding = [scenario.nodes[n].holding_cost_per_unit_day for n in push_node]
    bound = sum(finished_goods_bound(p, plan) for _, p, plan in plans)
    src_ptr = fields["pos_src_ptr"]
    out.update(
        {
            "node_out_pos": _i(node_out_pos),
            "push_node": _i(push_node),
            "push_fg_pos": _i(push_pos),
            "push_storage_cap": _f(caps),
            "push_plan": np.ascontiguousarray(np.stack([plan for _, _, plan in plans], axis=1)),
            "pos_node": _i([*fields["pos_node"], *push_node]),
            "pos_order_up_to": _f([*fields["pos_order_up_to"], *starts]),
            "pos_holding_cost": _f([*fields["pos_holding_cost"], *holding]),
            "pos_bom_qty": _f([*fields["pos_bom_qty"], *([1.0] * len(plans))]),
            "pos_mode": _i([*fields["pos_mode"], *([0] * len(plans))]),
            "pos_src_ptr": _i([*src_ptr, *([src_ptr[-1]] * len(plans))]),
            # on hand tops out at the levels S plus what the plants can hold
            "on_hand_max": float(max(fields["on_hand_max"] + bound, 1.0)),
        }
    )
    assert out["push_plan"].shape == (T, len(plans))
    return out


# ----------------------------------------------------------------------------- issue-14 demand


def nb_cdf(mean: float, variance_to_mean: float) -> np.ndarray:
    """CDF of the negative binomial of ``mean`` and variance ``variance_to_mean`` x mean
    (r = mean / (v - 1) successes of probability 1 / v) at k = 0..K, last entry forced
    to 1; K (:func:`~resilience.scenario.queries.nb_table_top`) leaves a tail below 1e-20.

    Raises
    ------
    ScenarioError
        Past ``MAX_POISSON_TABLE`` entries (validation refuses such a scenario first).
    """
    if mean <= 0:
        return np.ones(1)
    top_k = nb_table_top(mean, variance_to_mean)
    if not top_k + 1 <= MAX_POISSON_TABLE:
        raise ScenarioError(
            f"a negative binomial demand of mean {mean:g} and variance-to-mean "
            f"{variance_to_mean:g} needs a table of {top_k + 1:.3g} entries, the limit is "
            f"{MAX_POISSON_TABLE:g}"
        )
    r = mean / (variance_to_mean - 1.0)
    p = 1.0 / variance_to_mean
    k = np.arange(int(top_k) + 1, dtype=np.float64)
    lg = np.array([math.lgamma(x + r) - math.lgamma(x + 1.0) for x in k])
    log_pmf = lg - math.lgamma(r) + r * math.log(p) + k * math.log1p(-p)
    cdf = np.minimum(np.cumsum(np.exp(log_pmf)), 1.0)
    cdf[-1] = 1.0
    return cdf


def demand_cdf(demand: Demand, mean: float) -> np.ndarray:
    """The table a dc draws a day of ``mean`` from: Poisson or negative binomial."""
    if demand.distribution == "negative_binomial":
        return nb_cdf(mean, demand.variance_to_mean)
    return poisson_cdf(mean)


def _demand_variation_fields(
    scenario: Scenario, events: tuple[Event, ...], fields: dict
) -> dict[str, Any]:
    """Issue-14 demand (docs/model.md, "Demand beyond stationary Poisson"): when some dc
    has a time-varying or a negative-binomial demand, every dc's tables are rebuilt as
    one block of 2**k tables (a table per mask of its k random surges) per distinct
    (daily mean, scripted surges active) pair, and ``event_dc_table`` [T, D] names each
    day's block, so the kernel still draws one uniform and reads one table a dc-day.
    A time-varying dc gets dc_mean 1 and table_mult = daily mean x multiplier, so
    deterministic demand is mean(t) x m exactly as the reference computes it. Nothing
    changes (no field returned) without such a dc."""
    nodes = scenario.nodes
    dcs = [i for i, n in enumerate(nodes) if n.kind == "dc"]
    demands = [nodes[i].demand for i in dcs]
    if not any(
        d is not None and (d.varies or d.distribution == "negative_binomial") for d in demands
    ):
        return {"table_lo": np.zeros(len(fields["table_mult"]), np.int64)}
    T, D = int(scenario.horizon_days), len(dcs)
    covering = surge_multipliers(scenario)
    surges = [(k, e) for k, e in enumerate(events) if e.kind == "demand_surge"]
    table_mult: list[float] = []
    cdf_parts: list[np.ndarray] = []
    table_lo: list[int] = []
    table = np.empty((T, D), np.int64)

    def block(demand: Demand | None, mean: float, varying: bool, base, combo) -> int:
        first = len(table_mult)
        for mult in base:
            for k in combo:
                mult *= events[k].multiplier
            draws = demand is not None and demand.distribution != "deterministic"
            if not draws:
                lo, cdf = 0, np.ones(1)
            elif varying or demand.distribution == "negative_binomial":
                lo, cdf = demand_table(demand, mean * mult)
            else:  # a stationary Poisson dc keeps its table from 0, as without variation
                lo, cdf = 0, poisson_cdf(mean * mult)
            cdf_parts.append(cdf)
            table_lo.append(lo)
            table_mult.append(mean * mult if varying else mult)
        if sum(len(c) for c in cdf_parts) > MAX_POISSON_ENTRIES:
            raise ScenarioError(
                f"the demand tables need more than {MAX_POISSON_ENTRIES:g} entries: "
                "fewer distinct daily means (a coarser series, no trend) or a shorter horizon"
            )
        return first

    days: list[list[tuple[float, tuple[int, ...]]]] = []
    firsts: list[dict] = []
    for j, i in enumerate(dcs):
        demand = demands[j]
        means = daily_demand_means(demand, T)
        mean = demand.mean_per_day if demand is not None else 0.0
        mine = [(k, e) for k, e in surges if nodes[i].name in e.dcs]
        days.append(
            [
                (
                    mean if means is None else means[t],
                    tuple(k for k, e in mine if e.start_day <= t < e.end_day),
                )
                for t in range(T)
            ]
        )
        firsts.append({})
    # each dc's day-0 block first, contiguous: dc_table_ptr keeps naming a block per dc
    for j in range(D):
        demand = demands[j]
        varying = demand is not None and demand.varies
        key = days[j][0]
        firsts[j][key] = block(demand, key[0], varying, covering[j][1], key[1])
    counts = [len(covering[j][1]) for j in range(D)]
    for j in range(D):
        demand = demands[j]
        varying = demand is not None and demand.varies
        for t, key in enumerate(days[j]):
            if key not in firsts[j]:
                firsts[j][key] = block(demand, key[0], varying, covering[j][1], key[1])
            table[t, j] = firsts[j][key]
    draws = [d is not None and d.distribution != "deterministic" for d in demands]
    return {
        "dc_poisson": np.ascontiguousarray(draws, dtype=np.bool_).reshape(-1),
        "dc_mean": _f(
            [1.0 if d is not None and d.varies else (d.mean_per_day if d else 0.0) for d in demands]
        ),
        "dc_table_ptr": _ptr(counts),
        "event_dc_table": table,
        "table_mult": _f(table_mult),
        "table_cdf_ptr": _ptr([len(c) for c in cdf_parts]),
        "table_cdf": _f(np.concatenate(cdf_parts)),
        "table_guide": _i(np.concatenate([guide_table(c) for c in cdf_parts]), np.int32),
        "table_lo": _i(table_lo),
    }


def demand_table(demand: Demand, mean: float) -> tuple[int, np.ndarray]:
    """(lo, cdf) of a time-varying or negative-binomial day of ``mean``: the table from
    demand lo = :func:`~resilience.scenario.queries.demand_table_bottom` on (below it
    the CDF is under 1e-20, so only a uniform of exactly 0 could draw there; it draws
    lo), so a large mean's table holds its central mass only."""
    cdf = demand_cdf(demand, mean)
    lo = int(demand_table_bottom(mean, demand.variance_to_mean))
    return lo, np.ascontiguousarray(cdf[lo:])


# ----------------------------------------------------------------------------- issue-14 lead times


def lead_time_cdf(lead: LeadTime) -> np.ndarray:
    """CDF over a stochastic lead time's values (in their order), the last entry 1: a
    shipment's uniform u picks the first value whose entry is above u."""
    cdf = np.minimum(np.cumsum(np.asarray(lead.probs, dtype=np.float64)), 1.0)
    cdf[-1] = 1.0
    return cdf


def _lead_time_fields(scenario: Scenario) -> dict[str, np.ndarray]:
    """The stochastic lead times of the lanes (0-length arrays when every lane has a
    fixed one, so the kernel draws nothing)."""
    counts, cdf, delta = [], [], []
    for lane in scenario.lanes:
        if lane.lead_time is None:
            counts.append(0)
            continue
        counts.append(len(lane.lead_time.values))
        cdf.extend(lead_time_cdf(lane.lead_time).tolist())
        delta.extend(v - lane.lead_time_days for v in lane.lead_time.values)
    return {"lane_lt_ptr": _ptr(counts), "lane_lt_cdf": _f(cdf), "lane_lt_delta": _i(delta)}


# ----------------------------------------------------------------------------- issue-14 quality


def binomial_chunk(fraction: float) -> int:
    """Units per Binomial chunk at ``fraction``: the most m with (1 - f)^m >= e^-600, so
    the inversion's p_0 = (1 - f)^m never underflows (docs/model.md, "Quality and jidoka")."""
    if not 0.0 < fraction < 1.0:
        return 1
    # a fraction so small that 600 / -log(1 - f) overflows: one chunk holds any shipment
    # (at most MAX_BINOMIAL_UNITS are drawn), so 2**53 is as good as infinity
    return max(1, int(math.floor(min(600.0 / -math.log1p(-fraction), 2.0**53))))


def defect_entries(scenario: Scenario) -> tuple[list[int], list[tuple[int, Defects]]]:
    """Each lane's defect entry (-1: none) and the entries (rng entity, defects): a lane's
    own defects (entity: the lane's index), else its source plant's (entity: lanes +
    the plant's node index, one incident chain shared by the plant's lanes)."""
    nodes = {n.name: (i, n) for i, n in enumerate(scenario.nodes)}
    A = len(scenario.lanes)
    entries: list[tuple[int, Defects]] = []
    index: dict[int, int] = {}
    lane_entry = []
    for a, lane in enumerate(scenario.lanes):
        i, source = nodes[lane.source]
        if lane.defects is not None:
            entity, defects = a, lane.defects
        elif source.kind == "plant" and source.defects is not None:
            entity, defects = A + i, source.defects
        else:
            lane_entry.append(-1)
            continue
        if entity not in index:
            index[entity] = len(entries)
            entries.append((entity, defects))
        lane_entry.append(index[entity])
    return lane_entry, entries


def expedite_of(scenario: Scenario, strategy: Strategy, at: str, item: str):
    """The expediting of a stock point: the strategy's first entry for it (its item, or
    every item at ``at``), else the scenario's; None without one."""
    for entries in (strategy.expedite, scenario.expedite):
        for e in entries:
            if e.at == at and e.item in (item, None):
                return e
    return None


def _quality_fields(
    scenario: Scenario, strategy: Strategy, sourcing: dict[tuple[str, str], Sourcing], fields: dict
) -> dict[str, Any]:
    """Network fields of defects, jidoka and expediting; length 0 for an unused feature."""
    out: dict[str, Any] = {}
    lane_entry, entries = defect_entries(scenario)
    if entries:
        # a null entry (fraction 0, no incident) for the lanes without defects, so the
        # kernel's lane loop loads every entry field unconditionally; its chain entity is
        # one no real entry has (lanes + nodes), and it never starts
        null = len(entries)
        lane_entry = [null if e < 0 else e for e in lane_entry]
        entries = [*entries, (len(scenario.lanes) + len(scenario.nodes), Defects(0.0))]
        incidents = [d.incident for _, d in entries]
        out.update(
            lane_defect=_i(lane_entry),
            defect_fraction=_f([d.fraction for _, d in entries]),
            defect_binomial=np.array([d.binomial for _, d in entries], np.bool_),
            defect_chunk=_i([binomial_chunk(d.fraction) for _, d in entries]),
            defect_inc_start=_f([c.start_probability if c else 0.0 for c in incidents]),
            defect_inc_end=_f([c.end_probability if c else 1.0 for c in incidents]),
            defect_inc_fraction=_f(
                [
                    c.fraction if c else d.fraction
                    for c, (_, d) in zip(incidents, entries, strict=True)
                ]
            ),
            defect_inc_chunk=_i(
                [
                    binomial_chunk(c.fraction if c else d.fraction)
                    for c, (_, d) in zip(incidents, entries, strict=True)
                ]
            ),
            defect_scrap_cost=_f([d.scrap_cost_per_unit for _, d in entries]),
            defect_entity=_i([entity for entity, _ in entries]),
        )
    else:
        out.update(
            lane_defect=_i([]),
            defect_fraction=_f([]),
            defect_binomial=np.zeros(0, np.bool_),
            defect_chunk=_i([]),
            defect_inc_start=_f([]),
            defect_inc_end=_f([]),
            defect_inc_fraction=_f([]),
            defect_inc_chunk=_i([]),
            defect_scrap_cost=_f([]),
            defect_entity=_i([]),
        )
    nodes = scenario.nodes
    # jidoka only acts on incoming defects: without any, a line can never stop
    if entries and any(n.kind == "plant" and n.jidoka is not None for n in nodes):
        out["node_jidoka_threshold"] = _f(
            [n.jidoka.threshold if n.jidoka and n.kind == "plant" else math.inf for n in nodes]
        )
        out["node_jidoka_recover"] = _f(
            [n.jidoka.recovery_probability if n.jidoka else 1.0 for n in nodes]
        )
    else:
        out["node_jidoka_threshold"] = _f([])
        out["node_jidoka_recover"] = _f([])
    threshold = out["node_jidoka_threshold"]
    out["pos_jidoka"] = np.array(
        [bool(threshold.shape[0]) and threshold[n] != math.inf for n in fields["pos_node"]],
        np.bool_,
    )
    positions = stock_points(scenario)
    chosen = [expedite_of(scenario, strategy, at, item) for at, item in positions]
    if any(e is not None and e.capacity_per_day > 0 for e in chosen):
        outflow = expected_outflow(scenario, sourcing)
        trigger = []
        for (at, item), e in zip(positions, chosen, strict=True):
            if e is None or e.below_units is None and e.below_days is None:
                trigger.append(-math.inf)
            elif e.below_units is not None:
                trigger.append(float(e.below_units))
            else:
                trigger.append(float(e.below_days) * outflow[(at, item)])
        out.update(
            pos_exp_capacity=_f([e.capacity_per_day if e else 0.0 for e in chosen]),
            pos_exp_trigger=_f(trigger),
            pos_exp_down=np.array([bool(e and e.when_sources_down) for e in chosen], np.bool_),
            pos_exp_lead=_i([e.lead_time_days if e else 0 for e in chosen]),
            pos_exp_premium=_f([e.unit_premium if e else 0.0 for e in chosen]),
        )
        out["has_expedite"] = True
    else:  # [P] all the same (capacity 0: none), so the kernel loads them without a branch
        P = len(positions)
        out["has_expedite"] = False
        out.update(
            pos_exp_capacity=np.zeros(P),
            pos_exp_trigger=np.full(P, -math.inf),
            pos_exp_down=np.zeros(P, np.bool_),
            pos_exp_lead=np.zeros(P, np.int64),
            pos_exp_premium=np.zeros(P),
        )
    return out
