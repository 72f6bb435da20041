"""The stress test's report: a nodes x strategies heat map of the risk exposure index and
the ranked tables, as PNG and one self-contained HTML page (works from the stress
dataset alone, e.g. one ``resilience stress --out`` wrote).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from resilience.errors import ResultsError
from resilience.report.common import (
    StagedFolder,
    esc,
    figure_html,
    num_cell,
    page,
    png,
    table_html,
)
from resilience.risk.format import money_label
from resilience.risk.numbers import currency_symbol, number_format
from resilience.stress.table import stress_records, ttr_note

__all__ = [
    "HEATMAP_FILE",
    "STRESS_REPORT_FILE",
    "check_stress_report_folder",
    "is_stress",
    "plot_stress_heatmap",
    "write_stress_report",
]

STRESS_REPORT_FILE = "stress.html"
HEATMAP_FILE = "stress-heatmap.png"

_NEEDED = ("rei", "rank", "lost_margin_mean", "tts_quantile", "ttr_days", "p_no_shortage")


def is_stress(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a stress test's dataset (or one of its shards)."""
    return bool(ds.attrs.get("stress_test"))


def _check(ds: xr.Dataset) -> None:
    if not isinstance(ds, xr.Dataset) or not is_stress(ds):
        raise ResultsError("not a stress-test result (resilience stress writes one with --out)")
    if "shard_count" in ds.attrs:
        raise ResultsError(
            f"a shard ({ds.attrs.get('shard')}) of a stress test, per-path figures only: "
            "`resilience merge` its shards, then report the merged result"
        )
    missing = [v for v in _NEEDED if v not in ds.data_vars]
    if missing:
        raise ResultsError(f"the stress result lacks {', '.join(missing)}")


def _node_order(ds: xr.Dataset) -> list[str]:
    """Most exposed first: by the node's largest REI over the strategies, then its best
    rank, then declaration order."""
    rei = ds.rei.transpose("node", "strategy").values
    rank = ds["rank"].transpose("node", "strategy").values
    nodes = ds.node.values.tolist()
    key = {
        n: (-np.nanmax(np.nan_to_num(rei[i], nan=0.0)), int(rank[i].min()), i)
        for i, n in enumerate(nodes)
    }
    return sorted(nodes, key=key.__getitem__)


