"""scenario/queries.py: the one owner of stock points, candidate lanes, sourcing and stock
resolution and processing order, shared by the compiler and the scenario checks."""

from __future__ import annotations

import copy
from collections import namedtuple

import pytest

from resilience import compiler
from resilience.errors import ScenarioError
from resilience.kernels import simulate as kernel
from resilience.scenario import queries, schema
from resilience.scenario.model import (
    Demand,
    Lane,
    Node,
    Scenario,
    Sourcing,
    StockPolicy,
    Strategy,
)
from resilience.scenario.queries import (
    candidate_lanes,
    candidate_sources,
    processing_order,
    resolve_sourcing,
    stock_points,
    stock_policy,
    stocked_items,
)
from resilience.scenario.schema import load_scenario

# A supplier, a plant and a dc; `spare` is a dc with its item given, no demand and no
# lane into it: the one kind of stock point with no candidate lane a file may declare.
DOC = {
    "name": "queries",
    "horizon_days": 20,
    "regions": {"r": None},
    "nodes": {
        "fab": {"kind": "supplier", "region": "r", "item": "chip"},
        "plant": {"kind": "plant", "region": "r", "item": "car", "bom": {"chip": 2}},
        "dc": {
            "kind": "dc",
            "region": "r",
            "demand": {"distribution": "poisson", "mean_per_day": 5},
        },
        "spare": {"kind": "dc", "region": "r", "item": "car"},
    },
    "lanes": [
        {"from": "fab", "to": "plant", "lead_time_days": 4},
        {"from": "plant", "to": "dc", "lead_time_days": 1},
    ],
    "buffer_days": 2,
    "stock": [{"at": "spare", "order_up_to": 30}],
}


def doc() -> dict:
    return copy.deepcopy(DOC)


def test_one_copy_everywhere():
    """The compiler and the schema expose the queries' functions, not copies of them."""
    assert compiler.stock_points is queries.stock_points
    assert compiler.resolve_sourcing is queries.resolve_sourcing
    assert compiler.processing_order is queries.processing_order
    assert schema.stock_points is queries.stock_points
    assert schema.resolve_sourcing is queries.resolve_sourcing
    assert schema.candidate_sources is queries.candidate_sources


@pytest.mark.parametrize(
    "name", ["FILL_BINS", "FILL_FIXED_POINT", "ON_HAND_FIXED_POINT", "UNIT_EPS", "GUIDE_RESOLUTION"]
)
def test_kernel_owns_the_constants_compiler_reexports(name):
    assert getattr(compiler, name) is getattr(kernel, name)


def test_stocked_items_by_kind():
    assert stocked_items("dc", "car", {}) == ["car"]
    assert stocked_items("plant", "car", {"chip": 2.0, "glass": 1.0}) == ["chip", "glass"]
    assert stocked_items("supplier", "chip", {}) == []


def test_stock_point_without_candidate_lane_is_valid_and_never_receives():
    scenario = load_scenario(doc())
    assert stock_points(scenario) == [("plant", "chip"), ("dc", "car"), ("spare", "car")]
    assert candidate_sources(scenario, "spare", "car") == []
    sourcing = resolve_sourcing(scenario)
    assert sourcing[("spare", "car")] == Sourcing("spare", "car", "split", {})
    compiled = compiler.compile_strategy(scenario, "base")
    net = compiled.network
    p = compiled.positions.index(("spare", "car"))
    assert net.pos_src_ptr[p + 1] - net.pos_src_ptr[p] == 0  # no active source
    assert compiled.order_up_to["spare/car"] == 30.0  # starts with S, never refilled
    assert compiled.sourcing["spare/car"] == {"mode": "split", "shares": {}}


def test_without_candidate_lane_and_buffer_days_the_level_is_zero():
    d = doc()
    del d["stock"]
    compiled = compiler.compile_strategy(load_scenario(d), "base")
    assert compiled.order_up_to["spare/car"] == 0.0


def test_stock_point_needing_a_source_without_one_is_an_error():
    d = doc()
    d["nodes"]["spare"]["demand"] = {"distribution": "poisson", "mean_per_day": 1}
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    assert info.value.errors == [
        "nodes.spare: has demand (or feeds a dc that has) but no lane brings it anything, "
        "add a lane into spare"
    ]
    d = doc()
    d["nodes"]["plant"]["bom"] = {"chip": 2, "glass": 1}
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    assert info.value.errors == [
        "nodes.plant.bom.glass: no lane into plant carries 'glass', "
        "each component needs a lane from a node that makes or stocks it"
    ]


