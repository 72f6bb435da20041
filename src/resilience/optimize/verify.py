"""Figures of a candidate, honest verification on fresh paths, and what a person reads.

The search scores each candidate by point estimates on its (common) search paths. Those
estimates are optimistic for the winner: picking the best of many noisy figures favours
candidates whose paths happened to be kind. So the best few feasible candidates are
simulated again on **fresh, independent paths** (seed + ``verify.seed_offset``, usually
more paths), together with the scenario's own strategies as benchmarks, and every
objective and constraint is reported with its confidence interval there:

- a constraint is **met** when its whole interval is on the right side of the bound,
  **within noise** when the interval straddles the bound (the estimate may be on either
  side: more paths would tell), **violated** when the whole interval misses it;
- the recommendation is the verified candidate with the lowest fresh objective whose
  fresh point estimates meet every constraint; a constraint it meets only within noise is
  said so.

Intervals come from :mod:`resilience.risk`: order statistics for percentiles
(:func:`~resilience.risk.quantile`), the influence function for CVaR
(:func:`~resilience.risk.cvar`), Wilson for probabilities
(:func:`~resilience.risk.proportion`), the CLT for means (:func:`~resilience.risk.mean`).
A weighted objective ``w1 mean + w2 CVaR`` and the paired difference of an objective
between two strategies on the same paths use the sum of the terms' influence functions
(IF_mean = x - mean; IF_CVaR = (x - VaR)^+ / (1 - a) + VaR - CVaR, whose variance is the
one :func:`~resilience.risk.cvar` uses), so their standard errors count the terms'
correlation and the pairing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import xarray as xr
import yaml

from resilience import risk
from resilience.optimize.spec import Constraint, Objective, OptimizationSpec, Statistic

__all__ = [
    "Interval",
    "OptimizationResult",
    "Verified",
    "candidate_figures",
    "evaluation_dataset",
    "format_text",
    "result_records",
    "statistic_interval",
    "strategy_yaml",
    "verify_candidates",
]


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float = math.nan
    upper: float = math.nan

    def to_json(self) -> dict:
        return {
            "estimate": _finite(self.estimate),
            "lower": _finite(self.lower),
            "upper": _finite(self.upper),
        }


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _series(ds: xr.Dataset, strategy: str, metric: str) -> xr.DataArray:
    da = ds[metric].sel(strategy=strategy, drop=True)
    da.name = metric
    return da


def _fields(est: xr.Dataset) -> Interval:
    return Interval(float(est["estimate"]), float(est["lower"]), float(est["upper"]))


def statistic_interval(stat: Statistic, da: xr.DataArray, confidence: float) -> Interval:
    """Estimate and two-sided interval of ``stat`` over ``da``'s paths, by the
    :mod:`resilience.risk` estimator of its kind."""
    if stat.kind == "mean":
        return _fields(risk.mean(da, confidence=confidence))
    if stat.kind == "quantile":
        return _fields(risk.quantile(da, stat.level, confidence=confidence))
    if stat.kind == "cvar":
        return _fields(risk.cvar(da, stat.level, confidence=confidence))
    ops = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    mask = xr.DataArray(ops[stat.cmp](da.values, stat.threshold), dims=da.dims).where(da.notnull())
    return _fields(risk.proportion(mask, confidence=confidence))


def _influence(stat: Statistic, x: np.ndarray) -> tuple[float, np.ndarray]:
    """(estimate, per-path influence function) of a mean or upper-tail CVaR term."""
    if stat.kind == "mean":
        m = float(np.mean(x))
        return m, x - m
    da = xr.DataArray(x, dims="path", name=stat.metric)
    c = float(risk.cvar(da, stat.level)["estimate"])
    v = float(risk.quantile(da, stat.level)["estimate"])
    return c, np.maximum(x - v, 0.0) / (1.0 - stat.level) + v - c


def objective_influence(
    objective: Objective, ds: xr.Dataset, strategy: str
) -> tuple[float, np.ndarray]:
    """(objective estimate, per-path influence function) of one strategy."""
    total, phi = 0.0, None
    for w, stat in objective.terms:
        x = np.asarray(_series(ds, strategy, stat.metric).values, dtype=np.float64)
        est, inf = _influence(stat, x)
        total += w * est
        phi = w * inf if phi is None else phi + w * inf
    return total, phi


def objective_interval(
    objective: Objective, ds: xr.Dataset, strategy: str, confidence: float
) -> Interval:
    if len(objective.terms) == 1:
        w, stat = objective.terms[0]
        iv = statistic_interval(stat, _series(ds, strategy, stat.metric), confidence)
        return Interval(w * iv.estimate, w * iv.lower, w * iv.upper)
    est, phi = objective_influence(objective, ds, strategy)
    se = float(np.std(phi, ddof=1) / math.sqrt(phi.size)) if phi.size > 1 else math.nan
    z = _z(confidence)
    return Interval(est, est - z * se, est + z * se)


def paired_objective_difference(
    objective: Objective, ds: xr.Dataset, a: str, b: str, confidence: float
) -> Interval:
    """Objective of ``a`` minus that of ``b`` on the same paths, with a paired interval."""
    ea, pa = objective_influence(objective, ds, a)
    eb, pb = objective_influence(objective, ds, b)
    d = pa - pb
    se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    z = _z(confidence)
    return Interval(ea - eb, ea - eb - z * se, ea - eb + z * se)


def candidate_figures(
    spec: OptimizationSpec, ds: xr.Dataset, strategy: str
) -> tuple[float, tuple[float, ...]]:
    """(objective, constraint statistics) point estimates of one simulated strategy."""
    objective = 0.0
    for w, stat in spec.objective.terms:
        objective += w * _point(stat, _series(ds, strategy, stat.metric))
    values = tuple(
        _point(c.statistic, _series(ds, strategy, c.statistic.metric)) for c in spec.constraints
    )
    return objective, values


def _point(stat: Statistic, da: xr.DataArray) -> float:
    return statistic_interval(stat, da, 0.95).estimate


# ----------------------------------------------------------------------------- verification


@dataclass
class Verified:
    """One strategy's figures on the fresh paths."""

    name: str  # its name in the fresh run
    evaluation: int | None  # the search evaluation it came from (None: a benchmark)
    objective: Interval
    constraints: tuple[Interval, ...]
    status: tuple[str, ...]  # per constraint: met / within noise / violated / unknown
    feasible: bool  # every fresh point estimate meets its bound
    difference: dict[str, Interval] = field(default_factory=dict)  # vs each benchmark

    @property
    def label(self) -> str:
        return f"evaluation {self.evaluation}" if self.evaluation is not None else self.name

    @property
    def confident(self) -> bool:
        return self.feasible and all(s == "met" for s in self.status)


