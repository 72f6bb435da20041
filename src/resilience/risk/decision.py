"""The decision summary: which strategy buys the most safety per unit of money.

Every strategy is compared with a baseline on the *same* paths (common random numbers),
so each figure is a paired difference with its own confidence interval:

- extra expected cost: mean over paths of total_cost(s) - total_cost(base);
- change in tail cost: CVaR95(total_cost(s)) - CVaR95(total_cost(base));
- risk avoided: measure(base) - measure(s) for a loss measure (CVaR95 / P95 / P99 of lost
  units, probability of any stockout, expected lost margin), measure(s) - measure(base)
  for P5 fill rate (higher is better): positive means safer;
- cost per unit of risk avoided: extra expected cost / risk avoided.

Intervals come from per-path influence functions, which keep the pairing: for a mean the
influence of path i is x_i - mean; for CVaR_a (upper tail) it is
VaR_a + (x_i - VaR_a)^+ / (1 - a) - CVaR_a (Hong & Liu's asymptotic form, the one
``risk.cvar`` uses). A paired difference has influence psi_s,i - psi_base,i, so its
standard error is sd(psi_s - psi_base) / sqrt(n), and the ratio's comes from the delta
method with the per-path covariance of the two numerators. For a quantile q_a it is
(a - 1{x_i <= q_a}) / f(q_a), with 1 / f from the slope of the empirical quantile function
over the Hall-Sheather bandwidth. No resampling: a 200,000-path summary takes well under a
second.

A difference whose interval contains 0 is reported as *not distinguishable from zero*,
and a strategy is only called dominated by another when the paired differences between
the two are distinguishable too: the summary never ranks noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.censored import uncensored
from resilience.risk.decision_format import (
    format_summary,
    summary_document,
    summary_paragraph,
    summary_records,
    summary_section,
)
from resilience.risk.measures import (
    FIGURES,
    RISK_MEASURES,
    TAIL_COST_LEVEL,
    Measure,
)

# Public before the words and tables moved out; kept importable from here.
from resilience.risk.decision_format import summary_layout  # noqa: F401  isort: skip
from resilience.risk.measures import VERDICTS  # noqa: F401  isort: skip

__all__ = [
    "RISK_MEASURES",
    "Measure",
    "decision_summary",
    "default_baseline",
    "format_summary",
    "summary_document",
    "summary_paragraph",
    "summary_records",
    "summary_section",
]


def default_baseline(ds: xr.Dataset) -> str:
    """The scenario's ``baseline`` (stored as the ``baseline`` attribute) if it names a
    strategy of ``ds``, else its first strategy — never a hard-coded name."""
    names = [str(s) for s in ds["strategy"].values]
    if not names:
        raise ResultsError("the result has no strategies")
    chosen = str(ds.attrs.get("baseline", "") or "")
    return chosen if chosen in names else names[0]


# ----------------------------------------------------------------------------- estimators


def _cvar_and_influence(x: np.ndarray, level: float) -> tuple[float, np.ndarray]:
    """Empirical CVaR_level of the upper tail and each path's influence on it."""
    n = x.size
    m = n * (1.0 - level)
    order = np.sort(x)
    whole = int(np.floor(m))
    top = order[n - whole :].sum() if whole else 0.0
    frac = m - whole
    edge = order[n - whole - 1] if whole < n else order[0]
    value = (top + frac * edge) / m
    var = order[min(n - 1, max(0, int(np.ceil(n * level)) - 1))]
    influence = var + np.maximum(x - var, 0.0) / (1.0 - level) - value
    return float(value), influence


def _sparsity(x_sorted: np.ndarray, level: float) -> float:
    """1 / density at the ``level`` quantile, from the empirical quantile function's slope
    over the Hall-Sheather bandwidth (Koenker, Quantile Regression, 2005, sec. 3.4)."""
    n = x_sorted.size
    z = NormalDist().inv_cdf(level)
    density = NormalDist().pdf(z)
    h = n ** (-1 / 3) * 1.96 ** (2 / 3) * (1.5 * density**2 / (2 * z**2 + 1)) ** (1 / 3)
    lo, hi = max(level - h, 0.5 / n), min(level + h, 1 - 0.5 / n)
    q_lo = x_sorted[min(n - 1, max(0, int(np.ceil(n * lo)) - 1))]
    q_hi = x_sorted[min(n - 1, max(0, int(np.ceil(n * hi)) - 1))]
    return float((q_hi - q_lo) / (hi - lo))


def _point_and_influence(x: np.ndarray, measure: Measure) -> tuple[float, np.ndarray]:
    """A measure's value on one strategy's paths and each path's influence on it."""
    if measure.kind == "cvar":
        return _cvar_and_influence(x, measure.level)
    if measure.kind == "mean":
        return float(x.mean()), x - x.mean()
    if measure.kind == "probability":
        hit = (x > 0).astype(np.float64)
        return float(hit.mean()), hit - hit.mean()
    # a quantile: influence (level - 1{x <= q}) / f(q)
    order = np.sort(x)
    q = float(order[min(x.size - 1, max(0, int(np.ceil(x.size * measure.level)) - 1))])
    return q, (measure.level - (x <= q)) * _sparsity(order, measure.level)


@dataclass(frozen=True)
class _Paired:
    estimate: float
    lower: float
    upper: float
    se: float


def _normal(estimate: float, influence: np.ndarray, z: float) -> _Paired:
    se = float(influence.std(ddof=1) / np.sqrt(influence.size)) if influence.size > 1 else np.nan
    return _Paired(estimate, estimate - z * se, estimate + z * se, se)


def _ratio(cost: _Paired, cost_psi, risk: _Paired, risk_psi, z: float) -> _Paired:
    """extra cost / risk avoided with a delta-method interval (nan when the risk avoided
    is not distinguishable from 0: the ratio then has no finite interval)."""
    if not np.isfinite(risk.estimate) or risk.estimate == 0:
        return _Paired(np.nan, np.nan, np.nan, np.nan)
    ratio = cost.estimate / risk.estimate
    psi = (cost_psi - ratio * risk_psi) / risk.estimate
    se = float(psi.std(ddof=1) / np.sqrt(psi.size))
    if risk.lower <= 0 <= risk.upper:
        return _Paired(ratio, np.nan, np.nan, se)
    return _Paired(ratio, ratio - z * se, ratio + z * se, se)


def _values(ds: xr.Dataset, name: str) -> np.ndarray:
    if name not in ds.data_vars:
        raise ResultsError(f"the result has no variable {name!r} (needed by the summary)")
    da = uncensored(ds, name)  # no shortage is an outcome (risk/censored.py)
    if "path" not in da.dims or set(da.dims) - {"strategy", "path"}:
        raise ResultsError(
            f"{name!r} must have dims (strategy, path) for the summary, got {da.dims}"
        )
    return np.asarray(da.transpose("strategy", "path").values, dtype=np.float64)


def _distinguishable(p: _Paired) -> bool:
    return bool(np.isfinite(p.lower) and np.isfinite(p.upper) and (p.lower > 0 or p.upper < 0))


# ----------------------------------------------------------------------------- summary


