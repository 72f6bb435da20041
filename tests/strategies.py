"""Hypothesis strategies for random valid scenarios, for the property tests.

``scenario_docs()`` draws a scenario *document* (the dict a YAML file parses to) for a
small random network: 1-3 suppliers, 0-2 plants with bills of materials (possibly in a
chain, one making a subassembly of the other), 1-3 DCs (some fed by other DCs), lead
times 0-4, capacities (some unlimited), split and failover sourcing with random shares,
geometric/lognormal/Pareto outages, full and partial regional shocks, lane shocks,
demand surges, lost sales or backorders, horizons 5-40 and 1-3 strategies with different
buffers and sourcing. Node declaration order is shuffled. ``scenarios()`` loads it
through ``resilience.schema.load_scenario``, so every drawn scenario is one the schema
accepts. With ``events=True`` it also draws scripted events (node outages, regional
shocks, lane disruptions by key or index, closures, demand surges; top level and per
strategy) and sometimes switches the random disruptions off.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from resilience.scenario.model import Scenario
from resilience.scenario.schema import load_scenario

# Values with a short binary expansion and awkward ones (thirds) both occur in practice.
_QUANTITIES = st.sampled_from([0.5, 1.0, 1.0, 2.0, 3.0, 1.0 / 3.0, 0.7])
_SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
seeds = _SEEDS


def _probability(draw, lo: float = 0.0, hi: float = 1.0) -> float:
    return draw(st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False))


def _shares(draw, names: list[str]) -> dict[str, float]:
    """Shares summing to 1 (within the schema's 1e-9), zeros allowed but not all zero."""
    weights = draw(st.lists(st.integers(0, 4), min_size=len(names), max_size=len(names)))
    if sum(weights) == 0:
        weights[draw(st.integers(0, len(names) - 1))] = 1
    total = sum(weights)
    return {name: w / total for name, w in zip(names, weights, strict=True)}


def _capacity(draw, hi: float) -> dict[str, float]:
    """Half the time unlimited (key absent), else a capacity in [0, hi]."""
    if draw(st.booleans()):
        return {}
    return {"capacity_per_day": draw(st.floats(0.0, hi).map(lambda x: round(x, 2)))}


def _outage(draw) -> dict[str, Any]:
    outage: dict[str, Any] = {"failure_probability": _probability(draw, 0.0, 0.3)}
    kind = draw(st.sampled_from(["geometric", "geometric", "lognormal", "pareto"]))
    if kind == "geometric":
        outage["recovery_probability"] = _probability(draw, 0.05, 1.0)
    elif kind == "lognormal":
        outage["duration"] = {
            "distribution": "lognormal",
            "median_days": draw(st.floats(0.5, 6.0)),
            "sigma": draw(st.floats(0.1, 2.0)),
        }
    else:
        outage["duration"] = {
            "distribution": "pareto",
            "min_days": draw(st.floats(0.5, 4.0)),
            "alpha": draw(st.floats(0.3, 3.0)),
        }
    return outage


def _events(
    draw, horizon: int, nodes: list[str], regions: list[str], lanes: list[str], dcs: list[str]
) -> list[dict[str, Any]]:
    """0-3 scripted events of random kinds, days anywhere in (or running past) the horizon."""
    events = []
    for _ in range(draw(st.integers(0, 3))):
        event: dict[str, Any] = {
            "start_day": draw(st.integers(0, horizon - 1)),
            "duration_days": draw(st.integers(1, horizon)),
        }
        kind = draw(
            st.sampled_from(
                ["node_outage", "regional_shock", "lane_disruption"]
                + (["demand_surge"] if dcs else [])
            )
        )
        event["type"] = kind
        if kind == "node_outage":
            event["node"] = draw(st.sampled_from(nodes))
        elif kind == "regional_shock":
            event["region"] = draw(st.sampled_from(regions))
        if kind in ("node_outage", "regional_shock") and draw(st.booleans()):
            event["capacity_fraction"] = draw(st.sampled_from([0.0, 0.25, 0.5, 0.9]))
        if kind == "lane_disruption":
            chosen = draw(
                st.lists(st.integers(0, len(lanes) - 1), min_size=1, max_size=2, unique=True)
            )
            # lanes by key or by index into the lanes list
            event["lanes"] = [a if draw(st.booleans()) else lanes[a] for a in chosen]
            if draw(st.booleans()):
                event["closed"] = True
            else:
                event["extra_lead_time_days"] = draw(st.integers(0, 5))
        if kind == "demand_surge":
            event["dcs"] = draw(st.lists(st.sampled_from(dcs), min_size=1, unique=True))
            event["multiplier"] = draw(st.sampled_from([0.0, 0.5, 1.5, 2.0]))
        events.append(event)
    return events


@st.composite
def _lead_times(draw) -> dict[str, Any]:
    """A stochastic lead time (issue 14): a discrete distribution on 0..6 days or a
    discretised lognormal cut at a few days."""
    if draw(st.booleans()):
        values = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4, unique=True))
        weights = draw(st.lists(st.integers(1, 5), min_size=len(values), max_size=len(values)))
        probs = [w / sum(weights) for w in weights]
        probs[-1] = 1.0 - sum(probs[:-1])
        return {"distribution": "discrete", "values": values, "probs": probs}
    return {
        "distribution": "lognormal",
        "mean_days": draw(st.sampled_from([0.5, 1.5, 3.0])),
        "sd_days": draw(st.sampled_from([0.3, 1.0, 2.5])),
        "max_days": draw(st.integers(1, 7)),
    }


