"""Pass 1: read a parsed scenario document into a :class:`~resilience.scenario.drafts.Drafts`.

Every field is read on its own (types, ranges, unknown and missing keys, references to
declared names) and each problem is reported, placed, to the error list. Sections are
read in file order of dependence: regions before nodes (which name them), nodes before
lanes and entries (which reference them), lanes before lane shocks. The sourcing, stock,
shock and strategy sections are read by :mod:`resilience.scenario.read_entries`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from resilience.scenario import (
    read_entries,
    read_events,
    read_production,
    read_quality,
    read_variability,
)
from resilience.scenario.drafts import (
    Drafts,
    LaneDraft,
    LaneDrafts,
    NodeDraft,
    NodeDrafts,
    NodeNames,
)
from resilience.scenario.model import (
    Demand,
    Lane,
    Outage,
    OutageDuration,
    Region,
    RegionShock,
)
from resilience.scenario.values import (
    _BAD,
    CAPACITY,
    COST,
    END_PROBABILITY,
    FRACTION,
    FREE_TEXT,
    HORIZON,
    NAME,
    NODE_NAME,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    TEXT,
    Errors,
    Reader,
    _at,
    _Choice,
    _show,
    unknown,
)

NODE_KINDS = ("supplier", "plant", "dc")
DEMAND_MODES = ("lost_sales", "backorder")
DEMAND_DISTRIBUTIONS = read_variability.DEMAND_DISTRIBUTIONS
DURATION_PARAMS = {
    "geometric": (),
    "lognormal": ("median_days", "sigma"),
    "pareto": ("min_days", "alpha"),
}

TOP_KEYS = (
    "name",
    "description",
    "horizon_days",
    "demand_mode",
    "buffer_days",
    "baseline",
    "currency",
    "regions",
    "nodes",
    "lanes",
    "sourcing",
    "stock",
    "lane_shocks",
    "demand_surges",
    "strategies",
    "events",
    "random_disruptions",
    "expedite",  # issue-14 quality
)
_COMMON_NODE_KEYS = ("kind", "region", "item", "capacity_per_day", "outage", "ttr_days")
NODE_KEYS = {
    "supplier": _COMMON_NODE_KEYS,
    "plant": (
        *_COMMON_NODE_KEYS,
        "bom",
        "holding_cost_per_unit_day",
        "production",
        "defects",
        "jidoka",
    ),
    "dc": (
        *_COMMON_NODE_KEYS,
        "demand",
        "holding_cost_per_unit_day",
        "lost_sale_margin",
        "backlog_penalty_per_unit_day",
    ),
}
_ANY_NODE_KEYS = sorted({k for keys in NODE_KEYS.values() for k in keys})
# Keys allowed for some kinds only: kind -> key -> why not here.
_NOT_FOR_KIND = {
    kind: {
        key: f"not allowed for a {kind} (only for "
        + ", ".join(k for k in NODE_KINDS if key in NODE_KEYS[k])
        + ")"
        for other in NODE_KINDS
        for key in NODE_KEYS[other]
        if key not in NODE_KEYS[kind]
    }
    for kind in NODE_KINDS
}
OUTAGE_KEYS = (
    "mean_days_between_failures",
    "failure_probability",
    "mean_outage_days",
    "recovery_probability",
    "duration",
)
LANE_KEYS = (
    "from",
    "to",
    "lead_time_days",
    "unit_cost",
    "capacity_per_day",
    "qualification_cost_per_day",
    "defects",  # issue-14 quality
)
REGION_SHOCK_KEYS = ("name", *read_entries.SHOCK_RATE_KEYS, "capacity_fraction")
TTR_DAYS = read_events.DURATION  # whole days >= 1


def read_document(data: Any, errors: Errors) -> Drafts | None:
    """Pass 1 over one parsed document; None when it is not a mapping at all (reported)."""
    r = Reader(errors)
    if not isinstance(data, Mapping):
        r.error(
            "scenario",
            f"must be a mapping of scenario keys (name, nodes, ...), got {_show(data)}",
        )
        return None
    r.keys(data, "", TOP_KEYS)
    name = r.value(data, "name", "", TEXT, required=True)
    description = r.value(data, "description", "", FREE_TEXT, default="")
    horizon = r.value(data, "horizon_days", "", HORIZON, required=True)
    demand_mode = r.value(data, "demand_mode", "", _Choice(DEMAND_MODES), default="lost_sales")
    buffer_days = r.value(data, "buffer_days", "", NON_NEGATIVE, default=0.0)
    baseline = r.value(data, "baseline", "", NAME, default="")
    currency = r.value(data, "currency", "", NAME, default="")

    regions, region_names = read_regions(r, data)
    nodes = read_nodes(r, data, region_names)
    lanes = read_lanes(r, data, nodes.names)
    sourcing = read_entries.read_sourcing_entries(r, data, "", nodes.names)
    stock = read_entries.read_stock_entries(r, data, "", nodes.names)
    lane_shocks = read_entries.read_lane_shocks(r, data, lanes)
    surges = read_entries.read_surges(r, data, nodes)
    strategies = read_entries.read_strategies(r, data, nodes.names)
    # scripted events (top level, then each strategy's own) and the random switch
    events = read_events.read_events(r, data, "", nodes, lanes, region_names)
    random_disruptions = read_events.read_random(r, data, "")
    strategies = read_events.read_strategy_events(r, data, strategies, nodes, lanes, region_names)
    strategies = read_production.read_strategy_production(r, data, strategies, nodes)
    expedite = read_quality.read_expedite(r, data, "", nodes)
    strategies = read_quality.read_strategy_expedite(r, data, strategies, nodes)
    defined = [s.strategy.name for s in strategies]
    if isinstance(baseline, str) and baseline and defined and baseline not in defined:
        r.error(
            "baseline",
            f"must name a strategy of the scenario ({', '.join(defined)}), got '{baseline}'",
        )
    return Drafts(
        name=name,
        description=description,
        horizon=horizon,
        demand_mode=demand_mode,
        buffer_days=buffer_days,
        baseline=baseline,
        currency=currency,
        regions=regions,
        nodes=nodes,
        lanes=lanes,
        sourcing=sourcing,
        stock=stock,
        lane_shocks=lane_shocks,
        surges=surges,
        strategies=strategies,
        events=events,
        random_disruptions=random_disruptions,
        expedite=expedite,
    )


# ----------------------------------------------------------------------------- regions


def read_regions(
    r: Reader, data: Mapping[Any, Any]
) -> tuple[tuple[Region, ...], tuple[str, ...] | None]:
    """The regions, and every well-formed region name (None: no readable section)."""
    if "regions" not in data:
        r.error("regions", "required key missing, must be a mapping of region name -> region")
        return (), None
    body = r.mapping(data["regions"], "regions", "a mapping of region name -> region")
    if body is None:
        return (), None
    names: list[str] = []
    regions = []
    shock_places: dict[str, str] = {}  # shock name -> place of its first use
    for rname, rbody in body.items():
        place = _at("regions", rname)
        if NAME.convert(rname) is _BAD:
            r.error(place, f"region name must be {NAME.describe()}, got {_show(rname)}")
            continue
        names.append(rname)
        # `europe:` with nothing after it is a region without shocks.
        rbody = {} if rbody is None else r.mapping(rbody, place, "a mapping (shocks)")
        if rbody is None:
            continue
        r.keys(rbody, place, ("shocks",))
        raw_shocks = rbody.get("shocks")
        listed = (
            []
            if raw_shocks is None
            else r.sequence(raw_shocks, _at(place, "shocks"), "a list of shocks")
        )
        shocks = []
        for i, raw in enumerate(listed or []):
            shock = _read_region_shock(r, raw, rname, f"{place}.shocks[{i}]", i, shock_places)
            if shock is not None:
                shocks.append(shock)
        regions.append(Region(rname, tuple(shocks)))
    return tuple(regions), tuple(names)


def _read_region_shock(
    r: Reader, raw: Any, region: str, place: str, i: int, shock_places: dict[str, str]
) -> RegionShock | None:
    shock = r.mapping(raw, place, "a mapping (one shock)")
    if shock is None:
        return None
    r.keys(shock, place, REGION_SHOCK_KEYS)
    name = r.value(shock, "name", place, NAME, default=f"{region}_shock{i}")
    start, end = r.shock_rates(shock, place)
    fraction = r.value(shock, "capacity_fraction", place, FRACTION, default=0.0)
    if name is not _BAD:
        if name in shock_places:
            r.error(
                _at(place, "name"),
                f"duplicate shock name {name!r} (also {shock_places[name]}), "
                "region shock names must be unique",
            )
        shock_places.setdefault(name, place)
    if _BAD in (name, start, end, fraction):
        return None
    return RegionShock(name, start, end, fraction)


# ----------------------------------------------------------------------------- nodes


def read_nodes(
    r: Reader, data: Mapping[Any, Any], region_names: Collection[str] | None
) -> NodeDrafts:
    if "nodes" not in data:
        r.error("nodes", "required key missing, must be a mapping of node name -> node")
        return NodeDrafts.of(NodeNames(), {})
    body = r.mapping(data["nodes"], "nodes", "a mapping of node name -> node")
    if body is None:
        return NodeDrafts.of(NodeNames(), {})
    if not body:
        r.error("nodes", "must declare at least one node, got an empty mapping")
    # in declaration order (for messages), looked up in constant time (8,000 regions)
    regions = None if region_names is None else dict.fromkeys(region_names)
    # Declared up front so lanes may name nodes in any order.
    names = NodeNames.of(tuple(n for n in body if NODE_NAME.convert(n) is not _BAD), True)
    nodes: dict[str, NodeDraft] = {}
    for name, raw in body.items():
        if name not in names:  # a set lookup: `declared` is a tuple (quadratic in nodes)
            r.error(
                _at("nodes", name),
                f"node name must be {NODE_NAME.describe()}, got {_show(name)}",
            )
            continue
        node = read_node(r, name, raw, _at("nodes", name), regions)
        if node is not None:
            nodes[name] = node
    return NodeDrafts.of(names, nodes)


def read_node(
    r: Reader, name: str, raw: Any, place: str, region_names: Collection[str] | None
) -> NodeDraft | None:
    """One node's body; None when it is not a mapping or its kind is invalid (reported)."""
    node = r.mapping(raw, place, "a mapping (kind, region, ...)")
    if node is None:
        return None
    kind = r.value(node, "kind", place, _Choice(NODE_KINDS), required=True)
    if kind is _BAD:
        r.keys(node, place, _ANY_NODE_KEYS)
        return None
    r.keys(node, place, NODE_KEYS[kind], _NOT_FOR_KIND[kind])

    region = r.value(node, "region", place, NAME, required=True)
    if region is not _BAD and region_names is not None and region not in region_names:
        r.error(_at(place, "region"), unknown("region", region, region_names))
    item = r.value(node, "item", place, TEXT, default=None if kind == "dc" else name)
    fields: dict[str, Any] = {
        "kind": kind,
        "region": region,
        "capacity_per_day": r.value(node, "capacity_per_day", place, CAPACITY, default=math.inf),
        "outage": read_outage(r, node["outage"], _at(place, "outage"))
        if "outage" in node
        else None,
        # time-to-recover of a full outage, the input of `resilience stress`
        "ttr_days": r.value(node, "ttr_days", place, TTR_DAYS, default=None),
    }
    bom = demand = None
    if kind == "plant":
        bom = read_bom(r, node, place, item)
        fields["bom"] = bom or {}
        fields["production"] = read_production.read_node_production(r, node, place)
    if kind == "dc":
        fields["demand"], demand = read_demand(r, node, place)
        for key in ("lost_sale_margin", "backlog_penalty_per_unit_day"):
            fields[key] = r.value(node, key, place, COST, default=0.0)
    if kind != "supplier":
        fields["holding_cost_per_unit_day"] = r.value(
            node, "holding_cost_per_unit_day", place, COST, default=0.0
        )
    fields.update(read_quality.read_node_quality(r, node, place, kind))
    ok = item is not _BAD
    return NodeDraft(kind, item if ok else None, ok, bom, demand, fields)