def verify_candidates(
    spec: OptimizationSpec,
    ds: xr.Dataset,
    names: Sequence[tuple[str, int | None]],
    confidence: float = 0.95,
) -> tuple[list[Verified], Verified | None]:
    """Figures with intervals of every fresh-run strategy (``names``: (strategy, evaluation
    or None for a benchmark)), and the recommendation (None when no candidate's fresh
    estimates meet every constraint)."""
    out = []
    for name, number in names:
        cons, status = [], []
        for c in spec.constraints:
            iv = statistic_interval(
                c.statistic, _series(ds, name, c.statistic.metric), c.confidence
            )
            cons.append(iv)
            status.append(c.classify(iv.lower, iv.upper))
        feasible = all(c.met(iv.estimate) for c, iv in zip(spec.constraints, cons, strict=True))
        out.append(
            Verified(
                name,
                number,
                objective_interval(spec.objective, ds, name, confidence),
                tuple(cons),
                tuple(status),
                feasible,
            )
        )
    pool = [v for v in out if v.evaluation is not None and v.feasible]
    best = min(pool, key=lambda v: (v.objective.estimate, v.evaluation)) if pool else None
    if best is not None:
        for v in out:
            if v.evaluation is None:
                best.difference[v.name] = paired_objective_difference(
                    spec.objective, ds, best.name, v.name, confidence
                )
    return out, best


