"""Figures of a results dataset (matplotlib, Agg canvas).

Every function takes a results dataset (docs/results-format.md) and returns a new
:class:`matplotlib.figure.Figure` with a title, axis labels with units and a legend. The
figures are built on an Agg canvas directly, without pyplot, so they work headless, do
not touch global pyplot state and are freed when dropped. Save with ``fig.savefig(path)``;
in a notebook, ``display(fig)`` shows one.

Strategies keep the same colour in every figure (their order in the dataset). Money axes
read in $k / $M / $bn with thousands separators (the dataset's ``currency`` attribute:
``USD`` is ``$``; without one, the word "currency"); fill rates and probabilities read in
percent; layouts are constrained, and tick labels that would overlap are rotated or
thinned when the figure is saved through :func:`resilience.report.common.png`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from resilience.errors import ResultsError
from resilience.report.common import (
    ThousandsFormatter,
    currency_symbol,
    declutter_ticks,
    format_money,
    money_axis,
    number_axis,
    percent_axis,
    place_labels,
)
from resilience.risk import (
    bad_tail,
    cvar,
    exceedance,
    fill_rate,
    get_variable,
    mean,
    paired_differences,
    proportion,
    quantile,
    wilson_interval,
)
from resilience.risk.decision import RISK_MEASURES, decision_summary

__all__ = [
    "measure_values",
    "plot_daily_shortfall",
    "plot_exceedance",
    "plot_fill_rate_distribution",
    "plot_fill_rate_fan",
    "plot_frontier",
    "plot_paired_differences",
]

_GREY = "#9a9a9a"


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
    """The variable's long name for use mid-sentence ("lost sales", "total cost")."""
    text = str(da.attrs.get("long_name", da.name)).replace("_", " ")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def _value_axis(axis, ds: xr.Dataset, da: xr.DataArray, values, label: str | None = None) -> str:
    """Format a linear axis of ``da``'s values and return its label with units: money in
    $M etc., fractions in percent, counts with thousands separators."""
    label = _label(da) if label is None else label
    units = str(da.attrs.get("units", ""))
    if units == "currency":
        return f"{label} [{money_axis(axis, values, currency_symbol(ds.attrs))}]"
    if units == "1":
        percent_axis(axis)
        return f"{label} [% of demand]" if "fill" in str(da.name) else f"{label} [%]"
    number_axis(axis)
    return f"{label} [{units}]" if units else label


def _finish(fig: Figure) -> Figure:
    declutter_ticks(fig)
    return fig


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

    On the log axis the bands are clipped to the data: nothing is drawn below the
    smallest non-zero probability a sample of n paths can show (1 / n), so a band's
    lower bound at a zero count (0 up to rounding, 1e-18) cannot drag the axis down.

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
    values = sub.values.reshape(len(names), -1)
    grid = _tail_grid(values, n_points, "above")
    curve = exceedance(sub, grid, confidence=confidence).compute()
    thr = curve["threshold"].values
    n_max = max(int(np.isfinite(row).sum()) for row in values)
    floor = 1.0 / max(n_max, 1)  # the smallest non-zero probability n paths can show
    fig = _new_figure()
    ax = fig.add_subplot()
    for name in names:
        c = curve.sel(strategy=name)
        p, lo, hi = c["estimate"].values, c["lower"].values, c["upper"].values
        if log_y:  # zero probabilities have no place on a log axis
            shown = p > 0
            p = np.where(shown, p, np.nan)
            lo = np.where(shown, np.clip(lo, floor, None), np.nan)
            hi = np.where(shown, hi, np.nan)
        colour = _colour(ds, name)
        ax.step(thr, p, where="post", color=colour, label=name)
        ax.fill_between(thr, lo, hi, step="post", color=colour, alpha=0.2, linewidth=0)
    if log_y:
        ax.set_yscale("log")
        ax.set_ylim(floor / 1.5, 1.3)
        percent_axis(ax.yaxis, log=True)
        ax.set_ylabel("P(X > x) [% of paths, log scale]")
    else:
        percent_axis(ax.yaxis)
        ax.set_ylabel("P(X > x) [% of paths]")
    finite = thr[np.isfinite(thr)]
    ax.set_xlabel(_value_axis(ax.xaxis, ds, da, finite, label=f"x = {_label(da)}"))
    ax.set_title(f"How often {_label(da)} exceeds x (exceedance curve)")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.legend(title=f"strategy (band: {100 * confidence:g}% CI)")
    return _finish(fig)


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
    for ax in (left, right):
        ax.set_yscale("log")
        percent_axis(ax.xaxis)
        percent_axis(ax.yaxis, log=True)
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    left.set_xlabel("per-path fill rate [% of demand]")
    left.set_ylabel("share of paths [%, log scale]")
    left.set_title("Per-path fill rate")
    left.legend(fontsize="small", loc="upper left")
    right.set_xlabel("fill rate x [% of demand]")
    right.set_ylabel("P(fill rate < x) [% of paths, log scale]")
    right.set_title("Lower-tail risk curve")
    right.legend(fontsize="small", loc="upper left")
    fig.suptitle("Fill-rate distribution by strategy")
    return _finish(fig)


