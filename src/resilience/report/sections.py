"""The HTML of each section of the report memo: the risk table, paired comparisons, the
decision summary, convergence and provenance, with the cell and unit text they share.

Each function returns a fragment; :mod:`resilience.report.html` orders them into the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from resilience.report.common import (
    esc,
    num_cell,
    row_style,
    table_html,
    value_parts,
)
from resilience.risk import bad_tail

# ----------------------------------------------------------------------------- cells


def _kind(units: str) -> str:
    return "money" if units == "currency" else "percent" if units == "1" else "count"


def _cell_symbol(symbol: str) -> str:
    """``$`` goes into every money cell; another currency is named once, in the header."""
    return "$" if symbol == "$" else ""


def _unit_text(units: str, symbol: str) -> str:
    if units == "currency":
        return "" if symbol == "$" else symbol
    return "" if units in ("", "1") else units


#: the dataset attributes the provenance section lists, with their labels
_METADATA = (
    ("scenario_name", "scenario"),
    ("scenario_path", "scenario file"),
    ("seed", "seed"),
    ("paths", "paths"),
    ("horizon_days", "horizon [days]"),
    ("demand_mode", "demand mode"),
    ("currency", "currency"),
    ("scenario_sha256", "scenario SHA-256"),
    ("resilience_version", "resilience version"),
    ("numba_version", "numba version"),
    ("numpy_version", "numpy version"),
    ("xarray_version", "xarray version"),
    ("created_utc", "created (UTC)"),
)


# ----------------------------------------------------------------------------- sections


def _period(ds: xr.Dataset) -> str:
    return "year" if int(ds.attrs.get("horizon_days", 0) or 0) in (365, 366) else "horizon"


def _statistic_text(metric: str, statistic: str, higher_is_better: bool, period: str) -> str:
    if statistic == "mean":
        return (
            "mean (run level: total filled / total demanded)" if metric == "fill_rate" else "mean"
        )
    if statistic.startswith("CVaR"):
        level = float(statistic[4:])
        return f"{statistic} (mean of the worst {100 - level:g}% of {period}s)"
    if statistic.startswith("P"):
        q = float(statistic[1:])
        if q == 50:
            return f"{statistic} (the median {period})"
        bad = q if higher_is_better else 100 - q
        if (q < 50) == higher_is_better and bad > 0:
            return f"{statistic} (a 1-in-{100 / bad:g} bad {period})"
    return statistic


def _risk_table_html(table: xr.Dataset, ds: xr.Dataset, symbol: str) -> str:
    """The risk table with one block of rows per metric, the statistics under it."""
    names = [str(s) for s in table["strategy"].values]
    period = _period(ds)
    rows = []
    current = None
    for j in range(table.sizes["column"]):
        col = table.isel(column=j)
        units = str(col["units"].values)
        metric = str(col["metric"].values)
        statistic = str(col["statistic"].values)
        if metric != current:
            current = metric
            da = ds.get(metric, None)
            long = str(da.attrs.get("long_name", "")) if da is not None else ""
            unit = "% of demand" if metric == "fill_rate" else _unit_text(units, symbol)
            title = f"{long} ({metric})" if long and long != metric else metric
            title += f" [{unit}]" if unit else ""
            rows.append(f'<tr class="group"><th colspan="{len(names) + 1}">{esc(title)}</th></tr>')
        higher = bad_tail(metric) == "lower"  # fill rate, time-to-survive
        triples = [
            (
                float(col["estimate"].values[i]),
                float(col["lower"].values[i]),
                float(col["upper"].values[i]),
            )
            for i in range(len(names))
        ]
        style = row_style(triples, _kind(units))
        cells = "".join(
            num_cell(*value_parts(*t, _kind(units), _cell_symbol(symbol), style=style))
            for t in triples
        )
        rows.append(
            f"<tr><td>{esc(_statistic_text(metric, statistic, higher, period))}</td>{cells}</tr>"
        )
    paths = "".join(f'<td class="num">{int(v):,}</td>' for v in table["paths"].values)
    rows.append(f"<tr><th>paths</th>{paths}</tr>")
    return table_html(["statistic", *names], rows)


def _comparison_html(cmp: xr.Dataset, symbol: str) -> str:
    names = [str(s) for s in cmp["strategy"].values]
    unit = str(cmp.attrs.get("units", ""))
    level = float(cmp.attrs["level"])
    pct = f"{100 * level:g}"
    q = pct if cmp.attrs["tail"] == "upper" else f"{100 * (1 - level):g}"
    labels = {
        "mean_diff": "mean difference",
        "p_better": "P(better)",
        "p_worse": "P(worse)",
        "var_diff": f"VaR{pct} difference (P{q})",
        "cvar_diff": f"CVaR{pct} difference",
    }
    rows = []
    for stat in cmp["statistic"].values:
        sc = cmp.sel(statistic=stat)
        probability = str(stat).startswith("p_")
        u = "1" if probability else unit
        kind = "percent" if probability else _kind(u)
        triples = [
            (
                float(sc["estimate"].values[i]),
                float(sc["lower"].values[i]),
                float(sc["upper"].values[i]),
            )
            for i in range(len(names))
        ]
        style = row_style(triples, kind)
        cells = "".join(
            num_cell(
                *value_parts(*t, kind, _cell_symbol(symbol), signed=not probability, style=style)
            )
            for t in triples
        )
        rows.append(f"<tr><th>{esc(labels.get(str(stat), str(stat)))}</th>{cells}</tr>")
        ratio = sc["width_ratio"].values
        if np.isfinite(ratio).any():
            ratio_cells = "".join(
                num_cell(f"{float(r):.2f}" if np.isfinite(r) else "n/a", dim=True) for r in ratio
            )
            rows.append(f'<tr><td class="ci">CI width, paired / unpaired</td>{ratio_cells}</tr>')
    n = "".join(f'<td class="num">{int(v):,}</td>' for v in cmp["n"].values)
    rows.append(f"<tr><th>paired paths</th>{n}</tr>")
    return table_html(["statistic", *names], rows)


def _convergence_html(conv: xr.Dataset) -> str:
    names = [str(s) for s in conv["strategy"].values]
    rows = []
    for j in range(conv.sizes["column"]):
        c = conv.isel(column=j)
        cells = []
        for i in range(len(names)):
            rel = float(c["rel_halfwidth"].values[i])
            need = float(c["paths_needed"].values[i])
            if np.isfinite(rel) and np.isfinite(need):
                text = f"&plusmn;{100 * rel:.2g}% &middot; {int(need):,} paths"
            else:
                text = "n/a"
            cells.append(f'<td class="num">{text}</td>')
        rows.append(f"<tr><th>{esc(c['column'].values)}</th>{''.join(cells)}</tr>")
    return table_html(["figure", *names], rows)


def _provenance_html(ds: xr.Dataset, extra: Sequence[tuple[str, str]]) -> str:
    rows = []
    for key, label in _METADATA:
        if key in ds.attrs:
            rows.append(f"<tr><th>{esc(label)}</th><td>{esc(ds.attrs[key])}</td></tr>")
    strategies = ", ".join(str(s) for s in ds["strategy"].values)
    rows.append(f"<tr><th>strategies</th><td>{esc(strategies)}</td></tr>")
    rows += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in extra]
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def _summary_table_html(summary: xr.Dataset, symbol: str) -> str:
    """The decision summary's figures per strategy, with intervals, verdict and rank;
    each column in one number style."""
    attrs = summary.attrs
    per = str(attrs["risk_per"])
    base = str(attrs["baseline"])
    cell_symbol = _cell_symbol(symbol)
    money_unit = "" if symbol == "$" else f" [{symbol}]"
    risk_kind = (
        "money" if per == "unit of margin" else "points" if per.startswith("point") else "count"
    )
    risk_unit = {
        "count": f" [{attrs.get('risk_units', 'units') or 'units'}]",
        "points": " [percentage points]",
        "money": money_unit,
    }[risk_kind]
    per_text = "lost unit" if per == "unit" else per
    if per == "unit of margin":
        ratio_unit, ratio_kind = f" [per {per}]", "count"
    else:
        ratio_unit = f" [$ per {per_text}]" if symbol == "$" else f" [{symbol} per {per_text}]"
        ratio_kind = "money"
    level = f"{100 * float(attrs.get('tail_cost_level', 0.95)):g}"
    header = [
        "strategy",
        "verdict",
        f"extra expected cost{money_unit}",
        f"change in tail cost (CVaR{level} of total cost){money_unit}",
        f"risk avoided{risk_unit}",
        f"cost per unit of risk avoided{ratio_unit}",
        "rank",
    ]
    names = [str(v) for v in summary["strategy"].values]
    others = [s for s in names if s != base]
    scale = 0.01 if per.startswith("point") else 1.0  # per percentage point

    def column(figure: str, factor: float = 1.0) -> dict[str, tuple[float, float, float]]:
        return {
            s: tuple(
                factor * float(summary[k].sel(strategy=s, figure=figure))
                for k in ("estimate", "lower", "upper")
            )
            for s in others
        }

    columns = [
        (column("extra_cost"), "money", True),
        (column("tail_cost_change"), "money", True),
        (column("risk_avoided"), risk_kind, True),
        (column("cost_per_risk_avoided", scale), ratio_kind, False),
    ]
    styles = [row_style(list(c.values()), kind) for c, kind, _ in columns]
    rows = []
    for s in names:
        verdict = str(summary["verdict"].sel(strategy=s).values)
        by = str(summary["dominated_by"].sel(strategy=s).values)
        rank = int(summary["rank"].sel(strategy=s))
        cells = [f"<th>{esc(s)}</th>", f"<td>{esc(verdict + (f' (by {by})' if by else ''))}</td>"]
        if s == base:
            cells += [num_cell("-", dim=True)] * 5
        else:
            for (c, kind, signed), style in zip(columns, styles, strict=True):
                cells.append(
                    num_cell(*value_parts(*c[s], kind, cell_symbol, signed=signed, style=style))
                )
            cells.append(num_cell(str(rank) if rank else "-", dim=not rank))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return table_html(header, rows)
