"""Figures and a self-contained HTML report of a sweep result (``resilience sweep``).

Works on a per-path sweep (risk figures computed here) and on a ``--summary-only`` one
(figures read from it) alike: both go through :func:`resilience.sweeps.sweep_table`,
dims (axes..., strategy, column). Strategies keep the colours of ``resilience.report.plots``
(their order in the dataset).

- :func:`plot_metric_vs_parameter`: a risk figure (default P95 of lost units) against one
  swept parameter, one panel per strategy, one line per value of the other axes (e.g. per
  shock regime), with its confidence band.
- :func:`plot_sweep_frontier`: expected cost against risk for every (point, strategy);
  the efficient ones (no other point is both cheaper and safer) are joined and labelled.
- :func:`write_sweep_report`: both, for every axis, into PNGs and ``sweep_report.html``.
"""

from __future__ import annotations

import itertools
import numbers
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from resilience.errors import ResultsError
from resilience.report.common import (
    StagedFolder,
    currency_symbol,
    declutter_ticks,
    esc,
    figure_html,
    money_axis,
    num_cell,
    number_axis,
    page,
    percent_axis,
    place_labels,
    png,
    row_style,
    table_html,
    value_parts,
)
from resilience.risk import pareto_dominated
from resilience.sweeps import is_sweep, sweep_spec, sweep_table

__all__ = ["plot_metric_vs_parameter", "plot_sweep_frontier", "write_sweep_report"]

#: Most lines drawn in one panel; further combinations of the other axes are left out.
MAX_LINES = 8


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _check(ds: xr.Dataset, column: str, table: xr.Dataset) -> None:
    if not is_sweep(ds):
        raise ResultsError("not a sweep result (no sweep_json attribute); use `resilience report`")
    columns = [str(c) for c in table["column"].values]
    if column not in columns:
        raise ResultsError(f"no figure {column!r} in the sweep; it has: {', '.join(columns)}")


def _numeric(values: np.ndarray) -> bool:
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values.tolist())


def _pretty(column: str, table: xr.Dataset) -> str:
    metric, stat = column.split(" ", 1)
    units = str(table["units"].sel(column=column).values)
    unit = f" [{units}]" if units and units != "1" else ""
    return f"{stat} {metric.replace('_', ' ')}{unit}"


def _axis(axis, column: str, table: xr.Dataset, ds: xr.Dataset, values) -> str:
    """Format a value axis of ``column`` (money in $M etc., fractions in percent, counts
    with thousands separators) and return its label."""
    metric, stat = column.split(" ", 1)
    units = str(table["units"].sel(column=column).values)
    name = f"{stat} {metric.replace('_', ' ')}"
    if units == "currency":
        return f"{name} [{money_axis(axis, np.asarray(values), currency_symbol(ds.attrs))}]"
    if units == "1":
        percent_axis(axis)
        return f"{name} [%]"
    number_axis(axis)
    return f"{name} [{units}]" if units else name


def plot_metric_vs_parameter(
    ds: xr.Dataset,
    *,
    column: str = "lost_units P95",
    x: str | None = None,
    table: xr.Dataset | None = None,
) -> Figure:
    """``column`` (a risk-table column, e.g. ``"lost_units P95"``) against the sweep axis
    ``x`` (default: the first numeric axis), one panel per strategy and one line per
    combination of the other axes, with the confidence interval as a band."""
    spec = sweep_spec(ds)
    table = sweep_table(ds) if table is None else table
    _check(ds, column, table)
    if x is None:
        x = next((a.name for a in spec.axes if _numeric(a.coordinate())), spec.names[0])
    if x not in spec.names:
        raise ResultsError(f"no sweep axis {x!r}; the axes are {', '.join(spec.names)}")
    others = [n for n in spec.names if n != x]
    sel = table.sel(column=column)
    strategies = [str(s) for s in table["strategy"].values]
    xs = table[x].values
    positions = xs if _numeric(spec.axes[spec.names.index(x)].coordinate()) else np.arange(len(xs))
    combos = list(itertools.product(*(range(table.sizes[o]) for o in others)))[:MAX_LINES]
    fig = _figure(min(4.2 * len(strategies), 16), 4.2)
    axes = fig.subplots(1, len(strategies), sharey=True, squeeze=False)[0]
    for ax, name in zip(axes, strategies, strict=True):
        one = sel.sel(strategy=name)
        for j, combo in enumerate(combos):
            where = dict(zip(others, combo, strict=True))
            line = one.isel(where)
            label = ", ".join(f"{o}={table[o].values[k]}" for o, k in where.items()) or name
            colour = f"C{j % 10}" if others else f"C{strategies.index(name) % 10}"
            ax.plot(positions, line["estimate"].values, marker="o", color=colour, label=label)
            lo, hi = line["lower"].values, line["upper"].values
            if np.isfinite(lo).any():
                ax.fill_between(positions, lo, hi, color=colour, alpha=0.15, linewidth=0)
        ax.set_title(name)
        ax.set_xlabel(x)
        if positions is not xs:
            ax.set_xticks(positions, [str(v) for v in xs])
        ax.grid(True, alpha=0.3)
    values = np.concatenate([sel[k].values.ravel() for k in ("estimate", "lower", "upper")])
    axes[0].set_ylabel(_axis(axes[0].yaxis, column, table, ds, values))
    axes[0].legend(fontsize="small", title=", ".join(others) if others else None)
    fig.suptitle(
        f"{column.split(' ', 1)[1]} {column.split(' ', 1)[0].replace('_', ' ')} against {x}"
    )
    declutter_ticks(fig)
    return fig


