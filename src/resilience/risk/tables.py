"""The per-strategy risk table and convergence (paths needed) reports.

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
import xarray as xr

from resilience.risk.base import _units, _z, get_variable
from resilience.risk.censored import CENSORED, uncensored
from resilience.risk.estimators import cvar, fill_rate, mean, quantile, value_at_risk

#: Columns of :func:`risk_table`: (variable, statistic). Statistics: ``mean`` (the ratio
#: of sums for ``fill_rate``), ``P<q>`` (quantile at q percent), ``VaR<a>``, ``CVaR<a>``.
DEFAULT_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fill_rate", "mean"),
    ("fill_rate", "P5"),
    ("fill_rate", "P1"),
    ("lost_units", "mean"),
    ("lost_units", "P50"),
    ("lost_units", "P95"),
    ("lost_units", "P99"),
    ("lost_units", "CVaR95"),
    ("total_cost", "mean"),
    ("total_cost", "P50"),
    ("total_cost", "P95"),
    ("total_cost", "P99"),
    ("total_cost", "CVaR95"),
    ("stockout_days", "P95"),
)

#: Columns of the table of a backorder run (dataset attribute ``demand_mode ==
#: "backorder"``), which loses no sales: late units (demand not served on its day,
#: ``demand_units - filled_units``), the backlog, then cost and stockout days.
BACKORDER_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fill_rate", "mean"),
    ("fill_rate", "P5"),
    ("fill_rate", "P1"),
    ("late_units", "mean"),
    ("late_units", "P95"),
    ("late_units", "CVaR95"),
    ("mean_backlog", "mean"),
    ("mean_backlog", "P95"),
    ("mean_backlog", "P99"),
    ("backlog_units_end", "mean"),
    ("backlog_units_end", "P95"),
    ("total_cost", "mean"),
    ("total_cost", "P50"),
    ("total_cost", "P95"),
    ("total_cost", "P99"),
    ("total_cost", "CVaR95"),
    ("stockout_days", "P95"),
)


#: Columns added when the result traces shortages (docs/model.md, "Time to survive and
#: shortage duration"): the share of paths with a traced shortage, the time-to-survive
#: (P5: a 1-in-20 bad year; P50) and how long the shortage lasted (mean, P95). A path
#: without a traced shortage counts as surviving the horizon and as 0 days short
#: (:mod:`resilience.risk.censored`), so every path is in every figure.
SURVIVAL_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("traced_shortage", "mean"),
    ("time_to_survive_days", "P5"),
    ("time_to_survive_days", "P50"),
    ("shortage_duration_days", "mean"),
    ("shortage_duration_days", "P95"),
)


def table_columns(ds: xr.Dataset) -> tuple[tuple[str, str], ...]:
    """The columns ``resilience run`` shows for ``ds``: :data:`BACKORDER_TABLE_COLUMNS`
    for a backorder run, else :data:`DEFAULT_TABLE_COLUMNS`, then
    :data:`SURVIVAL_TABLE_COLUMNS` when ``ds`` has the time-to-survive figures."""
    if str(ds.attrs.get("demand_mode", "")) == "backorder":
        columns = BACKORDER_TABLE_COLUMNS
    else:
        columns = DEFAULT_TABLE_COLUMNS
    if all(v in ds.data_vars for v in CENSORED):
        columns = (*columns, *SURVIVAL_TABLE_COLUMNS)
    return columns


def _with_derived(ds: xr.Dataset, columns: Sequence[tuple[str, str]]) -> xr.Dataset:
    """``ds`` with ``late_units`` (demand_units - filled_units) and ``traced_shortage``
    (1 on a path with a traced shortage, else 0) when a column asks for them, and the
    censored figures with their NaNs counted (:mod:`resilience.risk.censored`)."""
    wanted = {v for v, _ in columns}
    if "late_units" in wanted and "late_units" not in ds.data_vars:
        late = get_variable(ds, "demand_units") - get_variable(ds, "filled_units")
        late.attrs = {
            "units": "units",
            "long_name": "Late units",
            "description": "Demand not served on its day: served late or still backlogged.",
        }
        ds = ds.assign(late_units=late)
    if "traced_shortage" in wanted and "traced_shortage" not in ds.data_vars:
        traced = get_variable(ds, "shortage_start_day").notnull().astype(np.float64)
        traced.attrs = {
            "units": "1",
            "long_name": "Traced shortage",
            "description": "1 on a path with a shortage traced to a disruption, else 0.",
        }
        ds = ds.assign(traced_shortage=traced)
    censored = [v for v in CENSORED if v in wanted and v in ds.data_vars]
    if censored:
        ds = ds.assign({v: uncensored(ds, v) for v in censored})
    return ds


def _parse_statistic(stat: str) -> tuple[str, float]:
    s = stat.strip()
    try:
        if s == "mean":
            return "mean", math.nan
        if s.startswith("CVaR"):
            return "cvar", float(s[4:]) / 100.0
        if s.startswith("VaR"):
            return "var", float(s[3:]) / 100.0
        if s.startswith("P"):
            return "quantile", float(s[1:]) / 100.0
    except ValueError:
        pass
    raise ValueError(f"unknown statistic {stat!r}: use 'mean', 'P<q>', 'VaR<a>' or 'CVaR<a>'")


def risk_table(
    ds: xr.Dataset,
    *,
    columns: Sequence[tuple[str, str]] = DEFAULT_TABLE_COLUMNS,
    dim: Hashable = "path",
    confidence: float = 0.95,
) -> xr.Dataset:
    """The per-strategy risk table printed by ``resilience run``.

    Default columns: fill rate (mean, P5, P1), lost_units and total_cost (mean, P50, P95,
    P99, CVaR95), stockout_days P95 (:func:`table_columns` picks the backorder set for a
    backorder run). ``late_units`` is derived as demand_units - filled_units.
    ``fill_rate mean`` is the run-level ratio of sums sum(filled_units) /
    sum(demand_units) with a delta-method interval (:func:`fill_rate`); other means use :func:`mean`, quantiles :func:`quantile`
    (order-statistic intervals), VaR / CVaR :func:`value_at_risk` / :func:`cvar`
    (influence-function intervals). Lazy on dask input; call ``.compute()`` once.

    Parameters
    ----------
    ds
        Results dataset with dims (strategy, path).
    columns
        (variable, statistic) pairs; statistic is ``mean``, ``P<q>`` (quantile at q %),
        ``VaR<a>`` or ``CVaR<a>`` (a in %).
    dim, confidence
        Path dimension and two-sided confidence level.

    Returns
    -------
    xarray.Dataset
        Dims (strategy, column): ``estimate``, ``lower``, ``upper``, ``se``, ``n``; the
        ``column`` coordinate holds labels like ``"lost_units P95"`` with ``metric``,
        ``statistic`` and ``units`` coordinates beside it; ``paths`` (strategy) is the
        number of paths.
    """
    if not columns:
        raise ValueError("columns must not be empty")
    ds = _with_derived(ds, columns)
    groups: dict[str, list[tuple[int, str, float]]] = {}
    parsed = []
    for i, (var, stat) in enumerate(columns):
        kind, lev = _parse_statistic(stat)
        parsed.append((var, stat, kind, lev))
        groups.setdefault(f"{var}\0{kind}", []).append((i, stat, lev))
    for var, _, kind, _ in parsed:
        if not (var == "fill_rate" and kind == "mean"):
            get_variable(ds, var)
    results: dict[int, xr.Dataset] = {}
    for key, items in groups.items():
        var, kind = key.split("\0")
        if kind == "mean":
            if var == "fill_rate":
                est = fill_rate(ds, dim=dim, confidence=confidence)
            else:
                est = mean(get_variable(ds, var), dim=dim, confidence=confidence)
            for i, _, _ in items:
                results[i] = est
            continue
        levels = [lev for _, _, lev in items]
        da = get_variable(ds, var)
        if kind == "quantile":
            est = quantile(da, levels, dim=dim, confidence=confidence)
            coord = "quantile"
        elif kind == "var":
            est = value_at_risk(da, levels, dim=dim, confidence=confidence)
            coord = "level"
        else:
            est = cvar(da, levels, dim=dim, confidence=confidence)
            coord = "level"
        for j, (i, _, _) in enumerate(items):
            results[i] = est.isel({coord: j})
    parts = []
    for i in range(len(columns)):
        part = results[i][["estimate", "lower", "upper", "se", "n"]].reset_coords(drop=True)
        parts.append(part)
    table = xr.concat(parts, dim="column", coords="minimal", compat="override", join="outer")
    labels = [f"{var} {stat}" for var, stat, _, _ in parsed]
    units = []
    for var, *_ in parsed:
        units.append("1" if var == "fill_rate" else _units(ds[var]) if var in ds else "")
    table = table.assign_coords(
        column=("column", labels),
        metric=("column", [p[0] for p in parsed]),
        statistic=("column", [p[1] for p in parsed]),
        units=("column", units),
    )
    if "strategy" in table.dims:
        table = table.transpose("strategy", "column", ...)
    table["paths"] = xr.full_like(
        table["n"].isel(column=0, drop=True), ds.sizes[dim], dtype=np.int64
    )
    table.attrs.update(
        statistic="risk_table",
        confidence=confidence,
        interval=(
            "fill_rate mean: delta method; means: normal; quantiles: order statistics; "
            "CVaR: influence function"
        ),
        paths=int(ds.sizes[dim]),
    )
    for key in ("scenario_name", "seed", "currency", "demand_mode"):
        if key in ds.attrs:
            table.attrs[key] = ds.attrs[key]
    return table


def paths_needed(
    est: xr.Dataset, rel_precision: float = 0.01, confidence: float = 0.95
) -> xr.DataArray:
    """Paths needed so the interval half-width is ``rel_precision`` of the estimate.

    SE scales as 1 / sqrt(n), so from an estimate made with n paths:
    n_req = ceil(n (z SE / (r |estimate|))^2), z = Phi^{-1}((1 + confidence)/2). NaN when
    the estimate is 0 or its SE unknown.

    Parameters
    ----------
    est
        An estimate dataset (``estimate``, ``se``, ``n``), e.g. from :func:`cvar` or
        :func:`risk_table`.
    rel_precision
        Target relative half-width r, e.g. 0.01 for +-1 %.
    """
    r = float(rel_precision)
    if not r > 0:
        raise ValueError(f"rel_precision must be > 0, got {rel_precision}")
    z = _z(confidence)
    scale = abs(est["estimate"]).where(abs(est["estimate"]) > 0)
    need = np.ceil(est["n"] * (z * est["se"] / (r * scale)) ** 2)
    need.name = "paths_needed"
    need.attrs = {"units": "paths", "rel_precision": r, "confidence": confidence}
    return need


def convergence(
    est: xr.Dataset, rel_precision: float = 0.01, confidence: float = 0.95
) -> xr.Dataset:
    """Convergence report of an estimate dataset.

    ``rel_halfwidth`` = z SE / |estimate| (the relative precision reached now) and
    ``paths_needed`` (see :func:`paths_needed`), next to ``estimate``, ``se`` and ``n``.
    """
    z = _z(confidence)
    scale = abs(est["estimate"]).where(abs(est["estimate"]) > 0)
    out = est[["estimate", "se", "n"]].copy()
    out["rel_halfwidth"] = z * est["se"] / scale
    out["rel_halfwidth"].attrs["units"] = "1"
    out["paths_needed"] = paths_needed(est, rel_precision, confidence)
    out.attrs.update(est.attrs)
    out.attrs.update(rel_precision=float(rel_precision), confidence=confidence)
    return out
