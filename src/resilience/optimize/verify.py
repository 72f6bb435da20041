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
from resilience.optimize.output import (
    format_text,
    result_records,
)
from resilience.optimize.spec import Objective, OptimizationSpec, Statistic

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
    report: str | None = None  # the HTML page, when one was written

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
        rec = result.recommended
        if rec is not None and rec.difference:
            diffs = [rec.difference.get(v.name) for v in verified]
            data["paired_objective_difference"] = (
                ("candidate", "interval"),
                np.array(
                    [
                        [math.nan] * 3 if d is None else [d.estimate, d.lower, d.upper]
                        for d in diffs
                    ],
                    dtype=np.float64,
                ),
                {
                    "long_name": f"{spec.objective.text}: recommended minus this benchmark, "
                    "paired on the fresh paths",
                    "units": spec.objective.units,
                },
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
            "currency": result.currency or "",
            "seconds": json.dumps(result.seconds, sort_keys=True),
        }
    )
    return ds


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)
