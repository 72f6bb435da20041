"""Engine: dataset layout, bit-identical results however the run is split, CRN."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import resilience
from resilience.engine import plan_blocks, prepare
from resilience.results.catalogue import DERIVED_METRICS, NODE_METRICS, PATH_METRICS

PATHS = 600


@pytest.fixture(scope="module")
def reference_run(two_tier_path):
    return resilience.simulate(two_tier_path, paths=PATHS, seed=11, block_size=256)


def assert_same_data(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every variable and coordinate identical, bit for bit (attrs may differ: creation time)."""
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)


def test_dataset_layout_and_metadata(reference_run):
    ds = reference_run
    assert ds.sizes["strategy"] == 3 and ds.sizes["path"] == PATHS
    assert list(ds.strategy.values) == ["jit", "jic", "regionalized"]
    for name, units, long_name, description in PATH_METRICS + DERIVED_METRICS + NODE_METRICS:
        var = ds[name]
        assert var.attrs == {"units": units, "long_name": long_name, "description": description}
    for name in ds.data_vars:
        assert {"units", "long_name", "description"} <= set(ds[name].attrs), name
    for key in (
        "seed",
        "paths",
        "scenario_text",
        "scenario_sha256",
        "strategies_json",
        "resilience_version",
        "numba_version",
        "numpy_version",
        "created_utc",
    ):
        assert key in ds.attrs, key
    assert ds.attrs["seed"] == 11 and ds.attrs["paths"] == PATHS
    assert "chip_fab" in ds.attrs["scenario_text"]
    assert ds.daily_fill_rate_hist.sum("fill_bin").min() == PATHS
    assert ds.daily_on_hand_hist.sum("on_hand_bin").max() == PATHS


@pytest.mark.parametrize("block_size", [1, 97, 600, 5000])
def test_any_block_size_gives_identical_results(two_tier_path, reference_run, block_size):
    ds = resilience.simulate(two_tier_path, paths=PATHS, seed=11, block_size=block_size)
    assert_same_data(ds, reference_run)


@pytest.mark.parametrize("threads", [1, 2])
def test_any_thread_count_gives_identical_results(two_tier_path, reference_run, threads):
    ds = resilience.simulate(two_tier_path, paths=PATHS, seed=11, block_size=50, threads=threads)
    assert_same_data(ds, reference_run)


def test_a_strategy_subset_equals_the_same_rows_of_the_full_run(two_tier_path, reference_run):
    ds = resilience.simulate(two_tier_path, paths=PATHS, seed=11, strategies=["regionalized"])
    assert_same_data(
        ds.drop_vars("strategy"),
        reference_run.sel(strategy=["regionalized"]).drop_vars("strategy"),
    )


def test_seed_changes_results(two_tier_path, reference_run):
    other = resilience.simulate(two_tier_path, paths=PATHS, seed=12, block_size=256)
    assert not np.array_equal(other.lost_units.values, reference_run.lost_units.values)


def test_common_random_numbers_across_strategies(reference_run):
    ds = reference_run
    demand = ds.demand_units.values
    assert (demand == demand[:1]).all(), "every strategy must see the same demand on path i"
    impaired = ds.node_impaired_days.values
    assert (impaired == impaired[:1]).all(), "every strategy must see the same outages"
    assert impaired.sum() > 0, "the scenario must have disruptions for this test to mean anything"


@pytest.mark.slow
def test_local_process_cluster_equals_threads(two_tier_path, reference_run):
    ds = resilience.simulate(two_tier_path, paths=PATHS, seed=11, block_size=128, workers=2)
    assert_same_data(ds, reference_run)


def test_plan_blocks_covers_every_path_once():
    blocks = plan_blocks(1000, 300, start=50)
    assert blocks == [(50, 300), (350, 300), (650, 300), (950, 100)]
    with pytest.raises(ValueError, match="paths must be >= 1"):
        plan_blocks(0, 10)


def test_bad_arguments_are_rejected_before_running(two_tier_path):
    with pytest.raises(ValueError, match="unknown strategy 'lean'.*jit, jic, regionalized"):
        prepare(two_tier_path, 10, 0, ["lean"])
    with pytest.raises(ValueError, match="seed must be an integer"):
        prepare(two_tier_path, 10, -1)
    with pytest.raises(ValueError, match="either scheduler"):
        resilience.simulate(two_tier_path, paths=10, scheduler="tcp://x:1", workers=2)
