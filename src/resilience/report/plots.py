"""Figures of a results dataset (matplotlib, Agg canvas).

Every function takes a results dataset (docs/results-format.md) and returns a new
:class:`matplotlib.figure.Figure` with a title, axis labels with units and a legend. The
figures are built on an Agg canvas directly, without pyplot, so they work headless, do
not touch global pyplot state and are freed when dropped. Save with ``fig.savefig(path)``;
in a notebook, ``display(fig)`` shows one.

Strategies keep the same colour in every figure (their order in the dataset).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from resilience.errors import ResultsError
from resilience.risk import (
    bad_tail,
    exceedance,
    fill_rate,
    frontier,
    get_variable,
    paired_differences,
)

__all__ = [
    "plot_exceedance",
    "plot_fill_rate_distribution",
    "plot_fill_rate_fan",
    "plot_frontier",
    "plot_paired_differences",
]

RiskMeasure = Literal["mean", "var", "cvar"]


def _new_figure(width: float = 8.0, height: float = 5.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _strategies(ds: xr.Dataset, strategies: Sequence[str] | None) -> list[str]:
    names = [str(s) for s in ds["strategy"].values]
    if strategies is None:
        return names
    for s in strategies:
        if s not in names:
            raise ResultsError(f"unknown strategy {s!r}; the results hold: {', '.join(names)}")
    return list(strategies)


def _colour(ds: xr.Dataset, name: str) -> str:
    names = [str(s) for s in ds["strategy"].values]
    return f"C{names.index(name) % 10}"


def _label(da: xr.DataArray) -> str:
    return str(da.attrs.get("long_name", da.name)).replace("_", " ")


def _axis_label(da: xr.DataArray, *, fraction: bool = False) -> str:
    units = str(da.attrs.get("units", ""))
    if fraction or units == "1":
        return f"{_label(da)} [fraction of demand]"
    return f"{_label(da)} [{units}]" if units else _label(da)


def _tail_grid(values: np.ndarray, n_points: int, side: str) -> np.ndarray:
    """Thresholds resolving each strategy's curve down to 1 / paths on a log axis.

    Pooled quantiles leave the far tail of one strategy with no grid point at all; the
    order statistics at log-spaced exceedance probabilities of every strategy do not.
    """
    grids = []
    for row in np.atleast_2d(values):
        x = row[np.isfinite(row)]
        if x.size == 0:
            continue
        p = np.logspace(-np.log10(x.size), 0.0, n_points)
        q = 1.0 - p if side == "above" else p
        grids.append(np.quantile(x, np.clip(q, 0.0, 1.0), method="inverted_cdf"))
        grids.append(np.quantile(x, np.linspace(0.0, 1.0, n_points), method="inverted_cdf"))
    if not grids:
        raise ResultsError("no finite values to draw")
    return np.unique(np.concatenate(grids))


def plot_exceedance(
    ds: xr.Dataset,
    variable: str = "lost_units",
    *,
    strategies: Sequence[str] | None = None,
    log_y: bool = True,
    confidence: float = 0.95,
    n_points: int = 200,
) -> Figure:
    """Exceedance (risk) curves P(X > x) per strategy, with Wilson confidence bands.

    Parameters
    ----------
    ds
        Results dataset.
    variable
        Per-path loss variable, e.g. ``"lost_units"`` or ``"total_cost"``.
    strategies
        Subset to draw (default all).
    log_y
        Logarithmic probability axis, which shows the tail down to 1 / paths.
    confidence, n_points
        Band confidence; thresholds per strategy (log-spaced in probability and linear).
    """
    da = get_variable(ds, variable)
    names = _strategies(ds, strategies)
    sub = da.sel(strategy=names).transpose("strategy", ...)
    grid = _tail_grid(sub.values.reshape(len(names), -1), n_points, "above")
    curve = exceedance(sub, grid, confidence=confidence).compute()
    thr = curve["threshold"].values
    fig = _new_figure()
    ax = fig.add_subplot()
    for name in names:
        c = curve.sel(strategy=name)
        p, lo, hi = c["estimate"].values, c["lower"].values, c["upper"].values
        if log_y:  # zero probabilities have no place on a log axis
            p = np.where(p > 0, p, np.nan)
            lo = np.where(lo > 0, lo, np.nan)
        colour = _colour(ds, name)
        ax.step(thr, p, where="post", color=colour, label=name)
        ax.fill_between(thr, lo, hi, step="post", color=colour, alpha=0.2, linewidth=0)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(_axis_label(da))
    ax.set_ylabel("P(X > x), share of paths")
    ax.set_title(f"Exceedance curve of {_label(da)}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title=f"strategy (band: {100 * confidence:g}% CI)")
    return fig


def plot_fill_rate_distribution(
    ds: xr.Dataset, *, strategies: Sequence[str] | None = None, bins: int = 40
) -> Figure:
    """Distribution of the per-path fill rate per strategy.

    Left: histogram (share of paths per bin, log scale, so rare bad paths stay visible).
    Right: lower-tail risk curve P(fill rate < x). Legend entries give the run-level fill
    rate (ratio of sums).
    """
    da = get_variable(ds, "fill_rate")
    names = _strategies(ds, strategies)
    values = da.sel(strategy=names).values
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ResultsError("fill_rate has no finite values")
    low = float(finite.min())
    edges = np.linspace(min(low, 0.999), 1.0, bins + 1)
    run_level = fill_rate(ds).estimate.compute()
    grid = _tail_grid(values, 100, "below")
    curve = exceedance(da.sel(strategy=names), grid, side="below").compute()
    fig = _new_figure(11.0, 4.8)
    left, right = fig.subplots(1, 2)
    for i, name in enumerate(names):
        x = values[i][np.isfinite(values[i])]
        colour = _colour(ds, name)
        label = f"{name} (run-level {100 * float(run_level.sel(strategy=name)):.2f}%)"
        weights = np.full(x.size, 1.0 / max(x.size, 1))
        left.hist(x, bins=edges, weights=weights, histtype="step", color=colour, label=label)
        c = curve.sel(strategy=name)
        p = np.where(c["estimate"].values > 0, c["estimate"].values, np.nan)
        right.step(curve["threshold"].values, p, where="post", color=colour, label=name)
    left.set_yscale("log")
    left.set_xlabel("per-path fill rate [fraction of demand]")
    left.set_ylabel("share of paths")
    left.set_title("Per-path fill rate")
    left.legend(fontsize="small")
    right.set_yscale("log")
    right.set_xlabel("fill rate x [fraction of demand]")
    right.set_ylabel("P(fill rate < x), share of paths")
    right.set_title("Lower-tail risk curve")
    right.legend(fontsize="small")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Fill-rate distribution by strategy")
    return fig


def plot_fill_rate_fan(ds: xr.Dataset, *, strategies: Sequence[str] | None = None) -> Figure:
    """Per-day fan chart of the network fill rate: P5-P95 band, median and mean.

    Uses ``daily_fill_rate_band`` (read from the daily histograms, so within one bin
    width, 1 %) and ``daily_fill_rate_mean`` (exact). One panel per strategy, shared axes.
    """
    band = get_variable(ds, "daily_fill_rate_band")
    mean = get_variable(ds, "daily_fill_rate_mean")
    names = _strategies(ds, strategies)
    days = ds["day"].values
    qdim = "quantile"
    cols = min(2, len(names))
    rows = -(-len(names) // cols)
    fig = _new_figure(5.0 * cols + 1.0, 3.2 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        b = band.sel(strategy=name)
        lo = b.sel({qdim: 0.05}, method="nearest").values
        mid = b.sel({qdim: 0.5}, method="nearest").values
        hi = b.sel({qdim: 0.95}, method="nearest").values
        colour = _colour(ds, name)
        ax.fill_between(days, lo, hi, color=colour, alpha=0.25, linewidth=0, label="P5-P95")
        ax.plot(days, mid, color=colour, linewidth=1.5, label="median")
        ax.plot(
            days,
            mean.sel(strategy=name).values,
            color="black",
            linestyle="--",
            linewidth=1.0,
            label="mean",
        )
        ax.set_title(name)
        ax.set_ylim(min(0.0, float(np.nanmin(lo))) if np.isfinite(lo).any() else 0.0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower left", fontsize="small")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[: len(names)]:
        ax.set_xlabel("day of horizon [days]")
        ax.set_ylabel("daily fill rate [fraction of demand]")
        ax.label_outer()
    fig.suptitle("Daily fill rate over paths: P5-P95 band, median and mean")
    return fig


def plot_paired_differences(
    ds: xr.Dataset,
    metric: str = "total_cost",
    baseline: str = "jit",
    *,
    bins: int = 40,
) -> Figure:
    """Distribution of per-path differences (strategy minus baseline) of ``metric``.

    Common random numbers make each difference a like-for-like comparison on one path.
    One panel per strategy: histogram of differences, a line at 0 and one at the mean
    difference; the title gives the share of paths where the strategy is better.
    """
    diff = paired_differences(ds, metric, baseline).compute()
    side = bad_tail(ds[metric])
    names = [str(s) for s in diff["strategy"].values]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = _new_figure(4.2 * cols + 1.0, 3.4 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    finite = diff.values[np.isfinite(diff.values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    for ax, name in zip(axes, names, strict=False):
        d = diff.sel(strategy=name).values
        d = d[np.isfinite(d)]
        colour = _colour(ds, name)
        ax.hist(d, bins=edges, color=colour, alpha=0.7, label="paths")
        ax.axvline(0.0, color="black", linewidth=1.0, label="no difference")
        if d.size:
            ax.axvline(
                float(d.mean()),
                color=colour,
                linestyle="--",
                linewidth=1.5,
                label="mean difference",
            )
            better = np.mean(d < 0) if side == "upper" else np.mean(d > 0)
            ax.set_title(
                f"{name} - {baseline}: better on {100 * better:.1f}% of paths", fontsize="medium"
            )
        else:
            ax.set_title(f"{name} - {baseline}", fontsize="medium")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel(f"difference in {_axis_label(ds[metric])}")
        ax.set_ylabel("paths")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Paired per-path difference in {_label(ds[metric])} against {baseline!r}")
    return fig


def plot_frontier(
    ds: xr.Dataset,
    *,
    cost: str = "total_cost",
    risk: str = "lost_units",
    measure: RiskMeasure = "cvar",
    level: float = 0.95,
    confidence: float = 0.95,
) -> Figure:
    """Cost-risk frontier: expected cost against a risk figure, dominated points marked.

    Error bars are the confidence intervals of both coordinates; efficient strategies are
    joined by the frontier line, dominated ones are drawn as grey crosses (see
    :func:`resilience.stats.frontier`).
    """
    fr = frontier(ds, cost=cost, risk=risk, measure=measure, level=level, confidence=confidence)
    fig = _new_figure()
    ax = fig.add_subplot()
    names = [str(s) for s in fr["strategy"].values]
    x, y = fr["expected_cost"].values, fr["risk_value"].values
    xerr = np.abs(
        np.stack([x - fr["expected_cost_lower"].values, fr["expected_cost_upper"].values - x])
    )
    yerr = np.abs(np.stack([y - fr["risk_value_lower"].values, fr["risk_value_upper"].values - y]))
    xerr, yerr = np.nan_to_num(xerr), np.nan_to_num(yerr)
    dominated = fr["dominated"].values.astype(bool)
    efficient = np.flatnonzero(~dominated)
    order = efficient[np.argsort(x[efficient])]
    ax.plot(x[order], y[order], color="C0", linewidth=1.0, alpha=0.6, label="frontier")
    for i, name in enumerate(names):
        style = (
            {"marker": "x", "color": "grey"}
            if dominated[i]
            else {"marker": "o", "color": _colour(ds, name)}
        )
        ax.errorbar(
            x[i],
            y[i],
            xerr=xerr[:, i : i + 1],
            yerr=yerr[:, i : i + 1],
            linestyle="none",
            capsize=3,
            **style,
        )
        # alternate label sides so neighbours on the frontier do not print over each other
        offset = (6, 6) if i % 2 == 0 else (6, -14)
        ax.annotate(name, (x[i], y[i]), textcoords="offset points", xytext=offset)
    # proxy artists so the legend explains the marker styles once
    ax.plot([], [], "o", color="C0", label="efficient strategy")
    ax.plot([], [], "x", color="grey", label="dominated strategy")
    label = fr.attrs["risk_label"]
    rda = ds[risk]
    ax.set_xlabel(f"expected {_axis_label(ds[cost])}")
    ax.set_ylabel(f"{label} of {_axis_label(rda)}")
    better = "higher" if fr.attrs["tail"] == "lower" else "lower"
    ax.set_title(f"Cost-risk frontier ({label} of {_label(rda)}; {better} is safer)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig
