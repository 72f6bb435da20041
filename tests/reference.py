"""A slow, obviously-correct reference simulator, written apart from the kernel.

It follows ``docs/model.md`` step by step, working from the typed scenario objects
(``resilience.model``) with plain Python floats, lists and dicts -- never from the
compiled arrays the kernel runs on. From ``resilience.compile`` it borrows only
things that are definitions rather than simulation: the order-up-to levels of a
strategy, the processing order of the nodes, the Poisson (and negative binomial) CDF
tables, a stochastic lead time's CDF and (from the scenario queries) a time-varying
demand's daily means.

Randomness is a pure-Python transcription of the keyed SplitMix64 generator described in
docs/model.md ("Randomness and reproducibility"), addressed by (seed, path, purpose,
entity, day), so the reference is fed the same random streams as the kernel. Entities:
node index in declaration order; region shocks flattened in region declaration order,
then shock order; lane shocks and demand surges in declaration order; demand keyed by
the DC's node index.

The arithmetic is written in the same order as the day's steps, so on the same random
streams the reference and the kernel agree bit for bit (tests/test_reference.py).

Scripted events are applied from the typed ``Event`` objects day by day (never from the
compiled per-day arrays), and ``random_disruptions: false`` is implemented the other way
round from the compiler: the random chains still run on their streams and only their
effect is ignored. Shortages are traced to their disruption (time-to-survive) from
spells recorded day by day and from upstream sets and pipeline times worked out here
from the sourcing, apart from the compiler's.

Push plants (docs/model.md, "Push production") get their plans from the typed
``Production`` objects; the finished goods are a stock point (plant, its item) after
every other, and the forecast rate is the one definition borrowed
(``resilience.scenario.production.plant_flow``).
"""

from __future__ import annotations

import math

from resilience.compiler import (
    compile_strategy,
    demand_table,
    lead_time_cdf,
    poisson_cdf,
    processing_order,
)
from resilience.kernels.simulate import MAX_BINOMIAL_UNITS
from resilience.scenario.model import Event, Lane, Node, Production, Scenario, Sourcing, Strategy
from resilience.scenario.production import plant_flow
from resilience.scenario.queries import daily_demand_means, expected_outflow

# ----------------------------------------------------------------------------- randomness

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
PURPOSE_MULT = 0xC2B2AE3D27D4EB4F
ENTITY_MULT = 0x165667B19E3779F9

# Purposes (one family of streams per kind of random event).
REGION_SHOCK = 1
NODE_CHAIN = 2
NODE_DURATION = 3
NODE_DURATION_2 = 4  # the second uniform of a lognormal (Box-Muller) duration
LANE_SHOCK = 5
DEMAND_SURGE = 6
DEMAND = 7
LEAD_TIME = 8  # issue-14: a stochastic lead time, per lane and day
# issue-14 quality
DEFECT = 9
QUALITY_INCIDENT = 10
JIDOKA = 11


