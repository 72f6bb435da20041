"""The NumPy baseline simulates the same model as the kernel: checked within Monte Carlo
error (the two use different random numbers, so only distributions can agree)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.numpy_baseline import simulate_numpy
from resilience.engine import prepare, run_block
from resilience.kernels import simulate as columns

SCENARIO = (
    Path(__file__).resolve().parent.parent / "src" / "resilience" / "examples" / "automotive.yaml"
)
PATHS = 1000
Z_MAX = 4.0  # deterministic seeds; 4 standard errors leaves room for ~16 comparisons


@pytest.fixture(scope="module")
def runs():
    out = {}
    for c in prepare(SCENARIO, PATHS, 1).compiled:
        kernel = run_block(c.network, 7, 0, PATHS).path_out
        numpy_ = simulate_numpy(c.network, PATHS, seed=11, chunk=PATHS)
        out[c.name] = (kernel, numpy_)
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Ratio of sums and its delta-method standard error."""
    r = num.sum() / den.sum()
    resid = num - r * den
    return r, float(np.sqrt(resid.var(ddof=1) / len(num)) / den.mean())


def _z(a: tuple[float, float], b: tuple[float, float]) -> float:
    return abs(a[0] - b[0]) / max(np.hypot(a[1], b[1]), 1e-12)


@pytest.mark.parametrize("strategy", ["jit", "jic", "regionalized", "hybrid"])
def test_fill_rate_agrees_with_kernel(runs, strategy):
    kernel, numpy_ = runs[strategy]
    k = _ratio(kernel[:, columns.FILLED], kernel[:, columns.DEMAND])
    n = _ratio(numpy_["filled_units"], numpy_["demand_units"])
    assert _z(k, n) < Z_MAX, (
        f"{strategy}: kernel {k[0]:.4%} +- {k[1]:.4%}, numpy {n[0]:.4%} +- {n[1]:.4%}"
    )


@pytest.mark.parametrize(
    "kernel_col, name",
    [
        (columns.HOLDING, "holding_cost"),
        (columns.PURCHASE, "purchase_cost"),
        (columns.STOCKOUT_DAYS, "stockout_days"),
    ],
)
def test_cost_means_agree_with_kernel(runs, kernel_col, name):
    for strategy, (kernel, numpy_) in runs.items():
        a, b = kernel[:, kernel_col], numpy_[name]
        k = (a.mean(), a.std(ddof=1) / np.sqrt(len(a)))
        n = (b.mean(), b.std(ddof=1) / np.sqrt(len(b)))
        assert _z(k, n) < Z_MAX, f"{strategy} {name}: kernel {k}, numpy {n}"


def test_numpy_baseline_conserves_units(runs):
    for strategy, (_, m) in runs.items():
        stock = m["on_hand_start"] + m["units_received"] - m["units_consumed"]
        np.testing.assert_allclose(stock, m["on_hand_end"], rtol=1e-9, err_msg=strategy)
        np.testing.assert_allclose(
            m["units_shipped"],
            m["units_received"] + m["in_transit_end"],
            rtol=1e-9,
            err_msg=strategy,
        )
