"""The stress test's ranked table (most exposed node first, per strategy) and records.

Text: one table per strategy, a row per node in rank order (``top`` rows when given),
with the TTR and where it came from, the TTS (P50 [P5, P95], or the single number of the
deterministic mode), the probability of no shortage, TTR - TTS, the lost units and lost
margin caused (mean [95% CI], P95) and the REI. Records (json): every figure of every
node x strategy, unformatted.
"""

from __future__ import annotations

import math
from typing import Any

import xarray as xr

from resilience.risk.format import (
    Row,
    Section,
    Table,
    format_cell_parts,
    format_number,
    money_label,
)

__all__ = ["stress_records", "stress_section"]

_SOURCE = {"scenario": "ttr_days", "option": "--ttr-days", "p90": "P90", "default": "default"}


def _f(x: Any) -> float:
    return float(x) if x is not None else math.nan


def _days(x: float) -> str:
    return "none" if not math.isfinite(x) else f"{x:g}"


def stress_records(ds: xr.Dataset) -> list[dict[str, Any]]:
    """One record per node x strategy, in rank order within each strategy."""
    records = []
    for strategy in ds.strategy.values.tolist():
        s = ds.sel(strategy=strategy)
        order = sorted(s.node.values.tolist(), key=lambda n: int(s["rank"].sel(node=n)))
        for node in order:
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
                        for stat in (
                            "mean",
                            "mean_lower",
                            "mean_upper",
                            "p95",
                            "p95_lower",
                            "p95_upper",
                        )
                    },
                    "rei": _f(x.rei),
                    "start_day": int(ds.attrs["start_day"]),
                    "paths": int(ds.attrs["paths"]),
                }
            )
    return records


def _layout(ds: xr.Dataset, strategy: str, top: int | None) -> Table:
    deterministic = bool(ds.attrs.get("deterministic"))
    money = money_label(ds.attrs.get("currency"))
    s = ds.sel(strategy=strategy)
    order = sorted(s.node.values.tolist(), key=lambda n: int(s["rank"].sel(node=n)))
    if top:
        order = order[:top]
    columns = [
        "rank",
        "TTR d (source)",
        "TTS d" if deterministic else "TTS d P50 [P5, P95]",
        "TTR-TTS d",
        "lost units" if deterministic else "lost units mean [95% CI]",
        *([] if deterministic else ["lost units P95"]),
        f"lost margin {money}" if deterministic else f"lost margin {money} mean [95% CI]",
        *([] if deterministic else ["P(no shortage)"]),
        "REI",
    ]
    rows = []
    for node in order:
        x = s.sel(node=node)
        q = x.tts_quantile
        p50 = _f(q.sel(quantile=0.5))
        tts = (
            (_days(p50), None)
            if deterministic
            else (
                _days(p50),
                f"[{_days(_f(q.sel(quantile=0.05)))}, {_days(_f(q.sel(quantile=0.95)))}]",
            )
        )
        lost = format_cell_parts(
            _f(x.lost_units_mean), _f(x.lost_units_mean_lower), _f(x.lost_units_mean_upper), "units"
        )
        margin = format_cell_parts(
            _f(x.lost_margin_mean),
            _f(x.lost_margin_mean_lower),
            _f(x.lost_margin_mean_upper),
            "currency",
        )
        cells = [
            (str(int(x["rank"])), None),
            (f"{int(x.ttr_days)} ({_SOURCE.get(str(x.ttr_source.values), '?')})", None),
            tts,
            (_days(_f(x.ttr_minus_tts)), None),
            lost if not deterministic else (lost[0], None),
            *([] if deterministic else [(format_number(_f(x.lost_units_p95), "units"), None)]),
            margin if not deterministic else (margin[0], None),
            *([] if deterministic else [(format_number(_f(x.p_no_shortage), "1"), None)]),
            (f"{_f(x.rei):.2f}", None),
        ]
        rows.append(Row(node, cells))
    mode = (
        "deterministic (demand at its mean, no random disruption, one path)"
        if deterministic
        else f"{int(ds.attrs['paths']):,} paths, seed {ds.attrs['seed']}"
    )
    title = (
        f"Stress test, strategy {strategy}: a full outage of each node for its TTR from day "
        f"{ds.attrs['start_day']} ({mode}); most exposed first"
    )
    notes = [
        "TTS = days from the outage start to the first unmet demand the outage caused "
        "(before the baseline's own); none: no shortage caused. Lost units and margin are "
        "paired differences against the same paths without the outage. REI = a node's "
        "mean lost margin caused / the worst node's.",
    ]
    if top and top < s.sizes["node"]:
        notes.append(f"Top {top} of {s.sizes['node']} nodes; --top 0 shows all.")
    return Table(title, "node", columns, rows, notes)


def stress_section(ds: xr.Dataset, top: int | None = None) -> Section:
    """The ranked tables of every strategy (text, markdown) and all the records (json)."""
    tables = [_layout(ds, s, top) for s in ds.strategy.values.tolist()]
    return Section(
        name="stress",
        text=lambda width: "\n".join(t.text(width) for t in tables),
        markdown=lambda: "\n".join(t.markdown() for t in tables),
        records=tuple(stress_records(ds)),
    )