def read_bom(r: Reader, node: Mapping[Any, Any], place: str, item: Any) -> dict[str, float] | None:
    where = _at(place, "bom")
    if "bom" not in node:
        r.error(where, "required key missing, must be a mapping component item -> units per unit")
        return None
    bom = r.mapping(node["bom"], where, "a mapping component item -> units per unit")
    if bom is None:
        return None
    if not bom:
        r.error(where, "must list at least one component, got an empty mapping")
        return None
    result: dict[str, float] = {}
    ok = True
    for comp in bom:
        if TEXT.convert(comp) is _BAD:
            r.error(_at(where, comp), f"component must be {TEXT.describe()}, got {_show(comp)}")
            ok = False
            continue
        if comp == item:
            r.error(
                _at(where, comp),
                f"a plant cannot consume the item it makes, got component {comp!r}",
            )
            ok = False
        units = r.value(bom, comp, where, POSITIVE)
        if units is _BAD:
            ok = False
        else:
            result[comp] = units
    return result if ok else None


def read_demand(r: Reader, node: Mapping[Any, Any], place: str) -> tuple[Demand | None, str]:
    """A dc's demand, and its state: "none" (absent or mean 0), "ok" or "bad" (reported)."""
    if "demand" not in node:
        return None, "none"
    where = _at(place, "demand")
    demand = r.mapping(node["demand"], where, "a mapping (distribution, mean_per_day)")
    if demand is None:
        return None, "bad"
    r.keys(demand, where, read_variability.DEMAND_KEYS)
    dist = r.value(demand, "distribution", where, _Choice(DEMAND_DISTRIBUTIONS), required=True)
    # issue-14: a per-day series may stand in for mean_per_day
    series = "mean_series" in demand or "mean_csv" in demand
    if series and "mean_per_day" in demand:
        r.error(where, "give mean_per_day or a per-day series (mean_series, mean_csv), not both")
        return None, "bad"
    mean = r.value(demand, "mean_per_day", where, NON_NEGATIVE, required=not series)
    extra = read_variability.read_demand_variability(r, demand, where, dist)
    if _BAD in (dist, mean, extra):
        return None, "bad"
    if series:  # the stationary mean a series stands for: its average
        mean = math.fsum(extra["mean_series"]) / len(extra["mean_series"])
        positive = max(extra["mean_series"]) > 0
    else:
        positive = mean > 0
    return Demand(dist, mean, **extra), "ok" if positive else "none"


