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

import base64
import html
import io
import itertools
import numbers
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from resilience.errors import ResultsError
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
    axes[0].set_ylabel(_pretty(column, table))
    axes[0].legend(fontsize="small", title=", ".join(others) if others else None)
    fig.suptitle(f"{_pretty(column, table)} against {x}")
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
    labels = []
    for cell in itertools.product(*(range(table.sizes[d]) for d in spec_dims)):
        point = ", ".join(f"{d}={table[d].values[k]}" for d, k in zip(spec_dims, cell, strict=True))
        labels.extend(f"{s}: {point}" if point else str(s) for s in table["strategy"].values)
    strategy = np.tile(np.arange(n_s), len(c) // n_s)
    return {
        "cost": c,
        "risk": r,
        "dominated": pareto_dominated(c, r),
        "labels": labels,
        "strategy": strategy,
    }


def _frontier_panel(ax, fp: dict, strategies: list[str]) -> None:
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
                    **style,
                )
        if not (mine & ~fp["dominated"]).any():
            ax.scatter([], [], color=f"C{k % 10}", alpha=0.3, label=f"{name} (all dominated)")
    eff = np.flatnonzero(~fp["dominated"])
    eff = eff[np.argsort(fp["cost"][eff], kind="stable")]
    ax.plot(
        fp["cost"][eff],
        fp["risk"][eff],
        color="black",
        linewidth=1,
        alpha=0.6,
        label="efficient frontier",
    )
    # one label per distinct efficient point (points sharing a network coincide)
    seen: dict[tuple, int] = {}
    for idx in eff:
        seen.setdefault((fp["cost"][idx], fp["risk"][idx]), idx)
    for i, ((x, y), idx) in enumerate(list(seen.items())[:12]):
        same = int(((fp["cost"][eff] == x) & (fp["risk"][eff] == y)).sum())
        text = fp["labels"][idx] + (f" (+{same - 1} identical)" if same > 1 else "")
        ax.annotate(
            text,
            (x, y),
            fontsize="x-small",
            textcoords="offset points",
            xytext=(6, 6 if i % 2 == 0 else -12),
        )
    ax.grid(True, alpha=0.3)


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
    for ax, combo in zip(axes, combos, strict=False):
        where = dict(zip(env, combo, strict=True))
        fp = frontier_points(table.isel(where), cost, risk)
        _frontier_panel(ax, fp, strategies)
        title = ", ".join(f"{e}={table[e].values[k]}" for e, k in where.items())
        n_eff = int((~fp["dominated"]).sum())
        ax.set_title(
            f"{title or 'all points'}: {n_eff} of {fp['cost'].size} efficient", fontsize="medium"
        )
    for ax in axes[len(combos) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(_pretty(risk, table))
    for ax in axes[: len(combos)]:
        ax.set_xlabel(_pretty(cost, table))
    axes[0].legend(fontsize="small")
    fig.suptitle(
        f"Cost-risk frontier of the sweep ({_pretty(cost, table)} vs "
        f"{_pretty(risk, table)}; lower-left is better)"
    )
    return fig


# ----------------------------------------------------------------------------- report


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _table_html(table: xr.Dataset, column: str) -> str:
    spec_dims = [d for d in table["estimate"].dims if d not in ("strategy", "column")]
    est = table["estimate"].sel(column=column).transpose(*spec_dims, "strategy")
    strategies = [str(s) for s in table["strategy"].values]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in [*spec_dims, *strategies])
    rows = []
    flat = est.values.reshape(-1, len(strategies))
    for r, cell in enumerate(itertools.product(*(range(table.sizes[d]) for d in spec_dims))):
        keys = "".join(
            f"<td>{html.escape(str(table[d].values[k]))}</td>"
            for d, k in zip(spec_dims, cell, strict=True)
        )
        vals = "".join(f'<td class="num">{v:,.4g}</td>' for v in flat[r])
        rows.append(f"<tr>{keys}{vals}</tr>")
    return (
        f"<h3>{html.escape(_pretty(column, table))}</h3><table><tr>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


def write_sweep_report(ds: xr.Dataset, out_dir: str | Path) -> Path:
    """Write the sweep figures (PNG) and ``sweep_report.html`` (self-contained: images
    embedded, no scripts or links) into ``out_dir``; returns the HTML path.

    Figures: for every axis, P95 lost units and mean total cost against it; the
    cost-risk frontier over all points. Everything is drawn before anything is written.
    """
    if not is_sweep(ds):
        raise ResultsError("not a sweep result (no sweep_json attribute); use `resilience report`")
    spec = sweep_spec(ds)
    table = sweep_table(ds).compute()
    figures: list[tuple[str, str, bytes]] = []
    for axis in spec.names:
        for column, slug in (
            ("lost_units P95", "lost_units_p95"),
            ("total_cost mean", "cost_mean"),
        ):
            fig = plot_metric_vs_parameter(ds, column=column, x=axis, table=table)
            figures.append(
                (
                    f"sweep_{slug}_vs_{axis}.png",
                    f"{_pretty(column, table)} against {axis}",
                    _png(fig),
                )
            )
    fig = plot_sweep_frontier(ds, table=table)
    figures.append(("sweep_frontier.png", "Cost-risk frontier across the sweep", _png(fig)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    body = []
    for filename, title, png in figures:
        (out / filename).write_bytes(png)
        data = base64.b64encode(png).decode()
        body.append(
            f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )
    axes = "".join(
        f"<li><b>{html.escape(a.name)}</b>: {html.escape(', '.join(p.path for p in a.params))}"
        f" = {html.escape(', '.join(str(v) for v in a.coordinate()))}</li>"
        for a in spec.axes
    )
    name = html.escape(str(ds.attrs.get("scenario_name", "")))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep: {name}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:.9em}}td,th{{border:1px solid #ddd;padding:.3em .6em}}
td.num{{text-align:right}}img{{max-width:100%}}</style></head><body>
<h1>Sweep of {name}</h1>
<p>{ds.attrs.get("paths", "?")} paths per point and strategy, seed {ds.attrs.get("seed", "?")}
(the same random events at every point).</p><ul>{axes}</ul>
{_table_html(table, "lost_units P95")}{_table_html(table, "total_cost mean")}
{"".join(body)}
</body></html>
"""
    path = out / "sweep_report.html"
    path.write_text(page, encoding="utf-8")
    return path