def mix64(z: int) -> int:
    """SplitMix64's output function on a Python int, wrapped to 64 bits."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def path_key(seed: int, path: int) -> int:
    """SplitMix64 output number ``path + 1`` of the stream seeded ``seed``."""
    return mix64(seed + GOLDEN * (path + 1))


def stream_key(pkey: int, purpose: int, entity: int) -> int:
    spread = (purpose * PURPOSE_MULT + (entity + 1) * ENTITY_MULT) & MASK64
    return mix64(pkey ^ spread)


def uniform(skey: int, day: int) -> float:
    """SplitMix64 output number ``day + 1`` of state ``skey``, top 53 bits, in [0, 1)."""
    return (mix64(skey + GOLDEN * (day + 1)) >> 11) * 2.0**-53


class Stream:
    """U(seed, path, purpose, entity, day) for fixed (seed, path, purpose, entity)."""

    def __init__(self, seed: int, path: int, purpose: int, entity: int) -> None:
        self.key = stream_key(path_key(seed, path), purpose, entity)

    def __call__(self, day: int) -> float:
        return uniform(self.key, day)


# ----------------------------------------------------------------------------- the network


def _resolve_sourcing(scenario: Scenario, strategy: Strategy) -> dict[tuple[str, str], Sourcing]:
    """Sourcing per stock point: the strategy's entry, else the base entry, else the single
    candidate lane with share 1 (several candidates with no entry is a schema error)."""
    entries = {(s.at, s.item): s for s in scenario.sourcing}
    for s in strategy.sourcing:
        entries[(s.at, s.item)] = s
    makes = {n.name: n.item for n in scenario.nodes}
    out = {}
    for at, item in _stock_points(scenario):
        if (at, item) in entries:
            out[(at, item)] = entries[(at, item)]
        else:
            sources = [
                lane.source
                for lane in scenario.lanes
                if lane.destination == at and makes[lane.source] == item
            ]
            assert len(sources) <= 1, "the schema requires a sourcing entry"
            out[(at, item)] = Sourcing(at, item, "split", {s: 1.0 for s in sources})
    return out


def _stock_points(scenario: Scenario) -> list[tuple[str, str]]:
    """Stock points (node, item): each dc's item, each plant's components (BOM order)."""
    points = []
    for node in scenario.nodes:
        if node.kind == "dc":
            points.append((node.name, node.item))
        elif node.kind == "plant":
            for component in node.bom:
                points.append((node.name, component))
    return points


def _outage_length(node: Node, u1: float, u2: float, cap: int) -> int:
    """D = ceil(X) >= 1 days for a heavy-tailed outage; X lognormal (median, sigma) by the
    Box-Muller transform of (u1, u2), or Pareto (min, alpha) by inversion of u1. An outage
    longer than the horizon is cut to ``cap`` (no difference inside the horizon)."""
    d = node.outage.duration
    try:  # Python raises where float arithmetic would give inf: any inf is "> cap"
        if d.distribution == "lognormal":
            z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
            x = d.median_days * math.exp(d.sigma * z)
        else:
            x = d.min_days * (1.0 - u1) ** (-1.0 / d.alpha)
    except OverflowError:
        x = math.inf
    if x > cap:
        return cap
    return max(1, math.ceil(x))


# ----------------------------------------------------------------------------- issue-14


def _issue14_demand(demand, means, t: int, mult: float, stream: Stream) -> float:
    """A day of time-varying (``means``: each day's mean, else None) or negative-binomial
    demand: the day's mean x the surges' multiplier, drawn by inverting its table with
    the day's one uniform, or exactly that when deterministic."""
    mean = demand.mean_per_day if means is None else means[t]
    if demand.distribution == "deterministic":
        return mean * mult
    lo, cdf = demand_table(demand, mean * mult)  # the CDF from demand lo on
    u = stream(t)
    k = 0
    while cdf[k] <= u:
        k += 1
    return float(k + lo)


def _lead_times(scenario: Scenario, seed: int, path: int):
    """lead(lane, t): a lane's lead time for a shipment dispatched on day t; a stochastic
    one drawn from the lane's stream (keyed by its declaration index) on day t."""
    streams = {
        lane.key: (Stream(seed, path, LEAD_TIME, a), lead_time_cdf(lane.lead_time))
        for a, lane in enumerate(scenario.lanes)
        if lane.lead_time is not None
    }

    def lead(lane: Lane, t: int) -> int:
        if lane.lead_time is None:
            return lane.lead_time_days
        stream, cdf = streams[lane.key]
        u = stream(t)
        k = 0
        while cdf[k] <= u:
            k += 1
        return lane.lead_time.values[k]

    return lead


def _outflow_limit(avail: float, capacity: float, cap_left: float, request: float) -> float:
    """What a node may still send out today for ``request``: nothing when DOWN; ``avail x
    request`` when partially limited with unlimited capacity; else what is left of its
    ``avail x capacity`` for the day (shared by everything it sends out)."""
    if avail <= 0.0:
        return 0.0
    if avail < 1.0 and capacity == math.inf:
        return avail * request
    return cap_left


def _chain(active: bool, u: float, start: float, end: float) -> bool:
    """A 2-state chain: inactive starts if u < start; active ends if u < end."""
    if active:
        return not u < end
    return u < start


def _policy_order(policy: dict, ip: float, order: float, t: int) -> float:
    """The order of a stock point at inventory position ``ip`` on day t under its
    ``policy`` (docs/model.md, "Ordering policies"); ``order`` is the base-stock one,
    S - IP. Then its minimum order quantity and its lot multiple."""
    kind = policy["type"]
    if kind == "s_S":
        order = policy["S"] - ip if ip <= policy["s"] else 0.0
    elif kind == "r_Q":
        r, Q = policy["r"], policy["Q"]
        order = (float(math.floor((r - ip) / Q)) + 1.0) * Q if ip <= r else 0.0
    elif kind == "R_S" and (t - policy["offset_days"]) % policy["review_days"] != 0:
        order = 0.0
    if order > 0:
        order = max(order, policy.get("min_order_qty", 0.0))
        lot = policy.get("lot_multiple", 0.0)
        if lot > 0:
            order = lot * max(1.0, float(math.ceil(order / lot - 1e-9)))
    return order


def _count_order(policy: dict, ships: list[float], m: dict) -> None:
    """An order is placed when something (beyond round-off) ships on it."""
    shipped = 0.0
    for x in ships:
        shipped += x
    if shipped > 1e-9:
        m["orders_placed"] += 1.0
        m["order_cost"] += policy["order_cost"]


def _active(event: Event, t: int) -> bool:
    return event.start_day <= t < event.end_day


def _upstream(node: str, feeders: dict[str, set[str]]) -> set[str]:
    """``node`` and every node with a path of active lanes into it."""
    seen, stack = {node}, [node]
    while stack:
        for src in feeders[stack.pop()]:
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen


def _pipeline_time(node: str, into: dict[str, list[tuple[str, int]]], memo: dict) -> int:
    """Longest path into ``node`` over active lanes, each weighing its days (see caller)."""
    if node not in memo:
        memo[node] = max((w + _pipeline_time(src, into, memo) for src, w in into[node]), default=0)
    return memo[node]


def _push_plants(
    scenario: Scenario, strategy: Strategy, sourcing: dict
) -> dict[str, tuple[Production, list[float]]]:
    """Push plants (docs/model.md, "Push production"), in declaration order: name ->
    (production, units planned on each day)."""
    T = scenario.horizon_days
    out = {}
    for node in scenario.nodes:
        if node.kind != "plant":
            continue
        production = strategy.production.get(node.name, node.production)
        if production is None or production.mode != "push":
            continue
        if production.plan == "level":
            plan = [production.rate_per_day] * T
        elif production.plan == "forecast":
            plan = [plant_flow(scenario, sourcing, node.name)] * T
        else:
            plan = [
                production.batch
                if t >= production.offset_days
                and (t - production.offset_days) % production.every_days == 0
                else 0.0
                for t in range(T)
            ]
        out[node.name] = (production, [float(x) for x in plan])
    return out


def _produce(
    push: dict, t: int, index_node: dict, on_hand: dict, avail: dict, cap_left: dict, m: dict
) -> None:
    """Step 4a of day t: each push plant makes the day's plan, cut to its availability and
    capacity, to the room under its storage cap and to its scarcest component (a partial
    batch), into its finished goods (the key (plant, its item))."""
    for name, (production, plan) in push.items():
        node = index_node[name]
        fg = (name, node.item)
        room = max(0.0, production.storage_cap - on_hand[fg])
        make = min(
            min(
                plan[t], _outflow_limit(avail[name], node.capacity_per_day, cap_left[name], plan[t])
            ),
            room,
        )
        for c, q in node.bom.items():
            make = min(make, on_hand[(name, c)] / q)
        for c, q in node.bom.items():
            on_hand[(name, c)] = max(0.0, on_hand[(name, c)] - make * q)
            m["consumed"] += make * q
        on_hand[fg] += make
        m["produced"] += make


# ----------------------------------------------------------------------------- issue-14 quality


def _binomial(n: int, f: float, stream: Stream, t: int, T: int) -> float:
    """Binomial(n, f) as docs/model.md ("Quality and jidoka") defines the draw: n split
    into chunks of m = floor(600 / -log(1 - f)) units, each drawn by inversion with one
    uniform (chunk c at position t + c T of the lane's stream), the pmf by recurrence."""
    if f <= 0.0 or n <= 0:
        return 0.0
    if f >= 1.0:
        return float(n)
    chunk = max(1, math.floor(600.0 / -math.log1p(-f)))
    total, c, left = 0.0, 0, n
    while left > 0:
        m = min(chunk, left)
        u = stream(t + c * T)
        pk = (1.0 - f) ** float(m)
        cdf, k = pk, 0
        while cdf <= u and k < m:
            pk *= float(m - k) / float(k + 1) * (f / (1.0 - f))
            k += 1
            cdf += pk
        total += float(k)
        left -= m
        c += 1
    return total


def _defects_of_lanes(scenario: Scenario) -> dict[str, tuple[int, object]]:
    """lane key -> (incident chain entity, Defects): the lane's own defects (entity: its
    index), else those of its source plant (entity: number of lanes + the plant's index)."""
    index = {n.name: i for i, n in enumerate(scenario.nodes)}
    out = {}
    for a, lane in enumerate(scenario.lanes):
        source = scenario.node(lane.source)
        if lane.defects is not None:
            out[lane.key] = (a, lane.defects)
        elif source.kind == "plant" and source.defects is not None:
            out[lane.key] = (len(scenario.lanes) + index[source.name], source.defects)
    return out


def _expedite_of(scenario: Scenario, strategy: Strategy, at: str, item: str):
    """The strategy's first expedite entry for (at, item), else the scenario's."""
    for entries in (strategy.expedite, scenario.expedite):
        for e in entries:
            if e.at == at and (e.item is None or e.item == item):
                return e if e.capacity_per_day > 0 else None
    return None


def simulate_path(
    scenario: Scenario,
    strategy: str,
    seed: int,
    path: int,
    force_down: dict[str, range] | None = None,
) -> dict:
    """Simulate global path ``path`` of ``strategy``.

    ``force_down`` (for tests): node name -> the days its own chain is forced DOWN, as if
    its random outage process had put it down on exactly those days.

    Returns a dict: every name of ``resilience.metrics.PATH_METRICS`` -> float; every name
    of ``NODE_METRICS`` -> list over nodes (declaration order); ``daily_fill_rate`` and
    ``daily_on_hand`` -> lists over days (network fill rate of the day, 1 with no demand;
    total on-hand after serving).
    """
    strat = scenario.strategy(strategy)
    compiled = compile_strategy(scenario, strat)
    T = scenario.horizon_days
    backorder = scenario.demand_mode == "backorder"
    nodes = list(scenario.nodes)
    index = {n.name: i for i, n in enumerate(nodes)}
    index_node = {n.name: n for n in nodes}
    lanes: dict[str, Lane] = {lane.key: lane for lane in scenario.lanes}
    points = _stock_points(scenario)
    S = {key: compiled.order_up_to[f"{key[0]}/{key[1]}"] for key in points}
    # resolved ordering policies, levels in units (a definition, like S); empty: all
    # plain base stock without an order cost
    policies = compiled.policies
    sourcing = _resolve_sourcing(scenario, strat)
    # push plants' finished goods: stock points of their own, after every other
    push = _push_plants(scenario, strat, sourcing)
    finished = [(name, index_node[name].item) for name in push]
    S.update({key: push[key[0]][0].initial_stock for key in finished})
    held = points + finished  # every stock point that holds stock, in the kernel's order
    # active sources of each stock point in sourcing order: (source node, share, lane)
    sources = {
        key: [
            (src, share, lanes[f"{src}->{key[0]}"])
            for src, share in entry.shares.items()
            if share > 0
        ]
        for key, entry in sourcing.items()
    }
    order_of_nodes = processing_order(scenario)
    points_of = {n.name: [key for key in points if key[0] == n.name] for n in nodes}
    events = list(scenario.events) + list(strat.events)
    random_on = (
        scenario.random_disruptions
        if strat.random_disruptions is None
        else (strat.random_disruptions)
    )

    # tracing a shortage to its disruption: upstream nodes, lanes and lane shocks of each
    # dc over the active lanes, and its pipeline time (lane weight: max(L, 1) + every lane
    # shock's extra days + the most scripted extra days of any one day)
    feeders = {n.name: set() for n in nodes}
    for key, srcs in sources.items():
        for src, _, _ in srcs:
            feeders[key[0]].add(src)

    def scripted_extra(lane_key: str, t: int) -> int:
        return sum(
            e.extra_lead_time_days
            for e in events
            if e.kind == "lane_disruption" and lane_key in e.lanes and _active(e, t)
        )

    weight = {}
    for lane in scenario.lanes:
        w = max(lane.lead_time_days, 1)
        w += sum(s.extra_lead_time_days for s in scenario.lane_shocks if lane.key in s.lanes)
        w += max((scripted_extra(lane.key, t) for t in range(T)), default=0)
        weight[lane.key] = w
    into = {n.name: [] for n in nodes}
    for key, srcs in sources.items():
        for src, _, lane in srcs:
            into[key[0]].append((src, weight[lane.key]))
    memo: dict = {}
    trace = {}
    for node in nodes:
        if node.kind != "dc":
            continue
        up_nodes = _upstream(node.name, feeders)
        up_lanes = {
            lane.key for key, srcs in sources.items() if key[0] in up_nodes for _, _, lane in srcs
        }
        trace[node.name] = (
            up_nodes,
            [k for k, s in enumerate(scenario.lane_shocks) if up_lanes & set(s.lanes)],
            [k for k, s in enumerate(scenario.demand_surges) if node.name in s.dcs],
            [
                e
                for e in events
                if (e.kind == "lane_disruption" and up_lanes & set(e.lanes))
                or (e.kind == "demand_surge" and node.name in e.dcs)
            ],
            _pipeline_time(node.name, into, memo),
        )
    # spells: name -> [first day of the latest, its last day]
    node_spell: dict[str, list[int]] = {}
    lane_spell: dict[int, list[int]] = {}
    surge_spell: dict[int, list[int]] = {}

    def spell(spells: dict, key, on: bool, t: int) -> None:
        if not on:
            return
        if key in spells and spells[key][1] == t - 1:
            spells[key][1] = t
        else:
            spells[key] = [t, t]

    traced_day = traced_onset = traced_end = first_unmet = None
    random_states = []

    region_shocks = [(r.name, s) for r in scenario.regions for s in r.shocks]
    region_streams = [Stream(seed, path, REGION_SHOCK, k) for k in range(len(region_shocks))]
    chain_streams = [Stream(seed, path, NODE_CHAIN, i) for i in range(len(nodes))]
    dur_streams = [Stream(seed, path, NODE_DURATION, i) for i in range(len(nodes))]
    dur2_streams = [Stream(seed, path, NODE_DURATION_2, i) for i in range(len(nodes))]
    lane_streams = [Stream(seed, path, LANE_SHOCK, k) for k in range(len(scenario.lane_shocks))]
    surge_streams = [
        Stream(seed, path, DEMAND_SURGE, k) for k in range(len(scenario.demand_surges))
    ]
    demand_streams = {n.name: Stream(seed, path, DEMAND, index[n.name]) for n in nodes}
    lead_draw = _lead_times(scenario, seed, path)
    day_means = {n.name: daily_demand_means(n.demand, T) for n in nodes if n.kind == "dc"}

    # issue-14 quality: defects, incident chains, jidoka, expediting
    lane_defects = _defects_of_lanes(scenario)
    lane_index = {lane.key: a for a, lane in enumerate(scenario.lanes)}
    defect_streams = {key: Stream(seed, path, DEFECT, lane_index[key]) for key in lane_defects}
    incident_defects = {entity: d for entity, d in lane_defects.values()}
    incident_streams = {e: Stream(seed, path, QUALITY_INCIDENT, e) for e in incident_defects}
    incident_on = {e: False for e in incident_defects}
    jidoka = {n.name: n.jidoka for n in nodes if n.kind == "plant" and n.jidoka is not None}
    jidoka_streams = {name: Stream(seed, path, JIDOKA, index[name]) for name in jidoka}
    line_stop = {name: False for name in jidoka}
    incoming = {name: [0.0, 0.0] for name in jidoka}  # received, defective since the check
    due_bad: dict[tuple[int, tuple[str, str]], float] = {}
    due_scrap: dict[tuple[int, tuple[str, str]], float] = {}
    outflow = expected_outflow(scenario, sourcing)
    expedite = {key: _expedite_of(scenario, strat, *key) for key in points}

    # day -1: everything UP, no shock, on hand = S, empty pipelines, no backlog
    up = {n.name: True for n in nodes}
    down_until = {n.name: -1 for n in nodes}  # heavy-tailed outage: DOWN through this day
    region_active = [False] * len(region_shocks)
    lane_active = [False] * len(scenario.lane_shocks)
    surge_active = [False] * len(scenario.demand_surges)
    on_hand = {key: S[key] for key in held}
    in_transit = {key: 0.0 for key in held}
    backlog = {key: 0.0 for key in held}
    due: dict[tuple[int, tuple[str, str]], float] = {}  # (arrival day, stock point) -> units

    m = {name: 0.0 for name in ("demand", "filled", "lost", "stockout_days", "sum_on_hand")}
    m.update(
        orders_placed=0.0,
        order_cost=0.0,
        sum_backlog=0.0,
        purchase=0.0,
        holding=0.0,
        lost_cost=0.0,
        backlog_cost=0.0,
        shipped=0.0,
        received=0.0,
        consumed=0.0,
        produced=0.0,
        expedited=0.0,
        expedite_cost=0.0,
        defective=0.0,
        scrap_cost=0.0,
        line_stop_days=0.0,
    )
    node_on_hand = {n.name: 0.0 for n in nodes}
    node_impaired = {n.name: 0.0 for n in nodes}
    node_demand = {n.name: 0.0 for n in nodes}
    node_filled = {n.name: 0.0 for n in nodes}
    node_lost = {n.name: 0.0 for n in nodes}
    node_stockout = {n.name: 0.0 for n in nodes}
    daily_fill, daily_on_hand = [], []
    first_disruption = first_shortage = recovered = None

    def lead_of(lane: Lane) -> int:
        """Lead time of a shipment dispatched today (t, lane_on: the day's state): a
        stochastic lead time's draw of the day (one uniform a lane and day, so every call
        of the day gives the same), plus the scripted and lane-shock extra days."""
        lead = lead_draw(lane, t) + scripted_extra(lane.key, t)
        for k, shock in enumerate(scenario.lane_shocks):
            if lane_on[k] and lane.key in shock.lanes:
                lead += shock.extra_lead_time_days
        return lead

    def _expedite(key: tuple[str, str], up_share: float) -> None:
        """After the regular shipments: the emergency order of docs/model.md, "Expediting"."""
        e = expedite[key]
        if e is None:
            return
        ip = on_hand[key] + in_transit[key] - backlog[key]
        want = S[key] - ip
        if e.below_units is not None:
            trigger = e.below_units
        elif e.below_days is not None:
            trigger = e.below_days * outflow[key]
        else:
            trigger = -math.inf
        fire = ip < trigger or (e.when_sources_down and up_share <= 0.0)
        if not (fire and want > 0.0):
            return
        x = min(want, e.capacity_per_day)
        if e.lead_time_days == 0:
            on_hand[key] += x
            m["received"] += x
            if key[0] in jidoka:
                incoming[key[0]][0] += x
        else:
            slot = (t + e.lead_time_days, key)
            due[slot] = due.get(slot, 0.0) + x
            in_transit[key] += x
        m["shipped"] += x
        m["expedited"] += x
        m["expedite_cost"] += x * e.unit_premium

    for t in range(T):
        # ---- 1. update every chain: regions, nodes, lane shocks, surges
        factor = {r.name: 1.0 for r in scenario.regions}
        for k, (region, shock) in enumerate(region_shocks):
            region_active[k] = _chain(
                region_active[k],
                region_streams[k](t),
                shock.start_probability,
                shock.end_probability,
            )
            if region_active[k] and random_on:
                factor[region] = min(factor[region], shock.capacity_fraction)
        avail, cap_left = {}, {}
        for i, node in enumerate(nodes):
            name = node.name
            outage = node.outage
            if outage is not None and outage.failure_probability > 0:
                if up[name]:
                    if chain_streams[i](t) < outage.failure_probability:
                        up[name] = False
                        if outage.duration.distribution != "geometric":
                            days = _outage_length(
                                node, dur_streams[i](t), dur2_streams[i](t), T + 1
                            )
                            down_until[name] = t + days - 1  # DOWN on days t .. t+D-1
                elif outage.duration.distribution == "geometric":
                    if chain_streams[i](t) < outage.recovery_probability:
                        up[name] = True
                elif t > down_until[name]:
                    up[name] = True
            avail[name] = factor[node.region] if up[name] or not random_on else 0.0
            if force_down is not None and t in force_down.get(name, ()):
                avail[name] = 0.0
            for e in events:  # scripted outages: the harshest fraction applies
                hit = e.node == name if e.kind == "node_outage" else e.region == node.region
                if e.kind in ("node_outage", "regional_shock") and hit and _active(e, t):
                    avail[name] = min(avail[name], e.capacity_fraction)
            spell(node_spell, name, avail[name] < 1.0, t)
            if avail[name] < 1.0:
                node_impaired[name] += 1.0
                if first_disruption is None:
                    first_disruption = t
            if avail[name] <= 0.0:
                cap_left[name] = 0.0
            elif node.capacity_per_day == math.inf:
                cap_left[name] = math.inf
            else:
                cap_left[name] = avail[name] * node.capacity_per_day
        for k, shock in enumerate(scenario.lane_shocks):
            lane_active[k] = _chain(
                lane_active[k], lane_streams[k](t), shock.start_probability, shock.end_probability
            )
        for k, surge in enumerate(scenario.demand_surges):
            surge_active[k] = _chain(
                surge_active[k], surge_streams[k](t), surge.start_probability, surge.end_probability
            )
        for e, d in incident_defects.items():  # quality incidents, then line-stop recovery
            if d.incident is not None:
                incident_on[e] = _chain(
                    incident_on[e],
                    incident_streams[e](t),
                    d.incident.start_probability,
                    d.incident.end_probability,
                )
        for name, jid in jidoka.items():
            if line_stop[name] and jidoka_streams[name](t) < jid.recovery_probability:
                line_stop[name] = False
        random_states.append((dict(up), list(region_active), list(lane_active), list(surge_active)))
        # without random disruptions the chains ran on their streams; their effect is masked
        lane_on = [x and random_on for x in lane_active]
        surge_on = [x and random_on for x in surge_active]
        for k in range(len(lane_on)):
            spell(lane_spell, k, lane_on[k], t)
        for k in range(len(surge_on)):
            spell(surge_spell, k, surge_on[k], t)

        # ---- 2. receive what is due today
        for key in points:
            if key[0] in jidoka:  # a jidoka plant counts its arrivals
                incoming[key[0]][0] += due.get((t, key), 0.0)
                incoming[key[0]][1] += due_bad.get((t, key), 0.0)
        for key in points:
            x = due.pop((t, key), 0.0)
            if x != 0.0:
                on_hand[key] += x
                in_transit[key] -= x
                m["received"] += x
        for key in points:  # defective units are found at receipt and scrapped
            bad = due_bad.pop((t, key), 0.0)
            on_hand[key] -= bad
            m["defective"] += bad
            m["consumed"] += bad
            m["scrap_cost"] += due_scrap.pop((t, key), 0.0)
        for name, jid in jidoka.items():
            received, bad = incoming[name]
            fraction = bad / received if received > 0.0 else 0.0
            if fraction > jid.threshold:
                line_stop[name] = True
            incoming[name] = [0.0, 0.0]
            if line_stop[name]:  # the line is stopped for the rest of the day
                avail[name] = 0.0
                cap_left[name] = 0.0
                m["line_stop_days"] += 1.0

        # ---- 3. serve demand at each dc, in node order
        day_demand = day_filled = 0.0
        stockout = False
        short_dcs = []
        for node in nodes:
            if node.kind != "dc":
                continue
            name, key = node.name, (node.name, node.item)
            mult = 1.0
            for k, surge in enumerate(scenario.demand_surges):
                if surge_on[k] and name in surge.dcs:
                    mult *= surge.multiplier
            for e in events:  # scripted surges after the random ones, in event order
                if e.kind == "demand_surge" and name in e.dcs and _active(e, t):
                    mult *= e.multiplier
            if node.demand is None:
                d = 0.0
            elif node.demand.distribution == "poisson" and day_means[name] is None:
                cdf = poisson_cdf(node.demand.mean_per_day * mult)
                u = demand_streams[name](t)
                k = 0
                while cdf[k] <= u:  # the smallest k with P(X <= k) > u
                    k += 1
                d = float(k)
            else:
                d = _issue14_demand(node.demand, day_means[name], t, mult, demand_streams[name])
            request = d + backlog[key] if backorder else d
            served = min(
                request,
                on_hand[key],
                _outflow_limit(avail[name], node.capacity_per_day, cap_left[name], request),
            )
            on_hand[key] -= served
            cap_left[name] -= served
            m["consumed"] += served
            from_backlog = min(backlog[key], served)
            filled = min(d, served - from_backlog)  # never more than today's demand
            unmet = d - filled
            if backorder:
                backlog[key] = max(0.0, request - served)  # never negative
            else:
                m["lost"] += unmet
                node_lost[name] += unmet
                m["lost_cost"] += unmet * node.lost_sale_margin
            node_demand[name] += d
            node_filled[name] += filled
            # NB: a shortfall under UNIT_EPS (1e-9 units) is round-off, not a stockout
            if unmet > 1e-9:
                stockout = True
                short_dcs.append(name)
                node_stockout[name] += 1.0
            day_demand += d
            day_filled += filled

        # on hand and backlog are measured after serving
        total_on_hand = 0.0
        for key in held:
            total_on_hand += on_hand[key]
            m["holding"] += on_hand[key] * index_node[key[0]].holding_cost_per_unit_day
            node_on_hand[key[0]] += on_hand[key]
        total_backlog = 0.0
        for node in nodes:
            if node.kind == "dc":
                b = backlog[(node.name, node.item)]
                total_backlog += b
                m["backlog_cost"] += b * node.backlog_penalty_per_unit_day
        m["sum_on_hand"] += total_on_hand
        m["sum_backlog"] += total_backlog
        m["demand"] += day_demand
        m["filled"] += day_filled
        if stockout:
            m["stockout_days"] += 1.0
            if first_disruption is not None and first_shortage is None:
                first_shortage = t
        elif first_shortage is not None and recovered is None:
            recovered = t
        if stockout and t >= scenario.watch_day and first_unmet is None:
            first_unmet = t
        if traced_day is not None and traced_end is None and not stockout:
            traced_end = t
        if stockout and traced_day is None:
            # the latest start among the disruptions upstream of a short dc that are
            # active today or ended at most its pipeline time ago
            onsets = []
            for name in short_dcs:
                up_nodes, shocks, surges, bearing, window = trace[name]
                since = t - window
                for spells, keys in (
                    (node_spell, up_nodes),
                    (lane_spell, shocks),
                    (surge_spell, surges),
                ):
                    onsets += [spells[k][0] for k in keys if k in spells and spells[k][1] >= since]
                for e in bearing:
                    if e.start_day <= t and min(e.end_day, T) - 1 >= since:
                        onsets.append(e.start_day)
            if onsets:
                traced_day, traced_onset = t, max(onsets)
        daily_fill.append(day_filled / day_demand if day_demand > 0 else 1.0)
        daily_on_hand.append(total_on_hand)

        # ---- 4a. push plants make to plan; 4. order and ship, each node before its sources
        _produce(push, t, index_node, on_hand, avail, cap_left, m)
        lane_left = {key: lane.capacity_per_day for key, lane in lanes.items()}
        for e in events:  # a closed lane dispatches nothing today: no capacity
            if e.kind == "lane_disruption" and e.closed and _active(e, t):
                for key in e.lanes:
                    lane_left[key] = 0.0
        for i in order_of_nodes:
            for key in points_of[nodes[i].name]:
                order = S[key] - (on_hand[key] + in_transit[key] - backlog[key])
                if policies:
                    ip = on_hand[key] + in_transit[key] - backlog[key]
                    order = _policy_order(policies[f"{key[0]}/{key[1]}"], ip, order, t)
                if order <= 0:
                    continue
                mode = sourcing[key].mode
                srcs = sources[key]
                limits = []
                up_share = 0.0
                for src, share, lane in srcs:
                    if avail[src] <= 0:
                        limits.append(0.0)  # a DOWN source ships nothing
                        continue
                    up_share += share
                    source = index_node[src]
                    if source.kind == "supplier":
                        material = math.inf
                    elif source.kind == "dc" or src in push:
                        material = on_hand[(src, source.item)]
                    else:
                        material = min(on_hand[(src, c)] / q for c, q in source.bom.items())
                    asked = order if mode == "failover" else share * order
                    limits.append(
                        min(
                            _outflow_limit(
                                avail[src], source.capacity_per_day, cap_left[src], asked
                            ),
                            lane_left[lane.key],
                            material,
                        )
                    )
                if up_share <= 0:
                    continue
                ships = []
                left = order
                for (_, share, _), limit in zip(srcs, limits, strict=True):
                    if mode == "failover":
                        share = share / up_share  # renormalised over the UP sources
                    x = min(share * order, limit) if limit > 0 else 0.0
                    ships.append(x)
                    left -= x
                if mode == "failover":  # re-ask what is left, in sourcing order
                    for s in range(len(srcs)):
                        if left <= 0:
                            break
                        extra = min(left, limits[s] - ships[s])
                        if extra > 0:
                            ships[s] += extra
                            left -= extra
                if policies:
                    _count_order(policies[f"{key[0]}/{key[1]}"], ships, m)
                for (src, _, lane), x in zip(srcs, ships, strict=True):
                    if x <= 0:
                        continue
                    source = index_node[src]
                    cap_left[src] -= x
                    lane_left[lane.key] -= x
                    if src in push:  # from its finished goods
                        on_hand[(src, source.item)] -= x
                        m["consumed"] += x
                    elif source.kind == "plant":  # made to order from its components
                        for c, q in source.bom.items():
                            on_hand[(src, c)] = max(0.0, on_hand[(src, c)] - x * q)
                            m["consumed"] += x * q
                    elif source.kind == "dc":
                        on_hand[(src, source.item)] -= x
                        m["consumed"] += x
                    m["purchase"] += x * lane.unit_cost
                    m["shipped"] += x
                    lead = lead_of(lane)
                    if lead == 0:  # on hand at once: every node drawing on it went before
                        on_hand[key] += x
                        m["received"] += x
                    else:
                        due[(t + lead, key)] = due.get((t + lead, key), 0.0) + x
                        in_transit[key] += x
                # the defective part of each shipment travels with it, found at receipt
                for (_, _, lane), x in zip(srcs, ships, strict=True):
                    if x <= 0 or lane.key not in lane_defects:
                        if x > 0 and key[0] in jidoka and lead_of(lane) == 0:
                            incoming[key[0]][0] += x
                        continue
                    entity, defects = lane_defects[lane.key]
                    f = defects.fraction
                    if defects.incident is not None and incident_on[entity]:
                        f = defects.incident.fraction
                    if defects.binomial:
                        whole = math.floor(min(x, MAX_BINOMIAL_UNITS))
                        bad = _binomial(whole, f, defect_streams[lane.key], t, T) + (x - whole) * f
                    else:
                        bad = x * f
                    lead = lead_of(lane)
                    if lead == 0:
                        on_hand[key] -= bad
                        m["defective"] += bad
                        m["scrap_cost"] += bad * defects.scrap_cost_per_unit
                        m["consumed"] += bad
                        if key[0] in jidoka:
                            incoming[key[0]][0] += x
                            incoming[key[0]][1] += bad
                    else:
                        slot = (t + lead, key)
                        due_bad[slot] = due_bad.get(slot, 0.0) + bad
                        due_scrap[slot] = (
                            due_scrap.get(slot, 0.0) + bad * defects.scrap_cost_per_unit
                        )
        # expediting, after every stock point's regular shipments (none changes another's
        # inventory position), in the same order
        for i in order_of_nodes:
            for key in points_of[nodes[i].name]:
                _expedite(key, sum(share for src, share, _ in sources[key] if avail[src] > 0))

    def total(values) -> float:
        acc = 0.0
        for v in values:
            acc += v
        return acc

    # a lane is active when some stock point buys over it with a share > 0
    active = {lane.key for key in points for _, _, lane in sources[key]}
    qualification_per_day = total(
        lane.qualification_cost_per_day for lane in scenario.lanes if lane.key in active
    )
    nan = math.nan
    result = {
        "demand_units": m["demand"],
        "filled_units": m["filled"],
        "lost_units": m["lost"],
        "backlog_units_end": total(backlog[(n.name, n.item)] for n in nodes if n.kind == "dc"),
        "stockout_days": m["stockout_days"],
        "mean_on_hand": m["sum_on_hand"] / T,
        "mean_backlog": m["sum_backlog"] / T,
        "purchase_cost": m["purchase"],
        "holding_cost": m["holding"],
        "lost_sales_cost": m["lost_cost"],
        "backlog_cost": m["backlog_cost"],
        "qualification_cost": qualification_per_day * T,
        "first_disruption_day": nan if first_disruption is None else float(first_disruption),
        "days_to_first_shortage": nan
        if first_shortage is None
        else float(first_shortage - first_disruption),
        "service_recovery_days": nan if recovered is None else float(recovered - first_disruption),
        "on_hand_start": total(S[key] for key in held),
        "on_hand_end": total(on_hand[key] for key in held),
        "in_transit_end": total(in_transit[key] for key in held),
        "units_shipped": m["shipped"],
        "units_received": m["received"],
        "units_consumed": m["consumed"],
        "time_to_survive_days": nan if traced_day is None else float(traced_day - traced_onset),
        "shortage_duration_days": nan
        if traced_day is None
        else float((T if traced_end is None else traced_end) - traced_day),
        "shortage_start_day": nan if traced_day is None else float(traced_day),
        "first_unmet_day": nan if first_unmet is None else float(first_unmet),
        "units_produced": m["produced"],
        "orders_placed": m["orders_placed"],
        "order_cost": m["order_cost"],
        "expedite_cost": m["expedite_cost"],
        "scrap_cost": m["scrap_cost"],
        "expedited_units": m["expedited"],
        "defective_units": m["defective"],
        "line_stop_days": m["line_stop_days"],
        "node_mean_on_hand": [node_on_hand[n.name] / T for n in nodes],
        "node_impaired_days": [node_impaired[n.name] for n in nodes],
        "node_demand_units": [node_demand[n.name] for n in nodes],
        "node_filled_units": [node_filled[n.name] for n in nodes],
        "node_lost_units": [node_lost[n.name] for n in nodes],
        "node_stockout_days": [node_stockout[n.name] for n in nodes],
        "daily_fill_rate": daily_fill,
        "daily_on_hand": daily_on_hand,
        # the random chains' states of each day (own UP, region shocks, lane shocks,
        # surges), before any masking: what common random numbers keep fixed
        "random_states": random_states,
    }
    return result
