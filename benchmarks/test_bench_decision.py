"""Benchmark of the paired statistics behind ``resilience compare``: ``risk.compare``
(influence-function VaR/CVaR intervals, the default) and ``decision_summary``.

The data set is synthetic: 200,000 paths of 4 strategies that share one "luck" draw per
path (common random numbers), with lost units, fill rate, total cost and stockout days of
the demo's size. In the normal test run (``--benchmark-disable``) each case runs once on
2,000 paths as a smoke test; ``make bench`` (``--benchmark-enable``) times the full size.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from resilience import risk
from resilience.risk.decision import decision_summary

FULL_PATHS = 200_000
SMOKE_PATHS = 2_000
STRATEGIES = ("jit", "jic", "regionalized", "hybrid")


def synthetic(n: int, seed: int = 2026) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    luck = rng.exponential(1.0, n) * (rng.uniform(size=n) < 0.3)  # a bad year 30% of the time
    keep = np.array([1.0, 0.45, 0.3, 0.4])[:, None]  # share of the shared loss each keeps
    extra = np.array([0.0, 20e6, 35e6, 25e6])[:, None]  # cost of the safety
    demand = np.broadcast_to(292_000.0 + rng.normal(0.0, 2000.0, n), (4, n))
    lost = np.round(keep * luck * 40_000.0 + rng.gamma(0.5, 50.0, (4, n)))
    cost = 3.1e9 + extra + 2500.0 * lost + rng.normal(0.0, 5e6, (4, n))
    dims = ("strategy", "path")
    units, money = {"units": "units"}, {"units": "currency"}
    return xr.Dataset(
        {
            "demand_units": (dims, demand.copy(), units),
            "filled_units": (dims, demand - lost, units),
            "fill_rate": (dims, 1.0 - lost / demand, {"units": "1"}),
            "lost_units": (dims, lost, units),
            "lost_sales_cost": (dims, 2500.0 * lost, money),
            "total_cost": (dims, cost, money),
            "stockout_days": (dims, np.minimum(365.0, np.ceil(lost / 300.0)), {"units": "days"}),
        },
        coords={"strategy": list(STRATEGIES), "path": np.arange(n)},
    )


@pytest.fixture(scope="module")
def data(request):
    config = request.config  # the rule pytest-benchmark applies to its own fixture
    disabled = config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")
    return synthetic(SMOKE_PATHS if disabled else FULL_PATHS)


@pytest.mark.parametrize("metric", ["total_cost", "lost_units", "fill_rate"])
def test_compare(benchmark, data, metric):
    cmp = benchmark(risk.compare, data, "jit", metric)
    benchmark.extra_info.update(paths=data.sizes["path"], strategies=data.sizes["strategy"])
    assert cmp.attrs["tail_interval"] == "influence"
    est, lo, hi = (cmp[k].sel(statistic="cvar_diff").values for k in ("estimate", "lower", "upper"))
    assert np.all(lo <= est) and np.all(est <= hi)
    assert np.all(cmp["width_ratio"].sel(statistic="cvar_diff").values < 1.0)  # pairing helps


def test_decision_summary(benchmark, data):
    summary = benchmark(decision_summary, data, "jit")
    benchmark.extra_info.update(paths=data.sizes["path"], strategies=data.sizes["strategy"])
    assert str(summary["verdict"].sel(strategy="jit").values) == "baseline"
    assert np.all(summary["estimate"].sel(figure="risk_avoided").drop_sel(strategy="jit") > 0)
