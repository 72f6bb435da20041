"""Sweep summaries: per point and strategy risk figures, and telling a sweep result apart.

``--summary-only`` keeps :func:`summarize` of each job instead of its per-path arrays;
``resilience report`` reads either kind of result through :func:`sweep_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from resilience.risk import DEFAULT_TABLE_COLUMNS, risk_table
from resilience.sweeps.spec import SweepSpec

__all__ = [
    "SUMMARY_COLUMNS",
    "SUMMARY_DAILY",
    "is_sweep",
    "summarize",
    "sweep_spec",
    "sweep_table",
]

#: Statistics kept per point and strategy by ``--summary-only`` (risk_table columns).
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    *DEFAULT_TABLE_COLUMNS,
    ("lost_units", "P90"),
    ("stockout_days", "mean"),
)
#: Per-day variables kept by ``--summary-only`` (small: strategy x day).
SUMMARY_DAILY = (
    "daily_fill_rate_mean",
    "daily_fill_rate_band",
    "daily_on_hand_mean",
    "daily_on_hand_band",
)


def summarize(ds: xr.Dataset, columns: Sequence[tuple[str, str]] = SUMMARY_COLUMNS) -> xr.Dataset:
    """Per-strategy risk figures of a per-path dataset (any leading dims): the
    :func:`resilience.risk.risk_table` (estimate, lower, upper, se, n over ``column``)
    plus the per-day mean and band variables."""
    table = risk_table(ds, columns=columns).compute()
    table = table.transpose(*[d for d in ds["demand_units"].dims if d != "path"], "column")
    out = xr.merge([table, ds[list(SUMMARY_DAILY)]], combine_attrs="drop_conflicts")
    out.attrs = dict(ds.attrs)
    return out


def is_sweep(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a sweep result (``resilience report`` dispatches on this)."""
    return "sweep_json" in ds.attrs


def sweep_spec(ds: xr.Dataset) -> SweepSpec:
    return SweepSpec.from_json(ds.attrs["sweep_json"])


def sweep_table(ds: xr.Dataset) -> xr.Dataset:
    """Risk figures per sweep point and strategy: dims (axes..., strategy, column).

    A ``--summary-only`` result already holds them; a per-path one is summarised here.
    """
    if "path" not in ds.dims:
        return ds
    return summarize(ds)
