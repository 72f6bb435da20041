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

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.format import (
    OutputFormat,
    Row,
    Section,
    Table,
    currency_symbol,
    money_label,
    number_format,
    render,
)

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


@dataclass(frozen=True)
class Measure:
    """A risk measure the summary can rank on.

    variable : the per-path variable it reads; kind : "cvar", "quantile", "mean" or
    "probability" (of variable > 0); level : the CVaR level or quantile; higher_is_better :
    whether a larger value is safer (fill rate); label : how the paragraph names it;
    per : the unit "cost per ..." divides by; avoided : the paragraph's words for an
    amount of it avoided ({x}: the amount).
    """

    variable: str
    kind: str
    level: float
    higher_is_better: bool
    label: str
    per: str
    avoided: str = "{x} less risk"


#: name -> Measure; the names are what ``--risk-measure`` accepts
RISK_MEASURES: dict[str, Measure] = {
    "cvar95_lost_units": Measure(
        "lost_units",
        "cvar",
        0.95,
        False,
        "lost units in the worst 5% of years (CVaR95)",
        "unit",
        "{x} fewer units lost in the worst 5% of years",
    ),
    "p95_lost_units": Measure(
        "lost_units",
        "quantile",
        0.95,
        False,
        "P95 lost units (a 1-in-20 year)",
        "unit",
        "{x} fewer units lost in a 1-in-20 year",
    ),
    "p99_lost_units": Measure(
        "lost_units",
        "quantile",
        0.99,
        False,
        "P99 lost units (a 1-in-100 year)",
        "unit",
        "{x} fewer units lost in a 1-in-100 year",
    ),
    "p5_fill_rate": Measure(
        "fill_rate",
        "quantile",
        0.05,
        True,
        "P5 fill rate (a 1-in-20 year)",
        "point of fill rate",
        "{x} more fill rate in a 1-in-20 year",
    ),
    "p_stockout": Measure(
        "stockout_days",
        "probability",
        0.0,
        False,
        "probability of any stockout in a year",
        "point of probability",
        "{x} lower probability of any stockout",
    ),
    "expected_lost_margin": Measure(
        "lost_sales_cost",
        "mean",
        0.0,
        False,
        "expected lost margin",
        "unit of margin",
        "{x} less expected lost margin",
    ),
}

#: the level of the tail-cost figure
TAIL_COST_LEVEL = 0.95

# figures of the summary, in table order
FIGURES = ("extra_cost", "tail_cost_change", "risk_avoided", "cost_per_risk_avoided")
VERDICTS = (
    "baseline",
    "cheaper and safer",
    "efficient",
    "dominated",
    "costlier, no safer",
    "not distinguishable",
)


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
    da = ds[name]
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


# ----------------------------------------------------------------------------- words


def _money(x: float, currency: str) -> str:
    a = abs(x)
    sign = "-" if x < 0 else "+"
    cur = "$" if currency.upper() == "USD" else ("" if currency == "currency" else currency + " ")
    for div, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{sign}{cur}{a / div:,.1f}{suffix}"
    return f"{sign}{cur}{a:,.0f}"


def _amount(x: float, per: str) -> str:
    if per.startswith("point"):
        return f"{100 * x:.2f} points"
    a = abs(x)
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:,.1f}{suffix}"
    return f"{x:,.0f}"


def _per(x: float, currency: str, per: str) -> str:
    value = x / 100 if per.startswith("point") else x
    if abs(value) < 100:  # a ratio of money to money: keep its decimals
        return f"{value:,.2f} per {per}"
    return _money(value, currency).lstrip("+") + f" per {per}"


def _risk(x: float, per: str, currency: str) -> str:
    return _money(x, currency).lstrip("+") if per == "unit of margin" else _amount(x, per)