# ----------------------------------------------------------------------------- the result


@dataclass
class OptimizationResult:
    """Everything an optimisation found; the dataset is :attr:`dataset`."""

    spec: OptimizationSpec
    scenario_name: str
    seed: int
    evaluations: list  # of search.Evaluation, in trial order
    stopped: str
    verified: list[Verified]
    recommended: Verified | None
    block: dict | None  # the recommended strategy block
    seconds: dict[str, float]
    replayed: int = 0
    currency: str = ""
    dataset: xr.Dataset | None = None
    out: str | None = None

    @property
    def recommended_evaluation(self):
        if self.recommended is None:
            return None
        return next(e for e in self.evaluations if e.number == self.recommended.evaluation)

    def strategy_yaml(self) -> str:
        return strategy_yaml(self.spec.recommended_name, self.block) if self.block else ""


class _FlowDumper(yaml.SafeDumper):
    """Lists indented under their key, as the shipped scenarios write them."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_dict(dumper, data):
    # stock and sourcing entries and shares on one line each, as the shipped scenarios
    # write them; the strategy block itself in block style
    leaves = all(not isinstance(v, (dict, list)) for v in data.values())
    flow = bool(data) and (leaves or {"at", "item"} <= set(data))
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_FlowDumper.add_representer(dict, _represent_dict)


def strategy_yaml(name: str, block: dict, indent: int = 2) -> str:
    """``name: block`` as YAML, indented to paste under ``strategies:``."""
    text = yaml.dump(
        {name: block}, Dumper=_FlowDumper, sort_keys=False, width=10_000, allow_unicode=True
    )
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def evaluation_dataset(result: OptimizationResult) -> xr.Dataset:
    """All evaluations (dim ``evaluation``) and the fresh-path verification (dims
    ``candidate``, ``interval`` and, with constraints, ``constraint``) as one dataset."""
    spec = result.spec
    evals = result.evaluations
    m = len(spec.constraints)
    data: dict[str, Any] = {}
    for v in spec.variables:
        values = [e.values.get(v.name) for e in evals]
        if v.type == "choice" and not all(isinstance(x, (int, float)) for x in values):
            arr = np.array([str(x) for x in values], dtype=str)
        elif v.type in ("integer", "binary"):
            arr = np.array(values, dtype=np.int64)
        else:
            arr = np.array(values, dtype=np.float64)
        attrs = {"long_name": v.name, "variable_type": v.type, "paths": ", ".join(v.paths)}
        data[v.name] = ("evaluation", arr, attrs)
    data["objective"] = (
        "evaluation",
        np.array([_nan(e.objective) for e in evals], dtype=np.float64),
        {
            "long_name": spec.objective.text,
            "units": spec.objective.units,
            "description": "minimised; on the search paths",
        },
    )
    if m:
        values = [[_nan(x) for x in e.constraints] or [math.nan] * m for e in evals]
        data["constraint_value"] = (
            ("evaluation", "constraint"),
            np.array(values, dtype=np.float64).reshape(len(evals), m),
            {"long_name": "constraint statistic on the search paths"},
        )
    data["feasible"] = (
        "evaluation",
        np.array([bool(e.feasible) for e in evals], dtype=bool),
        {"long_name": "every constraint met on the search paths"},
    )
    data["status"] = (
        "evaluation",
        np.array([e.status for e in evals], dtype=str),
        {"long_name": "ok, duplicate (an evaluated strategy again) or invalid"},
    )
    data["duplicate_of"] = (
        "evaluation",
        np.array([-1 if e.duplicate_of is None else e.duplicate_of for e in evals], dtype=np.int64),
        {"long_name": "evaluation with the same strategy (-1: none)"},
    )
    blocks = [json.dumps(e.block, sort_keys=True) if e.block else "" for e in evals]
    data["strategy_block"] = (
        "evaluation",
        np.array(blocks, dtype=str),
        {"long_name": "the candidate strategy block (JSON)"},
    )
    coords: dict[str, Any] = {
        "evaluation": (
            "evaluation",
            np.array([e.number for e in evals], dtype=np.int64),
            {"long_name": "search evaluation (trial number)"},
        ),
        "interval": ("interval", np.array(["estimate", "lower", "upper"], dtype=str)),
    }
    if m:
        coords["constraint"] = ("constraint", np.arange(m, dtype=np.int64))
        coords["constraint_expression"] = (
            "constraint",
            np.array([c.text for c in spec.constraints], dtype=str),
        )
    verified = result.verified
    if verified:
        k = len(verified)
        coords["candidate"] = ("candidate", np.array([v.name for v in verified], dtype=str))
        data["candidate_evaluation"] = (
            "candidate",
            np.array([-1 if v.evaluation is None else v.evaluation for v in verified]),
            {"long_name": "search evaluation (-1: a benchmark strategy of the scenario)"},
        )
        data["fresh_objective"] = (
            ("candidate", "interval"),
            np.array(
                [[v.objective.estimate, v.objective.lower, v.objective.upper] for v in verified],
                dtype=np.float64,
            ),
            {
                "long_name": f"{spec.objective.text} on the fresh paths",
                "units": spec.objective.units,
            },
        )
        if m:
            figures = [[[c.estimate, c.lower, c.upper] for c in v.constraints] for v in verified]
            data["fresh_constraint"] = (
                ("candidate", "constraint", "interval"),
                np.array(figures, dtype=np.float64).reshape(k, m, 3),
                {"long_name": "constraint statistic on the fresh paths"},
            )
            data["fresh_status"] = (
                ("candidate", "constraint"),
                np.array([list(v.status) for v in verified], dtype=str).reshape(k, m),
                {"long_name": "met, within noise, violated or unknown"},
            )
    ds = xr.Dataset(data, coords=coords)
    rec = result.recommended
    ds.attrs.update(
        {
            "title": f"resilience optimize: {result.scenario_name}",
            "scenario": result.scenario_name,
            "objective": spec.objective.text,
            "constraints": "; ".join(c.text for c in spec.constraints),
            "seed": str(result.seed),
            "paths": spec.paths,
            "fresh_seed": str((result.seed + spec.seed_offset) % 2**64),
            "fresh_paths": spec.fresh_paths,
            "stopped": result.stopped,
            "recommended": "" if rec is None else rec.name,
            "recommended_evaluation": -1 if rec is None else int(rec.evaluation),
            "recommended_strategy_yaml": result.strategy_yaml(),
            "optimization": spec.to_json(),
        }
    )
    return ds


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)


# ----------------------------------------------------------------------------- text


def currency_symbol(currency: str | None) -> str:
    """``$`` for US dollars (or no currency named, as the shipped scenarios), else none."""
    code = str(currency or "").strip().upper()
    return "$" if code in ("", "USD", "$", "CURRENCY") else ""


def fmt_value(x: float | None, units: str, currency: str = "") -> str:
    """A figure as a person reads it: money with k/M/bn (bn to 4 decimals, so candidates a
    few $100k apart differ), shares in %, other figures with thousands separators."""
    if x is None or not math.isfinite(x):
        return "n/a"
    x = float(x) + 0.0
    if units == "1":
        return f"{100 * x:.2f}%"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if units == "currency":
        prefix = currency_symbol(currency)
        if a >= 1e9:
            return f"{sign}{prefix}{a / 1e9:.4f}bn"
        if a >= 1e6:
            return f"{sign}{prefix}{a / 1e6:.2f}M"
        if a >= 1e4:
            return f"{sign}{prefix}{a / 1e3:.1f}k"
        return f"{sign}{prefix}{a:,.0f}" if a >= 100 else f"{sign}{prefix}{a:.4g}"
    if a >= 1e6:
        return f"{sign}{a / 1e6:,.3f}M"
    if a >= 100:
        return f"{sign}{a:,.0f}"
    return f"{sign}{a:.4g}"


def _cell(iv: Interval, units: str, currency: str) -> str:
    return f"{fmt_value(iv.estimate, units, currency)} [{fmt_value(iv.lower, units, currency)}, {fmt_value(iv.upper, units, currency)}]"


def _table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right if right is not None else set(range(1, len(header)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _value_text(v, x: Any) -> str:
    if x is None:
        return "-"
    if v.type == "shares":
        return f"{100 * float(x):.4g}%"
    if v.type == "binary":
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def frontier(evaluations: list, spec: OptimizationSpec) -> list:
    """Evaluated candidates no other beats on both the objective and the first
    constraint's statistic (oriented so that better is smaller), by objective."""
    if not spec.constraints:
        return []
    c = spec.constraints[0]
    sign = 1.0 if c.op == "<=" else -1.0
    pts = [
        e
        for e in evaluations
        if e.status == "ok"
        and e.objective is not None
        and e.constraints
        and math.isfinite(e.constraints[0])
    ]
    pts.sort(key=lambda e: (e.objective, sign * e.constraints[0], e.number))
    front, best_risk = [], math.inf
    for e in pts:
        r = sign * e.constraints[0]
        if r < best_risk:
            front.append(e)
            best_risk = r
    return front