def decision_summary(
    ds: xr.Dataset,
    baseline: str | None = None,
    risk_measure: str = "cvar95_lost_units",
    *,
    confidence: float = 0.95,
) -> xr.Dataset:
    """Every strategy against ``baseline``: extra cost, tail cost, risk avoided, cost per
    unit of risk avoided (all paired, with intervals), a verdict and a rank.

    Parameters
    ----------
    ds
        A result with per-path ``total_cost`` and the measure's variable, dims
        (strategy, path).
    baseline
        The reference strategy (default: :func:`default_baseline`).
    risk_measure
        A key of :data:`RISK_MEASURES`.
    confidence
        Two-sided confidence of every interval.

    Returns
    -------
    xarray.Dataset
        Dims (strategy, figure): ``estimate``, ``lower``, ``upper``, ``se``; per strategy
        ``verdict`` (one of VERDICTS), ``dominated_by`` ("" if none), ``rank`` (1 = cheapest
        risk avoided among efficient strategies, 0 otherwise), ``n``; attributes name the
        baseline, the measure and its label, the units and the confidence.
    """
    if risk_measure not in RISK_MEASURES:
        raise ResultsError(
            f"unknown risk measure {risk_measure!r}; choose one of {', '.join(RISK_MEASURES)}"
        )
    if not 0 < confidence < 1:
        raise ResultsError(f"confidence must be in (0, 1), got {confidence}")
    measure = RISK_MEASURES[risk_measure]
    names = [str(s) for s in ds["strategy"].values]
    baseline = default_baseline(ds) if baseline is None else baseline
    if baseline not in names:
        raise ResultsError(
            f"unknown baseline strategy {baseline!r}; the result has: {', '.join(names)}"
        )
    cost = _values(ds, "total_cost")
    risk = _values(ds, measure.variable)
    ok = np.isfinite(cost).all(axis=0) & np.isfinite(risk).all(axis=0)
    cost, risk = cost[:, ok], risk[:, ok]
    if cost.shape[1] < 2:
        raise ResultsError("the summary needs at least 2 paths with finite values")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    b = names.index(baseline)
    sign = 1.0 if measure.higher_is_better else -1.0  # risk avoided = sign * (s - base)

    cost_mean = cost.mean(axis=1)
    cost_psi = cost - cost_mean[:, None]
    tail = [_cvar_and_influence(c, TAIL_COST_LEVEL) for c in cost]
    points = [_point_and_influence(r, measure) for r in risk]

    figures = np.full((len(names), len(FIGURES), 4), np.nan)  # estimate, lower, upper, se
    pairs: dict[tuple[int, int], tuple[_Paired, _Paired]] = {}

    def paired(i: int, j: int) -> tuple[_Paired, _Paired, np.ndarray, np.ndarray]:
        """(extra cost, risk avoided) of i against j, with their influences."""
        dc = _normal(cost_mean[i] - cost_mean[j], cost_psi[i] - cost_psi[j], z)
        psi = sign * (points[i][1] - points[j][1])
        dr = _normal(sign * (points[i][0] - points[j][0]), psi, z)
        pairs[(i, j)] = (dc, dr)
        return dc, dr, cost_psi[i] - cost_psi[j], psi

    for i in range(len(names)):
        if i == b:
            continue
        dc, dr, dc_psi, dr_psi = paired(i, b)
        dt = _normal(tail[i][0] - tail[b][0], tail[i][1] - tail[b][1], z)
        ratio = _ratio(dc, dc_psi, dr, dr_psi, z)
        for k, p in enumerate((dc, dt, dr, ratio)):
            figures[i, k] = (p.estimate, p.lower, p.upper, p.se)

    verdict, dominated_by = _verdicts(names, b, pairs, paired)
    rank = _ranks(names, verdict, figures)
    out = xr.Dataset(
        {
            field: (("strategy", "figure"), figures[..., k])
            for k, field in enumerate(("estimate", "lower", "upper", "se"))
        },
        coords={"strategy": names, "figure": list(FIGURES)},
    )
    out["verdict"] = ("strategy", verdict)
    out["dominated_by"] = ("strategy", dominated_by)
    out["rank"] = ("strategy", rank)
    out["n"] = int(cost.shape[1])
    units = ds["total_cost"].attrs.get("units", "currency")
    out.attrs.update(
        baseline=baseline,
        risk_measure=risk_measure,
        risk_label=measure.label,
        risk_per=measure.per,
        risk_units=ds[measure.variable].attrs.get("units", ""),
        cost_units=units,
        currency=str(ds.attrs.get("currency", "") or units),
        confidence=confidence,
        tail_cost_level=TAIL_COST_LEVEL,
        interval="paired influence-function normal intervals (delta method for the ratio)",
    )
    return out


def _verdicts(names, b, pairs, paired) -> tuple[list[str], list[str]]:
    """Each strategy's verdict against the baseline and the others (see VERDICTS)."""
    verdict = [""] * len(names)
    dominated_by = [""] * len(names)
    verdict[b] = "baseline"
    for i in range(len(names)):
        if i == b:
            continue
        dc, dr = pairs[(i, b)]
        cheaper = _distinguishable(dc) and dc.estimate < 0
        costlier = _distinguishable(dc) and dc.estimate > 0
        safer = _distinguishable(dr) and dr.estimate > 0
        riskier = _distinguishable(dr) and dr.estimate < 0
        if cheaper and safer:
            verdict[i] = "cheaper and safer"
        elif costlier and not safer:
            verdict[i] = "costlier, no safer"
            dominated_by[i] = names[b] if riskier or not _distinguishable(dr) else ""
        elif safer:
            verdict[i] = "efficient"
        elif not _distinguishable(dr) and not _distinguishable(dc):
            verdict[i] = "not distinguishable"
        else:
            verdict[i] = "efficient" if cheaper else "not distinguishable"
    # dominated by another non-baseline strategy: cheaper *and* safer than it, both
    # distinguishable on the paired differences between the two
    for i in range(len(names)):
        if verdict[i] not in ("efficient", "cheaper and safer"):
            continue
        for j in range(len(names)):
            if j in (i, b) or verdict[j] not in ("efficient", "cheaper and safer"):
                continue
            dc, dr = pairs.get((j, i)) or paired(j, i)[:2]
            if (
                _distinguishable(dc)
                and dc.estimate < 0
                and _distinguishable(dr)
                and dr.estimate > 0
            ):
                verdict[i] = "dominated"
                dominated_by[i] = names[j]
                break
    return verdict, dominated_by


def _ranks(names, verdict, figures) -> list[int]:
    """1, 2, ... by cost per unit of risk avoided among the strategies that buy risk
    reduction and are not dominated (cheaper-and-safer ones first); 0 for the rest."""
    ranked = [i for i, v in enumerate(verdict) if v in ("cheaper and safer", "efficient")]
    ranked.sort(key=lambda i: (verdict[i] != "cheaper and safer", figures[i, 3, 0]))
    rank = [0] * len(names)
    for r, i in enumerate(ranked, start=1):
        rank[i] = r
    return rank