def summary_paragraph(summary: xr.Dataset) -> str:
    """One plain-language paragraph from :func:`decision_summary`'s numbers."""
    attrs = summary.attrs
    currency = attrs["currency"]
    per = attrs["risk_per"]
    base = attrs["baseline"]
    names = [str(s) for s in summary["strategy"].values]
    verdict = {s: str(v) for s, v in zip(names, summary["verdict"].values, strict=True)}
    by = {s: str(v) for s, v in zip(names, summary["dominated_by"].values, strict=True)}
    est = summary["estimate"]

    def fig(s, f):
        return float(est.sel(strategy=s, figure=f))

    words = RISK_MEASURES[attrs["risk_measure"]].avoided

    def avoided(s):
        return words.format(x=_risk(fig(s, "risk_avoided"), per, currency))

    conf = f"{100 * attrs['confidence']:.0f}%"
    sentences = [
        f"Against {base}, on the same {int(summary['n']):,} paths ({conf} intervals; risk "
        f"measured as {attrs['risk_label']}):"
    ]
    ranked = sorted(
        (s for s in names if int(summary["rank"].sel(strategy=s)) > 0),
        key=lambda s: int(summary["rank"].sel(strategy=s)),
    )
    for s in (s for s in ranked if verdict[s] == "cheaper and safer"):
        sentences.append(
            f"{s} is cheaper and safer: {_money(fig(s, 'extra_cost'), currency)} expected cost "
            f"and {avoided(s)}."
        )
    buyers = [s for s in ranked if verdict[s] == "efficient"]
    if buyers:
        cheapest = buyers[0]
        sentences.append(
            f"{cheapest} buys risk reduction cheapest: "
            f"{_money(fig(cheapest, 'extra_cost'), currency)} in expected cost for "
            f"{avoided(cheapest)}, "
            f"{_per(fig(cheapest, 'cost_per_risk_avoided'), currency, per)} avoided."
        )
        most = max(buyers, key=lambda s: fig(s, "risk_avoided"))
        if most != cheapest:
            sentences.append(
                f"{most} buys the most: {avoided(most)} "
                f"for {_money(fig(most, 'extra_cost'), currency)}, "
                f"{_per(fig(most, 'cost_per_risk_avoided'), currency, per)}."
            )
        for s in buyers:
            if s not in (cheapest, most):
                sentences.append(
                    f"{s}: {_money(fig(s, 'extra_cost'), currency)} for "
                    f"{avoided(s)}, "
                    f"{_per(fig(s, 'cost_per_risk_avoided'), currency, per)}."
                )
    tail_cost = min((s for s in names if s != base), key=lambda s: fig(s, "tail_cost_change"))
    lo = float(summary["lower"].sel(strategy=tail_cost, figure="tail_cost_change"))
    hi = float(summary["upper"].sel(strategy=tail_cost, figure="tail_cost_change"))
    if hi < 0:
        sentences.append(
            f"{tail_cost} also lowers the tail cost (CVaR95 of total cost) by "
            f"{_money(fig(tail_cost, 'tail_cost_change'), currency).lstrip('-')}."
        )
    elif lo > 0:
        sentences.append(f"No strategy lowers the tail cost (CVaR95 of total cost) below {base}'s.")
    for s in names:
        if verdict[s] == "dominated":
            sentences.append(f"{s} is dominated by {by[s]} (costlier and riskier than it).")
        elif verdict[s] == "costlier, no safer":
            sentences.append(
                f"{s} costs {_money(fig(s, 'extra_cost'), currency)} more with no risk reduction "
                "distinguishable from zero."
            )
        elif verdict[s] == "not distinguishable":
            sentences.append(
                f"{s} is not distinguishable from {base}: neither its cost nor its risk "
                "difference is distinguishable from zero."
            )
    if len(sentences) == 1:
        sentences.append("there is nothing to compare: the result has one strategy.")
    return " ".join(sentences)


# ----------------------------------------------------------------------------- tables

_FIGURE_LABELS = {
    "extra_cost": "extra expected cost",
    "tail_cost_change": "tail cost change",
    "risk_avoided": "risk avoided",
    "cost_per_risk_avoided": "cost per risk avoided",
}