def ranked(evaluations: list, spec: OptimizationSpec) -> list:
    """Simulated evaluations, feasible ones first by objective, then the others by how
    far they miss their constraints."""
    ok = [e for e in evaluations if e.status == "ok"]

    def key(e):
        if e.feasible:
            return (0, e.objective, e.number)
        miss = sum(
            max(0.0, c.violation(x)) for c, x in zip(spec.constraints, e.constraints, strict=True)
        )
        return (1, miss, e.number)

    return sorted(ok, key=key)


def _evaluation_rows(
    evals: list, spec: OptimizationSpec, currency: str
) -> tuple[list[str], list[list[str]]]:
    header = [
        "#",
        *[v.name for v in spec.variables],
        spec.objective.text,
        *[c.statistic.text for c in spec.constraints],
        "feasible",
    ]
    rows = []
    for e in evals:
        rows.append(
            [
                str(e.number),
                *[_value_text(v, e.values.get(v.name)) for v in spec.variables],
                fmt_value(e.objective, spec.objective.units, currency),
                *[
                    fmt_value(x, c.statistic.units, currency)
                    for c, x in zip(spec.constraints, e.constraints, strict=True)
                ],
                "yes" if e.feasible else "no",
            ]
        )
    return header, rows


_STATUS_TEXT = {
    "met": "met",
    "within noise": "met only within noise",
    "violated": "NOT met",
    "unknown": "unknown (too few paths for an interval)",
}


