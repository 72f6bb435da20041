"""Self-contained HTML report of a results dataset: risk table, paired comparisons, figures.

:func:`write_report` writes one PNG per figure and ``report.html`` into a folder. The HTML
needs nothing beside it: images are embedded as base64 data URIs, the CSS is inline, and
there are no scripts, fonts or links to other sites, so it can be mailed or archived as
one file. Everything is computed before anything is written, so a failure leaves no
half-written report.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from resilience.errors import ResultsError
from resilience.report import plots
from resilience.risk import (
    check_strategy,
    compare,
    convergence,
    format_cell_parts,
    format_number,
    risk_table,
)

__all__ = ["FIGURES", "FigureSpec", "REQUIRED_VARIABLES", "write_report"]

#: Variables the report reads; anything else in the dataset is ignored.
REQUIRED_VARIABLES = (
    "demand_units",
    "filled_units",
    "fill_rate",
    "lost_units",
    "total_cost",
    "stockout_days",
    "daily_fill_rate_band",
    "daily_fill_rate_mean",
)

_METADATA = (
    ("scenario_name", "scenario"),
    ("seed", "seed"),
    ("paths", "paths"),
    ("horizon_days", "horizon [days]"),
    ("demand_mode", "demand mode"),
    ("scenario_sha256", "scenario SHA-256"),
    ("resilience_version", "resilience version"),
    ("numba_version", "numba version"),
    ("numpy_version", "numpy version"),
    ("xarray_version", "xarray version"),
    ("created_utc", "created (UTC)"),
)

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: #666; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: file name, title, caption and how to draw it."""

    filename: str
    title: str
    caption: str
    draw: Callable[[xr.Dataset, str], Figure]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "exceedance_lost_units.png",
        "Exceedance curve of lost units",
        "P(lost units > x) per strategy on a log scale, with 95% Wilson bands: how often a "
        "shortfall of at least x units happens. Lower curves are safer.",
        lambda ds, base: plots.plot_exceedance(ds, "lost_units"),
    ),
    FigureSpec(
        "exceedance_total_cost.png",
        "Exceedance curve of total cost",
        "P(total cost > x) per strategy with 95% Wilson bands: the cost tail each strategy "
        "carries, not just its average.",
        lambda ds, base: plots.plot_exceedance(ds, "total_cost"),
    ),
    FigureSpec(
        "fill_rate_distribution.png",
        "Fill-rate distribution",
        "Per-path fill rate by strategy (histogram, log scale) and its lower-tail risk curve "
        "P(fill rate < x); the legend gives the run-level fill rate (ratio of sums).",
        lambda ds, base: plots.plot_fill_rate_distribution(ds),
    ),
    FigureSpec(
        "fill_rate_fan.png",
        "Daily fill-rate fan chart",
        "Network fill rate per day over all paths: P5-P95 band and median (from the daily "
        "histograms, within 1%) and the exact mean.",
        lambda ds, base: plots.plot_fill_rate_fan(ds),
    ),
    FigureSpec(
        "paired_differences_total_cost.png",
        "Paired differences in total cost",
        "Per-path total cost of each strategy minus the baseline's on the same disruption "
        "path (common random numbers); left of 0 the strategy is cheaper.",
        lambda ds, base: plots.plot_paired_differences(ds, "total_cost", base),
    ),
    FigureSpec(
        "paired_differences_lost_units.png",
        "Paired differences in lost units",
        "Per-path lost units of each strategy minus the baseline's on the same path; left of "
        "0 the strategy loses fewer units.",
        lambda ds, base: plots.plot_paired_differences(ds, "lost_units", base),
    ),
    FigureSpec(
        "frontier.png",
        "Cost-risk frontier",
        "Expected total cost against CVaR95 of lost units with 95% intervals; strategies "
        "that another beats on both axes are dominated (grey crosses).",
        lambda ds, base: plots.plot_frontier(ds),
    ),
)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no Software tag: the file should not name a web address, even inside a PNG chunk
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(est: float, lo: float, hi: float, units: str) -> str:
    text, ci = format_cell_parts(est, lo, hi, units)
    body = _esc(text) if ci is None else f'{_esc(text)} <span class="ci">{_esc(ci)}</span>'
    return f'<td class="num">{body}</td>'