def _others(summary: xr.Dataset, strategies: Sequence[str] | None) -> list[str]:
    names = list(strategies or [str(s) for s in summary["strategy"].values])
    return [s for s in names if s != summary.attrs["baseline"]]


def _figure_units(summary: xr.Dataset) -> dict[str, str]:
    attrs = summary.attrs
    cost = str(attrs.get("currency") or attrs.get("cost_units") or "currency")
    per = attrs["risk_per"]
    if per == "unit of margin":
        risk = cost
    elif per.startswith("point"):
        risk = "1"
    else:
        risk = str(attrs.get("risk_units") or "units")
    return {
        "extra_cost": cost,
        "tail_cost_change": cost,
        "risk_avoided": risk,
        "cost_per_risk_avoided": f"{cost}/{risk}",
    }


def summary_records(
    summary: xr.Dataset, strategies: Sequence[str] | None = None
) -> list[dict[str, object]]:
    """The summary as records: one per (figure, strategy) with estimate, lower, upper,
    units and se, then one ``verdict`` record per strategy (the baseline included) with
    ``verdict``, ``dominated_by`` and ``rank``. Unformatted numbers (NaN stays NaN)."""
    attrs = summary.attrs
    units = _figure_units(summary)
    level = f"CVaR{100 * float(attrs.get('tail_cost_level', 0.95)):g}"
    statistic = {
        "extra_cost": "mean",
        "tail_cost_change": level,
        "risk_avoided": attrs["risk_measure"],
        "cost_per_risk_avoided": attrs["risk_measure"],
    }
    out: list[dict[str, object]] = []
    for f in FIGURES:
        for s in _others(summary, strategies):
            cell = summary.sel(strategy=s, figure=f)
            out.append(
                {
                    "table": "decision_summary",
                    "metric": f,
                    "statistic": statistic[f],
                    "strategy": s,
                    "estimate": float(cell["estimate"]),
                    "lower": float(cell["lower"]),
                    "upper": float(cell["upper"]),
                    "units": units[f],
                    "se": float(cell["se"]),
                    "baseline": attrs["baseline"],
                }
            )
    names = list(strategies or [str(s) for s in summary["strategy"].values])
    for s in names:
        out.append(
            {
                "table": "decision_summary",
                "metric": "verdict",
                "statistic": attrs["risk_measure"],
                "strategy": s,
                "baseline": attrs["baseline"],
                "verdict": str(summary["verdict"].sel(strategy=s).values),
                "dominated_by": str(summary["dominated_by"].sel(strategy=s).values),
                "rank": int(summary["rank"].sel(strategy=s)),
            }
        )
    return out


def summary_document(
    summary: xr.Dataset, strategies: Sequence[str] | None = None
) -> dict[str, object]:
    """The summary for json: its settings, ``figures`` and ``verdicts`` (records of
    :func:`summary_records`) and the ``paragraph`` of :func:`summary_paragraph`."""
    attrs = summary.attrs
    records = summary_records(summary, strategies)
    return {
        "baseline": attrs["baseline"],
        "risk_measure": attrs["risk_measure"],
        "risk_label": attrs["risk_label"],
        "confidence": float(attrs["confidence"]),
        "paths": int(summary["n"]),
        "currency": attrs["currency"],
        "interval": attrs.get("interval", ""),
        "figures": [r for r in records if r["metric"] != "verdict"],
        "verdicts": [
            {k: r[k] for k in ("strategy", "verdict", "dominated_by", "rank")}
            for r in records
            if r["metric"] == "verdict"
        ],
        "paragraph": summary_paragraph(summary),
    }