def _status_text(c: Constraint, iv: Interval, status: str) -> str:
    if status == "within noise":
        side = "estimate meets the bound" if c.met(iv.estimate) else "estimate misses the bound"
        return f"within noise: the interval straddles {_num_plain(c.bound)} ({side})"
    if status == "violated":
        return "NOT met"
    if status == "unknown":
        return _STATUS_TEXT[status]
    return "met"


def _num_plain(x: float) -> str:
    return f"{x:.10g}"


def format_text(result: OptimizationResult, top: int = 10, frontier_rows: int = 15) -> str:
    """The optimisation's report as plain text."""
    spec = result.spec
    cur = result.currency
    evals = result.evaluations
    ok = [e for e in evals if e.status == "ok"]
    feasible = [e for e in ok if e.feasible]
    lines = []
    cons = " and ".join(c.text for c in spec.constraints)
    lines.append(
        f"Optimisation of {result.scenario_name!r}: minimise {spec.objective.text}"
        + (f" subject to {cons}" if cons else " (no constraints)")
    )
    lines.append(
        f"Search: {len(ok)} candidates simulated on {spec.paths:,} common paths (seed {result.seed}), "
        f"{len(feasible)} feasible; {len(evals)} proposals in all"
        + (f", {result.replayed} read back from the journal" if result.replayed else "")
        + f"; stopped: {result.stopped}"
    )
    lines.append("")
    best = ranked(evals, spec)[:top]
    lines.append(f"Best candidates (search paths; feasible first, by {spec.objective.text})")
    header, rows = _evaluation_rows(best, spec, cur)
    lines.extend("  " + x for x in _table(header, rows))
    front = frontier(evals, spec)
    if front:
        lines.append("")
        lines.append(
            f"Cost-risk frontier of the evaluated candidates ({spec.objective.text} vs {spec.constraints[0].statistic.text}; none of the others is better on both)"
        )
        header, rows = _evaluation_rows(front[:frontier_rows], spec, cur)
        lines.extend("  " + x for x in _table(header, rows))
        if len(front) > frontier_rows:
            lines.append(
                f"  ... {len(front) - frontier_rows} more on the frontier (in the dataset)"
            )
    lines.append("")
    fresh_seed = (result.seed + spec.seed_offset) % 2**64
    if result.verified:
        lines.append(
            f"Verification on {spec.fresh_paths:,} fresh paths (seed {fresh_seed}, independent of the "
            f"search); intervals at each constraint's confidence level, the objective's at 95%"
        )
        header = ["strategy", spec.objective.text, *[f"{c.text}" for c in spec.constraints]]
        rows = []
        for v in result.verified:
            label = v.label + (" (benchmark)" if v.evaluation is None else "")
            rows.append(
                [
                    label,
                    _cell(v.objective, spec.objective.units, cur),
                    *[
                        f"{_cell(iv, c.statistic.units, cur)} {_short_status(c, iv, s)}"
                        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True)
                    ],
                ]
            )
        lines.extend("  " + x for x in _table(header, rows, right=set()))
        lines.append("")
    rec = result.recommended
    if rec is None:
        lines.append(
            "No recommendation: no verified candidate meets every constraint on the fresh paths"
            + (" (no feasible candidate was found in the search)" if not feasible else "")
            + ". Loosen the constraints, widen the variables' ranges or raise the budget."
        )
    else:
        e = result.recommended_evaluation
        lines.append(
            f"Recommended: evaluation {rec.evaluation} "
            f"({', '.join(f'{v.name} = {_value_text(v, e.values.get(v.name))}' for v in spec.variables)}); "
            f"{spec.objective.text} {_cell(rec.objective, spec.objective.units, cur)} on the fresh paths"
        )
        for c, iv, s in zip(spec.constraints, rec.constraints, rec.status, strict=True):
            lines.append(
                f"  {c.text}: {_cell(iv, c.statistic.units, cur)} at {100 * c.confidence:g}% confidence: {_status_text(c, iv, s)}"
            )
        if any(s != "met" for s in rec.status):
            lines.append(
                "  A constraint met only within noise may be missed in truth; verify with more "
                "paths (verify.paths) before relying on it."
            )
        lines.append("")
        lines.append("Strategy block to paste under `strategies:` in the scenario:")
        lines.append("")
        lines.append(result.strategy_yaml().rstrip("\n"))
        lines.append("")
        bench = [v for v in result.verified if v.evaluation is None]
        if bench:
            lines.append(
                f"Against the scenario's strategies on the same fresh paths (paired difference of "
                f"{spec.objective.text}, recommended minus benchmark, 95% interval):"
            )
            rows = []
            for b in bench:
                d = rec.difference.get(b.name)
                if not spec.constraints:
                    meets = ""
                elif not b.feasible:
                    meets = "misses a constraint"
                elif any(s != "met" for s in b.status):
                    meets = "meets the constraints (within noise)"
                else:
                    meets = "meets the constraints"
                rows.append(
                    [
                        b.name,
                        _cell(d, spec.objective.units, cur) if d else "n/a",
                        _verdict(d),
                        meets,
                    ]
                )
            lines.extend(
                "  " + x
                for x in _table(
                    ["benchmark", "difference", "verdict", "benchmark vs constraints"],
                    rows,
                    right=set(),
                )
            )
            lines.append("  " + _summary_line(rec, bench, spec, cur))
    lines.append("")
    sec = result.seconds
    lines.append(
        f"Runtime: search {sec.get('search', 0):.1f} s, verification {sec.get('verify', 0):.1f} s, "
        f"total {sec.get('total', 0):.1f} s"
    )
    if result.out:
        lines.append(f"Evaluations written to {result.out}")
    return "\n".join(lines) + "\n"