@st.composite
def _varying_demand(draw, demand: dict[str, Any]) -> dict[str, Any]:
    """``demand`` made time-varying (seasonality, a trend, a per-day series) and/or
    negative binomial (issue 14)."""
    out = dict(demand)
    if draw(st.booleans()):
        out["distribution"] = "negative_binomial"
        out["variance_to_mean"] = draw(st.sampled_from([1.5, 3.0, 8.0]))
    mults = st.sampled_from([0.0, 0.5, 1.0, 1.3, 2.0])
    if draw(st.booleans()):
        out["seasonality"] = {"weekly": draw(st.lists(mults, min_size=7, max_size=7))}
    elif draw(st.booleans()):
        out["seasonality"] = {"monthly": draw(st.lists(mults, min_size=12, max_size=12))}
    if draw(st.booleans()):
        out["trend_per_year"] = draw(st.sampled_from([0.5, -2.0, 3.0]))
    if draw(st.booleans()):
        out.pop("mean_per_day")
        positive = st.sampled_from([0.5, 1.0, 1.3, 2.0])  # a dc with demand keeps some
        out["mean_series"] = draw(st.lists(positive, min_size=40, max_size=40))
    return out


def _policy_entry(draw) -> dict[str, Any]:
    """The policy keys of a stock entry (issue-14 policy): a policy with levels in units
    (fractional ones too: they exercise the round-off of lots) or days of cover, and, on
    any policy, a minimum order quantity, a lot multiple and an order cost."""
    kind = draw(st.sampled_from(["base_stock", "s_S", "r_Q", "R_S"]))
    entry: dict[str, Any] = {}
    if kind == "base_stock":
        entry["buffer_days"] = draw(st.sampled_from([0, 1, 2.5]))
    elif kind == "s_S":
        if draw(st.booleans()):
            low = draw(st.sampled_from([0, 3, 7.5]))
            entry["policy"] = {
                "type": kind,
                "s": low,
                "S": low + draw(st.sampled_from([0, 5, 12.5])),
            }
        else:
            entry["policy"] = {"type": kind, "s_days": 0.5, "S_days": draw(st.sampled_from([1, 4]))}
    elif kind == "r_Q":
        level = {"r": draw(st.sampled_from([0, 2, 6.5]))} if draw(st.booleans()) else {"r_days": 1}
        entry["policy"] = {"type": kind, **level, "Q": draw(st.sampled_from([1, 4, 10.5]))}
    else:
        review = draw(st.integers(1, 5))
        level = (
            {"S": draw(st.sampled_from([0, 10, 30.5]))} if draw(st.booleans()) else {"S_days": 1}
        )
        offset = draw(st.integers(0, review - 1))
        entry["policy"] = {"type": kind, "review_days": review, "offset_days": offset, **level}
    if draw(st.booleans()):
        entry["min_order_qty"] = draw(st.sampled_from([0, 3, 8.5]))
    if draw(st.booleans()):
        entry["lot_multiple"] = draw(st.sampled_from([1, 2.5, 6]))
    if draw(st.booleans()):
        entry["order_cost"] = draw(st.sampled_from([0, 10, 2.5]))
    return entry