def test_several_candidate_lanes_need_an_entry_in_a_file():
    d = doc()
    d["nodes"]["fab_eu"] = {"kind": "supplier", "region": "r", "item": "chip"}
    d["lanes"].append({"from": "fab_eu", "to": "plant", "lead_time_days": 2})
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    assert info.value.errors == [
        "sourcing: plant has 2 candidate lanes for 'chip' (fab->plant, fab_eu->plant) "
        "but no sourcing entry, add one (at, item, mode, shares) to choose"
    ]
    d["sourcing"] = [{"at": "plant", "item": "chip", "mode": "split", "shares": {"fab_eu": 1}}]
    assert resolve_sourcing(load_scenario(d))[("plant", "chip")].shares == {"fab_eu": 1.0}


def _hand_built(**changes) -> Scenario:
    """A scenario built without the schema: two lanes into the dc and no sourcing entry."""
    fields = dict(
        name="hand",
        horizon_days=5,
        nodes=(
            Node("a", "supplier", "r", "w"),
            Node("b", "supplier", "r", "w"),
            Node("c", "supplier", "r", "w"),
            Node("dc", "dc", "r", "w", demand=Demand("poisson", 3.0)),
        ),
        lanes=(Lane("a", "dc", 1), Lane("b", "dc", 2), Lane("c", "dc", 3)),
    )
    fields.update(changes)
    return Scenario(**fields)


def test_several_candidate_lanes_without_entry_split_evenly():
    """Only a hand-built scenario gets here (a file is rejected): the compiled shares."""
    scenario = _hand_built()
    (entry,) = resolve_sourcing(scenario).values()
    assert entry == Sourcing("dc", "w", "split", {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    net = compiler.compile_strategy(scenario, "base").network
    assert net.src_share.tolist() == [1 / 3, 1 / 3, 1 / 3]
    assert net.src_lane.tolist() == [0, 1, 2]


def test_strategy_entries_replace_base_entries():
    base = Sourcing("dc", "w", "split", {"a": 1.0})
    override = Sourcing("dc", "w", "failover", {"b": 0.5, "c": 0.5})
    scenario = _hand_built(
        sourcing=(base,), strategies=(Strategy("base"), Strategy("alt", sourcing=(override,)))
    )
    assert resolve_sourcing(scenario) == {("dc", "w"): base}
    assert resolve_sourcing(scenario, "base") == {("dc", "w"): base}
    assert resolve_sourcing(scenario, "alt") == {("dc", "w"): override}
    assert resolve_sourcing(scenario, scenario.strategy("alt")) == {("dc", "w"): override}


def test_stock_policy_precedence():
    scenario = _hand_built(buffer_days=1.0, stock=(StockPolicy("dc", None, order_up_to=7.0),))
    plain, by_days = Strategy("plain"), Strategy("days", buffer_days=4.0)
    own = Strategy("own", buffer_days=4.0, stock=(StockPolicy("dc", "w", buffer_days=9.0),))
    assert stock_policy(scenario, own, "dc", "w") == StockPolicy("dc", "w", buffer_days=9.0)
    assert stock_policy(scenario, by_days, "dc", "w") == StockPolicy("dc", "w", buffer_days=4.0)
    assert stock_policy(scenario, plain, "dc", "w") == StockPolicy("dc", None, order_up_to=7.0)
    bare = _hand_built(buffer_days=1.5)
    assert stock_policy(bare, plain, "dc", "w") == StockPolicy("dc", "w", buffer_days=1.5)


def test_candidate_lanes_on_drafts_with_unknown_items():
    """The checks call it on lane drafts, where an item may still be unknown."""
    Draft = namedtuple("Draft", "source destination")
    lanes = [Draft("a", "x"), Draft("b", "x"), Draft("c", "x"), Draft("a", "y")]
    assert candidate_lanes(lanes, {"a": "w", "c": "v"}, "x", "w") == [lanes[0]]
    assert candidate_lanes(lanes, {}, "x", "w") == []


def test_processing_order_puts_buyers_before_sources():
    scenario = load_scenario(doc())
    names = [scenario.nodes[i].name for i in processing_order(scenario)]
    assert names == ["dc", "plant", "fab", "spare"]  # ready nodes by declaration
    looped = _hand_built(lanes=(Lane("a", "dc", 1), Lane("dc", "a", 1)))
    with pytest.raises(ValueError, match="cycle"):
        processing_order(looped)
