"""Helpers shared by the sweep, shard and cluster tests."""

from __future__ import annotations

import numpy as np
import xarray as xr

#: A two-axis grid on src/resilience/examples/two-tier.yaml: the JIC chip buffer (a decision,
#: leaves the other strategies' networks alone) x a zipped East Asia shock severity.
GRID = (
    "strategies.jic.stock[0].buffer_days=0,30",
    "severity:regions.east_asia.shocks[0].mean_duration_days=5,40,90",
    "severity:regions.east_asia.shocks[0].capacity_fraction=0.5,0.2,0",
)
PATHS = 600
SEED = 11
BLOCK = 200


def assert_same_data(a: xr.Dataset, b: xr.Dataset, *, check_coords: bool = True) -> None:
    """Every data variable of ``a`` is in ``b`` with the same dims, dtype and bytes."""
    a, b = a.load(), b.load()
    assert set(a.data_vars) <= set(b.data_vars), set(a.data_vars) - set(b.data_vars)
    for name in a.data_vars:
        x, y = a[name], b[name].transpose(*a[name].dims)
        assert x.dtype == y.dtype, (name, x.dtype, y.dtype)
        assert x.shape == y.shape, (name, x.shape, y.shape)
        assert x.values.tobytes() == y.values.tobytes(), f"{name} differs"
    if check_coords:
        for name in a.coords:
            assert name in b.coords, name
            assert np.array_equal(a[name].values, b[name].values), name
