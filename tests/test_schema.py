"""Scenario schema: defaults, one test per rule of docs/scenario-format.md, the CLI."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from resilience.cli import main
from resilience.errors import ScenarioError
from resilience.scenario.model import (
    Demand,
    Lane,
    Outage,
    OutageDuration,
    Sourcing,
    StockPolicy,
    Strategy,
)
from resilience.scenario.queries import candidate_sources, resolve_sourcing, stock_points
from resilience.scenario.schema import load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "resilience" / "examples" / "two-tier.yaml"

# A small valid network touching every section: two chip suppliers (far and near), a
# plant making cars from chips, a dc whose item is inferred from the plant.
BASE = {
    "name": "tiny",
    "horizon_days": 30,
    "regions": {
        "asia": {
            "shocks": [{"name": "typhoon", "mean_days_between": 100, "mean_duration_days": 5}]
        },
        "europe": {},
    },
    "nodes": {
        "fab": {
            "kind": "supplier",
            "region": "asia",
            "item": "chip",
            "outage": {"failure_probability": 0.01, "recovery_probability": 0.1},
        },
        "fab_eu": {"kind": "supplier", "region": "europe", "item": "chip"},
        "plant": {"kind": "plant", "region": "europe", "item": "car", "bom": {"chip": 2}},
        "dc": {
            "kind": "dc",
            "region": "europe",
            "demand": {"distribution": "poisson", "mean_per_day": 10},
        },
    },
    "lanes": [
        {"from": "fab", "to": "plant", "lead_time_days": 20},
        {"from": "fab_eu", "to": "plant", "lead_time_days": 5},
        {"from": "plant", "to": "dc", "lead_time_days": 2},
    ],
    "sourcing": [{"at": "plant", "item": "chip", "mode": "split", "shares": {"fab": 1.0}}],
    "stock": [{"at": "dc", "buffer_days": 3}],
    "lane_shocks": {
        "strike": {
            "lanes": ["fab->plant"],
            "start_probability": 0.01,
            "end_probability": 0.2,
            "extra_lead_time_days": 7,
        }
    },
    "demand_surges": {
        "boom": {
            "dcs": ["dc"],
            "mean_days_between": 200,
            "mean_duration_days": 10,
            "multiplier": 1.5,
        }
    },
    "strategies": {
        "jit": {"buffer_days": 0},
        "regional": {
            "sourcing": [
                {
                    "at": "plant",
                    "item": "chip",
                    "mode": "failover",
                    "shares": {"fab": 0.5, "fab_eu": 0.5},
                }
            ]
        },
    },
}


def _steps(place: str) -> list[str | int]:
    """``'lanes[2].from'`` -> ``['lanes', 2, 'from']``."""
    return [
        int(tok[1:-1]) if tok.startswith("[") else tok
        for tok in re.findall(r"\[\d+\]|[^.\[\]]+", place)
    ]


def _parent(doc: dict, place: str) -> tuple[dict | list, str | int]:
    *head, last = _steps(place)
    target = doc
    for step in head:
        target = target[step]
    return target, last


def put(place, value):
    def mutate(doc):
        target, last = _parent(doc, place)
        if isinstance(target, list) and last == len(target):
            target.append(value)
        else:
            target[last] = value

    return mutate


def drop(place):
    def mutate(doc):
        target, last = _parent(doc, place)
        del target[last]

    return mutate


def both(*mutations):
    def mutate(doc):
        for m in mutations:
            m(doc)

    return mutate


def errors_of(doc) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    return info.value.errors


def base() -> dict:
    return copy.deepcopy(BASE)


# --------------------------------------------------------------------------- good input


def test_base_is_valid():
    scenario = load_scenario(base())
    assert [n.name for n in scenario.nodes] == ["fab", "fab_eu", "plant", "dc"]
    assert scenario.strategy_names == ["jit", "regional"]


def test_minimal_scenario_gets_documented_defaults():
    doc = {
        "name": "minimal",
        "horizon_days": 10,
        "regions": {"r": None},
        "nodes": {
            "s": {"kind": "supplier", "region": "r"},
            "d": {
                "kind": "dc",
                "region": "r",
                "demand": {"distribution": "poisson", "mean_per_day": 4},
            },
        },
        "lanes": [{"from": "s", "to": "d", "lead_time_days": 1}],
    }
    scenario = load_scenario(doc)
    s, d = scenario.nodes
    assert s.item == "s"  # supplier item defaults to its name
    assert d.item == "s"  # dc item inferred from its incoming lane
    assert s.capacity_per_day == math.inf and d.capacity_per_day == math.inf
    assert s.outage is None and d.demand == Demand("poisson", 4.0)
    assert scenario.lanes == (Lane("s", "d", 1, math.inf, 0.0, 0.0),)
    assert scenario.demand_mode == "lost_sales"
    assert scenario.buffer_days == 0.0
    assert scenario.description == ""
    assert scenario.strategies == (Strategy("base"),)
    assert scenario.sourcing == () and scenario.stock == ()
    assert scenario.regions[0].shocks == ()
    assert scenario.source_path is None
    assert yaml.safe_load(scenario.source_text) == doc
    assert resolve_sourcing(scenario) == {("d", "s"): Sourcing("d", "s", "split", {"s": 1.0})}


def test_means_become_per_day_probabilities():
    doc = base()
    doc["nodes"]["fab"]["outage"] = {
        "mean_days_between_failures": 400,
        "mean_outage_days": 8,
        "duration": {"distribution": "pareto", "min_days": 2, "alpha": 1.5},
    }
    scenario = load_scenario(doc)
    assert scenario.node("fab").outage == Outage(
        1 / 400, 1 / 8, OutageDuration("pareto", min_days=2.0, alpha=1.5)
    )
    (typhoon,) = scenario.regions[0].shocks
    assert (typhoon.start_probability, typhoon.end_probability) == (1 / 100, 1 / 5)
    assert typhoon.capacity_fraction == 0.0
    (surge,) = scenario.demand_surges
    assert (surge.start_probability, surge.end_probability) == (1 / 200, 1 / 10)
    assert surge.dcs == ("dc",) and surge.multiplier == 1.5
    (strike,) = scenario.lane_shocks
    assert strike.lanes == ("fab->plant",) and strike.extra_lead_time_days == 7


def test_heavy_tailed_outage_needs_no_recovery_rate():
    doc = base()
    doc["nodes"]["fab"]["outage"] = {
        "failure_probability": 0.01,
        "duration": {"distribution": "lognormal", "median_days": 10, "sigma": 1},
    }
    outage = load_scenario(doc).node("fab").outage
    assert outage.duration == OutageDuration("lognormal", median_days=10.0, sigma=1.0)


def test_region_shock_default_name_and_strategy_without_body():
    doc = base()
    del doc["regions"]["asia"]["shocks"][0]["name"]
    doc["strategies"]["base"] = None
    scenario = load_scenario(doc)
    assert scenario.regions[0].shocks[0].name == "asia_shock0"
    assert scenario.strategy("base") == Strategy("base")


def test_dc_item_inferred_through_a_chain_of_dcs():
    doc = base()
    # Declared before the dc that feeds it: inference must not depend on order.
    doc["nodes"] = {"dc_far": {"kind": "dc", "region": "europe"}, **doc["nodes"]}
    doc["lanes"].append({"from": "dc", "to": "dc_far", "lead_time_days": 1})
    scenario = load_scenario(doc)
    assert scenario.node("dc_far").item == "car"


def test_helpers_stock_points_and_sources():
    doc = base()
    doc["nodes"]["plant"]["bom"] = {"chip": 2, "glass": 1}
    doc["nodes"]["glass_works"] = {"kind": "supplier", "region": "europe", "item": "glass"}
    doc["lanes"].append({"from": "glass_works", "to": "plant", "lead_time_days": 3})
    scenario = load_scenario(doc)
    assert stock_points(scenario) == [("plant", "chip"), ("plant", "glass"), ("dc", "car")]
    assert [lane.key for lane in candidate_sources(scenario, "plant", "chip")] == [
        "fab->plant",
        "fab_eu->plant",
    ]
    assert candidate_sources(scenario, "plant", "car") == []
    base_sourcing = resolve_sourcing(scenario)
    assert base_sourcing[("plant", "chip")].shares == {"fab": 1.0}
    assert base_sourcing[("plant", "glass")] == Sourcing(
        "plant", "glass", "split", {"glass_works": 1.0}
    )
    regional = resolve_sourcing(scenario, "regional")
    assert regional[("plant", "chip")] == Sourcing(
        "plant", "chip", "failover", {"fab": 0.5, "fab_eu": 0.5}
    )
    assert list(regional) == [("plant", "chip"), ("plant", "glass"), ("dc", "car")]


def test_stock_policies_kept_as_written():
    doc = base()
    doc["strategies"]["jit"]["stock"] = [{"at": "plant", "item": "chip", "order_up_to": 500}]
    scenario = load_scenario(doc)
    assert scenario.stock == (StockPolicy("dc", None, buffer_days=3.0),)
    assert scenario.strategy("jit").stock == (StockPolicy("plant", "chip", order_up_to=500.0),)
    assert scenario.strategy("jit").buffer_days == 0.0


def test_example_file_loads_with_provenance():
    scenario = load_scenario(EXAMPLE)
    assert scenario.source_path == str(EXAMPLE)
    assert scenario.source_text == EXAMPLE.read_text()
    assert scenario.strategy_names == ["jit", "jic", "regionalized"]
    assert scenario.node("dc_eu").item == "car"


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *(ROOT / "scenarios").glob("**/*.yaml"),
            *(ROOT / "src" / "resilience" / "examples").glob("*.yaml"),
        ]
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_shipped_scenario_is_valid(path):
    doc = yaml.safe_load(path.read_text())
    if not (isinstance(doc, dict) and "nodes" in doc):
        pytest.skip("not a scenario (a sweep grid, say)")
    load_scenario(path)


# --------------------------------------------------------------------------- bad input

EXTRA_DC = {"kind": "dc", "region": "europe"}
STEEL = {"kind": "supplier", "region": "europe", "item": "steel"}

# (id, mutation of BASE, place, part of the message). The place must be exact.
BROKEN = [
    (
        "negative lead time",
        put("lanes[2].lead_time_days", -3),
        "lanes[2].lead_time_days",
        "must be an integer >= 0, got -3",
    ),
    (
        "fractional lead time",
        put("lanes[0].lead_time_days", 1.5),
        "lanes[0].lead_time_days",
        "must be an integer >= 0, got 1.5",
    ),
    (
        "bool is not a number",
        put("lanes[0].lead_time_days", True),
        "lanes[0].lead_time_days",
        "got true (a boolean)",
    ),
    (
        "bool capacity",
        put("nodes.plant.capacity_per_day", False),
        "nodes.plant.capacity_per_day",
        "must be a number >= 0, got false (a boolean)",
    ),
    (
        "string capacity",
        put("nodes.plant.capacity_per_day", "lots"),
        "nodes.plant.capacity_per_day",
        "must be a number >= 0, got 'lots'",
    ),
    (
        "nan cost",
        put("lanes[0].unit_cost", float("nan")),
        "lanes[0].unit_cost",
        "must be a number >= 0, got nan",
    ),
    (
        "negative cost",
        put("lanes[1].unit_cost", -1),
        "lanes[1].unit_cost",
        "must be a number >= 0, got -1",
    ),
    (
        "negative holding rate",
        put("nodes.dc.holding_cost_per_unit_day", -0.5),
        "nodes.dc.holding_cost_per_unit_day",
        "must be a number >= 0, got -0.5",
    ),
    (
        "negative demand",
        put("nodes.dc.demand.mean_per_day", -10),
        "nodes.dc.demand.mean_per_day",
        "must be a number >= 0, got -10",
    ),
    (
        "unknown kind",
        put("nodes.plant.kind", "factory"),
        "nodes.plant.kind",
        "must be one of supplier, plant, dc, got 'factory'",
    ),
    (
        "unknown demand distribution",
        put("nodes.dc.demand.distribution", "normal"),
        "nodes.dc.demand.distribution",
        "must be one of poisson, deterministic, negative_binomial, got 'normal'",
    ),
    (
        "unknown sourcing mode",
        put("sourcing[0].mode", "either"),
        "sourcing[0].mode",
        "must be one of split, failover, got 'either'",
    ),
    (
        "unknown demand mode",
        put("demand_mode", "lost"),
        "demand_mode",
        "must be one of lost_sales, backorder, got 'lost'",
    ),
    (
        "typo in node key",
        put("nodes.dc.lost_sales_margin", 30),
        "nodes.dc.lost_sales_margin",
        "unknown key (did you mean 'lost_sale_margin'?)",
    ),
    (
        "typo at top level",
        put("lane_shock", {}),
        "lane_shock",
        "unknown key (did you mean 'lane_shocks'?)",
    ),
    (
        "typo in strategy",
        put("strategies.jit.bufer_days", 3),
        "strategies.jit.bufer_days",
        "unknown key (did you mean 'buffer_days'?)",
    ),
    (
        "unknown key, no close match",
        put("lanes[0].colour", "red"),
        "lanes[0].colour",
        "unknown key (allowed: from, to, lead_time_days",
    ),
    (
        "key of another node kind",
        put("nodes.fab.bom", {"sand": 1}),
        "nodes.fab.bom",
        "not allowed for a supplier (only for plant)",
    ),
    ("missing lane end", drop("lanes[0].to"), "lanes[0].to", "required key missing"),
    ("missing name", drop("name"), "name", "required key missing, must be a non-empty string"),
    (
        "missing lead time",
        drop("lanes[1].lead_time_days"),
        "lanes[1].lead_time_days",
        "required key missing, must be an integer >= 0",
    ),
    ("missing bom", drop("nodes.plant.bom"), "nodes.plant.bom", "required key missing"),
    ("empty bom", put("nodes.plant.bom", {}), "nodes.plant.bom", "at least one component"),
    (
        "zero bom quantity",
        put("nodes.plant.bom.chip", 0),
        "nodes.plant.bom.chip",
        "must be a number > 0, got 0",
    ),
    (
        "nodes not a mapping",
        put("nodes", ["fab"]),
        "nodes",
        "must be a mapping of node name -> node, got a list",
    ),
    ("horizon zero", put("horizon_days", 0), "horizon_days", "must be an integer >= 1, got 0"),
    (
        "horizon beyond cap",
        put("horizon_days", 40000),
        "horizon_days",
        "must be at most 36500 (sanity limit), got 40000",
    ),
    (
        "probability above 1",
        put("nodes.fab.outage.failure_probability", 1.5),
        "nodes.fab.outage.failure_probability",
        "must be a probability in [0, 1], got 1.5",
    ),
    (
        "recovery cannot be 0",
        put("nodes.fab.outage.recovery_probability", 0),
        "nodes.fab.outage.recovery_probability",
        "must be a probability in (0, 1], got 0",
    ),
    (
        "end probability above 1",
        put("lane_shocks.strike.end_probability", 2),
        "lane_shocks.strike.end_probability",
        "must be a probability in (0, 1], got 2",
    ),
    (
        "mean days below 1",
        put("regions.asia.shocks[0].mean_duration_days", 0.5),
        "regions.asia.shocks[0].mean_duration_days",
        "must be a number >= 1, got 0.5",
    ),
    (
        "capacity fraction 1",
        put("regions.asia.shocks[0].capacity_fraction", 1.0),
        "regions.asia.shocks[0].capacity_fraction",
        "must be a number in [0, 1), got 1.0",
    ),
    (
        "mean and probability both",
        put("nodes.fab.outage.mean_days_between_failures", 300),
        "nodes.fab.outage",
        "give mean_days_between_failures or failure_probability, not both",
    ),
    (
        "mean and probability neither",
        drop("nodes.fab.outage.failure_probability"),
        "nodes.fab.outage",
        "missing mean_days_between_failures or failure_probability, one is required",
    ),
    (
        "shock start neither",
        drop("demand_surges.boom.mean_days_between"),
        "demand_surges.boom",
        "missing mean_days_between or start_probability",
    ),
    (
        "lognormal sigma 0",
        put(
            "nodes.fab.outage.duration", {"distribution": "lognormal", "median_days": 5, "sigma": 0}
        ),
        "nodes.fab.outage.duration.sigma",
        "must be a number > 0, got 0",
    ),
    (
        "lognormal median negative",
        put(
            "nodes.fab.outage.duration",
            {"distribution": "lognormal", "median_days": -1, "sigma": 1},
        ),
        "nodes.fab.outage.duration.median_days",
        "must be a number > 0, got -1",
    ),
    (
        "pareto without alpha",
        put("nodes.fab.outage.duration", {"distribution": "pareto", "min_days": 2}),
        "nodes.fab.outage.duration.alpha",
        "required key missing, must be a number > 0",
    ),
    (
        "pareto min_days 0",
        put("nodes.fab.outage.duration", {"distribution": "pareto", "min_days": 0, "alpha": 2}),
        "nodes.fab.outage.duration.min_days",
        "must be a number > 0, got 0",
    ),
    (
        "lognormal parameter on pareto",
        put(
            "nodes.fab.outage.duration",
            {"distribution": "pareto", "min_days": 1, "alpha": 2, "sigma": 1},
        ),
        "nodes.fab.outage.duration.sigma",
        "not a pareto parameter (pareto takes min_days, alpha)",
    ),
    (
        "unknown node in lane",
        put("lanes[0].to", "plnt"),
        "lanes[0].to",
        "unknown node 'plnt' (did you mean 'plant'?)",
    ),
    (
        "unknown node in sourcing",
        put("sourcing[0].at", "plantt"),
        "sourcing[0].at",
        "unknown node 'plantt' (did you mean 'plant'?)",
    ),
    (
        "unknown node in shares",
        put("sourcing[0].shares", {"fabb": 1.0}),
        "sourcing[0].shares.fabb",
        "unknown node 'fabb' (did you mean 'fab'?)",
    ),
    (
        "unknown node in surge",
        put("demand_surges.boom.dcs", ["dcc"]),
        "demand_surges.boom.dcs[0]",
        "unknown node 'dcc' (did you mean 'dc'?)",
    ),
    (
        "unknown region",
        put("nodes.plant.region", "europa"),
        "nodes.plant.region",
        "unknown region 'europa' (did you mean 'europe'?)",
    ),
    (
        "unknown lane in lane shock",
        put("lane_shocks.strike.lanes", ["fab->plnt"]),
        "lane_shocks.strike.lanes[0]",
        "unknown lane 'fab->plnt' (did you mean 'fab->plant'?)",
    ),
    (
        "not a lane key",
        put("lane_shocks.strike.lanes", ["fab to plant"]),
        "lane_shocks.strike.lanes[0]",
        "must be a lane 'source->destination', got 'fab to plant'",
    ),
    (
        "shares do not sum to 1",
        put("sourcing[0].shares", {"fab": 0.5, "fab_eu": 0.4}),
        "sourcing[0].shares",
        "shares must sum to 1, got a sum of 0.9",
    ),
    (
        "negative share",
        put("sourcing[0].shares", {"fab": 1.5, "fab_eu": -0.5}),
        "sourcing[0].shares.fab_eu",
        "must be a share >= 0, got -0.5",
    ),
    (
        "share names a node without a lane",
        put("strategies.regional.sourcing[0].shares", {"fab": 0.5, "dc": 0.5}),
        "strategies.regional.sourcing[0].shares.dc",
        "no lane dc->plant, shares may only name sources with a lane into plant carrying 'chip'",
    ),
    (
        "sourcing of an item not stocked",
        put("sourcing[0].item", "steel"),
        "sourcing[0].item",
        "must be an item stocked at plant (chip), got 'steel'",
    ),
    (
        "sourcing at a supplier",
        put("sourcing[0].at", "fab"),
        "sourcing[0].at",
        "must be a stock point (a plant or a dc), got 'fab'",
    ),
    (
        "duplicate sourcing in a strategy",
        put("strategies.regional.sourcing[1]", BASE["sourcing"][0]),
        "strategies.regional.sourcing[1]",
        "duplicate sourcing for 'chip' at plant (also strategies.regional.sourcing[0])",
    ),
    (
        "several candidates and no sourcing",
        drop("sourcing"),
        "sourcing",
        "plant has 2 candidate lanes for 'chip' (fab->plant, fab_eu->plant) but no sourcing entry",
    ),
    (
        "stock at a supplier",
        put("stock[0].at", "fab"),
        "stock[0].at",
        "must be a stock point (a plant or a dc), got 'fab' (a supplier holds no stock)",
    ),
    (
        "strategy stock item not stocked",
        put("strategies.jit.stock", [{"at": "plant", "item": "steel", "buffer_days": 3}]),
        "strategies.jit.stock[0].item",
        "must be an item stocked at plant (chip), got 'steel'",
    ),
    (
        "stock level both ways",
        put("stock[0].order_up_to", 100),
        "stock[0]",
        "give buffer_days or order_up_to, not both",
    ),
    (
        "duplicate stock entries",
        put("stock[1]", {"at": "dc", "order_up_to": 5}),
        "stock[1]",
        "duplicate stock entry for every item at dc (also stock[0])",
    ),
    (
        "duplicate lane",
        put("lanes[3]", {"from": "fab", "to": "plant", "lead_time_days": 9}),
        "lanes[3]",
        "duplicate lane fab->plant (also lanes[0])",
    ),
    (
        "self lane",
        put("lanes[3]", {"from": "plant", "to": "plant", "lead_time_days": 0}),
        "lanes[3]",
        "a lane cannot connect a node to itself, got plant->plant",
    ),
    (
        "lane into a supplier",
        put("lanes[3]", {"from": "fab_eu", "to": "fab", "lead_time_days": 1}),
        "lanes[3].to",
        "suppliers have no incoming lanes, got 'fab' (a supplier)",
    ),
    (
        "lane into a plant carries no component",
        both(
            put("nodes.steel", STEEL),
            put("lanes[3]", {"from": "steel", "to": "plant", "lead_time_days": 1}),
        ),
        "lanes[3]",
        "a lane into a plant must carry one of its components (chip), got 'steel'",
    ),
    (
        "lane into a dc carries another item",
        both(
            put("nodes.dc.item", "car"),
            put("lanes[3]", {"from": "fab", "to": "dc", "lead_time_days": 1}),
        ),
        "lanes[3]",
        "a lane into a dc must carry the dc's item 'car', got 'chip'",
    ),
    (
        "dc item ambiguous",
        put("lanes[3]", {"from": "fab", "to": "dc", "lead_time_days": 1}),
        "nodes.dc.item",
        "incoming lanes carry different items ('car' from plant, 'chip' from fab)",
    ),
    (
        "dc item not inferable",
        put("nodes.dc_spare", EXTRA_DC),
        "nodes.dc_spare.item",
        "required for a dc with no incoming lanes",
    ),
    (
        "component without a lane",
        put("nodes.plant.bom.glass", 1),
        "nodes.plant.bom.glass",
        "no lane into plant carries 'glass'",
    ),
    (
        "dc with demand but no lane",
        drop("lanes[2]"),
        "nodes.dc",
        "has demand (or feeds a dc that has) but no lane brings it",
    ),
    (
        "no dc has demand",
        put("nodes.dc.demand.mean_per_day", 0),
        "nodes",
        "no dc has demand (mean_per_day > 0)",
    ),
    (
        "network cycle",
        both(
            put("nodes.dc2", EXTRA_DC),
            put("lanes[3]", {"from": "dc", "to": "dc2", "lead_time_days": 1}),
            put("lanes[4]", {"from": "dc2", "to": "dc", "lead_time_days": 1}),
        ),
        "lanes",
        "the network has a cycle dc -> dc2 -> dc (lanes[3], lanes[4])",
    ),
    (
        "bom cycle",
        both(
            put(
                "nodes.chip_plant",
                {"kind": "plant", "region": "europe", "item": "chip", "bom": {"car": 1}},
            ),
            put("lanes[3]", {"from": "plant", "to": "chip_plant", "lead_time_days": 1}),
        ),
        "nodes.plant.bom",
        "bill-of-materials cycle car -> chip -> car (plants plant, chip_plant)",
    ),
    (
        "plant consumes its own item",
        put("nodes.plant.bom.car", 1),
        "nodes.plant.bom.car",
        "a plant cannot consume the item it makes",
    ),
    (
        "surge on a plant",
        put("demand_surges.boom.dcs", ["plant"]),
        "demand_surges.boom.dcs[0]",
        "surges cover dcs only, got 'plant' (a plant)",
    ),
    (
        "too many surges on one dc",
        put("demand_surges", {f"s{i}": {**BASE["demand_surges"]["boom"]} for i in range(9)}),
        "demand_surges",
        "at most 8 surges may cover one dc, got 9 covering dc",
    ),
    (
        "negative extra lead time",
        put("lane_shocks.strike.extra_lead_time_days", -1),
        "lane_shocks.strike.extra_lead_time_days",
        "must be an integer >= 0, got -1",
    ),
    ("empty strategies", put("strategies", {}), "strategies", "must name at least one strategy"),
    (
        "bad node name",
        put("nodes", {**BASE["nodes"], "a->b": EXTRA_DC}),
        "nodes['a->b']",
        "node name must be letters, digits, '_', '.', '-' only",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "place", "message"),
    [pytest.param(m, p, msg, id=name) for name, m, p, msg in BROKEN],
)
def test_broken_scenario_names_place_and_problem(mutate, place, message):
    doc = base()
    mutate(doc)
    errors = errors_of(doc)
    matching = [e for e in errors if e.startswith(f"{place}: ")]
    assert matching, f"no error at {place!r}; got {errors}"
    assert any(message in e for e in matching), f"{message!r} not in {matching}"


def test_table_is_big_enough():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize(
    "place",
    ["lanes[0].lead_time_days", "nodes.plant.kind", "nodes.fab.outage.failure_probability"],
)
def test_one_mistake_gives_one_error(place):
    """A single bad field must not cascade into errors about the network around it."""
    doc = base()
    put(place, "oops")(doc)
    assert len(errors_of(doc)) == 1


def test_all_errors_are_collected(tmp_path):
    doc = base()
    put("lanes[2].lead_time_days", -3)(doc)
    put("nodes.dc.lost_sales_margin", 30)(doc)
    put("nodes.fab.outage.failure_probability", 1.5)(doc)
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    exc = info.value
    assert exc.source == str(path)
    assert len(exc.errors) == 3
    lines = str(exc).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert f"{path}: lanes[2].lead_time_days: must be an integer >= 0, got -3" in lines


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "automotive.yaml"
    path.write_text("name: broken\nhorizon_days: 10\nnodes:\n  a: [1, 2\n  b: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (line,) = str(info.value).splitlines()
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: YAML syntax error: ", line)
    assert info.value.source == str(path)


def test_yaml_syntax_error_line_is_the_offending_line(tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("name: x\nhorizon_days: 10\n\tnodes: {}\n")
    with pytest.raises(ScenarioError, match=r"tabs\.yaml:3:1: YAML syntax error"):
        load_scenario(path)


def test_duplicate_yaml_keys_are_errors(tmp_path):
    doc = yaml.safe_dump(base(), sort_keys=False)
    # A second `jit` strategy and a second `fab` node, as a careless copy-paste makes them.
    doc = doc.replace("  jit:\n", "  jit:\n    buffer_days: 1\n  jit:\n", 1)
    doc = doc.replace("nodes:\n", "nodes:\n  fab:\n    kind: dc\n    region: europe\n", 1)
    path = tmp_path / "dups.yaml"
    path.write_text(doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    errors = info.value.errors
    assert any(re.match(r"nodes\.fab: duplicate key \(lines \d+ and \d+\)", e) for e in errors)
    assert any(e.startswith("strategies.jit: duplicate key") for e in errors)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "scenario: file is empty"),
        ("- a\n- b\n", "scenario: must be a mapping of scenario keys"),
        ("just text\n", "scenario: must be a mapping of scenario keys"),
    ],
)
def test_file_that_is_not_a_mapping(tmp_path, text, message):
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (line,) = str(info.value).splitlines()
    assert line.startswith(f"{path}: {message}")


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: file not found"
    assert isinstance(info.value, ValueError)


def test_yaml_text_and_other_types_are_refused():
    with pytest.raises(TypeError, match="not YAML text"):
        load_scenario("name: x\nhorizon_days: 3\n")
    with pytest.raises(TypeError):
        load_scenario(42)  # type: ignore[arg-type]


PROBABILITY_PLACES = [
    # (place, key that must go so the probability is the only rate given)
    ("nodes.fab.outage.failure_probability", None),
    ("nodes.fab.outage.recovery_probability", None),
    ("regions.asia.shocks[0].start_probability", "regions.asia.shocks[0].mean_days_between"),
    ("regions.asia.shocks[0].end_probability", "regions.asia.shocks[0].mean_duration_days"),
    ("lane_shocks.strike.start_probability", None),
    ("lane_shocks.strike.end_probability", None),
    ("demand_surges.boom.start_probability", "demand_surges.boom.mean_days_between"),
    ("demand_surges.boom.end_probability", "demand_surges.boom.mean_duration_days"),
]

outside_unit_interval = st.one_of(
    st.floats(max_value=0.0, exclude_max=True),
    st.floats(min_value=1.0, exclude_min=True),
    st.just(float("nan")),
    st.integers().filter(lambda n: n not in (0, 1)),
)


@given(where=st.sampled_from(PROBABILITY_PLACES), value=outside_unit_interval)
def test_probability_outside_unit_interval_is_rejected(where, value):
    place, shadowed = where
    doc = base()
    if shadowed:
        drop(shadowed)(doc)
    put(place, value)(doc)
    errors = errors_of(doc)
    assert any(e.startswith(f"{place}: must be a probability in ") for e in errors), errors


# --------------------------------------------------------------------------- command line


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_cli_ok(tmp_path):
    good = _write(tmp_path, "good.yaml", base())
    result = CliRunner().invoke(main, ["validate", str(good), str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"OK {good} (4 nodes, 3 lanes, 2 strategies)",
        f"OK {EXAMPLE} (4 nodes, 3 lanes, 3 strategies)",
    ]
    assert result.stderr == ""


def test_cli_reports_every_bad_file_and_exits_1(tmp_path):
    good = _write(tmp_path, "good.yaml", base())
    doc = base()
    put("lanes[2].lead_time_days", -3)(doc)
    put("nodes.plant.kind", "factory")(doc)
    bad = _write(tmp_path, "bad.yaml", doc)
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["validate", str(bad), str(missing), str(good)])
    assert result.exit_code == 1
    assert result.stdout == f"OK {good} (4 nodes, 3 lanes, 2 strategies)\n"
    assert result.stderr.splitlines() == [
        f"{bad}: nodes.plant.kind: must be one of supplier, plant, dc, got 'factory'",
        f"{bad}: lanes[2].lead_time_days: must be an integer >= 0, got -3",
        f"{missing}: file not found",
    ]


def test_cli_needs_a_file():
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2


def test_cli_subprocess_bad_file(tmp_path):
    doc = base()
    put("lanes[2].lead_time_days", -3)(doc)
    put("nodes.dc.lost_sales_margin", 30)(doc)
    put("nodes.fab.outage.failure_probability", 1.5)(doc)
    bad = _write(tmp_path, "bad.yaml", doc)
    exe = Path(sys.executable).with_name("resilience")
    proc = subprocess.run(
        [str(exe), "validate", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 3, proc.stderr
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert "Traceback" not in proc.stderr


def _places(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _places(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _places(value, (*path, i))


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(),
    st.sampled_from(["", "fab", "plant", "dc", "chip", "fab->plant"]),
    st.lists(st.sampled_from(["fab", "dc", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["fab", "chip", "kind", 1]), st.integers(0, 1), max_size=2),
)


@given(where=st.sampled_from(list(_places(BASE))[1:]), junk=JUNK)
def test_any_junk_is_a_scenario_error_never_a_crash(where, junk):
    """Whatever lands in any place, the answer is a Scenario or ScenarioError lines."""
    doc = base()
    target = doc
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = junk
    try:
        load_scenario(doc)
    except ScenarioError as exc:
        assert exc.errors
        assert all(line and "\n" not in line for line in exc.errors)


def test_baseline_and_currency_keys(tmp_path):
    """`baseline` names the reference strategy (checked against the strategies), `currency`
    labels money; both reach the results' attributes."""
    text = EXAMPLE.read_text()
    good = tmp_path / "good.yaml"
    good.write_text(text + "\nbaseline: jic\ncurrency: EUR\n")
    scenario = load_scenario(good)
    assert (scenario.baseline, scenario.currency) == ("jic", "EUR")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nbaseline: nope\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert (
        "baseline: must name a strategy of the scenario (jit, jic, regionalized), got 'nope'"
        in str(err.value)
    )


