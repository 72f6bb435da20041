"""Push production at plants (docs/model.md, "Push production"): exact answers.

Order of events of a day with push plants: 1. chains, 2. receive, 3. serve (then measure
on hand: a plant's finished goods count at this point, before today's production), 4a.
each push plant makes min(plan, its availability x capacity, room under its storage cap,
its scarcest component / BOM quantity) into its finished goods, drawing BOM x made from
its components, 4. orders and shipments as before, a push plant's buyers shipping from
its finished goods as from a dc's stock. Day -1: finished goods = initial_stock.

Deterministic demand: one path, every quantity a whole number of units, so the kernel's
day-by-day on-hand totals (the fixed-point daily sums of one path, /2**8) must equal the
closed-form trajectories exactly. Poisson demand: the exact Markov chain of
tests/validation/exact.py (push_level), within 4 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from resilience.compiler import ON_HAND_FIXED_POINT, compile_strategy
from resilience.errors import ScenarioError
from resilience.kernels import simulate as k
from resilience.scenario.production import plant_flow
from resilience.scenario.queries import resolve_sourcing
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import run_kernel
from tests.validation.cases import TOLERANCE_SE, cases_of, evaluate


@pytest.mark.parametrize(
    "case", cases_of("push_level"), ids=[c.name for c in cases_of("push_level")]
)
def test_push_level_poisson_markov_chain(case):
    """Supplier -> plant (push, level rate r, finished goods capped at C, starting with
    F_0) -> DC (base stock S, lost sales, Poisson(mu) demand); every lead time 0, the
    plant's one component with an order-up-to level S_c >= r x its BOM quantity.

    Component: it holds S_c at step 3 of every day (day 0: its start; later, what
    yesterday's production drew came back the same day over a lead-0 lane), so
    on_hand / qty >= r never limits production; the supplier and every node are always
    UP with unlimited capacity. Finished goods F (step 3 of day t: what yesterday left)
    and the DC's on hand X at the end of day t - 1 therefore evolve as: serve
    s = min(d, X), X' = X - s; make m = min(r, C - F) (the plan cut to the room under the
    cap); F' = F + m; the DC orders S - X' (IP = X': nothing in transit) and receives
    min(S - X', F') at once; F'' = F' - that. With integer r, S, C and F_0, (X, F) is a
    Markov chain on {0..S} x {0..C} from (S, F_0); exact.push_level carries its
    distribution forward T days. fill = sum_t E[s_t] / (T mu) (lost sales: every unit
    served on its day); mean on hand = (1/T) sum_t E[X'_t + F_t] + S_c.
    """
    row = evaluate(case)
    assert row.ok, (
        f"{case.name}: estimate {row.estimate:.6g} vs exact {row.exact:.6g}: z = {row.z:+.2f}, "
        f"|z| must be < {TOLERANCE_SE}"
    )


# ----------------------------------------------------------------------------- deterministic


def _doc(production: dict, *, mean: float, lead: int, dc_level: float, parts: float, T: int):
    """supplier -(lead 0)-> plant (one part per unit, ``parts`` units of it stocked)
    -(``lead``)-> dc (deterministic demand ``mean``, order-up-to ``dc_level``)."""
    return {
        "name": "push trajectory",
        "horizon_days": T,
        "regions": {"r": {}},
        "nodes": {
            "supplier": {"kind": "supplier", "region": "r", "item": "part"},
            "plant": {
                "kind": "plant",
                "region": "r",
                "item": "widget",
                "bom": {"part": 1},
                "production": production,
                "holding_cost_per_unit_day": 0.5,
            },
            "dc": {
                "kind": "dc",
                "region": "r",
                "item": "widget",
                "demand": {"distribution": "deterministic", "mean_per_day": mean},
            },
        },
        "lanes": [
            {"from": "supplier", "to": "plant", "lead_time_days": 0},
            {"from": "plant", "to": "dc", "lead_time_days": lead},
        ],
        "stock": [
            {"at": "dc", "order_up_to": dc_level},
            {"at": "plant", "order_up_to": parts},
        ],
    }


def _run(doc: dict):
    scenario = load_scenario(doc)
    net = compile_strategy(scenario, scenario.strategy_names[0]).network
    out = run_kernel(net, 1, 0, 1)
    return out.path_out[0], out.on_hand_sum / ON_HAND_FIXED_POINT, out.node_out[0]


def test_level_rate_above_demand_fills_the_storage_cap():
    """Level rate r = 6 above the demand d = 4, storage cap C = 14, plant -> DC lead
    L = 2, S = 12, S_c = 6 parts.

    DC: day 0 serves 4 of its 12 (X'_0 = 8) and orders 4; from day 1 on each day
    receives what it ordered L days before, serves 4 and orders 4, so X'_t = S - L d = 4
    (the finished goods always cover the order: F + m >= 6 > 4). Finished goods at step
    3: F_0 = 0 and F_{t+1} = min(F_t + r, C) - d, so F_t = min(t (r - d), C - d) =
    min(2t, 10). The parts hold S_c = 6 at every step 3 (refilled over the lead-0 lane).
    Total on hand after serving: 8 + 0 + 6 on day 0, 4 + min(2t, 10) + 6 after. Made on
    day t: min(r, C - F_t) (6 until F reaches 10 on day 5, then 4): 5 x 6 + 15 x 4 = 90
    over 20 days; no demand is lost; the plant's holding cost is 0.5 x sum_t (6 + F_t).
    """
    T, d, r, C, L = 20, 4.0, 6.0, 14.0, 2
    production = {"mode": "push", "plan": "level", "rate_per_day": r, "storage_cap": C}
    out, on_hand, _ = _run(_doc(production, mean=d, lead=L, dc_level=12.0, parts=6.0, T=T))
    t = np.arange(T)
    fg = np.minimum(t * (r - d), C - d)
    dc = np.where(t == 0, 12.0 - d, 12.0 - L * d)
    np.testing.assert_array_equal(on_hand, dc + fg + 6.0)
    assert out[k.PRODUCED] == np.minimum(r, C - fg).sum() == 90.0
    assert out[k.LOST] == 0.0 and out[k.FILLED] == d * T
    assert out[k.HOLDING] == 0.5 * (6.0 * T + fg.sum())


def test_level_rate_below_demand_runs_the_dc_down():
    """Level rate r = 3 below the demand d = 5, no cap, lead L = 1, S = 10, S_c = 3.

    The plant makes 3 a day and ships all of it (the DC's IP is short of S by what it
    served less what was shipped, at least r), so nothing waits in finished goods (F_t =
    0) and the DC receives r a day from day L on. With lost sales its on hand after
    serving is X'_t = max(0, S + r max(0, t - L + 1) - d (t + 1)) = max(0, 5 - 2t): the
    bracket falls by d - r a day, and once at 0 each day's arrival r < d is served at
    once. Lost over T = 15 days: d T - (S + r (T - L) - X'_{T-1}) = 75 - 10 - 42 + 0 = 23;
    made: r T = 45.
    """
    T, d, r, S, L = 15, 5.0, 3.0, 10.0, 1
    production = {"mode": "push", "plan": "level", "rate_per_day": r}
    out, on_hand, _ = _run(_doc(production, mean=d, lead=L, dc_level=S, parts=r, T=T))
    t = np.arange(T)
    dc = np.maximum(0.0, S + r * np.maximum(0, t - L + 1) - d * (t + 1))
    np.testing.assert_array_equal(on_hand, dc + r)
    assert out[k.LOST] == d * T - (S + r * (T - L) - dc[-1]) == 23.0
    assert out[k.PRODUCED] == r * T


def test_campaign_trajectory():
    """Campaigns of Q = 10 every k = 5 days from day 0, demand d = 2, lead 0, S = 2,
    S_c = 10 parts, no cap.

    The DC holds 2 before each day's serving (refilled the same day from the finished
    goods, which never run dry since Q = k d), so X' = 0 and nothing is lost. Finished
    goods at step 3: F_0 = 0; a campaign on day t = 0 mod 5 makes 10 and 2 leave a day,
    so F_t = 8 - 2 ((t - 1) mod 5) for t >= 1. Parts: 10 at every step 3 (a campaign
    draws 10, refilled the same day). Made over T = 20 days: 4 campaigns, 40 units.
    """
    T, Q, every, d = 20, 10.0, 5, 2.0
    production = {"mode": "push", "plan": "campaign", "batch": Q, "every_days": every}
    out, on_hand, _ = _run(_doc(production, mean=d, lead=0, dc_level=d, parts=Q, T=T))
    t = np.arange(T)
    fg = np.where(t == 0, 0.0, Q - d - d * ((t - 1) % every))
    np.testing.assert_array_equal(on_hand, fg + Q)
    assert out[k.LOST] == 0.0
    assert out[k.PRODUCED] == Q * T / every


def test_campaign_offset_and_partial_batch():
    """A campaign on days 2, 5, 8, ... (offset 2, every 3) with only S_c = 4 parts per
    campaign of 6: each campaign makes 4 (the parts run out: a partial batch, the rest of
    the batch is not made up later), so 6 campaigns in 18 days make 24 units."""
    T = 18
    production = {
        "mode": "push",
        "plan": "campaign",
        "batch": 6.0,
        "every_days": 3,
        "offset_days": 2,
    }
    out, _, _ = _run(_doc(production, mean=1.0, lead=0, dc_level=1.0, parts=4.0, T=T))
    assert out[k.PRODUCED] == 4.0 * len(range(2, T, 3)) == 24.0


def test_forecast_plan_is_the_mean_flow_through_the_plant():
    """plan: forecast makes the plant's mean daily flow every day: the DCs' mean demand
    carried up the sourcing shares (here 3 to one dc and half of another's 1.5: 3.75)."""
    doc = _doc({"mode": "push", "plan": "forecast"}, mean=3.0, lead=1, dc_level=6, parts=4, T=10)
    doc["nodes"]["dc2"] = {
        "kind": "dc",
        "region": "r",
        "item": "widget",
        "demand": {"distribution": "deterministic", "mean_per_day": 1.5},
    }
    doc["nodes"]["supplier2"] = {"kind": "supplier", "region": "r", "item": "widget"}
    doc["lanes"] += [
        {"from": "plant", "to": "dc2", "lead_time_days": 0},
        {"from": "supplier2", "to": "dc2", "lead_time_days": 0},
    ]
    doc["sourcing"] = [
        {"at": "dc2", "item": "widget", "mode": "split", "shares": {"plant": 0.5, "supplier2": 0.5}}
    ]
    scenario = load_scenario(doc)
    strategy = scenario.strategies[0]
    flow = plant_flow(scenario, resolve_sourcing(scenario, strategy), "plant")
    assert flow == 3.75
    net = compile_strategy(scenario, strategy).network
    np.testing.assert_array_equal(net.push_plan, np.full((10, 1), 3.75))


def test_pull_plants_compile_without_push_arrays():
    """A scenario without push plants: the production arrays are empty (the kernel's
    production loop does not run) and the node kinds are unchanged."""
    doc = _doc("pull", mean=2.0, lead=1, dc_level=4, parts=4, T=5)
    net = compile_strategy(load_scenario(doc), "base").network
    assert net.push_node.shape == (0,) and net.push_plan.shape == (0, 0)
    np.testing.assert_array_equal(net.node_material_kind, net.node_kind)


def test_strategy_overrides_production():
    """strategies.NAME.production replaces the node's own, plant by plant; pull turns a
    push plant back to make to order."""
    doc = _doc(
        {"mode": "push", "plan": "level", "rate_per_day": 2},
        mean=2,
        lead=1,
        dc_level=4,
        parts=4,
        T=5,
    )
    doc["strategies"] = {
        "push": {},
        "pull": {"production": {"plant": "pull"}},
        "faster": {"production": {"plant": {"mode": "push", "plan": "level", "rate_per_day": 3}}},
    }
    scenario = load_scenario(doc)
    plans = {s: compile_strategy(scenario, s).network.push_plan for s in scenario.strategy_names}
    assert plans["push"][0, 0] == 2.0 and plans["faster"][0, 0] == 3.0
    assert plans["pull"].shape == (0, 0)


# ----------------------------------------------------------------------------- placed errors


@pytest.mark.parametrize(
    ("production", "strategies", "message"),
    [
        (
            {"mode": "push", "plan": "level", "rate_per_dya": 2},
            None,
            "plant.production.rate_per_dya: unknown key (did you mean 'rate_per_day'?)",
        ),
        (
            {"mode": "push", "plan": "steady"},
            None,
            "plant.production.plan: must be one of level, forecast, campaign",
        ),
        (
            {"mode": "push", "plan": "level"},
            None,
            "plant.production.rate_per_day: required key missing",
        ),
        (
            {"mode": "push", "plan": "forecast", "batch": 3},
            None,
            "plant.production.batch: not a forecast plan key (only for campaign)",
        ),
        (
            {"mode": "push", "plan": "campaign", "batch": 5, "every_days": 3, "offset_days": 3},
            None,
            "offset_days: must be below every_days (3)",
        ),
        (
            {
                "mode": "push",
                "plan": "level",
                "rate_per_day": 1,
                "storage_cap": 2,
                "initial_stock": 3,
            },
            None,
            "initial_stock: must be at most storage_cap (2)",
        ),
        ("push", None, "plant.production: must be pull or a mapping"),
        ({"mode": "pull", "plan": "level"}, None, "plant.production.plan: not a pull key"),
        (
            "pull",
            {"s": {"production": {"dc": "pull"}}},
            "strategies.s.production.dc: production is set for plants only",
        ),
        ("pull", {"s": {"production": {"plnt": "pull"}}}, "did you mean 'plant'?"),
    ],
)
def test_production_errors_are_placed(production, strategies, message):
    doc = _doc(production, mean=2.0, lead=1, dc_level=4, parts=4, T=5)
    if strategies is not None:
        doc["strategies"] = strategies
    with pytest.raises(ScenarioError, match=None) as error:
        load_scenario(doc)
    assert message in str(error.value), str(error.value)


def test_production_is_only_for_plants():
    doc = _doc("pull", mean=2.0, lead=1, dc_level=4, parts=4, T=5)
    doc["nodes"]["dc"]["production"] = "pull"
    with pytest.raises(ScenarioError) as error:
        load_scenario(doc)
    assert "nodes.dc.production: not allowed for a dc (only for plant)" in str(error.value)


def test_finished_goods_beyond_the_on_hand_bound_are_refused():
    """A level plan of 10^12 a day over 100 days without a cap could hold 10^14 units of
    finished goods, beyond the exact on-hand sums' 3.5e13: refused, placed; a cap fixes it."""
    production = {"mode": "push", "plan": "level", "rate_per_day": 1e12}
    doc = _doc(production, mean=2.0, lead=1, dc_level=4, parts=4, T=100)
    with pytest.raises(ScenarioError) as error:
        load_scenario(doc)
    assert "nodes.plant.production: lets the finished goods of plant reach 1e+14" in str(
        error.value
    )
    doc["nodes"]["plant"]["production"]["storage_cap"] = 1e6
    load_scenario(doc)


def test_result_metadata_records_the_push_plans():
    """A strategy's description (stored in result metadata) lists its push plants' plans;
    one whose plants all pull describes itself as before (no production entry)."""
    doc = _doc(
        {"mode": "push", "plan": "level", "rate_per_day": 2},
        mean=2,
        lead=1,
        dc_level=4,
        parts=4,
        T=5,
    )
    doc["strategies"] = {"push": {}, "pull": {"production": {"plant": "pull"}}}
    scenario = load_scenario(doc)
    push = compile_strategy(scenario, "push").describe()
    assert push["production"] == {
        "plant": {
            "mode": "push",
            "plan": "level",
            "rate_per_day": 2,
            "offset_days": 0,
            "initial_stock": 0.0,
        }
    }
    assert "production" not in compile_strategy(scenario, "pull").describe()
