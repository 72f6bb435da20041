"""benchmarks/numpy_two_node.py simulates the model the engine simulates for
benchmarks/two-node.yaml: the same parameters, and the same fill rate within Monte Carlo
error (different random numbers, so only distributions can agree)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import resilience
from benchmarks import numpy_two_node as two

SCENARIO = Path(__file__).resolve().parent / "two-node.yaml"
PATHS = 20_000
Z_MAX = 4.0  # fixed seeds; 4 combined standard errors


def test_the_yaml_is_the_programs_model():
    sc = resilience.load_scenario(SCENARIO)
    supplier, dc = sc.node("supplier"), sc.node("dc")
    assert [n.name for n in sc.nodes] == ["supplier", "dc"] and two.NODES == 2
    assert sc.horizon_days == two.HORIZON and sc.demand_mode == "lost_sales"
    assert supplier.kind == "supplier" and math.isinf(supplier.capacity_per_day)
    assert supplier.outage.failure_probability == two.FAIL_P
    assert supplier.outage.recovery_probability == two.RECOVER_P
    assert supplier.outage.duration.distribution == "geometric"
    assert not sc.regions[0].shocks and not sc.lane_shocks and not sc.demand_surges
    (lane,) = sc.lanes
    assert (lane.source, lane.destination, lane.lead_time_days) == ("supplier", "dc", two.LEAD_TIME)
    assert math.isinf(lane.capacity_per_day) and math.isinf(dc.capacity_per_day)
    assert dc.outage is None
    assert (dc.demand.distribution, dc.demand.mean_per_day) == ("poisson", two.DEMAND_MEAN)
    (stock,) = sc.stock
    assert stock.order_up_to == two.ORDER_UP_TO


@pytest.fixture(scope="module")
def both():
    ds = resilience.simulate(SCENARIO, paths=PATHS, seed=2026)
    engine = {
        "filled_units": ds.filled_units.values[0],
        "demand_units": ds.demand_units.values[0],
    }
    return engine, two.simulate_two_node(PATHS, seed=11)


def test_fill_rate_equals_the_engines(both):
    engine, numpy_ = both
    k, n = two.fill_rate(engine), two.fill_rate(numpy_)
    z = abs(k[0] - n[0]) / math.hypot(k[1], n[1])
    assert z < Z_MAX, f"engine {k[0]:.4%} +- {k[1]:.4%}, numpy {n[0]:.4%} +- {n[1]:.4%}"
    assert 0.8 < n[0] < 1.0  # outages of ~10 days against 6 days of safety stock: some loss


def test_demand_and_accounting(both):
    _, m = both
    assert abs(m["demand_units"].mean() / two.HORIZON - two.DEMAND_MEAN) < 0.05
    np.testing.assert_array_equal(m["lost_units"], m["demand_units"] - m["filled_units"])
    assert (m["filled_units"] <= m["demand_units"]).all()
    assert (m["stockout_days"] <= two.HORIZON).all()