def _shock_rates(draw) -> dict[str, float]:
    return {
        "start_probability": _probability(draw, 0.0, 0.25),
        "end_probability": _probability(draw, 0.1, 1.0),
    }


def _production(draw) -> dict[str, Any] | str:
    """A plant's production (issue-14 push): pull, or push to a level, forecast or
    campaign plan, sometimes capped, sometimes starting with finished goods."""
    plan = draw(st.sampled_from(["pull", "level", "forecast", "campaign"]))
    if plan == "pull":
        return "pull"
    spec: dict[str, Any] = {"mode": "push", "plan": plan}
    if plan == "level":
        spec["rate_per_day"] = draw(st.sampled_from([0.0, 1.0, 2.5, 8.0, 20.0]))
    elif plan == "campaign":
        spec["batch"] = draw(st.sampled_from([5.0, 20.0, 60.0]))
        spec["every_days"] = draw(st.integers(1, 6))
        spec["offset_days"] = draw(st.integers(0, spec["every_days"] - 1))
    cap = draw(st.sampled_from([None, 3.0, 10.0, 50.0]))
    if cap is not None:
        spec["storage_cap"] = cap
    if draw(st.booleans()):
        spec["initial_stock"] = draw(st.sampled_from([0.0, 2.0, 7.5])) if cap is None else cap / 2
    return spec


