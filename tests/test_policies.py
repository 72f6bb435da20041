"""Ordering policies (issue-14 policy): kernel against the reference simulator bit for
bit, properties of the orders, order cost in total_cost, and placed input errors. The
exact answers are in tests/validation/test_policies.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import resilience
from resilience.compiler import compile_strategy, on_hand_bound
from resilience.errors import ScenarioError
from resilience.kernels import simulate as k
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import network, run_kernel
from tests.strategies import scenario_docs, scenarios, seeds
from tests.test_reference import assert_matches_reference


@given(scenario=scenarios(policies=True), seed=seeds, path_start=st.integers(0, 10**6))
def test_kernel_equals_reference_with_policies(scenario, seed, path_start):
    """Random networks whose stock points run (s, S), (r, Q), (R, S) or base stock, with
    minimum order quantities, lot multiples and order costs: every output matches."""
    for strategy in scenario.strategy_names:
        assert_matches_reference(scenario, strategy, seed, path_start, n=3)


@given(scenario=scenarios(policies=True, events=True), seed=seeds)
def test_policies_conserve_units_and_bound_on_hand(scenario, seed):
    """Units are conserved under any policy, on hand stays within the compiler's bound,
    and order_cost is the per-order cost times the orders placed (single stock point
    networks aside, at least: every order costs at most the largest cost)."""
    for strategy in scenario.strategy_names:
        net = network(scenario, strategy)
        p = run_kernel(net, seed, 0, 8).path_out
        start, end = p[:, k.ON_HAND_START], p[:, k.ON_HAND_END]
        received, consumed = p[:, k.RECEIVED], p[:, k.CONSUMED]
        shipped, in_transit = p[:, k.SHIPPED], p[:, k.IN_TRANSIT_END]
        scale = np.maximum(np.maximum.reduce([start, end, received, consumed, shipped]), 1.0)
        assert (np.abs(start + received - consumed - end) <= 1e-9 * scale).all()
        assert (np.abs(shipped - received - in_transit) <= 1e-9 * scale).all()
        assert (end <= on_hand_bound(net) * (1 + 1e-12)).all()
        most = float(net.pol_order_cost.max(initial=0.0))
        assert (p[:, k.ORDER_COST] <= p[:, k.ORDERS_PLACED] * most + 1e-9).all()
        if net.pol_kind.shape[0] == 0:
            assert (p[:, k.ORDERS_PLACED] == 0).all() and (p[:, k.ORDER_COST] == 0).all()


@given(doc=scenario_docs(disruptions=False))
def test_networks_without_policies_compile_no_policy_arrays(doc):
    """The feature is absent unless asked for: empty arrays, so the kernel skips it."""
    scenario = load_scenario(doc)
    for strategy in scenario.strategy_names:
        net = compile_strategy(scenario, strategy).network
        assert net.pol_kind.shape == (0,) and net.pol_order_cost.shape == (0,)


def _doc(stock: list, strategies: dict | None = None, **top) -> dict:
    return {
        "name": "policy",
        "horizon_days": 30,
        "regions": {"r": {}},
        "nodes": {
            "sup": {"kind": "supplier", "region": "r", "item": "w"},
            "dc": {
                "kind": "dc",
                "region": "r",
                "item": "w",
                "demand": {"distribution": "poisson", "mean_per_day": 5},
            },
        },
        "lanes": [{"from": "sup", "to": "dc", "lead_time_days": 2}],
        "stock": stock,
        "strategies": strategies or {"base": {}},
        **top,
    }


def test_order_cost_is_part_of_total_cost_and_survives_a_policy_override():
    doc = _doc(
        [{"at": "dc", "buffer_days": 1, "order_cost": 7.5}],
        {
            "daily": {},
            "batch": {"stock": [{"at": "dc", "policy": {"type": "r_Q", "r": 10, "Q": 40}}]},
        },
    )
    ds = resilience.simulate(load_scenario(doc), paths=64, seed=3, threads=1)
    parts = ["purchase_cost", "holding_cost", "lost_sales_cost", "backlog_cost"]
    parts += ["qualification_cost", "order_cost"]
    total = sum(ds[p] for p in parts)
    np.testing.assert_allclose(ds["total_cost"].values, total.values, rtol=1e-12)
    np.testing.assert_array_equal(ds["order_cost"].values, 7.5 * ds["orders_placed"].values)
    placed = ds["orders_placed"].mean("path")
    assert float(placed.sel(strategy="batch")) < float(placed.sel(strategy="daily")) / 3


def test_policy_levels_are_resolved_and_described():
    doc = _doc(
        [{"at": "dc", "policy": {"type": "R_S", "review_days": 4, "offset_days": 1, "S_days": 2}}]
    )
    c = compile_strategy(load_scenario(doc), "base")
    # S = ceil(5 x (4 - 1 + 2 + 2)) = 35
    assert c.policies["dc/w"] == {
        "type": "R_S",
        "S": 35.0,
        "review_days": 4,
        "offset_days": 1,
        "order_cost": 0.0,
    }
    assert c.network.pos_order_up_to.tolist() == [35.0]
    assert c.describe()["policies"] == c.policies


@pytest.mark.parametrize(
    ("entry", "place", "message"),
    [
        ({"policy": {"type": "s_S", "s": 3, "S": 9, "Q": 4}}, "stock[0].policy.Q", "unknown key"),
        ({"policy": {"type": "r_Q", "r": 3, "Qq": 4}}, "stock[0].policy.Qq", "did you mean 'Q'"),
        ({"policy": {"type": "s_S", "s": 9, "S": 3}}, "stock[0].policy.S", "at least s"),
        ({"policy": {"type": "s_S", "S": 3}}, "stock[0].policy", "missing s or s_days"),
        ({"policy": {"type": "s_S", "s": 1, "s_days": 1, "S": 3}}, "stock[0].policy", "not both"),
        ({"policy": {"type": "r_Q", "r": 3, "Q": 0}}, "stock[0].policy.Q", "must be a number > 0"),
        (
            {"policy": {"type": "R_S", "review_days": 3, "offset_days": 3, "S": 9}},
            "stock[0].policy.offset_days",
            "below review_days",
        ),
        ({"policy": {"type": "R_S", "S": 9}}, "stock[0].policy.review_days", "required"),
        ({"policy": {"type": "kanban"}}, "stock[0].policy.type", "one of base_stock"),
        ({"policy": "s_S"}, "stock[0].policy", "needs its levels"),
        (
            {"policy": {"type": "r_Q", "r": 3, "Q": 4}, "buffer_days": 2},
            "stock[0].buffer_days",
            "takes its levels in policy",
        ),
        ({"buffer_days": 1, "lot_multiple": 0}, "stock[0].lot_multiple", "> 0"),
        ({"buffer_days": 1, "min_order_qty": -1}, "stock[0].min_order_qty", ">= 0"),
        ({"buffer_days": 1, "order_cost": math.inf}, "stock[0].order_cost", "must be"),
        ({"buffer_days": 1, "lot_multipel": 2}, "stock[0].lot_multipel", "lot_multiple"),
    ],
)
def test_bad_policy_keys_are_placed_errors(entry, place, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_doc([{"at": "dc", **entry}]))
    text = str(err.value)
    assert place in text and message in text, text


def test_base_stock_policy_is_the_default():
    """policy: base_stock with buffer_days is exactly the plain entry."""
    plain = compile_strategy(load_scenario(_doc([{"at": "dc", "buffer_days": 2}])), "base")
    named = _doc([{"at": "dc", "buffer_days": 2, "policy": "base_stock"}])
    again = compile_strategy(load_scenario(named), "base")
    for name, a, b in zip(plain.network._fields, plain.network, again.network, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)


def test_a_position_that_could_overflow_on_hand_is_refused():
    doc = _doc([{"at": "dc", "policy": {"type": "r_Q", "r": 3e13, "Q": 3e13}}])
    with pytest.raises(ScenarioError, match="inventory position"):
        load_scenario(doc)


def test_days_of_cover_use_the_mean_of_a_stochastic_lead_time_under_a_policy():
    """A level in days of cover covers E[max(L, 1)] days of a stochastic lead time with
    or without the policy arrays: an order cost (which switches them on) must not make
    buffer_days cover the longest lead time instead (L in {1, 9}, each 1/2: E = 5, so
    S = ceil(5 x (5 + 1)) = 30, not ceil(5 x (9 + 1)) = 50)."""
    lead = {"distribution": "discrete", "values": [1, 9], "probs": [0.5, 0.5]}
    levels = {}
    for cost in (0.0, 2.0):
        doc = _doc([{"at": "dc", "buffer_days": 1, "order_cost": cost}])
        doc["lanes"][0]["lead_time_days"] = lead
        levels[cost] = compile_strategy(load_scenario(doc), "base").order_up_to["dc/w"]
    assert levels[0.0] == levels[2.0] == 30