def plot_stress_heatmap(ds: xr.Dataset) -> Figure:
    """Nodes (rows, most exposed first) x strategies (columns), coloured by the REI (mean
    lost margin caused / the worst node's under that strategy), each cell annotated with
    the REI and the mean lost margin caused."""
    _check(ds)
    nodes = _node_order(ds)
    strategies = [str(s) for s in ds.strategy.values]
    rei = ds.rei.sel(node=nodes).transpose("node", "strategy").values.astype(float)
    margin = ds.lost_margin_mean.sel(node=nodes).transpose("node", "strategy").values
    symbol = currency_symbol(ds.attrs.get("currency"))
    fmt = number_format("money", margin.ravel().tolist(), symbol=symbol)
    fig = Figure(
        figsize=(2.0 + 1.6 * len(strategies), 1.2 + 0.42 * len(nodes)),
        dpi=100,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(np.clip(rei, 0.0, 1.0), cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(len(nodes)):
        for j in range(len(strategies)):
            r = rei[i, j]
            text = "n/a" if not math.isfinite(r) else f"{max(r, 0.0):.2f}\n{fmt(margin[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if math.isfinite(r) and r > 0.6 else "black",
            )
    ax.set_xticks(range(len(strategies)), strategies)
    ax.set_yticks(range(len(nodes)), nodes)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("strategy")
    ax.set_ylabel("node knocked out")
    start = ds.attrs.get("start_day", "?")
    ax.set_title(
        f"Risk exposure index: each node out for its TTR from day {start}\n"
        f"(mean lost margin caused / the worst node's; {money_label(ds.attrs.get('currency'))} "
        "under it)",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, label="REI", shrink=0.8)
    return fig


def _tables_html(ds: xr.Dataset) -> list[str]:
    symbol = currency_symbol(ds.attrs.get("currency"))
    money = money_label(ds.attrs.get("currency"))
    records = stress_records(ds)
    exact = bool(ds.attrs.get("deterministic"))
    header = [
        "rank",
        "node",
        "TTR [days]",
        "TTS [days]" if exact else "TTS P50 [P5, P95] [days]",
        "TTR - TTS [days]",
        *([] if exact else ["P(no shortage caused)"]),
        "lost units caused" + ("" if exact else " (mean, P95)"),
        f"lost margin caused [{money}]" + ("" if exact else " (mean, P95)"),
        "REI",
    ]

    def days(x: float) -> str:
        return "none" if not math.isfinite(x) else f"{x:g}"

    out = []
    for strategy in ds.strategy.values.tolist():
        rows = []
        for r in (r for r in records if r["strategy"] == strategy):
            units = number_format("units", [r["lost_units_mean"], r["lost_units_p95"]])
            cash = number_format(
                "money", [r["lost_margin_mean"], r["lost_margin_p95"]], symbol=symbol
            )
            spread = None if exact else f"[{days(r['tts_p5'])}, {days(r['tts_p95'])}]"
            cells = [
                f"<td>{r['rank']}</td>",
                f"<td>{esc(r['node'])}</td>",
                num_cell(f"{r['ttr_days']}"),
                num_cell(days(r["tts_p50"]), spread),
                num_cell(days(r["ttr_minus_tts"])),
                *([] if exact else [num_cell(f"{100 * r['p_no_shortage']:.1f}%")]),
                num_cell(
                    units(r["lost_units_mean"]),
                    None if exact else f"P95 {units(r['lost_units_p95'])}",
                ),
                num_cell(
                    cash(r["lost_margin_mean"]),
                    None if exact else f"P95 {cash(r['lost_margin_p95'])}",
                ),
                num_cell(f"{max(r['rei'], 0.0):.2f}" if math.isfinite(r["rei"]) else "n/a"),
            ]
            rows.append(f"<tr>{''.join(cells)}</tr>")
        out += [f"<h3>Strategy {esc(strategy)}</h3>", table_html(header, rows)]
    return out


def check_stress_report_folder(out_dir: str | Path) -> None:
    """Raise :class:`ResultsError` now, before a long run, if ``out_dir`` could not take
    the report (it exists and holds something other than a report)."""
    StagedFolder(out_dir, STRESS_REPORT_FILE)


def write_stress_report(ds: xr.Dataset, out_dir: str | Path) -> Path:
    """Write ``stress-heatmap.png`` and a self-contained ``stress.html`` (the heat map
    and the ranked tables) into ``out_dir``; returns the page's path. The folder appears
    only once complete; an existing one is replaced only if it holds a report."""
    _check(ds)
    ds = ds.load()
    folder = StagedFolder(out_dir, STRESS_REPORT_FILE)
    name = str(ds.attrs.get("scenario_name", "results"))
    exact = bool(ds.attrs.get("deterministic"))
    mode = (
        "deterministic (demand at its mean, no random disruption, one path)"
        if exact
        else f"{int(ds.attrs.get('paths', 0)):,} paths per strategy, seed {ds.attrs.get('seed')}"
    )
    with folder:
        image = png(plot_stress_heatmap(ds))
        folder.write(HEATMAP_FILE, image)
        body = [
            f"<h1>Stress test: {esc(name)}</h1>",
            f'<p class="memo">Each node in turn is fully out for its time-to-recover (TTR) '
            f"from day {esc(ds.attrs.get('start_day'))}; every strategy runs on the same "
            f"paths with and without the outage ({esc(mode)}), so every figure is the "
            "outage's own effect, path by path. The risk exposure index (REI) is a node's "
            "mean lost margin caused over the worst node's, per strategy.</p>",
            figure_html(
                "heatmap",
                1,
                "Risk exposure by node and strategy",
                "Darker: more exposed. Each cell: the REI, and the mean lost margin caused "
                "under it.",
                image,
            ),
            "<h2>Nodes ranked by exposure</h2>",
            *_tables_html(ds),
            '<p class="note">TTS (time-to-survive): days from the outage start to the '
            "first unmet demand the outage caused (before any shortage the path had "
            "anyway); none: that share of paths had no shortage caused. Lost units and lost "
            "margin caused: paired differences against the same paths without the outage. "
            f"{esc(ttr_note(ds))}</p>",
        ]
        return folder.write(STRESS_REPORT_FILE, page(f"Stress test: {name}", body))