@st.composite
def scenario_docs(
    draw,
    *,
    disruptions: bool = True,
    max_suppliers: int = 3,
    max_plants: int = 2,
    max_dcs: int = 3,
    events: bool = False,
    production: bool = False,
    variability: bool = False,
    policies: bool = False,
    quality: bool = False,
) -> dict[str, Any]:
    """A random valid scenario document (see the module docstring).

    ``disruptions=False`` leaves out outages, regional and lane shocks and demand surges;
    ``events=True`` adds scripted events and the random-disruptions switch;
    ``production=True`` makes plants push to a plan (issue-14 push), in the scenario and
    in strategies' overrides, each with a probability.
    ``variability=True`` (issue 14) gives some dcs a time-varying or negative-binomial
    demand and some lanes a stochastic lead time.
    ``policies=True`` gives some stock entries an ordering policy, order quantity rules
    and an order cost (issue-14 policy; without it no extra draw is made, so the other
    tests see the networks they always saw).
    ``quality=True`` defects, incidents, jidoka and expediting (issue 14, _quality).
    """
    n_sup = draw(st.integers(1, max_suppliers))
    n_plant = draw(st.integers(0, max_plants))
    n_dc = draw(st.integers(1, max_dcs))
    regions = [f"r{i}" for i in range(draw(st.integers(1, 3)))]
    region_of = st.sampled_from(regions)

    nodes: dict[str, dict[str, Any]] = {}
    lanes: list[dict[str, Any]] = []

    def lane(src: str, dst: str) -> None:
        entry: dict[str, Any] = {
            "from": src,
            "to": dst,
            "lead_time_days": draw(st.integers(0, 4)),
            **_capacity(draw, 30.0),
        }
        if variability and draw(st.booleans()):
            entry["lead_time_days"] = draw(_lead_times())
        if draw(st.booleans()):
            entry["unit_cost"] = draw(st.sampled_from([0.0, 1.0, 2.5, 0.1]))
        if draw(st.booleans()):
            entry["qualification_cost_per_day"] = draw(st.sampled_from([0.0, 1.0, 0.3]))
        lanes.append(entry)

    def outage() -> dict[str, Any]:
        return {"outage": _outage(draw)} if disruptions and draw(st.booleans()) else {}

    # suppliers make components when there are plants, else the finished good
    suppliers = [f"sup{i}" for i in range(n_sup)]
    if n_plant:
        n_comp = min(draw(st.integers(1, 2)), n_sup)
        components = [f"c{k}" for k in range(n_comp)]
        made = {s: components[i % n_comp] for i, s in enumerate(suppliers)}
    else:
        components = []
        made = {s: "fg" for s in suppliers}
    for s in suppliers:
        nodes[s] = {
            "kind": "supplier",
            "region": draw(region_of),
            "item": made[s],
            **_capacity(draw, 40.0),
            **outage(),
        }

    plants = [f"plant{i}" for i in range(n_plant)]
    # two plants may form a chain: plant0 makes a subassembly that plant1 consumes
    chained = n_plant == 2 and draw(st.booleans())
    for i, p in enumerate(plants):
        bom_items = draw(st.lists(st.sampled_from(components), min_size=1, unique=True))
        if chained and i == 1 and draw(st.booleans()):
            bom_items = []  # only the subassembly
        bom = {c: draw(_QUANTITIES) for c in bom_items}
        if chained and i == 1:
            bom["sub"] = draw(_QUANTITIES)
        nodes[p] = {
            "kind": "plant",
            "region": draw(region_of),
            "item": "sub" if chained and i == 0 else "fg",
            "bom": bom,
            **_capacity(draw, 40.0),
            **outage(),
        }
        if draw(st.booleans()):
            nodes[p]["holding_cost_per_unit_day"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
        if production and draw(st.booleans()):
            nodes[p]["production"] = _production(draw)
        for c in bom_items:
            makers = [s for s in suppliers if made[s] == c]
            for s in draw(st.lists(st.sampled_from(makers), min_size=1, unique=True)):
                lane(s, p)
        if chained and i == 1:
            lane(plants[0], p)

    # nodes that make the finished good
    producers = [p for p in plants if nodes[p]["item"] == "fg"] or suppliers
    dcs = [f"dc{i}" for i in range(n_dc)]
    has_demand = draw(st.lists(st.booleans(), min_size=n_dc, max_size=n_dc))
    if not any(has_demand):
        has_demand[draw(st.integers(0, n_dc - 1))] = True
    for j, d in enumerate(dcs):
        node: dict[str, Any] = {"kind": "dc", "region": draw(region_of), **outage()}
        if has_demand[j]:
            node["demand"] = {
                "distribution": draw(st.sampled_from(["poisson", "poisson", "deterministic"])),
                "mean_per_day": draw(st.sampled_from([1.0, 2.5, 4.0, 8.0, 15.0])),
            }
            if variability and draw(st.booleans()):
                node["demand"] = draw(_varying_demand(node["demand"]))
        node.update(_capacity(draw, 30.0))
        for key, values in (
            ("holding_cost_per_unit_day", [0.0, 0.2, 1.0]),
            ("lost_sale_margin", [0.0, 3.0, 10.0]),
            ("backlog_penalty_per_unit_day", [0.0, 0.5, 2.0]),
        ):
            if draw(st.booleans()):
                node[key] = draw(st.sampled_from(values))
        nodes[d] = node
        # DC j may be fed by earlier DCs (DC -> DC), by producers, or both
        upstream_dcs = dcs[:j] if j and draw(st.booleans()) else []
        feeders = draw(st.lists(st.sampled_from(upstream_dcs), unique=True)) if upstream_dcs else []
        if not feeders or draw(st.booleans()):
            feeders += draw(st.lists(st.sampled_from(producers), min_size=1, unique=True))
        for f in feeders:
            lane(f, d)

    # declaration order is not topological order: shuffle it
    order = draw(st.permutations(list(nodes)))
    nodes = {name: nodes[name] for name in order}

    incoming: dict[tuple[str, str], list[str]] = {}
    item_of = {**made, **{p: nodes[p]["item"] for p in plants}, **{d: "fg" for d in dcs}}
    for entry in lanes:
        incoming.setdefault((entry["to"], item_of[entry["from"]]), []).append(entry["from"])

    def sourcing_entries(require_multi: bool) -> list[dict[str, Any]]:
        entries = []
        for (at, item), srcs in incoming.items():
            if (len(srcs) > 1 and require_multi) or draw(st.booleans()):
                entries.append(
                    {
                        "at": at,
                        "item": item,
                        "mode": draw(st.sampled_from(["split", "failover"])),
                        "shares": _shares(draw, srcs),
                    }
                )
        return entries

    stock_points = [(d, "fg") for d in dcs] + [(p, c) for p in plants for c in nodes[p]["bom"]]

    def stock_entries() -> list[dict[str, Any]]:
        entries = []
        chosen = draw(st.lists(st.sampled_from(stock_points), unique=True, max_size=3))
        for at, item in chosen:
            entry: dict[str, Any] = {"at": at, "item": item}
            if policies and draw(st.booleans()):
                entry.update(_policy_entry(draw))
            elif draw(st.booleans()):
                entry["buffer_days"] = draw(st.sampled_from([0, 1, 2.5, 5, 10]))
            else:
                entry["order_up_to"] = draw(st.sampled_from([0, 3, 10, 25.5, 60]))
            entries.append(entry)
        return entries

    doc: dict[str, Any] = {
        "name": "random network",
        "horizon_days": draw(st.integers(5, 40)),
        "demand_mode": draw(st.sampled_from(["lost_sales", "backorder"])),
        "buffer_days": draw(st.sampled_from([0, 1, 2, 3.5])),
        "regions": {},
        "nodes": nodes,
        "lanes": lanes,
        "sourcing": sourcing_entries(require_multi=True),
        "stock": stock_entries(),
    }
    for r in regions:
        shocks = []
        if disruptions:
            for _ in range(draw(st.integers(0, 2))):
                shock: dict[str, Any] = _shock_rates(draw)
                if draw(st.booleans()):
                    shock["capacity_fraction"] = draw(st.sampled_from([0.25, 0.5, 0.9]))
                shocks.append(shock)
        doc["regions"][r] = {"shocks": shocks} if shocks else {}

    if disruptions:
        lane_keys = [f"{e['from']}->{e['to']}" for e in lanes]
        doc["lane_shocks"] = {
            f"ls{k}": {
                "lanes": draw(st.lists(st.sampled_from(lane_keys), min_size=1, unique=True)),
                "extra_lead_time_days": draw(st.integers(0, 5)),
                **_shock_rates(draw),
            }
            for k in range(draw(st.integers(0, 2)))
        }
        demand_dcs = [d for d, h in zip(dcs, has_demand, strict=True) if h]
        doc["demand_surges"] = {
            f"surge{k}": {
                "dcs": draw(st.lists(st.sampled_from(demand_dcs), min_size=1, unique=True)),
                "multiplier": draw(st.sampled_from([0.0, 0.5, 1.5, 3.0])),
                **_shock_rates(draw),
            }
            for k in range(draw(st.integers(0, 2)))
        }

    strategies = {}
    for k in range(draw(st.integers(1, 3))):
        body: dict[str, Any] = {}
        if draw(st.booleans()):
            body["buffer_days"] = draw(st.sampled_from([0, 1, 3, 7.5, 20]))
        if draw(st.booleans()):
            body["stock"] = stock_entries()
        if draw(st.booleans()):
            body["sourcing"] = sourcing_entries(require_multi=False)
        if production and plants and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(plants), unique=True, min_size=1))
            body["production"] = {p: _production(draw) for p in chosen}
        strategies[f"s{k}"] = body
    doc["strategies"] = strategies
    if events:
        lane_keys = [f"{e['from']}->{e['to']}" for e in lanes]
        demand_dcs = [d for d, h in zip(dcs, has_demand, strict=True) if h]
        args = (doc["horizon_days"], list(nodes), regions, lane_keys, demand_dcs)
        doc["events"] = _events(draw, *args)
        if draw(st.integers(0, 3)) == 0:
            doc["random_disruptions"] = False
        for body in strategies.values():
            if draw(st.booleans()):
                body["events"] = _events(draw, *args)
            if draw(st.integers(0, 3)) == 0:
                body["random_disruptions"] = draw(st.booleans())
    if quality:
        _quality(draw, doc, stock_points)
    return doc


