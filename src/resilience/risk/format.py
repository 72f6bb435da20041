"""Plain-text formatting of risk tables and comparisons (monospace, ASCII only).

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from resilience.risk.base import IntervalStyle, _pct
from resilience.risk.paired import _COMPARE_STATS


def _scale(ax: float) -> tuple[float, str]:
    for bound, div, suffix in ((1e10, 1e9, "B"), (1e7, 1e6, "M"), (1e4, 1e3, "k")):
        if ax >= bound:
            return div, suffix
    return 1.0, ""


def format_number(x: float, units: str = "", scale: tuple[float, str] | None = None) -> str:
    """Compact number: percentages for unitless figures, k/M/B suffixes for big ones."""
    if x is None or not np.isfinite(x):
        return "n/a"
    x = float(x) + 0.0  # + 0.0 turns -0.0 into 0.0
    if units == "1":
        return f"{100.0 * x:.2f}%"
    div, suffix = _scale(abs(x)) if scale is None else scale
    if suffix and x != 0.0:
        return f"{x / div:.4g}{suffix}"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def format_cell_parts(est: float, lo: float, hi: float, units: str) -> tuple[str, str | None]:
    """Estimate text and "[lower, upper]" text (None without bounds), in one number scale.

    The scale (k/M/B) follows the estimate, so "9736 [9282, 10190]" never mixes "9736"
    with "10.19k"; an estimate of 0 borrows the scale of its bounds.
    """
    finite = [abs(v) for v in (est, lo, hi) if np.isfinite(v)]
    ref = abs(est) if np.isfinite(est) and est != 0 else max(finite, default=0.0)
    scale = _scale(ref)
    text = format_number(est, units, scale)
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return text, None
    return text, f"[{format_number(lo, units, scale)}, {format_number(hi, units, scale)}]"


def _cell(est: float, lo: float, hi: float, units: str, style: IntervalStyle) -> str:
    text, ci = format_cell_parts(est, lo, hi, units)
    return f"{text} {ci}" if style == "interval" and ci is not None else text


def _render(header: list[str], rows: list[list[str]], left_cols: int) -> list[str]:
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if j < left_cols else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(header), rule, *(line(r) for r in rows)]


def format_risk_table(table: xr.Dataset, *, intervals: IntervalStyle = "interval") -> str:
    """Plain-text rendering of :func:`risk_table`: one row per figure, one column per strategy.

    Cells read ``estimate [lower, upper]``; unitless figures (fill rate) as percentages,
    large numbers with k/M/B suffixes. Monospace, columns aligned, ASCII only.
    """
    if intervals not in ("interval", "none"):
        raise ValueError(f"intervals must be 'interval' or 'none', got {intervals!r}")
    t = table.compute()
    strategies = [str(s) for s in t["strategy"].values]
    header = ["metric", "statistic", *strategies]
    rows = []
    last = None
    for j in range(t.sizes["column"]):
        col = t.isel(column=j)
        metric, unit = str(col["metric"].values), str(col["units"].values)
        label = "" if metric == last else (f"{metric} [{unit}]" if unit and unit != "1" else metric)
        last = metric
        cells = [
            _cell(
                float(col["estimate"].values[i]),
                float(col["lower"].values[i]),
                float(col["upper"].values[i]),
                unit,
                intervals,
            )
            for i in range(len(strategies))
        ]
        rows.append([label, str(col["statistic"].values), *cells])
    rows.append(["paths", "", *(f"{int(v):,}" for v in t["paths"].values)])
    conf = float(t.attrs.get("confidence", 0.95))
    title = f"Risk by strategy ({_pct(conf)}% confidence intervals in brackets)"
    if "scenario_name" in t.attrs:
        title = f"{t.attrs['scenario_name']}: {title[0].lower()}{title[1:]}"
    note = (
        "fill_rate mean = sum(filled)/sum(demand), delta-method CI; quantile CIs from order "
        "statistics; CVaR CIs from the influence function; P<q> = q-th percentile."
    )
    return "\n".join([title, "", *_render(header, rows, 2), "", note]) + "\n"


def format_comparison(cmp: xr.Dataset, *, intervals: IntervalStyle = "interval") -> str:
    """Plain-text rendering of :func:`compare`: rows = statistics, columns = strategies.

    Differences are strategy minus baseline; "width paired/unpaired" rows show how much
    narrower common random numbers make each interval.
    """
    if intervals not in ("interval", "none"):
        raise ValueError(f"intervals must be 'interval' or 'none', got {intervals!r}")
    c = cmp.compute()
    strategies = [str(s) for s in c["strategy"].values]
    unit = str(c.attrs.get("units", ""))
    level = float(c.attrs.get("level", 0.95))
    tail = c.attrs.get("tail", "upper")
    q_label = f"P{_pct(level)}" if tail == "upper" else f"P{_pct(1 - level)}"
    labels = {
        "mean_diff": "mean diff",
        "p_better": "P(better)",
        "p_worse": "P(worse)",
        "var_diff": f"VaR{_pct(level)} diff ({q_label})",
        "cvar_diff": f"CVaR{_pct(level)} diff",
    }
    header = ["statistic", *strategies]
    rows = []
    for stat in _COMPARE_STATS:
        sc = c.sel(statistic=stat)
        u = "1" if stat.startswith("p_") else unit
        cells = []
        for i in range(len(strategies)):
            est = float(sc["estimate"].values[i])
            lo, hi = float(sc["lower"].values[i]), float(sc["upper"].values[i])
            if unit == "1" and not stat.startswith("p_"):
                cells.append(_cell(est, lo, hi, "1", intervals).replace("%", " pp"))
            else:
                cells.append(_cell(est, lo, hi, u, intervals))
        rows.append([labels[stat], *cells])
        ratios = sc["width_ratio"].values
        if np.any(np.isfinite(ratios)):
            rows.append(["  width paired/unpaired", *(format_number(float(r)) for r in ratios)])
    rows.append(["paired paths", *(f"{int(v):,}" for v in c["n"].values)])
    conf = float(c.attrs.get("confidence", 0.95))
    unit_text = f" [{unit}]" if unit and unit != "1" else ""
    title = (
        f"Paired comparison of {c.attrs.get('variable', '')}{unit_text} against "
        f"{c.attrs.get('baseline', '')!r} (strategy minus baseline, {_pct(conf)}% CIs)"
    )
    note = (
        f"P(better) counts paths where the strategy is strictly better; VaR/CVaR CIs: paired "
        f"bootstrap, {c.attrs.get('n_boot', 0)} resamples, seed {c.attrs.get('seed', 0)}."
    )
    return "\n".join([title, "", *_render(header, rows, 1), "", note]) + "\n"
