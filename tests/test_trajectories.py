"""Per-day service trajectories: bands from mergeable histograms vs full per-path trajectories."""

from __future__ import annotations

import numpy as np
import pytest

import resilience
from resilience.compiler import FILL_FIXED_POINT, ON_HAND_BINS, ON_HAND_FIXED_POINT
from resilience.engine import Progress, prepare, run_block

PATHS = 400


def full_trajectories(run, strategy_index):
    """Exact per-path, per-day fill rate and on-hand: one kernel call per path, whose
    fixed-point daily sums are then that single path's values."""
    net = run.compiled[strategy_index].network
    fill = np.empty((run.paths, net.horizon))
    on_hand = np.empty((run.paths, net.horizon))
    for path in range(run.paths):
        block = run_block(net, run.seed, path, 1)
        fill[path] = block.fill_sum / FILL_FIXED_POINT
        on_hand[path] = block.on_hand_sum / ON_HAND_FIXED_POINT
    return fill, on_hand


@pytest.fixture(scope="module")
def small_run(two_tier_path):
    run = prepare(two_tier_path, PATHS, seed=21)
    ds = resilience.simulate(two_tier_path, paths=PATHS, seed=21, block_size=64)
    return run, ds


@pytest.mark.parametrize("strategy_index", [0, 1])
def test_bands_match_quantiles_of_full_trajectories_within_one_bin(small_run, strategy_index):
    run, ds = small_run
    fill, on_hand = full_trajectories(run, strategy_index)
    sel = ds.isel(strategy=strategy_index)
    assert np.any(fill < 1.0), "the run must contain shortages for the check to mean anything"
    for k, q in enumerate(ds["band_quantile"].values):
        exact_fill = np.quantile(fill, q, axis=0, method="inverted_cdf")
        exact_on_hand = np.quantile(on_hand, q, axis=0, method="inverted_cdf")
        fill_bin = 1.0 / 100
        on_hand_bin = run.compiled[strategy_index].network.on_hand_max / ON_HAND_BINS
        np.testing.assert_array_less(
            np.abs(sel.daily_fill_rate_band.values[:, k] - exact_fill), fill_bin + 1e-12
        )
        np.testing.assert_array_less(
            np.abs(sel.daily_on_hand_band.values[:, k] - exact_on_hand), on_hand_bin + 1e-9
        )
    # means are exact (fixed-point sums), to the fixed-point resolution
    np.testing.assert_allclose(sel.daily_fill_rate_mean.values, fill.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(sel.daily_on_hand_mean.values, on_hand.mean(axis=0), atol=1e-2)


def test_trajectories_are_consistent_with_per_path_totals(small_run):
    run, ds = small_run
    _, on_hand = full_trajectories(run, 0)
    np.testing.assert_allclose(
        on_hand.mean(axis=1), ds.mean_on_hand.isel(strategy=0).values, rtol=0, atol=1e-2
    )


def test_progress_bar_is_quiet_off_a_terminal(capsys):
    bar = Progress(100, enabled=None)  # pytest captures stderr: not a terminal
    bar.update(50)
    bar.close()
    assert bar.bar is None and capsys.readouterr().err == ""


def test_progress_bar_counts_paths(capsys):
    bar = Progress(100, enabled=True, desc="sim")
    bar.update(60)
    bar.update(40)
    assert bar.bar.n == 100
    bar.close()
    assert "100/100" in capsys.readouterr().err