# ----------------------------------------------------------------------------- issue-14 quality


def _defects(draw) -> dict[str, Any]:
    defects: dict[str, Any] = {"fraction": draw(st.sampled_from([0.0, 0.01, 0.1, 0.3, 0.5, 1.0]))}
    if draw(st.booleans()):
        defects["binomial"] = True
    if draw(st.booleans()):
        defects["scrap_cost_per_unit"] = draw(st.sampled_from([0.0, 1.0, 2.5]))
    if draw(st.booleans()):
        defects["incident"] = {
            **_shock_rates(draw),
            "fraction": draw(st.sampled_from([0.0, 0.2, 0.6])),
        }
    return defects


def _expedite_entries(draw, stock_points: list[tuple[str, str]]) -> list[dict[str, Any]]:
    entries = []
    for at, item in draw(st.lists(st.sampled_from(stock_points), unique=True, max_size=2)):
        entry: dict[str, Any] = {
            "at": at,
            "lead_time_days": draw(st.integers(0, 3)),
            "unit_premium": draw(st.sampled_from([0.0, 1.0, 4.5])),
            **_capacity(draw, 20.0),
        }
        if draw(st.booleans()):
            entry["item"] = item
        kind = draw(st.sampled_from(["days", "units", "down", "both"]))
        if kind in ("days", "both"):
            entry["trigger"] = {"below_days": draw(st.sampled_from([0.5, 1.0, 3.0]))}
        elif kind == "units":
            entry["trigger"] = {"below_units": draw(st.sampled_from([0.0, 2.0, 10.0]))}
        if kind in ("down", "both"):
            entry["when_sources_down"] = True
        entries.append(entry)
    return entries


