"""The figures of the optimisation page, and the reading of the evaluation dataset they
and the page share (:mod:`resilience.report.optimize`).

- :func:`plot_optimization_frontier`: every simulated evaluation, objective against the
  first constraint's statistic on the search paths, feasible and infeasible marked, the
  Pareto frontier, the bound, and the verified candidates and benchmark strategies at
  their fresh-path figures with intervals on both axes;
- :func:`plot_convergence`: the best feasible objective so far against the evaluation
  number.

Money axes read in $k / $M / $bn with thousands separators, as the run report's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from resilience.errors import ResultsError
from resilience.optimize.constraints import Constraint, Statistic
from resilience.report.common import (
    currency_symbol,
    money_axis,
    number_axis,
    percent_axis,
    place_labels,
    value_parts,
)
from resilience.risk import pareto_dominated

__all__ = ["is_optimization", "plot_convergence", "plot_optimization_frontier"]

_FEASIBLE = "#1f77b4"
_INFEASIBLE = "#9a9a9a"
_RECOMMENDED = "#d62728"
_BENCHMARK = "#2ca02c"
_CANDIDATE = "#ff7f0e"


def is_optimization(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is the evaluation dataset of ``resilience optimize``."""
    return isinstance(ds, xr.Dataset) and "evaluation" in ds.dims and "optimization" in ds.attrs


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Problem:
    """What the page needs to know of the optimisation file, read from the dataset."""

    objective: str
    objective_units: str
    constraints: tuple[Constraint, ...]
    variables: tuple[str, ...]
    symbol: str


