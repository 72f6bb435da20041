"""Rendering of risk tables and comparisons: text, markdown, csv and json.

Text is what ``resilience run`` / ``compare`` print: grouped by metric, columns aligned,
ASCII only, and as wide as the terminal allows (an interval moves under its estimate when
``estimate [lower, upper]`` cells would not fit). One number format per quantity:

- shares (units ``"1"``: fill rate, probabilities) as percent with 2 decimals, and their
  differences as signed percentage points (``+0.45 pp``);
- money in the result's currency (the dataset attribute ``currency``; ``"USD"`` prints
  ``$``) and units: thousands separators below 10,000, k / M / bn with 4 significant
  digits above, never e-notation;
- days as integers.

Every number of a row (all strategies, estimates and bounds) shares the row's scale, so
columns compare at a glance. Risk-table intervals are clipped to what is possible (a fill
rate within 0-100 %, units, days and costs at or above 0), and the table says so.

markdown is one pipe table per section; csv and json are machine-readable records (one
per metric, statistic and strategy: estimate, lower, upper, units, ...) with unformatted
numbers (NaN: empty in csv, null in json).

Private by convention: import the public names from :mod:`resilience.risk` (the section
and render helpers from here).
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

from resilience.risk.base import IntervalStyle, _pct
from resilience.risk.censored import CENSORED_NOTE

# The number formats live in numbers.py; callers still import them from here, so the
# names this module does not use itself are re-exported (hence the noqa).
from resilience.risk.numbers import (  # noqa: F401
    NumberFormat,
    _cell,
    _number,
    clip_to_support,
    currency_symbol,
    format_cell_parts,
    format_number,
    money_label,
    number_format,
    quantity_kind,
    unit_label,
)

OutputFormat = Literal["text", "markdown", "csv", "json"]
#: the values of ``--format``
FORMATS: tuple[str, ...] = ("text", "markdown", "csv", "json")
#: terminal width assumed when none can be found (output to a pipe or file)
DEFAULT_WIDTH = 100

CLIP_NOTE = (
    "Intervals clipped to the possible range: fill rate within 0-100%; units, days and "
    "costs at or above 0."
)


# ----------------------------------------------------------------------------- tables


@dataclass
class Row:
    """A table row: a label and one cell per column, each ``(estimate, interval)`` text
    (the interval None when there is none); ``group`` starts a new group above the row."""

    label: str
    cells: list[tuple[str, str | None]]
    group: str | None = None


@dataclass
class Table:
    """A renderer-agnostic table: title, label header, column names, rows and notes."""

    title: str
    label_header: str
    columns: list[str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    group_header: str = "metric"
    preamble: list[str] = field(default_factory=list)

    def text(self, width: int | None = None, intervals: IntervalStyle = "interval") -> str:
        """Monospace text no wider than ``width`` when that is possible: cells read
        ``estimate [lower, upper]``, or the interval goes on a line of its own under the
        estimate when one-line cells would not fit."""
        width = terminal_width() if width is None else int(width)
        show = intervals == "interval"
        lines = self._layout(stacked=False, show=show)
        if show and max(len(line) for line in lines) > width:
            lines = self._layout(stacked=True, show=show)
        out = [*_wrap(self.title, width), ""]
        for paragraph in self.preamble:
            out += [*_wrap(paragraph, width), ""]
        out += lines
        if self.notes:
            out.append("")
            for note in self.notes:
                out.extend(_wrap(note, width))
        return "\n".join(out) + "\n"

    def _layout(self, *, stacked: bool, show: bool) -> list[str]:
        def one(cell: tuple[str, str | None]) -> list[str]:
            est, ci = cell
            if not show or ci is None:
                return [est]
            return [est, ci] if stacked else [f"{est} {ci}"]

        grid = [[one(c) for c in row.cells] for row in self.rows]
        label_w = max([len(self.label_header), *(len(r.label) for r in self.rows)])
        widths = [
            max([len(name), *(len(part) for cells in grid for part in cells[j])])
            for j, name in enumerate(self.columns)
        ]

        def line(label: str, cells: Sequence[str]) -> str:
            parts = [
                label.ljust(label_w),
                *(c.rjust(w) for c, w in zip(cells, widths, strict=True)),
            ]
            return "  ".join(parts).rstrip()

        lines = [line(self.label_header, self.columns)]
        lines.append("  ".join("-" * w for w in [label_w, *widths]))
        for row, cells in zip(self.rows, grid, strict=True):
            if row.group is not None:
                lines.append(row.group)
            depth = max(len(c) for c in cells) if cells else 1
            for k in range(depth):
                lines.append(
                    line(row.label if k == 0 else "", [c[k] if k < len(c) else "" for c in cells])
                )
        return lines

    def markdown(self, intervals: IntervalStyle = "interval") -> str:
        """A pipe table under a ``###`` title (and the preamble), the notes as paragraphs."""
        grouped = any(r.group is not None for r in self.rows)
        header = ([self.group_header] if grouped else []) + [self.label_header, *self.columns]
        align = ["---"] * (len(header) - len(self.columns)) + ["---:"] * len(self.columns)
        body = []
        for r in self.rows:
            cells = [
                est if intervals != "interval" or ci is None else f"{est} {ci}"
                for est, ci in r.cells
            ]
            lead = [r.group or ""] if grouped else []  # the metric on its group's first row
            body.append([*lead, r.label, *cells])
        lines = [f"### {self.title}", ""]
        for paragraph in self.preamble:
            lines += [paragraph, ""]
        lines += [_md_row(header), _md_row(align)]
        lines.extend(_md_row(r) for r in body)
        for note in self.notes:  # a paragraph each
            lines += ["", note]
        return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, max(20, width), break_on_hyphens=False) or [""]


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` first), :data:`DEFAULT_WIDTH` for a pipe."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class Section:
    """One part of a command's output in every format: ``text(width)``, ``markdown()``,
    ``records`` (csv / json rows) and, for the decision summary, a json ``document``."""

    name: str
    text: Callable[[int | None], str]
    markdown: Callable[[], str]
    records: tuple[dict[str, Any], ...]
    document: dict[str, Any] | None = None


#: leading csv columns, in this order; the others follow in order of first appearance
RECORD_FIELDS = ("table", "metric", "statistic", "strategy", "estimate", "lower", "upper", "units")


def records_csv(records: Sequence[dict[str, Any]]) -> str:
    """CSV of records: a header, then one line per record; NaN / None are empty fields,
    numbers are written in full (``repr``) precision. A ``point`` mapping (a sweep
    point's axis values) becomes leading columns, one per axis."""
    rows = [{**r.get("point", {}), **{k: v for k, v in r.items() if k != "point"}} for r in records]
    axes: list[str] = []
    keys: list[str] = []
    for r, original in zip(rows, records, strict=True):
        for k in original.get("point", {}):
            if k not in axes:
                axes.append(k)
        for k in r:
            if k not in keys and k not in axes:
                keys.append(k)
    lead = [k for k in RECORD_FIELDS if k in keys]
    fields = [*axes, *lead, *[k for k in keys if k not in RECORD_FIELDS]]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for r in rows:
        writer.writerow([_csv_value(r.get(k)) for k in fields])
    return buf.getvalue()


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _json_safe(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def render(
    sections: Sequence[Section], fmt: OutputFormat = "text", width: int | None = None
) -> str:
    """A command's whole output: the sections one after another (text, markdown), all
    their records in one csv, or one json object ``{"decision_summary": {...},
    "records": [...]}`` (``decision_summary`` only when a section carries one)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "text":
        return "\n".join(s.text(width) for s in sections)
    if fmt == "markdown":
        return "\n".join(s.markdown() for s in sections)
    records = [r for s in sections if s.document is None for r in s.records]
    if fmt == "csv":
        return records_csv([r for s in sections for r in s.records])
    doc: dict[str, Any] = {}
    for s in sections:
        if s.document is not None:
            doc[s.name] = s.document
    doc["records"] = [{k: v for k, v in r.items()} for r in records]
    return json.dumps(_json_safe(doc), indent=2, allow_nan=False) + "\n"


# ----------------------------------------------------------------------------- risk table

_NOTE_METHODS = (
    "fill_rate mean = sum(filled)/sum(demand), delta-method CI; quantile CIs from order "
    "statistics; CVaR CIs from the influence function; P<q> = q-th percentile."
)
_NOTE_LATE = (
    "late_units = demand not served on its day (served late or still backlogged at the "
    "end); a backorder run loses no sales, so it has no lost_units rows."
)


_NOTE_SURVIVAL = (
    "traced_shortage = share of paths with a shortage traced to a disruption; "
    "time_to_survive_days = days from that disruption's onset to the shortage, "
    "shortage_duration_days = days until service is back. " + CENSORED_NOTE
)


def _records_units(units: str, currency: str | None) -> str:
    code = str(currency or "").strip()
    return code if units == "currency" and code else units


def risk_table_records(table: xr.Dataset) -> list[dict[str, Any]]:
    """One record per (metric, statistic, strategy) of :func:`risk_table`: estimate and
    the interval clipped to the possible range (``clipped`` says where), units, se, n."""
    t = table.compute()
    currency = t.attrs.get("currency")
    strategies = [str(s) for s in t["strategy"].values]
    out = []
    for j in range(t.sizes["column"]):
        col = t.isel(column=j)
        metric, unit = str(col["metric"].values), str(col["units"].values)
        kind = quantity_kind(unit)
        for i, s in enumerate(strategies):
            lo, hi, clipped = clip_to_support(
                kind, float(col["lower"].values[i]), float(col["upper"].values[i])
            )
            out.append(
                {
                    "table": "risk_table",
                    "metric": metric,
                    "statistic": str(col["statistic"].values),
                    "strategy": s,
                    "estimate": _number(col["estimate"].values[i]),
                    "lower": _number(lo),
                    "upper": _number(hi),
                    "units": _records_units(unit, currency),
                    "se": _number(col["se"].values[i]),
                    "n": _number(col["n"].values[i]),
                    "clipped": clipped,
                }
            )
    return out


def risk_table_layout(table: xr.Dataset) -> Table:
    """The risk table as a :class:`Table`: a group per metric, a row per statistic."""
    t = table.compute()
    currency = t.attrs.get("currency")
    symbol = currency_symbol(currency)
    strategies = [str(s) for s in t["strategy"].values]
    by_key = {(r["metric"], r["statistic"], r["strategy"]): r for r in risk_table_records(t)}
    rows: list[Row] = []
    last = None
    for j in range(t.sizes["column"]):
        col = t.isel(column=j)
        metric, unit = str(col["metric"].values), str(col["units"].values)
        stat = str(col["statistic"].values)
        recs = [by_key[(metric, stat, s)] for s in strategies]
        values = [v for r in recs for v in (r["estimate"], r["lower"], r["upper"])]
        fmt = number_format(
            quantity_kind(unit), [v for v in values if v is not None], symbol=symbol
        )
        cells = []
        for r in recs:
            has_ci = r["lower"] is not None or r["upper"] is not None
            ci = f"[{fmt(r['lower'])}, {fmt(r['upper'])}]" if has_ci else None
            cells.append((fmt(r["estimate"]), ci))
        group = None
        if metric != last:
            label = unit_label(unit, currency)
            group = f"{metric} [{label}]" if label else metric
        last = metric
        rows.append(Row(stat, cells, group))
    rows.append(Row("paths", [(f"{int(v):,}", None) for v in t["paths"].values]))
    conf = float(t.attrs.get("confidence", 0.95))
    title = f"Risk by strategy ({_pct(conf)}% confidence intervals in brackets)"
    if "scenario_name" in t.attrs:
        title = f"{t.attrs['scenario_name']}: {title[0].lower()}{title[1:]}"
    notes = [_NOTE_METHODS, CLIP_NOTE]
    metrics = [str(m) for m in t["metric"].values]
    if "late_units" in metrics:
        notes.append(_NOTE_LATE)
    if "time_to_survive_days" in metrics or "shortage_duration_days" in metrics:
        notes.append(_NOTE_SURVIVAL)
    return Table(title, "statistic", strategies, rows, notes)


def risk_table_section(table: xr.Dataset, *, intervals: IntervalStyle = "interval") -> Section:
    """:func:`risk_table` as a :class:`Section` of a command's output."""
    layout = risk_table_layout(table)
    return Section(
        "risk_table",
        lambda width: layout.text(width, intervals),
        lambda: layout.markdown(intervals),
        tuple(risk_table_records(table)),
    )


def _check_style(intervals: str) -> None:
    if intervals not in ("interval", "none"):
        raise ValueError(f"intervals must be 'interval' or 'none', got {intervals!r}")


def format_risk_table(
    table: xr.Dataset,
    *,
    intervals: IntervalStyle = "interval",
    fmt: OutputFormat = "text",
    width: int | None = None,
) -> str:
    """:func:`risk_table` rendered: one group of rows per metric, one column per strategy.

    Text cells read ``estimate [lower, upper]`` (the interval under the estimate when the
    table would be wider than ``width``, default the terminal's); shares as percent,
    money in the currency with k/M/bn, units with separators or k/M, days as integers;
    intervals clipped to the possible range (stated in a note). ``fmt`` is ``"text"``,
    ``"markdown"``, ``"csv"`` or ``"json"`` (records, unformatted numbers).
    """
    _check_style(intervals)
    return render([risk_table_section(table, intervals=intervals)], fmt, width)


# ----------------------------------------------------------------------------- comparison


def comparison_records(cmp: xr.Dataset) -> list[dict[str, Any]]:
    """One record per (statistic, strategy) of :func:`compare` (differences: no clipping)."""
    c = cmp.compute()
    strategies = [str(s) for s in c["strategy"].values]
    unit = _records_units(str(c.attrs.get("units", "")), c.attrs.get("currency"))
    out = []
    for stat in [str(v) for v in c["statistic"].values]:
        sc = c.sel(statistic=stat)
        for i, s in enumerate(strategies):
            out.append(
                {
                    "table": "comparison",
                    "metric": str(c.attrs.get("variable", "")),
                    "statistic": stat,
                    "strategy": s,
                    "estimate": _number(sc["estimate"].values[i]),
                    "lower": _number(sc["lower"].values[i]),
                    "upper": _number(sc["upper"].values[i]),
                    "units": "1" if stat.startswith("p_") else unit,
                    "se": _number(sc["se"].values[i]),
                    "width_ratio": _number(sc["width_ratio"].values[i]),
                    "n": _number(c["n"].values[i]),
                    "baseline": str(c.attrs.get("baseline", "")),
                }
            )
    return out


def comparison_layout(cmp: xr.Dataset, currency: str | None = None) -> Table:
    """:func:`compare` as a :class:`Table`: rows = statistics, columns = strategies."""
    c = cmp.compute()
    currency = c.attrs.get("currency") if currency is None else currency
    symbol = currency_symbol(currency)
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
    rows = []
    for stat in [str(v) for v in c["statistic"].values]:
        sc = c.sel(statistic=stat)
        est = [float(v) for v in sc["estimate"].values]
        lo = [float(v) for v in sc["lower"].values]
        hi = [float(v) for v in sc["upper"].values]
        if stat.startswith("p_"):
            fmt = number_format("share", [])
        else:
            kind = quantity_kind(unit)
            fmt = number_format(kind, [*est, *lo, *hi], symbol=symbol, signed=True)
        cells = []
        for e, low, high in zip(est, lo, hi, strict=True):
            ci = f"[{fmt(low)}, {fmt(high)}]" if math.isfinite(low) or math.isfinite(high) else None
            cells.append((fmt(e), ci))
        rows.append(Row(labels.get(stat, stat), cells))
        ratios = sc["width_ratio"].values
        if np.any(np.isfinite(ratios)):
            rows.append(
                Row(
                    "  width paired/unpaired",
                    [(f"{float(r):.2f}" if np.isfinite(r) else "n/a", None) for r in ratios],
                )
            )
    rows.append(Row("paired paths", [(f"{int(v):,}", None) for v in c["n"].values]))
    conf = float(c.attrs.get("confidence", 0.95))
    label = unit_label(unit, currency)
    unit_text = f" [{label}]" if label and unit != "1" else ""
    title = (
        f"Paired comparison of {c.attrs.get('variable', '')}{unit_text} against "
        f"{c.attrs.get('baseline', '')!r} (strategy minus baseline, {_pct(conf)}% CIs)"
    )
    if c.attrs.get("tail_interval") == "influence":
        how = "paired influence functions"
    else:
        how = (
            f"paired bootstrap, {c.attrs.get('n_boot', 0)} resamples, seed {c.attrs.get('seed', 0)}"
        )
    note = f"P(better) counts paths where the strategy is strictly better; VaR/CVaR CIs: {how}."
    return Table(title, "statistic", strategies, rows, [note])


def comparison_section(
    cmp: xr.Dataset, *, intervals: IntervalStyle = "interval", currency: str | None = None
) -> Section:
    """:func:`compare` as a :class:`Section` of a command's output."""
    layout = comparison_layout(cmp, currency)
    records = comparison_records(cmp)
    if currency:  # a currency given here wins over the comparison's own attribute
        for r in records:
            if r["units"] in ("currency", cmp.attrs.get("currency")):
                r["units"] = currency
    return Section(
        "comparison",
        lambda width: layout.text(width, intervals),
        lambda: layout.markdown(intervals),
        tuple(records),
    )


def format_comparison(
    cmp: xr.Dataset,
    *,
    intervals: IntervalStyle = "interval",
    fmt: OutputFormat = "text",
    width: int | None = None,
) -> str:
    """:func:`compare` rendered: rows = statistics, columns = strategies.

    Differences are strategy minus baseline (signed; fill-rate differences in percentage
    points); "width paired/unpaired" rows show how much narrower common random numbers
    make each interval. ``fmt`` and ``width`` as in :func:`format_risk_table`.
    """
    _check_style(intervals)
    return render([comparison_section(cmp, intervals=intervals)], fmt, width)
