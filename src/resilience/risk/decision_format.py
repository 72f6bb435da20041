"""The decision summary as a person reads it: one paragraph, a table of figures per
strategy, JSON/CSV records, and the section a command prints.

Works from the dataset :func:`resilience.risk.decision.decision_summary` returns; the
statistics live there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

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
from resilience.risk.measures import (
    FIGURES,
    RISK_MEASURES,
)

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
    if not math.isfinite(value):  # no risk avoided at all (deterministic runs): as the table
        return f"n/a per {per}"
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
