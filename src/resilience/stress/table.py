"""The stress test's ranked table (most exposed node first, per strategy) and records.

Text and markdown: one table per strategy, a row per node in rank order (``top`` rows
when given): the TTR, the TTS (P50 with [P5, P95] under it, or the single number of the
deterministic mode), TTR - TTS, the probability that the outage caused no shortage, the
lost units caused (mean +/- its 95% half-width, P95), the lost margin caused (mean +/-)
and the REI; where each TTR came from is a note under the table. It fits 100 columns
for node names up to 15 characters. Records (json, csv): every figure of every node x
strategy, unformatted, bounds included.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import xarray as xr

from resilience.risk.format import (
    Row,
    Section,
    Table,
    money_label,
    number_format,
    terminal_width,
)
from resilience.risk.numbers import currency_symbol

__all__ = ["SOURCE_TEXT", "stress_records", "stress_section"]

#: How the note under a table names each TTR source (``ttr_source``).
SOURCE_TEXT = {
    "scenario": "the node's ttr_days in the scenario",
    "option": "--ttr-days",
    "p90": "the P90 of the node's own outage-length distribution",
    "default": "no outage process: the default",
}

_STATS = ("mean", "mean_lower", "mean_upper", "p95", "p95_lower", "p95_upper")


def _f(x: Any) -> float:
    return float(x) if x is not None else math.nan


def _days(x: float) -> str:
    return "none" if not math.isfinite(x) else f"{x:g}"


def _order(s: xr.Dataset) -> list[str]:
    return sorted(s.node.values.tolist(), key=lambda n: int(s["rank"].sel(node=n)))


def stress_records(ds: xr.Dataset) -> list[dict[str, Any]]:
    """One record per node x strategy, in rank order within each strategy."""
    records = []
    for strategy in ds.strategy.values.tolist():
        s = ds.sel(strategy=strategy)
        for node in _order(s):
            x = s.sel(node=node)
            q = x.tts_quantile
            records.append(
                {
                    "table": "stress",
                    "strategy": strategy,
                    "node": node,
                    "rank": int(x["rank"]),
                    "ttr_days": int(x.ttr_days),
                    "ttr_source": str(x.ttr_source.values),
                    "tts_p5": _f(q.sel(quantile=0.05)),
                    "tts_p50": _f(q.sel(quantile=0.5)),
                    "tts_p95": _f(q.sel(quantile=0.95)),
                    "p_no_shortage": _f(x.p_no_shortage),
                    "p_no_shortage_lower": _f(x.p_no_shortage_lower),
                    "p_no_shortage_upper": _f(x.p_no_shortage_upper),
                    "ttr_minus_tts": _f(x.ttr_minus_tts),
                    **{
                        f"{name}_{stat}": _f(x[f"{name}_{stat}"])
                        for name in ("lost_units", "lost_margin")
                        for stat in _STATS
                    },
                    "rei": _f(x.rei),
                    "start_day": int(ds.attrs["start_day"]),
                    "paths": int(ds.attrs["paths"]),
                }
            )
    return records


def _mean_cell(x: xr.Dataset, name: str, kind: str, symbol: str, exact: bool):
    """``(mean, "+/-" half-width)`` in one number format; the half-width of the normal
    interval, which is symmetric. No half-width in the deterministic mode."""
    est = _f(x[f"{name}_mean"])
    half = (_f(x[f"{name}_mean_upper"]) - _f(x[f"{name}_mean_lower"])) / 2.0
    fmt = number_format(kind, [est, half], symbol=symbol)
    if exact or not math.isfinite(half) or half == 0.0:
        return fmt(est), None
    return fmt(est), f"+/-{fmt(half)}"


def _rei(x: float) -> str:
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text  # a tiny negative difference is noise


def ttr_note(ds: xr.Dataset) -> str:
    """Where the TTRs came from: the commonest source for "every node" (or "every other
    node"), the others naming their nodes."""
    groups: dict[str, list[str]] = {}
    for node, source in zip(ds.node.values.tolist(), ds.ttr_source.values.tolist(), strict=True):
        groups.setdefault(str(source), []).append(str(node))
    common = max(groups, key=lambda k: len(groups[k]))
    parts = []
    for source, nodes in groups.items():
        days = sorted({int(ds.ttr_days.sel(node=n)) for n in nodes})
        text = SOURCE_TEXT.get(source, source)
        if source in ("option", "default"):
            text += f" ({', '.join(map(str, days))} days)"
        if source == common:
            who = "every node" if len(groups) == 1 else "every other node"
            parts.insert(0, f"{who}: {text}")
        else:
            parts.append(f"{', '.join(nodes)}: {text}")
    first, *rest = parts
    return (
        "TTR (time-to-recover, the outage's length, an input) of " + "; ".join([first, *rest]) + "."
    )


def _layout(ds: xr.Dataset, strategy: str, top: int | None) -> Table:
    exact = bool(ds.attrs.get("deterministic"))
    currency = ds.attrs.get("currency")
    symbol = currency_symbol(currency)
    money = money_label(currency)
    s = ds.sel(strategy=strategy)
    order = _order(s)
    if top:
        order = order[:top]
    columns = [
        "TTR",
        "TTS",
        "TTR-TTS",
        *([] if exact else ["P(none)"]),
        "lost units",
        *([] if exact else ["units P95"]),
        # a currency without a code is named by the notes' "margin", not a long header
        "lost margin" if money == "currency" else f"lost margin {money}",
        "REI",
    ]
    rows = []
    for node in order:
        x = s.sel(node=node)
        q = x.tts_quantile
        p50 = _days(_f(q.sel(quantile=0.5)))
        p5 = _f(q.sel(quantile=0.05))
        # P5 none: no quantile has a shortage, "none" says it once
        spread = f"[{_days(p5)}, {_days(_f(q.sel(quantile=0.95)))}]"
        tts = (p50, None if exact or not math.isfinite(p5) else spread)
        p95 = _f(x.lost_units_p95)
        cells = [
            (str(int(x.ttr_days)), None),
            tts,
            (_days(_f(x.ttr_minus_tts)), None),
            *([] if exact else [(number_format("share", [])(_f(x.p_no_shortage)), None)]),
            _mean_cell(x, "lost_units", "units", "", exact),
            *([] if exact else [(number_format("units", [p95])(p95), None)]),
            _mean_cell(x, "lost_margin", "money", symbol, exact),
            (_rei(_f(x.rei)), None),
        ]
        rows.append(Row(f"{int(x['rank']):>2} {node}", cells))
    title = f"Strategy {strategy}: most exposed node first"
    return Table(title, "   node", columns, rows, [])


def _preamble(ds: xr.Dataset) -> str:
    exact = bool(ds.attrs.get("deterministic"))
    mode = (
        "deterministic: demand at its mean, no random disruption, one path"
        if exact
        else f"{int(ds.attrs['paths']):,} paths per strategy, seed {ds.attrs['seed']}"
    )
    name = ds.attrs.get("scenario_name")
    of = f" of {name}" if name else ""
    return (
        f"Stress test{of}: each node fully out for its TTR from day {ds.attrs['start_day']}, "
        f"one node at a time ({mode})."
    )


def _notes(ds: xr.Dataset, top: int | None) -> list[str]:
    exact = bool(ds.attrs.get("deterministic"))
    if exact:
        tts_text = "TTS = days from the outage start to the first unmet demand it caused"
        loss_text = "Lost units and lost margin: caused by the outage (against the run without it)"
    else:
        tts_text = (
            "TTS = days from the outage start to the first unmet demand it caused (before "
            "any shortage the path had anyway): P50, [P5, P95] under it; none: that share "
            "of paths had no shortage caused. P(none) = the share of paths with none"
        )
        loss_text = (
            "Lost units and lost margin caused: paired differences against the same paths "
            "without the outage, mean +/- the 95% CI half-width; units P95 = a 1-in-20 path"
        )
    notes = [
        f"{tts_text}. {loss_text}. TTR, TTS and TTR-TTS in days; TTR-TTS > 0: the outage "
        "outlasts the stock (the TTR against the P50 TTS). REI (risk exposure index) = mean lost margin caused / "
        "the worst node's; rank by mean lost margin caused.",
        ttr_note(ds),
    ]
    n = ds.sizes["node"]
    if top and top < n:
        notes.append(f"Top {top} of {n} nodes per strategy; --top 0 shows all.")
    return notes


def stress_section(ds: xr.Dataset, top: int | None = None) -> Section:
    """The ranked tables of every strategy (text, markdown) and all the records (json,
    csv)."""
    tables = [_layout(ds, s, top) for s in ds.strategy.values.tolist()]
    # the preamble on the first table, the notes (the same for all) under the last
    tables[-1].notes = _notes(ds, top)
    head = _preamble(ds)

    def text(width: int | None) -> str:
        wrapped = textwrap.fill(head, width or terminal_width())
        return "\n".join([wrapped + "\n", *(t.text(width) for t in tables)])

    return Section(
        name="stress",
        text=text,
        markdown=lambda: "\n".join([head + "\n", *(t.markdown() for t in tables)]),
        records=tuple(stress_records(ds)),
    )