def summary_layout(summary: xr.Dataset, strategies: Sequence[str] | None = None):
    """The summary as a :class:`resilience.risk.format.Table`: rows = figures, verdict and
    rank; columns = the strategies other than the baseline; the paragraph above."""
    attrs = summary.attrs
    currency = attrs["currency"]
    symbol = currency_symbol(currency)
    per = attrs["risk_per"]
    base = attrs["baseline"]
    others = _others(summary, strategies)

    def values(f: str) -> list[tuple[float, float, float]]:
        return [
            tuple(
                float(summary[k].sel(strategy=s, figure=f)) for k in ("estimate", "lower", "upper")
            )
            for s in others
        ]

    if per.startswith("point"):
        risk_kind = "share"
    elif per == "unit of margin":
        risk_kind = "money"
    else:
        risk_kind = "units"
    short = {"unit": "unit", "unit of margin": "margin"}.get(per, "pp")
    labels = {
        **_FIGURE_LABELS,
        "risk_avoided": "risk avoided" + (" [units]" if per == "unit" else ""),
        "cost_per_risk_avoided": f"cost per {short} avoided",
    }
    rows: list[Row] = []
    for f in FIGURES:
        vals = values(f)
        if f == "cost_per_risk_avoided":
            if per.startswith("point"):  # money per percentage point of a share
                vals = [tuple(v / 100 for v in t) for t in vals]
            kind = "number" if per == "unit of margin" else "money"
            fmt = number_format(kind, [v for t in vals for v in t], symbol=symbol)
        elif f == "risk_avoided":
            fmt = number_format(risk_kind, [v for t in vals for v in t], symbol=symbol, signed=True)
        else:
            fmt = number_format("money", [v for t in vals for v in t], symbol=symbol, signed=True)
        cells = []
        for e, lo, hi in vals:
            ci = f"[{fmt(lo)}, {fmt(hi)}]" if np.isfinite(lo) or np.isfinite(hi) else None
            cells.append((fmt(e), ci))
        rows.append(Row(labels[f], cells))
    verdicts = []
    for s in others:
        v = str(summary["verdict"].sel(strategy=s).values)
        by = str(summary["dominated_by"].sel(strategy=s).values)
        verdicts.append((v, f"(by {by})" if by else None))
    rows.append(Row("verdict", verdicts))
    ranks = [int(summary["rank"].sel(strategy=s)) for s in others]
    rows.append(Row("rank", [(str(r) if r > 0 else "-", None) for r in ranks]))
    conf = f"{100 * float(attrs['confidence']):g}%"
    level = f"CVaR{100 * float(attrs.get('tail_cost_level', 0.95)):g}"
    cur = money_label(currency)
    title = f"Decision summary: every strategy against {base} ({conf} paired intervals in brackets)"
    per_text = per.replace("point", "percentage point", 1) if per.startswith("point") else per
    notes = [
        f"Money in {cur}. extra expected cost = mean total cost minus {base}'s; tail cost "
        f"change = {level} of total cost minus {base}'s; risk avoided = {base}'s "
        f"{attrs['risk_label']} minus the strategy's (positive: safer); cost per {short} "
        f"avoided = extra expected cost per {per_text} of risk avoided.",
        "Intervals from paired influence functions (delta method for the ratio); a figure "
        "whose interval holds 0 is not distinguishable from zero and is never ranked; rank 1 "
        "= the cheapest risk reduction among strategies that are not dominated.",
    ]
    return Table(title, "figure", others, rows, notes, preamble=[summary_paragraph(summary)])


def summary_section(summary: xr.Dataset, strategies: Sequence[str] | None = None) -> Section:
    """The summary as a :class:`resilience.risk.format.Section` of a command's output."""
    layout = summary_layout(summary, strategies)
    return Section(
        "decision_summary",
        layout.text,
        layout.markdown,
        tuple(summary_records(summary, strategies)),
        summary_document(summary, strategies),
    )


def format_summary(
    summary: xr.Dataset,
    strategies: Sequence[str] | None = None,
    *,
    fmt: OutputFormat = "text",
    width: int | None = None,
) -> str:
    """The summary rendered: text (the paragraph, then a table with a row per figure and a
    column per strategy, no wider than ``width``, default the terminal's), markdown, csv
    (:func:`summary_records`) or json (:func:`summary_document` under
    ``"decision_summary"``)."""
    return render([summary_section(summary, strategies)], fmt, width)
