"""Compile a validated scenario + one strategy into flat numpy arrays for the kernels.

Nothing after this module sees Python objects: the kernels take a ``Network`` (a
NamedTuple of contiguous arrays, integer ids) and scalars. Entity indices (nodes, DCs,
region shocks, lane shocks, surges) follow the scenario's declaration order and never
depend on the strategy, which is what makes common random numbers hold across strategies.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

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
# - GUIDE_RESOLUTION: guide-table entries per Poisson CDF entry: with 8, a draw is
#   resolved by the guide in ~7 cases of 8, so the search loop's branch is predictable
#   (measured 12% of kernel time with 1 entry per CDF entry).
from resilience.kernels.simulate import (
    FILL_BINS,
    FILL_FIXED_POINT,
    GUIDE_RESOLUTION,
    ON_HAND_FIXED_POINT,
    UNIT_EPS,
)
from resilience.scenario.model import Node, Scenario, Sourcing, Strategy
from resilience.scenario.queries import (
    processing_order,
    resolve_sourcing,
    stock_points,
    stock_policy,
)

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
    "expected_outflow",
    "guide_table",
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
    pipeline_len: int  # ring buffer length: longest possible lead time + 1
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

    def describe(self) -> dict:
        """JSON-ready resolved definition, stored in result metadata."""
        return {"order_up_to": self.order_up_to, "sourcing": self.sourcing}


def _f(values) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


def _i(values) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.int64).reshape(-1))


def _ptr(counts) -> np.ndarray:
    return _i(np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))]))


def expected_outflow(
    scenario: Scenario, sourcing: dict[tuple[str, str], Sourcing]
) -> dict[tuple[str, str], float]:
    """Mean daily outflow of each stock point: DC demand propagated up by shares and BOMs."""
    nodes = {n.name: n for n in scenario.nodes}
    made = {n.name: 0.0 for n in scenario.nodes}  # units a node ships per day
    outflow = {key: 0.0 for key in stock_points(scenario)}
    for i in processing_order(scenario):
        node = scenario.nodes[i]
        if node.kind == "dc":
            key = (node.name, node.item)
            outflow[key] += made[node.name] + (node.demand.mean_per_day if node.demand else 0.0)
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


def compile_strategy(scenario: Scenario, strategy: Strategy | str) -> CompiledStrategy:
    """Flatten ``scenario`` under ``strategy`` into a ``CompiledStrategy``."""
    if isinstance(strategy, str):
        strategy = scenario.strategy(strategy)
    region_names = [r.name for r in scenario.regions]
    for n in scenario.nodes:
        if n.region not in region_names:
            region_names.append(n.region)
    region_index = {r: i for i, r in enumerate(region_names)}
    sourcing = resolve_sourcing(scenario, strategy)
    stock = _stock_point_fields(scenario, strategy, sourcing)
    network = Network(
        horizon=int(scenario.horizon_days),
        backorder=scenario.demand_mode == "backorder",
        n_regions=len(region_names),
        **_node_fields(scenario, region_index),
        **stock.fields,
        **_lane_fields(scenario),
        **_dc_fields(scenario),
        **_shock_fields(scenario, region_index),
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
        level = _order_up_to(scenario, strategy, at, item, outflow[(at, item)], active)
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


def _order_up_to(
    scenario: Scenario,
    strategy: Strategy,
    at: str,
    item: str,
    outflow: float,
    active: list[tuple[int, float]],
) -> float:
    """Level S of a stock point: as given, or mean outflow x (longest active lead time,
    at least 1, + buffer days), rounded up."""
    policy = stock_policy(scenario, strategy, at, item)
    if policy.order_up_to is not None:
        return float(policy.order_up_to)
    lead = max((scenario.lanes[a].lead_time_days for a, _ in active), default=0)
    cover = max(lead, 1) + float(policy.buffer_days or 0.0)
    # ceil with a tolerance so 100 x 1.0 stays 100 despite binary round-off
    return float(math.ceil(outflow * cover - 1e-9))


def _lane_fields(scenario: Scenario) -> dict[str, Any]:
    """Per-lane arrays [A], the lane shocks covering each, and the pipeline length."""
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
    longest = max(
        (
            lane.lead_time_days + sum(lshocks[k].extra_lead_time_days for k in covering[a])
            for a, lane in enumerate(scenario.lanes)
        ),
        default=0,
    )
    return {
        "pipeline_len": int(longest) + 1,
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
    surges_of: list[list[int]] = [[] for _ in dcs]
    dc_slot = {nodes[i].name: j for j, i in enumerate(dcs)}
    for m, surge in enumerate(scenario.demand_surges):
        for name in surge.dcs:
            surges_of[dc_slot[name]].append(m)
    table_counts, table_mult, cdf_parts = [], [], []
    for j, i in enumerate(dcs):
        demand = nodes[i].demand
        mean = demand.mean_per_day if demand else 0.0
        poisson = demand is not None and demand.distribution == "poisson"
        k = len(surges_of[j])
        table_counts.append(2**k)
        for mask in range(2**k):
            mult = 1.0
            for b in range(k):
                if mask >> b & 1:
                    mult *= scenario.demand_surges[surges_of[j][b]].multiplier
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
        "table_guide": _i(table_guide),
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

    K = mean + 12 sd + 20, so the truncated tail mass is far below 1e-20; the pmf is
    computed in log space so large means do not underflow exp(-mean).
    """
    if mean <= 0:
        return np.ones(1)
    top = int(math.ceil(mean + 12.0 * math.sqrt(mean) + 20.0))
    k = np.arange(top + 1, dtype=np.float64)
    log_pmf = k * math.log(mean) - mean - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(np.exp(log_pmf))
    cdf = np.minimum(cdf, 1.0)
    cdf[-1] = 1.0
    return cdf


def guide_table(cdf: np.ndarray) -> np.ndarray:
    """guide[i] = first k with cdf[k] > i / size, size = GUIDE_RESOLUTION x len(cdf):
    inversion of u then starts at guide[floor(u x size)], which is rarely too low."""
    size = len(cdf) * GUIDE_RESOLUTION
    thresholds = np.arange(size, dtype=np.float64) / size
    return np.searchsorted(cdf, thresholds, side="right").astype(np.int64)


def strategies_json(compiled: list[CompiledStrategy]) -> str:
    return json.dumps({c.name: c.describe() for c in compiled}, sort_keys=True)