def _zoom(ax, *arrays: np.ndarray, top: float | None = None) -> None:
    """Y limits from the data (not 0-1), padded a little; ``top`` caps the upper one."""
    data = np.concatenate([np.ravel(a) for a in arrays])
    data = data[np.isfinite(data)]
    if data.size == 0:
        return
    lo, hi = float(data.min()), float(data.max())
    pad = max(0.06 * (hi - lo), 0.002)
    upper = hi + pad if top is None else min(hi + pad, top)
    ax.set_ylim(lo - pad, max(upper, lo + pad))


def plot_fill_rate_fan(ds: xr.Dataset, *, strategies: Sequence[str] | None = None) -> Figure:
    """Per-day fan chart of the network fill rate: P5-P95 band, median and mean.

    Uses ``daily_fill_rate_band`` (read from the daily histograms, so within one bin
    width, 1 %) and ``daily_fill_rate_mean`` (exact). One panel per strategy, shared axes
    zoomed to the band's data.
    """
    band = get_variable(ds, "daily_fill_rate_band")
    mean_da = get_variable(ds, "daily_fill_rate_mean")
    names = _strategies(ds, strategies)
    days = ds["day"].values
    qdim = "band_quantile"
    cols = min(2, len(names))
    rows = -(-len(names) // cols)
    fig = _new_figure(5.0 * cols + 1.0, 3.2 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    shown = []
    for ax, name in zip(axes, names, strict=False):
        b = band.sel(strategy=name)
        lo = b.sel({qdim: 0.05}, method="nearest").values
        mid = b.sel({qdim: 0.5}, method="nearest").values
        hi = b.sel({qdim: 0.95}, method="nearest").values
        m = mean_da.sel(strategy=name).values
        shown += [lo, hi, m]
        colour = _colour(ds, name)
        ax.fill_between(days, lo, hi, color=colour, alpha=0.25, linewidth=0, label="P5-P95")
        ax.plot(days, mid, color=colour, linewidth=1.5, label="median")
        ax.plot(days, m, color="black", linestyle="--", linewidth=1.0, label="mean")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower left", fontsize="small")
        percent_axis(ax.yaxis)
    _zoom(axes[0], *shown, top=1.005)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[: len(names)]:
        ax.set_xlabel("day of horizon")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("daily fill rate [% of demand]")
        ax.label_outer()
    fig.suptitle("Daily fill rate over paths: P5-P95 band, median and mean")
    return _finish(fig)


def plot_daily_shortfall(
    ds: xr.Dataset, *, strategies: Sequence[str] | None = None, confidence: float = 0.95
) -> Figure:
    """When in the year shortfalls happen: per day, the share of paths that could not
    serve all of that day's demand (from ``daily_fill_rate_hist``: every bin below a
    100% fill rate), with a Wilson band; below it the mean daily fill rate, zoomed to its
    data."""
    hist = get_variable(ds, "daily_fill_rate_hist")
    mean_da = get_variable(ds, "daily_fill_rate_mean")
    names = _strategies(ds, strategies)
    edges = np.asarray(ds["fill_bin"].values, dtype=np.float64)
    full = edges >= 1.0 - 1e-9  # the last bin holds exactly 1
    days = ds["day"].values
    fig = _new_figure(9.0, 6.4)
    top, bottom = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]}, squeeze=True
    )
    means = []
    for name in names:
        h = np.asarray(hist.sel(strategy=name).transpose("day", ...).values, dtype=np.float64)
        n = h.sum(axis=1)
        short = n - h[:, full].sum(axis=1)
        p = np.where(n > 0, short / np.maximum(n, 1), np.nan)
        lo, hi = wilson_interval(short, n, confidence)
        colour = _colour(ds, name)
        top.plot(days, p, color=colour, linewidth=1.4, label=name)
        top.fill_between(days, lo, hi, color=colour, alpha=0.2, linewidth=0)
        m = mean_da.sel(strategy=name).values
        means.append(m)
        bottom.plot(days, m, color=colour, linewidth=1.2, label=name)
    top.set_ylim(bottom=0)
    percent_axis(top.yaxis)
    top.set_ylabel("P(shortfall that day) [% of paths]")
    top.set_title("Share of paths short of demand on each day")
    top.legend(title=f"strategy (band: {100 * confidence:g}% CI)", fontsize="small")
    _zoom(bottom, *means, top=1.002)
    percent_axis(bottom.yaxis)
    bottom.set_ylabel("mean fill rate [% of demand]")
    bottom.set_xlabel("day of horizon")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_title("Mean daily fill rate over paths (exact)", fontsize="medium")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    fig.suptitle("Daily shortfall risk by strategy")
    return _finish(fig)


