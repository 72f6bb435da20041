"""Scripted events and the random-disruptions switch: the format, compiling, the kernel.

The kernel is held to the reference simulator bit for bit on random networks with events
by tests/test_reference.py; exact answers (a scripted outage against the same outage
forced through the reference, common random numbers, deterministic time-to-survive) are
in tests/validation/test_scripted_events.py. This file pins the format (placed errors),
the compiled arrays, and what each kind of event does on a small network.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from resilience.compiler import compile_strategy
from resilience.errors import ScenarioError
from resilience.kernels import simulate as k
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import network, run_kernel
from tests.reference import simulate_path

# A far chip fab and a near-shore one (unused unless failover), a plant, a dc.
BASE = {
    "name": "events",
    "horizon_days": 60,
    "regions": {
        "asia": {"shocks": [{"name": "typhoon", "mean_days_between": 20, "mean_duration_days": 3}]},
        "europe": {},
    },
    "nodes": {
        "fab": {
            "kind": "supplier",
            "region": "asia",
            "item": "chip",
            "outage": {"failure_probability": 0.02, "recovery_probability": 0.3},
        },
        "fab_eu": {"kind": "supplier", "region": "europe", "item": "chip"},
        "plant": {"kind": "plant", "region": "europe", "item": "car", "bom": {"chip": 1}},
        "dc": {
            "kind": "dc",
            "region": "europe",
            "demand": {"distribution": "poisson", "mean_per_day": 10},
            "lost_sale_margin": 5,
        },
    },
    "lanes": [
        {"from": "fab", "to": "plant", "lead_time_days": 3},
        {"from": "fab_eu", "to": "plant", "lead_time_days": 1},
        {"from": "plant", "to": "dc", "lead_time_days": 1},
    ],
    "sourcing": [
        {"at": "plant", "item": "chip", "mode": "split", "shares": {"fab": 1.0, "fab_eu": 0.0}}
    ],
    "lane_shocks": {
        "strike": {
            "lanes": ["fab->plant"],
            "mean_days_between": 30,
            "mean_duration_days": 4,
            "extra_lead_time_days": 2,
        }
    },
    "demand_surges": {
        "boom": {"dcs": ["dc"], "mean_days_between": 25, "mean_duration_days": 5, "multiplier": 1.5}
    },
    "buffer_days": 2,
    "strategies": {
        "lean": {},
        "dual": {
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


def doc(**changes):
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def errors_of(d) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    return info.value.errors


# ----------------------------------------------------------------------------- the format


def test_events_are_read_with_their_defaults():
    sc = load_scenario(
        doc(
            events=[
                {"type": "node_outage", "node": "fab", "start_day": 5, "duration_days": 10},
                {
                    "type": "regional_shock",
                    "region": "asia",
                    "start_day": 0,
                    "duration_days": 3,
                    "capacity_fraction": 0.5,
                },
                {
                    "type": "lane_disruption",
                    "lanes": [0, "plant -> dc"],
                    "start_day": 1,
                    "duration_days": 2,
                    "closed": True,
                },
                {
                    "type": "lane_disruption",
                    "lanes": ["fab->plant"],
                    "start_day": 1,
                    "duration_days": 2,
                    "extra_lead_time_days": 4,
                },
                {
                    "type": "demand_surge",
                    "dcs": ["dc"],
                    "start_day": 50,
                    "duration_days": 30,
                    "multiplier": 2,
                },
            ]
        )
    )
    outage, shock, closure, delay, surge = sc.events
    assert (outage.kind, outage.node, outage.capacity_fraction, outage.end_day) == (
        "node_outage",
        "fab",
        0.0,
        15,
    )
    assert (shock.region, shock.capacity_fraction) == ("asia", 0.5)
    assert closure.lanes == ("fab->plant", "plant->dc") and closure.closed
    assert (delay.closed, delay.extra_lead_time_days) == (False, 4)
    assert (surge.dcs, surge.multiplier) == (("dc",), 2.0)
    assert sc.random_disruptions is True
    assert sc.events_of("lean") == sc.events


def test_strategy_events_are_appended_to_the_scenario_s():
    d = doc(events=[{"type": "node_outage", "node": "fab", "start_day": 5, "duration_days": 10}])
    d["strategies"]["dual"]["events"] = [
        {"type": "node_outage", "node": "fab_eu", "start_day": 7, "duration_days": 1}
    ]
    d["strategies"]["dual"]["random_disruptions"] = False
    sc = load_scenario(d)
    assert [e.node for e in sc.events_of("lean")] == ["fab"]
    assert [e.node for e in sc.events_of("dual")] == ["fab", "fab_eu"]
    assert sc.random_disruptions_of("lean") and not sc.random_disruptions_of("dual")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"type": "node_outage", "node": "fob", "start_day": 1, "duration_days": 2},
            "events[0].node: unknown node 'fob' (did you mean 'fab'?)",
        ),
        (
            {"type": "node_outage", "node": "fab", "start_day": 60, "duration_days": 2},
            "events[0].start_day: must be a day of the horizon (0 .. 59), got 60",
        ),
        (
            {"type": "node_outage", "node": "fab", "start_day": 1, "duration_days": 0},
            "events[0].duration_days: must be an integer >= 1, got 0",
        ),
        (
            {
                "type": "node_outage",
                "node": "fab",
                "start_day": 1,
                "duration_days": 2,
                "capacity_fraction": 1,
            },
            "events[0].capacity_fraction: must be a number in [0, 1), got 1",
        ),
        (
            {
                "type": "node_outage",
                "node": "fab",
                "start_day": 1,
                "duration_days": 2,
                "multiplier": 2,
            },
            "events[0].multiplier: not a node_outage key (only for demand_surge)",
        ),
        (
            {"type": "outage", "node": "fab", "start_day": 1, "duration_days": 2},
            "events[0].type: must be one of node_outage, regional_shock, lane_disruption, demand_surge, got 'outage'",
        ),
        (
            {"type": "regional_shock", "region": "asai", "start_day": 1, "duration_days": 2},
            "events[0].region: unknown region 'asai' (did you mean 'asia'?)",
        ),
        (
            {
                "type": "lane_disruption",
                "lanes": [7],
                "start_day": 1,
                "duration_days": 2,
                "closed": True,
            },
            "events[0].lanes[0]: no lane 7: lanes are numbered 0 .. 2",
        ),
        (
            {
                "type": "lane_disruption",
                "lanes": ["fab->dc"],
                "start_day": 1,
                "duration_days": 2,
                "closed": True,
            },
            "events[0].lanes[0]: unknown lane 'fab->dc'",
        ),
        (
            {"type": "lane_disruption", "lanes": [0], "start_day": 1, "duration_days": 2},
            "events[0]: missing extra_lead_time_days or closed: true",
        ),
        (
            {
                "type": "lane_disruption",
                "lanes": [0],
                "start_day": 1,
                "duration_days": 2,
                "closed": True,
                "extra_lead_time_days": 3,
            },
            "events[0]: give extra_lead_time_days or closed: true, not both",
        ),
        (
            {
                "type": "demand_surge",
                "dcs": ["plant"],
                "start_day": 1,
                "duration_days": 2,
                "multiplier": 2,
            },
            "events[0].dcs[0]: demand surges cover dcs only, got 'plant' (a plant)",
        ),
        (
            {"type": "demand_surge", "dcs": ["dc"], "start_day": 1, "duration_days": 2},
            "events[0].multiplier: required key missing",
        ),
    ],
)
def test_a_bad_event_is_placed(event, expected):
    found = errors_of(doc(events=[event]))
    assert any(line.startswith(expected) for line in found), found


def test_a_bad_strategy_event_and_switch_are_placed():
    d = doc()
    d["strategies"]["dual"]["events"] = [
        {"type": "node_outage", "node": "x", "start_day": 1, "duration_days": 2}
    ]
    d["strategies"]["dual"]["random_disruptions"] = "no"
    d["random_disruptions"] = 0
    found = errors_of(d)
    assert (
        "strategies.dual.events[0].node: unknown node 'x' (declared: fab, fab_eu, plant, dc)"
        in found
    )
    assert "strategies.dual.random_disruptions: must be true or false, got 'no'" in found
    assert "random_disruptions: must be true or false, got 0" in found


def test_ttr_days_is_a_node_key():
    d = doc()
    d["nodes"]["fab"]["ttr_days"] = 90
    assert load_scenario(d).node("fab").ttr_days == 90
    d["nodes"]["fab"]["ttr_days"] = 0
    assert "nodes.fab.ttr_days: must be an integer >= 1, got 0" in errors_of(d)


# ----------------------------------------------------------------------------- compiling


def test_without_events_the_event_arrays_are_empty():
    net = compile_strategy(load_scenario(doc()), "lean").network
    assert not net.has_events
    assert net.event_node_cap.shape == (0, 4)
    assert net.event_lane_extra.shape == net.event_lane_closed.shape == (0, 3)
    assert net.event_dc_table.shape == net.event_dc_onset.shape == (0, 1)


def test_events_compile_to_per_day_arrays():
    sc = load_scenario(
        doc(
            events=[
                {
                    "type": "node_outage",
                    "node": "fab",
                    "start_day": 5,
                    "duration_days": 100,
                    "capacity_fraction": 0.5,
                },
                {"type": "regional_shock", "region": "asia", "start_day": 7, "duration_days": 2},
                {
                    "type": "lane_disruption",
                    "lanes": [2],
                    "start_day": 3,
                    "duration_days": 2,
                    "extra_lead_time_days": 8,
                },
                {
                    "type": "lane_disruption",
                    "lanes": [2],
                    "start_day": 4,
                    "duration_days": 2,
                    "closed": True,
                },
                {
                    "type": "demand_surge",
                    "dcs": ["dc"],
                    "start_day": 10,
                    "duration_days": 5,
                    "multiplier": 2.0,
                },
            ]
        )
    )
    plain = compile_strategy(load_scenario(doc()), "lean").network
    net = compile_strategy(sc, "lean").network
    fab = 0
    cap = net.event_node_cap[:, fab]
    assert cap[:5].tolist() == [1.0] * 5 and cap[5:7].tolist() == [0.5] * 2
    assert cap[7:9].tolist() == [0.0] * 2 and cap[9:].tolist() == [0.5] * 51  # cut at the horizon
    assert (net.event_node_cap[:, 1:] == 1.0).all()
    assert net.event_lane_extra[:, 2].tolist()[:7] == [0, 0, 0, 8, 8, 0, 0]
    assert net.event_lane_closed[:, 2].tolist()[:7] == [False] * 4 + [True] * 2 + [False]
    # ring rows per stock point (plant's fab part, dc's product): longest lead + 1
    assert np.diff(plain.pos_pipe_ptr).tolist() == [3 + 2 + 1, 1 + 1]  # fab->plant's shock
    assert np.diff(net.pos_pipe_ptr).tolist() == [3 + 2 + 1, 1 + 8 + 1]  # scripted days
    # the surge days draw from tables of their own: mean x 1.5^b x 2 for each surge mask b
    first = net.event_dc_table[:, 0]
    assert set(first[:10]) == set(first[15:]) == {0} and set(first[10:15]) == {2}
    assert net.table_mult.tolist() == [1.0, 1.5, 2.0, 3.0]
    assert net.table_cdf_ptr[2] == plain.table_cdf_ptr[-1]
    for name in ("table_mult", "table_cdf_ptr", "table_cdf", "table_guide"):
        assert getattr(plain, name).shape[0] < getattr(net, name).shape[0]


def test_random_disruptions_off_compiles_chains_that_never_start():
    net = compile_strategy(load_scenario(doc(random_disruptions=False)), "lean").network
    assert not net.node_fail_p.any() and not net.rshock_start.any()
    assert not net.lshock_start.any() and not net.surge_start.any()
    assert net.rshock_end.all()  # the rest is as written


# ----------------------------------------------------------------------------- the kernel


def _run(sc, strategy, paths=64, seed=3):
    return run_kernel(network(sc, strategy), seed, 0, paths)


def test_random_disruptions_off_keeps_every_demand_draw():
    """With the random processes off nothing is impaired, and every path's demand is the
    draw it had with them on, except on the days a random surge was active: the same
    uniform, read through the table without the surge (common random numbers)."""
    on = load_scenario(doc(demand_surges={}))
    off = load_scenario(doc(demand_surges={}, random_disruptions=False))
    a, b = _run(on, "lean"), _run(off, "lean")
    np.testing.assert_array_equal(a.path_out[:, k.DEMAND], b.path_out[:, k.DEMAND])
    assert (b.node_out[:, :, k.N_IMPAIRED] == 0).all()
    assert (a.node_out[:, :, k.N_IMPAIRED] > 0).any()
    assert np.isnan(b.path_out[:, k.TIME_TO_SURVIVE]).all()


def test_a_full_outage_stops_the_node_and_failover_takes_over():
    events = [{"type": "node_outage", "node": "fab", "start_day": 0, "duration_days": 60}]
    sc = load_scenario(doc(events=events, random_disruptions=False, demand_surges={}))
    lean, dual = _run(sc, "lean"), _run(sc, "dual")
    assert (lean.node_out[:, 0, k.N_IMPAIRED] == 60).all()
    # lean: no chips after its stock: lost sales; dual: the near-shore fab carries it all
    assert (lean.path_out[:, k.LOST] > 0).all()
    assert (dual.path_out[:, k.LOST] == 0).all()


def test_a_closed_lane_is_a_lane_without_capacity():
    closed = [
        {
            "type": "lane_disruption",
            "lanes": ["fab->plant"],
            "start_day": 0,
            "duration_days": 60,
            "closed": True,
        }
    ]
    outage = [{"type": "node_outage", "node": "fab", "start_day": 0, "duration_days": 60}]
    a = _run(load_scenario(doc(events=closed, random_disruptions=False)), "dual")
    b = _run(load_scenario(doc(events=outage, random_disruptions=False)), "dual")
    # failover re-asks the near-shore fab either way; fab itself is impaired only when down
    for col in (k.DEMAND, k.FILLED, k.LOST, k.PURCHASE):
        np.testing.assert_array_equal(a.path_out[:, col], b.path_out[:, col])
    assert (a.node_out[:, 0, k.N_IMPAIRED] == 0).all()


def test_extra_lead_time_applies_to_shipments_dispatched_during_the_event():
    events = [
        {
            "type": "lane_disruption",
            "lanes": ["plant->dc"],
            "start_day": 10,
            "duration_days": 1,
            "extra_lead_time_days": 5,
        }
    ]
    sc = load_scenario(doc(events=events, random_disruptions=False, demand_surges={}))
    ref = simulate_path(sc, "lean", 3, 0)
    base = simulate_path(
        load_scenario(doc(random_disruptions=False, demand_surges={})), "lean", 3, 0
    )
    # the day-10 shipment arrives on day 16 instead of 11: the dc runs short in between
    assert ref["daily_on_hand"][:11] == base["daily_on_hand"][:11]
    assert ref["lost_units"] >= base["lost_units"]
    np.testing.assert_array_equal(
        run_kernel(network(sc, "lean"), 3, 0, 1).path_out[0, k.LOST], ref["lost_units"]
    )


def test_a_scripted_surge_multiplies_the_mean_of_the_draw():
    events = [
        {
            "type": "demand_surge",
            "dcs": ["dc"],
            "start_day": 0,
            "duration_days": 60,
            "multiplier": 3.0,
        }
    ]
    d = doc(events=events, random_disruptions=False, demand_surges={})
    d["nodes"]["dc"]["demand"] = {"distribution": "deterministic", "mean_per_day": 10}
    out = _run(load_scenario(d), "lean", paths=1)
    assert out.path_out[0, k.DEMAND] == 60 * 30.0


def test_the_per_day_arrays_are_bounded(monkeypatch):
    from resilience.scenario import read_events

    monkeypatch.setattr(read_events, "MAX_EVENT_CELLS", 100)
    event = {"type": "node_outage", "node": "fab", "start_day": 1, "duration_days": 2}
    found = errors_of(doc(events=[event]))
    assert any(
        line.startswith(
            "events[0]: a scripted node_outage makes the simulation keep 60 days x 4 nodes"
        )
        for line in found
    ), found