def _problem(ds: xr.Dataset) -> _Problem:
    try:
        spec = json.loads(str(ds.attrs["optimization"]))
        constraints = tuple(
            Constraint(
                Statistic(**c["statistic"]),
                str(c["op"]),
                float(c["bound"]),
                float(c.get("confidence", 0.95)),
            )
            for c in spec.get("constraints", [])
        )
        variables = tuple(str(v["name"]) for v in spec.get("variables", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(
            f"the optimisation dataset's 'optimization' attribute does not read ({exc})"
        ) from None
    missing = [v for v in ("objective", "feasible", "status", *variables) if v not in ds]
    if missing:
        raise ResultsError(f"the optimisation dataset lacks: {', '.join(missing)}")
    return _Problem(
        str(ds.attrs.get("objective", ds["objective"].attrs.get("long_name", "objective"))),
        str(ds["objective"].attrs.get("units", "")),
        constraints,
        variables,
        currency_symbol(ds.attrs),
    )


def _kind(units: str) -> str:
    return "money" if units == "currency" else "percent" if units == "1" else "count"


def _cell_symbol(symbol: str) -> str:
    return "$" if symbol == "$" else ""


def _text(est: float, lo: float, hi: float, units: str, symbol: str, **kw) -> str:
    value, ci = value_parts(est, lo, hi, _kind(units), _cell_symbol(symbol), **kw)
    return value if ci is None else f"{value} {ci}"


def _axis(axis, units: str, values, symbol: str, label: str) -> str:
    """Format a linear value axis (money in $k / $M, shares in %, counts with thousands
    separators) and return its label with the unit."""
    if units == "currency":
        return f"{label} [{money_axis(axis, np.asarray(values, dtype=np.float64), symbol)}]"
    if units == "1":
        percent_axis(axis)
        return f"{label} [%]"
    number_axis(axis)
    return f"{label} [{units}]" if units else label


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _ok(ds: xr.Dataset) -> np.ndarray:
    return np.asarray(ds["status"].values).astype(str) == "ok"


def _verified(ds: xr.Dataset) -> list[dict]:
    """Each verified strategy: name, evaluation (None: a benchmark), fresh objective and
    constraint intervals, statuses, the paired difference (benchmarks)."""
    if "candidate" not in ds.dims or "fresh_objective" not in ds:
        return []
    out = []
    m = ds.sizes.get("constraint", 0)
    for i, name in enumerate(str(c) for c in ds["candidate"].values):
        number = int(ds["candidate_evaluation"].values[i])
        fresh = [float(x) for x in ds["fresh_objective"].values[i]]
        cons = (
            [[float(x) for x in ds["fresh_constraint"].values[i, j]] for j in range(m)]
            if "fresh_constraint" in ds
            else []
        )
        status = [str(s) for s in ds["fresh_status"].values[i]] if "fresh_status" in ds else []
        diff = None
        if "paired_objective_difference" in ds:
            d = [float(x) for x in ds["paired_objective_difference"].values[i]]
            diff = d if math.isfinite(d[0]) else None
        out.append(
            {
                "name": name,
                "evaluation": None if number < 0 else number,
                "objective": fresh,
                "constraints": cons,
                "status": status,
                "difference": diff,
            }
        )
    return out


def _recommended(ds: xr.Dataset) -> int | None:
    n = int(ds.attrs.get("recommended_evaluation", -1))
    return None if n < 0 else n


# ----------------------------------------------------------------------------- figures


def plot_optimization_frontier(ds: xr.Dataset) -> Figure:
    """Objective against the first constraint's statistic: every simulated evaluation on
    the search paths (feasible filled, infeasible grey crosses), the Pareto frontier of
    them (no other evaluation better on both), the constraint's bound with its feasible
    side shaded, and every verified strategy at its fresh-path figures with intervals on
    both axes: the recommendation (red star), the other verified candidates (orange
    squares) and the benchmark strategies (green diamonds), labelled."""
    prob = _problem(ds)
    if not prob.constraints or "constraint_value" not in ds:
        raise ResultsError("a cost-risk frontier needs a constraint: the optimisation has none")
    c0 = prob.constraints[0]
    ok = _ok(ds)
    x = np.asarray(ds["objective"].values, dtype=np.float64)[ok]
    y = np.asarray(ds["constraint_value"].values[:, 0], dtype=np.float64)[ok]
    feasible = np.asarray(ds["feasible"].values, dtype=bool)[ok]
    fig = _figure(9.0, 6.0)
    ax = fig.add_subplot()
    ax.scatter(
        x[feasible], y[feasible], s=28, color=_FEASIBLE, alpha=0.75, zorder=2, label="feasible"
    )
    ax.scatter(
        x[~feasible],
        y[~feasible],
        s=30,
        marker="x",
        color=_INFEASIBLE,
        alpha=0.9,
        zorder=2,
        label="infeasible",
    )
    sign = 1.0 if c0.op == "<=" else -1.0  # the frontier minimises both, risk oriented
    if x.size:
        eff = np.flatnonzero(~pareto_dominated(x, sign * y))
        eff = eff[np.argsort(x[eff], kind="stable")]
        ax.step(
            x[eff],
            y[eff],
            where="post",
            color="black",
            linewidth=1.0,
            alpha=0.7,
            zorder=1,
            label="Pareto frontier (search paths)",
        )
    ax.axhline(c0.bound, color="black", linestyle="--", linewidth=1.0, zorder=1)
    verified = _verified(ds)
    rec = _recommended(ds)
    xs, ys, texts, colours = [], [], [], []
    all_x, all_y = list(x), list(y)
    for v in verified:
        if not v["constraints"]:
            continue
        ox, cy = v["objective"], v["constraints"][0]
        if v["evaluation"] is None:
            colour, marker, size, label = _BENCHMARK, "D", 8, v["name"]
        elif v["evaluation"] == rec:
            colour, marker, size, label = _RECOMMENDED, "*", 16, f"recommended (#{rec})"
        else:
            colour, marker, size, label = _CANDIDATE, "s", 7, f"#{v['evaluation']}"
        xerr = np.nan_to_num(np.abs([[ox[0] - ox[1]], [ox[2] - ox[0]]]))
        yerr = np.nan_to_num(np.abs([[cy[0] - cy[1]], [cy[2] - cy[0]]]))
        ax.errorbar(
            [ox[0]],
            [cy[0]],
            xerr=xerr,
            yerr=yerr,
            marker=marker,
            markersize=size,
            color=colour,
            ecolor=colour,
            markeredgecolor="black",
            linestyle="none",
            capsize=3,
            zorder=4,
        )
        xs.append(ox[0])
        ys.append(cy[0])
        texts.append(label)
        colours.append(colour)
        all_x += [ox[0], ox[1], ox[2]]
        all_y += [cy[0], cy[1], cy[2]]
    ax.margins(0.12, 0.12)
    lo, hi = ax.get_ylim()
    hi, lo = max(hi, c0.bound), min(lo, c0.bound)
    if c0.op == "<=":
        ax.axhspan(lo, c0.bound, color=_FEASIBLE, alpha=0.06, zorder=0)
    else:
        ax.axhspan(c0.bound, hi, color=_FEASIBLE, alpha=0.06, zorder=0)
    ax.set_ylim(lo, hi)
    stat = c0.statistic
    ax.set_xlabel(_axis(ax.xaxis, prob.objective_units, all_x, prob.symbol, prob.objective))
    ax.set_ylabel(_axis(ax.yaxis, stat.units, all_y, prob.symbol, stat.text))
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{prob.objective} against {stat.text} (bound {c0.op} {_bound(c0, prob)})")
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D([], [], color="black", linestyle="--", label=f"bound: {c0.text}"),
        Line2D(
            [],
            [],
            marker="*",
            markersize=12,
            linestyle="none",
            color=_RECOMMENDED,
            markeredgecolor="black",
            label="recommended (fresh paths)",
        ),
        Line2D(
            [],
            [],
            marker="s",
            linestyle="none",
            color=_CANDIDATE,
            markeredgecolor="black",
            label="verified candidate (fresh paths)",
        ),
        Line2D(
            [],
            [],
            marker="D",
            linestyle="none",
            color=_BENCHMARK,
            markeredgecolor="black",
            label="scenario strategy (fresh paths)",
        ),
    ]
    ax.legend(
        handles=handles, fontsize="small", loc="best", title="bars: intervals on the fresh paths"
    )
    if texts:
        place_labels(ax, np.column_stack([xs, ys]), texts, colours=["black"] * len(texts))
    return fig


def _bound(c: Constraint, prob: _Problem) -> str:
    return _text(c.bound, math.nan, math.nan, c.statistic.units, prob.symbol)


def plot_convergence(ds: xr.Dataset) -> Figure:
    """The search's progress: every simulated evaluation's objective on the search paths
    against its evaluation number (feasible filled, infeasible grey crosses) and the best
    feasible objective so far as a step line; the recommended evaluation ringed."""
    prob = _problem(ds)
    ok = _ok(ds)
    number = np.asarray(ds["evaluation"].values, dtype=np.int64)[ok]
    obj = np.asarray(ds["objective"].values, dtype=np.float64)[ok]
    feasible = np.asarray(ds["feasible"].values, dtype=bool)[ok]
    fig = _figure(9.0, 4.8)
    ax = fig.add_subplot()
    ax.scatter(number[feasible], obj[feasible], s=24, color=_FEASIBLE, alpha=0.75, label="feasible")
    ax.scatter(
        number[~feasible],
        obj[~feasible],
        s=26,
        marker="x",
        color=_INFEASIBLE,
        label="infeasible",
    )
    best = np.where(feasible, obj, np.inf)
    running = np.minimum.accumulate(best) if best.size else best
    shown = np.isfinite(running)
    if shown.any():
        ax.step(
            number[shown],
            running[shown],
            where="post",
            color="black",
            linewidth=1.5,
            label="best feasible so far",
        )
    rec = _recommended(ds)
    if rec is not None and rec in set(number.tolist()):
        k = int(np.flatnonzero(number == rec)[0])
        ax.scatter(
            [number[k]],
            [obj[k]],
            s=220,
            facecolors="none",
            edgecolors=_RECOMMENDED,
            linewidths=1.8,
            zorder=4,
            label=f"recommended (#{rec})",
        )
    ax.set_xlabel("evaluation (trial number)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(
        _axis(ax.yaxis, prob.objective_units, obj[np.isfinite(obj)], prob.symbol, prob.objective)
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    ax.set_title(f"Search convergence: {prob.objective} on the search paths")
    return fig