# --------------------------------------------------------------------------- derived bounds
# What compiling a file would compute is bounded too (scenario/bounds.py), so that a file
# that validates also runs: each error is placed at the value it comes from.

_LARGER_UNIT = "count in larger units (kg instead of g, pallets instead of units)"
_ON_HAND_LIMIT = (
    "the limit is 3.5e+13, as daily on-hand means are exact int64 sums of on hand x 2**8 "
    f"over paths (more would leave fewer than 1,000 paths a run); {_LARGER_UNIT}"
)
_SECOND_STRIKE = {
    "lanes": ["fab->plant"],
    "start_probability": 0.01,
    "end_probability": 0.5,
    "extra_lead_time_days": 36500,
}

DERIVED = [
    (
        put("strategies.jit.buffer_days", 1e308),
        "strategies.jit.buffer_days",
        "gives plant/chip an order-up-to level of inf units under strategy jit (mean "
        "outflow 20 a day x 1e+308 days of cover); the limit is 3.5e+13 units on hand, use "
        "fewer days of cover or larger units",
    ),
    (
        put("nodes.dc.demand.mean_per_day", 2e6),
        "nodes.dc.demand.mean_per_day",
        "demand mean 2e+06 of dc needs a Poisson table of 2.02e+06 entries; the limit is "
        "1e+06 (a mean up to about 988,051 a day, surges included); use distribution: "
        "deterministic or a smaller unit",
    ),
    (
        put("demand_surges.boom.multiplier", 1e6),
        "demand_surges.boom.multiplier",
        "demand mean 10 of dc x surge boom 1e+06 needs a Poisson table of 1e+07 "
        "entries; the limit is 1e+06 (a mean up to about 988,051 a day, surges included); "
        "use distribution: deterministic or a smaller unit",
    ),
    (
        put("nodes.plant.bom.chip", 1e300),
        "nodes.plant.bom.chip",
        "makes the mean outflow of plant/chip 1e+301 units a day under strategy jit "
        f"(1e+300 per unit made); the limit is 1e+12, {_LARGER_UNIT}",
    ),
    (
        put("stock", [{"at": "dc", "order_up_to": 2e13}, {"at": "plant", "order_up_to": 2e13}]),
        "stock[1].order_up_to",
        "lets on hand reach 4e+13 units under strategy regional: order-up-to levels 4e+13 "
        f"(the largest 2e+13); {_ON_HAND_LIMIT}",
    ),
    (
        both(
            put("horizon_days", 60),
            put("demand_mode", "backorder"),
            put("nodes.dc.capacity_per_day", 100),
            put("nodes.dc.demand", {"distribution": "deterministic", "mean_per_day": 4e11}),
        ),
        "demand_mode",
        "lets on hand reach 5.28e+13 units under strategy jit: order-up-to levels 1.68e+13 "
        "(the largest 1.6e+13), plus 3.6e+13 of backlog that impaired dcs may be restocked "
        "for (backorder mode: horizon x their largest daily demand); " + _ON_HAND_LIMIT,
    ),
    (
        both(
            put("lanes[0].lead_time_days", 100),
            put("lane_shocks.strike.extra_lead_time_days", 36500),
            put("lane_shocks.port", _SECOND_STRIKE),
        ),
        "lanes[0]",
        "lead time 100 days plus 73000 extra days of the lane shocks on it is 73100 days; "
        "the limit is 73000",
    ),
    (
        put("nodes.dc.holding_cost_per_unit_day", 2e15),
        "nodes.dc.holding_cost_per_unit_day",
        "must be at most 1e+15 (larger costs can make total_cost overflow), got 2e+15",
    ),
    (
        put("lanes[1].unit_cost", 10**400),
        "lanes[1].unit_cost",
        "must be a number >= 0, got an integer of about 401 digits",
    ),
]


@pytest.mark.parametrize(
    "mutate, place, message", DERIVED, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(DERIVED)]
)
def test_derived_quantities_out_of_bounds_are_placed_errors(mutate, place, message):
    doc = base()
    mutate(doc)
    assert errors_of(doc) == [f"{place}: {message}"]


def test_one_out_of_bounds_value_gives_one_error():
    """A level out of bounds under every strategy, and at every stock point upstream of
    an outflow out of bounds, is reported once, where the value is."""
    doc = base()
    put("buffer_days", 1e308)(doc)
    put("strategies.jit", {})(doc)
    errors = errors_of(doc)
    assert errors == [
        "buffer_days: gives plant/chip an order-up-to level of inf units under strategy jit "
        "(mean outflow 20 a day x 1e+308 days of cover); the limit is 3.5e+13 units on "
        "hand, use fewer days of cover or larger units"
    ]


def test_values_just_inside_the_bounds_are_valid():
    doc = base()
    put("nodes.dc.demand", {"distribution": "deterministic", "mean_per_day": 1e12 / 1.5})(doc)
    put("nodes.plant.bom.chip", 1.5)(doc)
    put("nodes.dc.holding_cost_per_unit_day", 1e15)(doc)
    load_scenario(doc)