def read_outage(r: Reader, raw: Any, place: str) -> Outage | None:
    outage = r.mapping(raw, place, "a mapping (failure and recovery rates)")
    if outage is None:
        return None
    r.keys(outage, place, OUTAGE_KEYS)
    failure = r.rate(
        outage, place, "mean_days_between_failures", "failure_probability", PROBABILITY
    )
    duration = read_duration(r, outage, place)
    # With a drawn (lognormal/Pareto) duration the recovery rate is not used by the
    # kernel, so it may be left out; when given it is still checked.
    geometric = duration is _BAD or duration.distribution == "geometric"
    recovery = r.rate(
        outage,
        place,
        "mean_outage_days",
        "recovery_probability",
        END_PROBABILITY,
        required=geometric,
    )
    if _BAD in (failure, recovery, duration):
        return None
    return Outage(failure, 1.0 if recovery is None else recovery, duration)


def read_duration(r: Reader, outage: Mapping[Any, Any], place: str) -> Any:
    if "duration" not in outage:
        return OutageDuration()
    where = _at(place, "duration")
    duration = r.mapping(outage["duration"], where, "a mapping (distribution, parameters)")
    if duration is None:
        return _BAD
    dist = r.value(duration, "distribution", where, _Choice(tuple(DURATION_PARAMS)), required=True)
    if dist is _BAD:
        all_params = [p for params in DURATION_PARAMS.values() for p in params]
        r.keys(duration, where, ("distribution", *all_params))
        return _BAD
    params = DURATION_PARAMS[dist]
    takes = ", ".join(params) if params else "no parameters"
    elsewhere = {
        p: f"not a {dist} parameter ({dist} takes {takes})"
        for other in DURATION_PARAMS.values()
        for p in other
        if p not in params
    }
    r.keys(duration, where, ("distribution", *params), elsewhere)
    values = {p: r.value(duration, p, where, POSITIVE, required=True) for p in params}
    if _BAD in values.values():
        return _BAD
    return OutageDuration(distribution=dist, **values)