def _risk_table_html(table: xr.Dataset) -> str:
    names = [str(s) for s in table["strategy"].values]
    head = "".join(f"<th>{_esc(s)}</th>" for s in names)
    rows = []
    for j in range(table.sizes["column"]):
        col = table.isel(column=j)
        units = str(col["units"].values)
        metric = str(col["metric"].values)
        label = metric if units in ("", "1") else f"{metric} [{units}]"
        cells = "".join(
            _cell(
                float(col["estimate"].values[i]),
                float(col["lower"].values[i]),
                float(col["upper"].values[i]),
                units,
            )
            for i in range(len(names))
        )
        rows.append(
            f"<tr><th>{_esc(label)}</th><td>{_esc(col['statistic'].values)}</td>{cells}</tr>"
        )
    paths = "".join(f'<td class="num">{int(v):,}</td>' for v in table["paths"].values)
    rows.append(f"<tr><th>paths</th><td></td>{paths}</tr>")
    return (
        f"<table><thead><tr><th>metric</th><th>statistic</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _comparison_html(cmp: xr.Dataset) -> str:
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
    head = "".join(f"<th>{_esc(s)}</th>" for s in names)
    rows = []
    for stat in cmp["statistic"].values:
        sc = cmp.sel(statistic=stat)
        u = "1" if str(stat).startswith("p_") else unit
        cells = "".join(
            _cell(
                float(sc["estimate"].values[i]),
                float(sc["lower"].values[i]),
                float(sc["upper"].values[i]),
                u,
            )
            for i in range(len(names))
        )
        ratio = sc["width_ratio"].values
        ratio_cells = "".join(
            f'<td class="num">{_esc(format_number(float(r)))}</td>' for r in ratio
        )
        rows.append(f"<tr><th>{_esc(labels[str(stat)])}</th>{cells}</tr>")
        if np.isfinite(ratio).any():
            rows.append(f'<tr><td class="ci">CI width, paired / unpaired</td>{ratio_cells}</tr>')
    n = "".join(f'<td class="num">{int(v):,}</td>' for v in cmp["n"].values)
    rows.append(f"<tr><th>paired paths</th>{n}</tr>")
    return (
        f"<table><thead><tr><th>statistic</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _convergence_html(conv: xr.Dataset) -> str:
    names = [str(s) for s in conv["strategy"].values]
    head = "".join(f"<th>{_esc(s)}</th>" for s in names)
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
        rows.append(f"<tr><th>{_esc(c['column'].values)}</th>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr><th>figure</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _metadata_html(ds: xr.Dataset) -> str:
    rows = []
    for key, label in _METADATA:
        if key in ds.attrs:
            rows.append(f"<tr><th>{_esc(label)}</th><td>{_esc(ds.attrs[key])}</td></tr>")
    rows.append(
        f"<tr><th>strategies</th><td>{_esc(', '.join(str(s) for s in ds['strategy'].values))}</td></tr>"
    )
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def _check(ds: xr.Dataset, baseline: str, metrics: Sequence[str]) -> None:
    if not isinstance(ds, xr.Dataset):
        raise ResultsError(f"expected an xarray Dataset, got {type(ds).__name__}")
    missing = [v for v in (*REQUIRED_VARIABLES, *metrics) if v not in ds.data_vars]
    if missing:
        raise ResultsError(
            f"results lack variable(s) needed for the report: {', '.join(dict.fromkeys(missing))}"
        )
    for dim in ("strategy", "path", "day"):
        if dim not in ds.dims:
            raise ResultsError(f"results have no {dim!r} dimension")
    check_strategy(ds, baseline)
    if ds.sizes["strategy"] < 2:
        raise ResultsError("a report needs at least two strategies to compare")


def write_report(
    ds: xr.Dataset,
    out_dir: str | Path,
    baseline: str = "jit",
    *,
    metrics: Sequence[str] = ("total_cost", "lost_units", "fill_rate"),
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Path:
    """Write the figures (PNG) and a self-contained ``report.html`` into ``out_dir``.

    Parameters
    ----------
    ds
        Results dataset (docs/results-format.md); dask-backed is fine, the variables the
        report reads are loaded once.
    out_dir
        Folder to write into; created if missing, existing files of the same names are
        replaced.
    baseline
        Strategy the paired comparisons are made against.
    metrics
        Per-path variables of the paired comparison tables.
    confidence, n_boot, seed
        Confidence level of every interval; bootstrap replicates and seed of the paired
        VaR / CVaR intervals.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    ResultsError
        When a needed variable or dimension is missing, or ``baseline`` is unknown.
    """
    _check(ds, baseline, metrics)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out} exists and is not a folder")
    needed = list(dict.fromkeys((*REQUIRED_VARIABLES, *metrics)))
    data = ds[needed].load()

    table = risk_table(data, confidence=confidence).compute()
    comparisons = [
        compare(data, baseline, m, confidence=confidence, n_boot=n_boot, seed=seed).compute()
        for m in metrics
    ]
    conv = convergence(table, rel_precision=0.01, confidence=confidence)
    images = []
    for spec in FIGURES:
        fig = spec.draw(data, baseline)
        images.append((spec, _png(fig)))

    pct = f"{100 * confidence:g}"
    name = ds.attrs.get("scenario_name", "results")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(name)} - resilience report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Disruption risk report: {_esc(name)}</h1>",
        f'<p class="note">{int(ds.sizes["path"]):,} paths per strategy; baseline '
        f"<b>{_esc(baseline)}</b>; brackets are {pct}% confidence intervals.</p>",
        "<h2>Run</h2>",
        _metadata_html(ds),
        "<h2>Risk by strategy</h2>",
        _risk_table_html(table),
        '<p class="note">Fill rate mean is the run-level ratio sum(filled) / sum(demand) with a '
        "delta-method interval; P&lt;q&gt; is the q-th percentile with a distribution-free "
        "order-statistic interval; CVaR95 is the mean of the worst 5% of paths with an "
        "influence-function interval; means have normal intervals.</p>",
        f"<h2>Paired comparison against {_esc(baseline)}</h2>",
        '<p class="note">Every strategy saw the same disruptions (common random numbers), so '
        "differences are taken path by path: strategy minus baseline. P(better) is the share "
        "of paths where the strategy did strictly better. VaR/CVaR intervals come from a "
        f"paired bootstrap ({n_boot} resamples, seed {seed}); the width ratio shows how much "
        "narrower the paired interval is than independent runs would give.</p>",
    ]
    for cmp in comparisons:
        unit = cmp.attrs.get("units", "")
        unit_text = f" [{unit}]" if unit and unit != "1" else ""
        parts.append(f"<h3>{_esc(cmp.attrs['variable'])}{_esc(unit_text)}</h3>")
        parts.append(_comparison_html(cmp))
    parts += [
        "<h2>Precision</h2>",
        f'<p class="note">Relative half-width of each {pct}% interval now, and the paths '
        "needed for &plusmn;1% (standard errors shrink as 1/sqrt(paths)).</p>",
        _convergence_html(conv),
        "<h2>Figures</h2>",
        "<ol>",
        *(
            f'<li><a href="#{_esc(spec.filename[:-4])}">{_esc(spec.title)}</a>: '
            f'{_esc(spec.caption)} <span class="note">({_esc(spec.filename)})</span></li>'
            for spec, _ in images
        ),
        "</ol>",
    ]
    for i, (spec, png) in enumerate(images, start=1):
        data_uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure id="{_esc(spec.filename[:-4])}"><img alt="{_esc(spec.title)}" '
            f'src="{data_uri}"><figcaption><b>Figure {i}. {_esc(spec.title)}.</b> '
            f"{_esc(spec.caption)}</figcaption></figure>"
        )
    if "scenario_text" in ds.attrs:
        parts.append("<h2>Scenario</h2>")
        parts.append(
            f"<details><summary>scenario file</summary><pre>{_esc(ds.attrs['scenario_text'])}</pre></details>"
        )
    parts.append("</body></html>")
    page = "\n".join(parts) + "\n"

    out.mkdir(parents=True, exist_ok=True)
    for spec, png in images:
        (out / spec.filename).write_bytes(png)
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    return report