#: Top-level scenario keys whose parameters describe the world, not a decision.
ENVIRONMENT_KEYS = ("regions", "lane_shocks", "demand_surges")


def environment_axes(spec) -> list[str]:
    """Axes that set the disruption world (shock_scale, shocks, outages, surges) rather
    than a decision: a frontier compares decisions within one such world."""

    def is_env(param) -> bool:
        keys = param.keys
        return param.is_shock_scale or keys[0] in ENVIRONMENT_KEYS or "outage" in keys

    return [a.name for a in spec.axes if all(is_env(p) for p in a.params)]


def frontier_points(table: xr.Dataset, cost: str, risk: str) -> dict:
    """Flattened (point, strategy) cost/risk estimates of ``table`` and which of them are
    efficient (not dominated by another)."""
    spec_dims = [d for d in table["estimate"].dims if d not in ("strategy", "column")]
    est = table["estimate"].transpose(*spec_dims, "strategy", "column")
    c = est.sel(column=cost).values.reshape(-1)
    r = est.sel(column=risk).values.reshape(-1)
    n_s = table.sizes["strategy"]
    labels, points = [], []
    for cell in itertools.product(*(range(table.sizes[d]) for d in spec_dims)):
        point = ", ".join(f"{d}={table[d].values[k]}" for d, k in zip(spec_dims, cell, strict=True))
        values = " / ".join(str(table[d].values[k]) for d, k in zip(spec_dims, cell, strict=True))
        labels.extend(f"{s}: {point}" if point else str(s) for s in table["strategy"].values)
        points.extend([values] * n_s)
    strategy = np.tile(np.arange(n_s), len(c) // n_s)
    return {
        "cost": c,
        "risk": r,
        "dominated": pareto_dominated(c, r),
        "labels": labels,
        "points": points,
        "axes": spec_dims,
        "strategy": strategy,
    }


def _frontier_panel(ax, fp: dict, strategies: list[str]) -> tuple[list, list, list]:
    """Every (point, strategy) of one world: efficient ones ringed and joined, dominated
    ones faded. Returns the labels of the efficient points (positions, texts, colours):
    their decision-axis values, placed once the figure is complete."""
    for k, name in enumerate(strategies):
        mine = fp["strategy"] == k
        for dominated, style in (
            (True, {"alpha": 0.3, "s": 25}),
            (False, {"alpha": 1.0, "s": 60, "edgecolors": "black"}),
        ):
            pick = mine & (fp["dominated"] == dominated)
            if pick.any():
                ax.scatter(
                    fp["cost"][pick],
                    fp["risk"][pick],
                    color=f"C{k % 10}",
                    label=name if not dominated else None,
                    zorder=3 if not dominated else 2,
                    **style,
                )
    eff = np.flatnonzero(~fp["dominated"])
    eff = eff[np.argsort(fp["cost"][eff], kind="stable")]
    ax.plot(
        fp["cost"][eff],
        fp["risk"][eff],
        color="black",
        linewidth=1,
        alpha=0.6,
        label="efficient frontier",
        zorder=1,
    )
    ax.grid(True, alpha=0.3)
    ax.margins(0.1, 0.12)
    if not fp["axes"]:
        return [], [], []
    # one label per distinct efficient point of a strategy; a strategy whose points all
    # coincide (the decision axes do not touch it) needs none: its colour names it
    groups: dict[tuple, list[int]] = {}
    for idx in eff:
        key = (int(fp["strategy"][idx]), fp["cost"][idx], fp["risk"][idx])
        groups.setdefault(key, []).append(int(idx))
    xy, texts, colours = [], [], []
    for (k, x, y), members in groups.items():
        if len(members) == int((fp["strategy"] == k).sum()):
            continue
        values = [fp["points"][i] for i in members]
        xy.append((x, y))
        texts.append(", ".join(values[:3]) + (" ..." if len(values) > 3 else ""))
        colours.append(f"C{k % 10}")
    return xy, texts, colours


def plot_sweep_frontier(
    ds: xr.Dataset,
    *,
    cost: str = "total_cost mean",
    risk: str = "lost_units P95",
    table: xr.Dataset | None = None,
) -> Figure:
    """Cost against risk for every point and strategy of the sweep, efficient points
    ringed, joined and labelled, dominated ones faded.

    Efficiency is judged among the decisions (strategies and decision axes) within one
    disruption world: one panel per combination of the environment axes (shock_scale,
    regional/lane shocks, outages, surges; see :func:`environment_axes`), or a single
    panel over all points when no axis sets the environment.
    """
    table = sweep_table(ds) if table is None else table
    _check(ds, cost, table)
    _check(ds, risk, table)
    env = environment_axes(sweep_spec(ds))
    combos = list(itertools.product(*(range(table.sizes[e]) for e in env)))[:MAX_LINES]
    strategies = [str(s) for s in table["strategy"].values]
    cols = min(len(combos), 3)
    rows = -(-len(combos) // cols)
    fig = _figure(6.0 * cols, 4.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    labels = []
    for ax, combo in zip(axes, combos, strict=False):
        where = dict(zip(env, combo, strict=True))
        fp = frontier_points(table.isel(where), cost, risk)
        labels.append((ax, *_frontier_panel(ax, fp, strategies)))
        title = ", ".join(f"{e}={table[e].values[k]}" for e, k in where.items())
        n_eff = int((~fp["dominated"]).sum())
        ax.set_title(
            f"{title or 'all points'}: {n_eff} of {fp['cost'].size} efficient", fontsize="medium"
        )
    for ax in axes[len(combos) :]:
        ax.set_visible(False)
    est = table["estimate"]
    xlabel = _axis(axes[0].xaxis, cost, table, ds, est.sel(column=cost).values.ravel())
    ylabel = _axis(axes[0].yaxis, risk, table, ds, est.sel(column=risk).values.ravel())
    for ax in axes[::cols]:
        ax.set_ylabel(ylabel)
    for ax in axes[: len(combos)]:
        ax.set_xlabel(xlabel)
    decisions = [n for n in sweep_spec(ds).names if n not in env]
    handles = [
        Line2D([], [], marker="o", linestyle="none", color=f"C{k % 10}", label=name)
        for k, name in enumerate(strategies)
    ] + [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="-",
            color="black",
            markerfacecolor="white",
            markeredgecolor="black",
            linewidth=1,
            alpha=0.7,
            label="efficient (ringed, joined)",
        ),
        Line2D([], [], marker="o", linestyle="none", color="grey", alpha=0.3, label="dominated"),
    ]
    axes[0].legend(
        handles=handles,
        fontsize="small",
        title=f"labels: {' / '.join(decisions)}" if decisions else None,
        title_fontsize="small",
        loc="upper right",
    )
    fig.suptitle(f"Cost-risk frontier of the sweep ({xlabel} vs {ylabel}; lower-left is better)")
    declutter_ticks(fig)
    for ax, xy, texts, colours in labels:
        if texts:
            place_labels(
                ax, np.array(xy), texts, colours=colours, fontsize="x-small", drop_overlapping=True
            )
    return fig


# ----------------------------------------------------------------------------- report


def _table_html(table: xr.Dataset, column: str, ds: xr.Dataset) -> str:
    """One risk figure at every point (rows) and strategy (columns), with intervals."""
    spec_dims = [d for d in table["estimate"].dims if d not in ("strategy", "column")]
    sel = table[["estimate", "lower", "upper"]].sel(column=column).transpose(*spec_dims, "strategy")
    strategies = [str(s) for s in table["strategy"].values]
    units = str(table["units"].sel(column=column).values)
    kind = "money" if units == "currency" else "percent" if units == "1" else "count"
    symbol = currency_symbol(ds.attrs)
    cell_symbol = "$" if symbol == "$" else ""
    flat = {k: sel[k].values.reshape(-1, len(strategies)) for k in ("estimate", "lower", "upper")}
    triples = [
        (float(e), float(lo), float(hi))
        for e, lo, hi in zip(
            flat["estimate"].ravel(), flat["lower"].ravel(), flat["upper"].ravel(), strict=True
        )
    ]
    style = row_style(triples, kind)
    rows = []
    for r, cell in enumerate(itertools.product(*(range(table.sizes[d]) for d in spec_dims))):
        keys = "".join(
            f"<td>{esc(table[d].values[k])}</td>" for d, k in zip(spec_dims, cell, strict=True)
        )
        vals = "".join(
            num_cell(
                *value_parts(*triples[r * len(strategies) + i], kind, cell_symbol, style=style)
            )
            for i in range(len(strategies))
        )
        rows.append(f"<tr>{keys}{vals}</tr>")
    metric, stat = column.split(" ", 1)
    unit = (
        symbol
        if units == "currency" and symbol != "$"
        else ""
        if units in ("1", "currency")
        else units
    )
    title = f"{stat} {metric.replace('_', ' ')}" + (f" [{unit}]" if unit else "")
    return f"<h3>{esc(title)}</h3>" + table_html([*spec_dims, *strategies], rows)


_PROVENANCE = (
    ("scenario_name", "scenario"),
    ("seed", "seed"),
    ("paths", "paths per point and strategy"),
    ("horizon_days", "horizon [days]"),
    ("scenario_sha256", "scenario SHA-256"),
    ("resilience_version", "resilience version"),
    ("numba_version", "numba version"),
    ("numpy_version", "numpy version"),
    ("xarray_version", "xarray version"),
    ("created_utc", "created (UTC)"),
)


def write_sweep_report(ds: xr.Dataset, out_dir: str | Path) -> Path:
    """Write the sweep figures (PNG) and ``sweep_report.html`` (self-contained: images
    embedded, no scripts or links) into ``out_dir``; returns the HTML path.

    Figures: for every axis, P95 lost units and mean total cost against it; the
    cost-risk frontier over all points. The report is written into a hidden sibling
    folder and renamed into place when complete; an existing ``out_dir`` is replaced only
    if it holds a sweep report.
    """
    if not is_sweep(ds):
        raise ResultsError("not a sweep result (no sweep_json attribute); use `resilience report`")
    folder = StagedFolder(out_dir, "sweep_report.html")
    spec = sweep_spec(ds)
    with folder:
        table = sweep_table(ds).compute()
        figures: list[tuple[str, str, bytes]] = []
        for axis in spec.names:
            for column, slug in (
                ("lost_units P95", "lost_units_p95"),
                ("total_cost mean", "cost_mean"),
            ):
                fig = plot_metric_vs_parameter(ds, column=column, x=axis, table=table)
                filename = f"sweep_{slug}_vs_{axis}.png"
                image = png(fig)
                folder.write(filename, image)
                figures.append((filename, f"{_pretty(column, table)} against {axis}", image))
        image = png(plot_sweep_frontier(ds, table=table))
        folder.write("sweep_frontier.png", image)
        figures.append(("sweep_frontier.png", "Cost-risk frontier across the sweep", image))
        axes = "".join(
            f"<li><b>{esc(a.name)}</b>: {esc(', '.join(p.path for p in a.params))}"
            f" = {esc(', '.join(str(v) for v in a.coordinate()))}</li>"
            for a in spec.axes
        )
        name = str(ds.attrs.get("scenario_name", ""))
        paths = ds.attrs.get("paths", "?")
        paths = f"{paths:,}" if isinstance(paths, numbers.Integral) else paths
        provenance = "".join(
            f"<tr><th>{esc(label)}</th><td>{esc(ds.attrs[key])}</td></tr>"
            for key, label in _PROVENANCE
            if key in ds.attrs
        )
        body = [
            f"<h1>Sweep of {esc(name)}</h1>",
            f'<p class="note">{esc(paths)} paths per point and strategy, seed '
            f"{esc(ds.attrs.get('seed', '?'))} (the same random events at every point); "
            "brackets are 95% confidence intervals.</p>",
            f"<ul>{axes}</ul>",
            "<h2>Figures</h2>",
            *(
                figure_html(filename[:-4], i, title, "", image)
                for i, (filename, title, image) in enumerate(figures, start=1)
            ),
            "<h2>Tables</h2>",
            _table_html(table, "lost_units P95", ds),
            _table_html(table, "total_cost mean", ds),
            "<h2>Provenance</h2>",
            f"<table><tbody>{provenance}</tbody></table>",
        ]
        path = folder.write("sweep_report.html", page(f"Sweep: {name}", body))
    return path