def _quality(draw, doc: dict[str, Any], stock_points: list[tuple[str, str]]) -> None:
    """Defects on some lanes and plants (fixed or Binomial, with incident chains), jidoka
    at some plants, expediting at some stock points (top level and per strategy)."""
    for entry in doc["lanes"]:
        if draw(st.integers(0, 2)) == 0:
            entry["defects"] = _defects(draw)
    for node in doc["nodes"].values():
        if node["kind"] != "plant":
            continue
        if draw(st.integers(0, 2)) == 0:
            node["defects"] = _defects(draw)
        if draw(st.booleans()):
            node["jidoka"] = {
                "threshold": draw(st.sampled_from([0.0, 0.05, 0.2])),
                "recovery_probability": draw(st.sampled_from([0.2, 0.5, 1.0])),
            }
    # an entry for every item of a plant (item left out) is one choice among the others
    points = [(at, item) for at, item in stock_points]
    doc["expedite"] = _expedite_entries(draw, points)
    for body in doc["strategies"].values():
        if draw(st.booleans()):
            body["expedite"] = _expedite_entries(draw, points)


@st.composite
def scenarios(draw, **kwargs: Any) -> Scenario:
    """A random valid :class:`~resilience.model.Scenario` (kwargs: see ``scenario_docs``)."""
    return load_scenario(draw(scenario_docs(**kwargs)))


@st.composite
def single_stage_docs(draw) -> dict[str, Any]:
    """One supplier (unlimited capacity) -> one DC over a lead-time-0 lane, with random
    disruptions, and strategies whose buffers grow with their index (s0 < s1 < s2)."""
    doc = draw(scenario_docs(max_suppliers=1, max_plants=0, max_dcs=1))
    doc["nodes"]["sup0"].pop("capacity_per_day", None)
    (lane,) = doc["lanes"]
    lane["lead_time_days"] = 0
    lane.pop("capacity_per_day", None)
    doc["lane_shocks"] = {}
    doc["stock"] = []
    buffers = sorted(draw(st.lists(st.integers(0, 6), min_size=2, max_size=3)))
    doc["strategies"] = {f"s{k}": {"buffer_days": b} for k, b in enumerate(buffers)}
    return doc