def _short_status(c: Constraint, iv: Interval, status: str) -> str:
    if status == "met":
        return "met"
    if status == "within noise":
        return "within noise" + (
            " (estimate meets)" if c.met(iv.estimate) else " (estimate misses)"
        )
    if status == "violated":
        return "NOT met"
    return "?"


def _verdict(d: Interval | None) -> str:
    if d is None or not (math.isfinite(d.lower) and math.isfinite(d.upper)):
        return ""
    if d.upper < 0:
        return "cheaper"
    if d.lower > 0:
        return "dearer"
    return "no clear difference"


def _summary_line(rec: Verified, bench: list[Verified], spec: OptimizationSpec, cur: str) -> str:
    meeting = [b for b in bench if b.feasible]
    if not meeting:
        return (
            "No benchmark strategy meets the constraints on the fresh paths; the recommendation does "
            f"{'(within noise)' if any(s != 'met' for s in rec.status) else ''}".rstrip()
            + "."
        )
    cheapest = min(meeting, key=lambda b: b.objective.estimate)
    d = rec.difference[cheapest.name]
    verdict = _verdict(d)
    what = {
        "cheaper": "beats",
        "dearer": "costs more than",
        "no clear difference": "is not distinguishable from",
        "": "compares with",
    }[verdict]
    return (
        f"Of the benchmarks that meet the constraints, the cheapest is {cheapest.name}; the "
        f"recommendation {what} it on {spec.objective.text} by {fmt_value(-d.estimate, spec.objective.units, cur)} "
        f"[{fmt_value(-d.upper, spec.objective.units, cur)}, {fmt_value(-d.lower, spec.objective.units, cur)}] "
        f"(saving, paired)."
    )


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null (JSON has no such numbers), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def result_records(result: OptimizationResult) -> dict:
    """The result as plain JSON-ready data (``--format json``)."""
    return _json_safe(_records(result))


