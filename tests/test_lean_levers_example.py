"""The shipped lean-levers example: it validates, every strategy runs, units are conserved,
and each strategy really pulls the lever it is named for (a few hundred paths)."""

import numpy as np
import pytest

import resilience
from resilience.cli.examples import shipped_examples

EXAMPLE = resilience.__file__.rsplit("/", 1)[0] + "/examples/lean-levers.yaml"
PATHS = 320
STRATEGIES = ("lean_kanban", "mass_production", "jit_expedite", "jic_buffers", "heijunka")


@pytest.fixture(scope="module")
def result():
    return resilience.simulate(EXAMPLE, paths=PATHS, seed=7, threads=1, node_detail="none")


def mean(ds, name, strategy):
    return float(ds[name].sel(strategy=strategy).mean("path"))


def test_the_example_validates_and_is_shipped():
    scenario = resilience.load_scenario(EXAMPLE)
    assert tuple(scenario.strategy_names) == STRATEGIES
    assert scenario.baseline == "lean_kanban"
    assert "lean-levers.yaml" in {getattr(f, "name", str(f)) for f in shipped_examples()}


def test_units_are_conserved_in_every_strategy(result):
    ds = result
    assert list(ds.strategy.values) == list(STRATEGIES)
    start, end = ds["on_hand_start"], ds["on_hand_end"]
    received, consumed = ds["units_received"], ds["units_consumed"]
    produced = ds["units_produced"]
    shipped, in_transit = ds["units_shipped"], ds["in_transit_end"]
    scale = np.maximum(1.0, np.maximum.reduce([start, end, received, consumed, shipped]))
    np.testing.assert_array_less(np.abs(start + received + produced - consumed - end), 1e-9 * scale)
    np.testing.assert_array_less(np.abs(shipped - received - in_transit), 1e-9 * scale)
    fill = ds["fill_rate"].values
    assert ((fill >= 0) & (fill <= 1)).all()


def test_strategies_pull_their_levers(result):
    ds = result
    # big lots pushed to a plan: far fewer orders, far more stock than kanban pull
    assert mean(ds, "orders_placed", "mass_production") < 0.25 * mean(
        ds, "orders_placed", "lean_kanban"
    )
    assert mean(ds, "mean_on_hand", "mass_production") > 3 * mean(ds, "mean_on_hand", "lean_kanban")
    # only the push strategies make ahead of orders; pull plants make to order
    for strategy in ("mass_production", "heijunka"):
        assert mean(ds, "units_produced", strategy) > 0
    for strategy in ("lean_kanban", "jit_expedite", "jic_buffers"):
        assert mean(ds, "units_produced", strategy) == 0
    # days of cover hold more than kanban and lose less; the thinnest buffers lose most
    assert mean(ds, "mean_on_hand", "jic_buffers") > mean(ds, "mean_on_hand", "lean_kanban")
    assert mean(ds, "lost_units", "jic_buffers") < mean(ds, "lost_units", "lean_kanban")
    assert mean(ds, "mean_on_hand", "jit_expedite") < mean(ds, "mean_on_hand", "lean_kanban")
    # level production carries the winter surplus into the spring peak that a fixed
    # kanban level, sized on the yearly average, runs short in
    assert mean(ds, "lost_units", "heijunka") < 0.7 * mean(ds, "lost_units", "lean_kanban")
    # ordering is paid per order: kanban pays many small order costs, campaigns few
    assert mean(ds, "order_cost", "mass_production") < mean(ds, "order_cost", "lean_kanban")


def test_quality_and_expediting_levers(result):
    ds = result
    # only jit_expedite has emergency sources, and they are used (outages happen)
    assert mean(ds, "expedited_units", "jit_expedite") > 0
    assert mean(ds, "expedite_cost", "jit_expedite") > 0
    for strategy in STRATEGIES:
        if strategy != "jit_expedite":
            assert mean(ds, "expedited_units", strategy) == 0
    # the frame lane ships defects in every strategy; jidoka at the plant stops the
    # line on the incident batches, most where frames arrive daily in small lots
    for strategy in STRATEGIES:
        assert mean(ds, "defective_units", strategy) > 0
        assert mean(ds, "scrap_cost", strategy) > 0
    for strategy in ("lean_kanban", "jit_expedite", "jic_buffers", "heijunka"):
        assert mean(ds, "line_stop_days", strategy) > 0