def plot_paired_differences(
    ds: xr.Dataset,
    metric: str = "total_cost",
    baseline: str | None = None,
    *,
    bins: int = 40,
) -> Figure:
    """Distribution of per-path differences (strategy minus baseline) of ``metric``.

    Common random numbers make each difference a like-for-like comparison on one path.
    One panel per strategy: histogram of differences, a line at 0 and one at the mean
    difference; the title gives the share of paths where the strategy is better.
    ``baseline`` defaults to the scenario's baseline, else the first strategy.
    """
    from resilience.risk.decision import default_baseline

    baseline = default_baseline(ds) if baseline is None else baseline
    diff = paired_differences(ds, metric, baseline).compute()
    side = bad_tail(ds[metric])
    names = [str(s) for s in diff["strategy"].values]
    if not names:
        raise ResultsError("paired differences need at least two strategies")
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = _new_figure(4.2 * cols + 1.0, 3.4 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True).ravel()
    finite = diff.values[np.isfinite(diff.values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    xlabel = ""
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
        ax.yaxis.set_major_formatter(ThousandsFormatter())
        xlabel = _value_axis(
            ax.xaxis, ds, ds[metric], edges, label=f"difference in {_label(ds[metric])}"
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("paths (symlog)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    top = max(ax.get_ylim()[1] for ax in axes[: len(names)])
    for ax in axes[: len(names)]:
        ax.set_ylim(0, top * 4)  # headroom above the tallest bar for the legend
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Paired per-path difference in {_label(ds[metric])}: strategy minus {baseline}")
    return _finish(fig)


# ----------------------------------------------------------------------------- frontier


def _measure_axis_label(ds: xr.Dataset, risk_measure: str) -> tuple[str, xr.DataArray]:
    m = RISK_MEASURES[risk_measure]
    da = ds[m.variable]
    name = _label(da)
    if m.kind == "cvar":
        return f"CVaR{100 * m.level:g} of {name}", da
    if m.kind == "quantile":
        return f"P{100 * m.level:g} of {name}", da
    if m.kind == "probability":
        return f"P({name} > 0)", da
    return f"expected {name}", da


def measure_values(
    ds: xr.Dataset, risk_measure: str = "cvar95_lost_units", *, confidence: float = 0.95
) -> xr.Dataset:
    """Each strategy's value of a decision-summary risk measure (a key of
    :data:`resilience.risk.decision.RISK_MEASURES`) with its interval: ``estimate``,
    ``lower``, ``upper`` over ``strategy`` (CVaR: influence function; quantiles: order
    statistics; probabilities: Wilson; means: normal)."""
    if risk_measure not in RISK_MEASURES:
        raise ResultsError(
            f"unknown risk measure {risk_measure!r}; choose one of {', '.join(RISK_MEASURES)}"
        )
    m = RISK_MEASURES[risk_measure]
    da = get_variable(ds, m.variable)
    if m.kind == "cvar":
        est = cvar(
            da, m.level, tail="lower" if m.higher_is_better else "upper", confidence=confidence
        )
    elif m.kind == "quantile":
        est = quantile(da, m.level, confidence=confidence)
    elif m.kind == "probability":
        est = proportion((da > 0).where(da.notnull()), confidence=confidence)
    else:
        est = mean(da, confidence=confidence)
    return est[["estimate", "lower", "upper"]].reset_coords(drop=True).compute()


def cost_per_risk_text(value: float, summary: xr.Dataset, symbol: str) -> str:
    """``$2,869 per unit``: the summary's cost per unit of risk avoided in words."""
    per = str(summary.attrs.get("risk_per", "unit"))
    if not np.isfinite(value):
        return "n/a"
    if per.startswith("point"):
        value = value / 100.0  # risk avoided is a fraction: per percentage point
    if per == "unit of margin":  # money per money: a plain ratio
        return f"{value:,.2f} per {per} avoided"
    digits = 2 if abs(value) < 100 else None
    tail = "per lost unit avoided" if per == "unit" else f"per {per}"
    return f"{format_money(value, symbol, digits=digits)} {tail}"


def plot_frontier(
    ds: xr.Dataset,
    *,
    baseline: str | None = None,
    risk_measure: str = "cvar95_lost_units",
    summary: xr.Dataset | None = None,
    confidence: float = 0.95,
) -> Figure:
    """The decision frontier: expected total cost against the chosen risk measure.

    One point per strategy with the confidence intervals of both coordinates; the
    baseline is marked (black ring); efficient strategies (decision summary verdict
    "efficient" or "cheaper and safer") are joined by the frontier line and annotated with
    their cost per unit of risk avoided against the baseline; dominated and
    indistinguishable ones are grey, their label saying why. Verdicts come from the
    paired intervals of :func:`resilience.risk.decision.decision_summary`, so a point is
    only called dominated when the difference is distinguishable from noise.
    """
    if summary is None:
        summary = decision_summary(ds, baseline, risk_measure, confidence=confidence)
    risk_measure = str(summary.attrs["risk_measure"])
    baseline = str(summary.attrs["baseline"])
    names = [str(s) for s in summary["strategy"].values]
    if len(names) < 2:
        raise ResultsError("a frontier needs at least two strategies")
    cost = mean(get_variable(ds, "total_cost"), confidence=confidence).compute()
    risk = measure_values(ds, risk_measure, confidence=confidence)
    x = np.array([float(cost["estimate"].sel(strategy=s)) for s in names])
    y = np.array([float(risk["estimate"].sel(strategy=s)) for s in names])

    def err(bounds: xr.Dataset, centre: np.ndarray) -> np.ndarray:
        lo = np.array([float(bounds["lower"].sel(strategy=s)) for s in names])
        hi = np.array([float(bounds["upper"].sel(strategy=s)) for s in names])
        return np.nan_to_num(np.abs(np.stack([centre - lo, hi - centre])))

    xerr, yerr = err(cost, x), err(risk, y)
    verdict = {s: str(v) for s, v in zip(names, summary["verdict"].values, strict=True)}
    by = {s: str(v) for s, v in zip(names, summary["dominated_by"].values, strict=True)}
    symbol = currency_symbol(ds.attrs)
    good = [s for s in names if verdict[s] in ("baseline", "efficient", "cheaper and safer")]

    fig = _new_figure(8.5, 5.6)
    ax = fig.add_subplot()
    order = sorted((names.index(s) for s in good), key=lambda i: x[i])
    if len(order) > 1:
        ax.plot(x[order], y[order], color="#555", linewidth=1.0, alpha=0.6, zorder=1)
    texts, colours = [], []
    for i, s in enumerate(names):
        efficient = s in good
        colour = _colour(ds, s) if efficient else _GREY
        ax.errorbar(
            x[i],
            y[i],
            xerr=xerr[:, i : i + 1],
            yerr=yerr[:, i : i + 1],
            linestyle="none",
            marker="o" if efficient else "X",
            markersize=8 if efficient else 7,
            color=colour,
            ecolor=colour,
            elinewidth=1.2,
            capsize=3,
            zorder=3,
        )
        if s == baseline:
            ax.scatter(
                [x[i]],
                [y[i]],
                s=260,
                facecolors="none",
                edgecolors="black",
                linewidths=1.5,
                zorder=4,
            )
            texts.append(f"{s} (baseline)")
        elif verdict[s] == "efficient":
            ratio = float(summary["estimate"].sel(strategy=s, figure="cost_per_risk_avoided"))
            texts.append(f"{s}: {cost_per_risk_text(ratio, summary, symbol)}")
        elif verdict[s] == "cheaper and safer":
            texts.append(f"{s}: cheaper and safer")
        elif verdict[s] == "dominated":
            texts.append(f"{s}: dominated by {by[s]}")
        elif verdict[s] == "costlier, no safer":
            texts.append(f"{s}: costlier, no safer")
        else:
            texts.append(f"{s}: not distinguishable from {baseline}")
        colours.append("black" if efficient else "#777")
    measure = RISK_MEASURES[risk_measure]
    ylabel, rda = _measure_axis_label(ds, risk_measure)
    ax.set_xlabel(_value_axis(ax.xaxis, ds, ds["total_cost"], x, label="expected total cost"))
    if measure.kind == "probability":
        percent_axis(ax.yaxis)
        ax.set_ylabel(f"{ylabel} [% of paths]")
    else:
        ax.set_ylabel(_value_axis(ax.yaxis, ds, rda, y, label=ylabel))
    safer = "higher" if measure.higher_is_better else "lower"
    ax.set_title(f"Cost against risk ({safer} {ylabel} is safer)")
    ax.grid(True, alpha=0.3)
    ax.margins(0.18, 0.12)
    handles = [
        Line2D(
            [], [], marker="o", linestyle="none", color="#444", label="efficient (colour: strategy)"
        ),
        Line2D([], [], marker="X", linestyle="none", color=_GREY, label="dominated / no better"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=14,
            markerfacecolor="none",
            markeredgecolor="black",
            label="baseline",
        ),
    ]
    ax.legend(
        handles=handles,
        loc="best",
        fontsize="small",
        title=f"bars: {100 * confidence:g}% CI",
        title_fontsize="small",
    )
    place_labels(ax, np.column_stack([x, y]), texts, colours=colours)
    return _finish(fig)