def _records(result: OptimizationResult) -> dict:
    spec = result.spec
    rec = result.recommended
    return {
        "scenario": result.scenario_name,
        "objective": spec.objective.text,
        "constraints": [c.text for c in spec.constraints],
        "seed": result.seed,
        "paths": spec.paths,
        "stopped": result.stopped,
        "replayed": result.replayed,
        "evaluations": [e.to_json() for e in result.evaluations],
        "frontier": [e.number for e in frontier(result.evaluations, spec)],
        "verification": {
            "seed": (result.seed + spec.seed_offset) % 2**64,
            "paths": spec.fresh_paths,
            "strategies": [
                {
                    "name": v.name,
                    "evaluation": v.evaluation,
                    "objective": v.objective.to_json(),
                    "constraints": [
                        {
                            "constraint": c.text,
                            "confidence": c.confidence,
                            **iv.to_json(),
                            "status": s,
                        }
                        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True)
                    ],
                    "feasible": v.feasible,
                    "difference": {k: d.to_json() for k, d in v.difference.items()},
                }
                for v in result.verified
            ],
        },
        "recommended": None
        if rec is None
        else {
            "evaluation": rec.evaluation,
            "name": spec.recommended_name,
            "strategy": result.block,
            "yaml": result.strategy_yaml(),
        },
        "seconds": result.seconds,
        "out": result.out,
    }