# ----------------------------------------------------------------------------- lanes


def read_lanes(r: Reader, data: Mapping[Any, Any], names: NodeNames) -> LaneDrafts:
    if "lanes" not in data:
        r.error("lanes", "required key missing, must be a list of lanes (from, to, ...)")
        return LaneDrafts()
    raw_lanes = r.sequence(data["lanes"], "lanes", "a list of lanes (from, to, ...)")
    if raw_lanes is None:
        return LaneDrafts()
    lanes: list[LaneDraft] = []
    keys: dict[str, str] = {}
    complete = True
    for i, raw in enumerate(raw_lanes):
        place = f"lanes[{i}]"
        lane = r.mapping(raw, place, "a mapping (from, to, lead_time_days, ...)")
        if lane is None:
            complete = False
            continue
        r.keys(lane, place, LANE_KEYS)
        source = names.ref(r, lane, "from", place)
        destination = names.ref(r, lane, "to", place)
        lead_days, lead_time = read_variability.read_lead_time(r, lane, place)
        fields = {
            "lead_time_days": lead_days,
            "lead_time": lead_time,  # issue-14: a stochastic lead time, or None
            "unit_cost": r.value(lane, "unit_cost", place, COST, default=0.0),
            "capacity_per_day": r.value(
                lane, "capacity_per_day", place, CAPACITY, default=math.inf
            ),
            "qualification_cost_per_day": r.value(
                lane, "qualification_cost_per_day", place, COST, default=0.0
            ),
            "defects": read_quality.read_defects(r, lane, place),
        }
        if source is None or destination is None:
            complete = False
            continue
        key = f"{source}->{destination}"
        if source == destination:
            r.error(place, f"a lane cannot connect a node to itself, got {key}")
            continue
        if key in keys:
            r.error(
                place,
                f"duplicate lane {key} (also {keys[key]}), one lane per source and destination",
            )
            continue
        keys[key] = place
        ok = _BAD not in fields.values()
        built = Lane(source, destination, **fields) if ok else None
        lanes.append(LaneDraft(place, source, destination, built))
    return LaneDrafts(tuple(lanes), keys, complete)
