"""Self-contained HTML report of a results dataset, read top-down like an analyst's memo.

:func:`write_report` writes one PNG per figure and ``report.html`` into a folder. The page
reads in this order:

1. the decision summary: a plain-language paragraph, a small table of the paired figures
   (extra cost, change in tail cost, risk avoided, cost per unit of risk avoided, each
   with its interval, and a verdict) and the cost-risk frontier;
2. the risk table, grouped by metric;
3. the paired comparison tables against the baseline;
4. the figures;
5. precision (interval half-widths and the paths needed for +-1%) and provenance (seed,
   scenario hash, versions, creation time, the scenario file) at the end.

A one-strategy result gets the risk table and curves; the memo says there is nothing to
compare. The HTML needs nothing beside it: images are embedded as base64 data URIs, the
CSS is inline, and there are no scripts, fonts or links to other sites, so it can be
mailed or archived as one file. The report is written into a hidden sibling folder and
renamed into place at the end, so a failure never leaves a half-written report, and an
existing folder is only replaced when it holds a report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from matplotlib.figure import Figure

from resilience.errors import ResultsError
from resilience.report import plots
from resilience.report.common import (
    StagedFolder,
    currency_symbol,
    esc,
    figure_html,
    page,
    png,
    progress_bar,
)
from resilience.report.sections import (
    _comparison_html,
    _convergence_html,
    _provenance_html,
    _risk_table_html,
    _summary_table_html,
    _unit_text,
)
from resilience.risk import check_strategy, compare, convergence, risk_table
from resilience.risk.censored import CENSORED_NOTE
from resilience.risk.decision import (
    RISK_MEASURES,
    decision_summary,
    default_baseline,
    summary_paragraph,
)
from resilience.risk.tables import DEFAULT_TABLE_COLUMNS, SURVIVAL_TABLE_COLUMNS

__all__ = ["FIGURES", "FigureSpec", "REQUIRED_VARIABLES", "ReportContext", "write_report"]

#: Variables the report reads; anything else in the dataset is ignored.
REQUIRED_VARIABLES = (
    "demand_units",
    "filled_units",
    "fill_rate",
    "lost_units",
    "total_cost",
    "stockout_days",
    "daily_fill_rate_hist",
    "daily_fill_rate_mean",
)

#: Read when present: the time-to-survive figures of the risk table (older results lack them).
SURVIVAL_VARIABLES = ("time_to_survive_days", "shortage_duration_days", "shortage_start_day")

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class ReportContext:
    """What the figures need beside the data: the baseline, the risk measure, the
    decision summary (None for a one-strategy result) and the confidence."""

    baseline: str
    risk_measure: str
    summary: xr.Dataset | None
    confidence: float


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: file name, title, caption, how to draw it, and whether
    it compares strategies (left out of a one-strategy report)."""

    filename: str
    title: str
    caption: str
    draw: Callable[[xr.Dataset, ReportContext], Figure]
    compares: bool = False


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "frontier.png",
        "Cost against risk",
        "Expected total cost against the risk measure of the decision summary, one point "
        "per strategy with 95% intervals on both axes. The ringed point is the baseline; "
        "efficient strategies are joined and labelled with their cost per unit of risk "
        "avoided; grey crosses are dominated or not distinguishable from the baseline.",
        lambda ds, ctx: plots.plot_frontier(ds, summary=ctx.summary, confidence=ctx.confidence),
        compares=True,
    ),
    FigureSpec(
        "exceedance_lost_units.png",
        "Exceedance curve of lost units",
        "P(lost units > x) per strategy on a log scale, with 95% Wilson bands: how often a "
        "shortfall of at least x units happens. Lower curves are safer; the axis stops at "
        "1 / paths, the rarest event the run can show.",
        lambda ds, ctx: plots.plot_exceedance(ds, "lost_units", confidence=ctx.confidence),
    ),
    FigureSpec(
        "exceedance_total_cost.png",
        "Exceedance curve of total cost",
        "P(total cost > x) per strategy with 95% Wilson bands: the cost tail each strategy "
        "carries, not just its average.",
        lambda ds, ctx: plots.plot_exceedance(ds, "total_cost", confidence=ctx.confidence),
    ),
    FigureSpec(
        "fill_rate_distribution.png",
        "Fill-rate distribution",
        "Per-path fill rate by strategy (histogram, log scale) and its lower-tail risk curve "
        "P(fill rate < x); the legend gives the run-level fill rate (ratio of sums).",
        lambda ds, ctx: plots.plot_fill_rate_distribution(ds),
    ),
    FigureSpec(
        "daily_shortfall.png",
        "Daily shortfall risk",
        "Per day of the horizon, the share of paths that could not serve all of that day's "
        "demand (from the daily fill-rate histograms, with 95% Wilson bands), and below it "
        "the exact mean daily fill rate, zoomed to its range.",
        lambda ds, ctx: plots.plot_daily_shortfall(ds, confidence=ctx.confidence),
    ),
    FigureSpec(
        "paired_differences_total_cost.png",
        "Paired differences in total cost",
        "Per-path total cost of each strategy minus the baseline's on the same disruption "
        "path (common random numbers); left of 0 the strategy is cheaper.",
        lambda ds, ctx: plots.plot_paired_differences(ds, "total_cost", ctx.baseline),
        compares=True,
    ),
    FigureSpec(
        "paired_differences_lost_units.png",
        "Paired differences in lost units",
        "Per-path lost units of each strategy minus the baseline's on the same path; left of "
        "0 the strategy loses fewer units.",
        lambda ds, ctx: plots.plot_paired_differences(ds, "lost_units", ctx.baseline),
        compares=True,
    ),
)


# ----------------------------------------------------------------------------- checks


def _check(ds: xr.Dataset, baseline: str | None, metrics: Sequence[str], risk_measure: str) -> str:
    if not isinstance(ds, xr.Dataset):
        raise ResultsError(f"expected an xarray Dataset, got {type(ds).__name__}")
    if risk_measure not in RISK_MEASURES:
        raise ResultsError(
            f"unknown risk measure {risk_measure!r}; choose one of {', '.join(RISK_MEASURES)}"
        )
    for dim in ("strategy", "path", "day"):
        if dim not in ds.dims:
            raise ResultsError(f"results have no {dim!r} dimension")
    several = ds.sizes["strategy"] > 1
    extra = (*metrics, RISK_MEASURES[risk_measure].variable) if several else ()
    missing = [v for v in (*REQUIRED_VARIABLES, *extra) if v not in ds.data_vars]
    if missing:
        raise ResultsError(
            f"results lack variable(s) needed for the report: {', '.join(dict.fromkeys(missing))}"
        )
    if ds.sizes["strategy"] < 1:
        raise ResultsError("the result has no strategies")
    if baseline is None:
        return default_baseline(ds)
    check_strategy(ds, baseline)
    return baseline


def _columns(ds: xr.Dataset) -> tuple[tuple[str, str], ...]:
    """The risk table's columns: the default ones, and the time-to-survive figures when
    the result has them."""
    if all(v in ds.data_vars for v in SURVIVAL_VARIABLES):
        return (*DEFAULT_TABLE_COLUMNS, *SURVIVAL_TABLE_COLUMNS)
    return DEFAULT_TABLE_COLUMNS


# ----------------------------------------------------------------------------- writer


def write_report(
    ds: xr.Dataset,
    out_dir: str | Path,
    baseline: str | None = None,
    risk_measure: str = "cvar95_lost_units",
    *,
    metrics: Sequence[str] = ("total_cost", "lost_units", "fill_rate"),
    confidence: float = 0.95,
    n_boot: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> Path:
    """Write the figures (PNG) and a self-contained ``report.html`` into ``out_dir``.

    Parameters
    ----------
    ds
        Results dataset (docs/results-format.md); dask-backed is fine, the variables the
        report reads are loaded once. One strategy is enough (no paired sections then).
    out_dir
        Folder to write; it appears only once the report is complete. An existing folder
        is replaced only if it is empty or holds a report (``report.html`` and PNGs).
    baseline
        Strategy the others are compared with; default
        :func:`resilience.risk.decision.default_baseline` (the scenario's ``baseline:``,
        else the first strategy).
    risk_measure
        Risk measure of the decision summary and the frontier, a key of
        :data:`resilience.risk.decision.RISK_MEASURES`.
    metrics
        Per-path variables of the paired comparison tables.
    confidence, n_boot, seed
        Confidence level of every interval; bootstrap replicates and seed of the paired
        VaR / CVaR intervals.
    progress
        A progress bar on stderr for a report that takes more than 2 s: None shows it on
        a terminal only.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    ResultsError
        When a needed variable or dimension is missing, ``baseline`` or ``risk_measure``
        is unknown, or ``out_dir`` exists and is not a report folder.
    """
    baseline = _check(ds, baseline, metrics, risk_measure)
    folder = StagedFolder(out_dir, REPORT_FILE)
    names = [str(s) for s in ds["strategy"].values]
    several = len(names) > 1
    specs = [s for s in FIGURES if several or not s.compares]
    measure_var = RISK_MEASURES[risk_measure].variable
    needed = [*REQUIRED_VARIABLES, *(metrics if several else ()), measure_var]
    needed += SURVIVAL_VARIABLES
    needed = [v for v in dict.fromkeys(needed) if v in ds.data_vars]
    symbol = currency_symbol(ds.attrs)
    steps = 3 + (len(metrics) + 1 if several else 0) + len(specs)
    bar = progress_bar(steps, "report", progress)
    try:
        with folder:
            bar.set_postfix_str("loading")
            data = ds[needed].load()
            data.attrs = dict(ds.attrs)
            bar.update()

            bar.set_postfix_str("risk table")
            table = risk_table(data, columns=_columns(data), confidence=confidence).compute()
            conv = convergence(table, rel_precision=0.01, confidence=confidence)
            bar.update()

            summary = None
            comparisons = []
            if several:
                bar.set_postfix_str("decision summary")
                summary = decision_summary(data, baseline, risk_measure, confidence=confidence)
                bar.update()
                for m in metrics:
                    bar.set_postfix_str(f"paired {m}")
                    comparisons.append(
                        compare(
                            data, baseline, m, confidence=confidence, n_boot=n_boot, seed=seed
                        ).compute()
                    )
                    bar.update()
            ctx = ReportContext(baseline, risk_measure, summary, confidence)

            images: list[tuple[FigureSpec, bytes]] = []
            for spec in specs:
                bar.set_postfix_str(spec.filename)
                image = png(spec.draw(data, ctx))
                folder.write(spec.filename, image)
                images.append((spec, image))
                bar.update()

            bar.set_postfix_str("page")
            text = _page(ds, table, conv, summary, comparisons, images, ctx, symbol, n_boot, seed)
            report = folder.write(REPORT_FILE, text)
            bar.update()
    finally:
        bar.close()
    return report


def _page(ds, table, conv, summary, comparisons, images, ctx, symbol, n_boot, seed) -> str:
    baseline = ctx.baseline
    names = [str(s) for s in ds["strategy"].values]
    pct = f"{100 * ctx.confidence:g}"
    name = str(ds.attrs.get("scenario_name", "results"))
    measure = RISK_MEASURES[ctx.risk_measure]
    n_paths = int(ds.sizes["path"])
    number = {spec.filename: i for i, (spec, _) in enumerate(images, start=1)}
    head = [
        f"<h1>Disruption risk report: {esc(name)}</h1>",
        f'<p class="note">{n_paths:,} paths per strategy'
        + (f", {int(ds.attrs['horizon_days'])}-day horizon" if "horizon_days" in ds.attrs else "")
        + f"; {len(names)} {'strategies' if len(names) > 1 else 'strategy'}: "
        f"{esc(', '.join(names))}"
        + (
            f"; baseline <b>{esc(baseline)}</b>; risk measured as {esc(measure.label)}"
            if len(names) > 1
            else ""
        )
        + f"; brackets are {pct}% confidence intervals.</p>",
    ]
    body = [*head, "<h2>Decision summary</h2>"]
    if summary is None:
        only = names[0]
        body.append(
            f'<p class="memo">This result has one strategy, <b>{esc(only)}</b>: there is '
            "nothing to compare it with, so there is no decision summary, frontier or "
            f"paired comparison. The risk table and the risk curves below describe {esc(only)} "
            "alone. To weigh strategies against each other, run them together with the same "
            "seed: every strategy then sees the same disruptions (common random numbers).</p>"
        )
    else:
        body += [
            f'<p class="memo">{esc(summary_paragraph(summary))}</p>',
            _summary_table_html(summary, symbol),
            '<p class="note">Every figure is a paired difference against '
            f"{esc(baseline)} on the same paths, with a {pct}% influence-function interval "
            "(delta method for the ratio). Risk avoided is positive when the strategy is "
            "safer. Verdicts only count differences distinguishable from zero: "
            "<i>efficient</i> buys risk reduction and no other strategy is both cheaper and "
            "safer; <i>dominated</i> another strategy is cheaper and safer; rank orders the "
            "efficient ones by cost per unit of risk avoided.</p>",
        ]
        frontier = next((im for im in images if im[0].filename == "frontier.png"), None)
        if frontier is not None:
            spec, image = frontier
            body.append(
                figure_html("frontier", number[spec.filename], spec.title, spec.caption, image)
            )
    body += [
        "<h2>Risk by strategy</h2>",
        _risk_table_html(table, ds, symbol),
        '<p class="note">Fill rate mean is the run-level ratio sum(filled) / sum(demand) with a '
        "delta-method interval; P&lt;q&gt; is the q-th percentile with a distribution-free "
        "order-statistic interval; CVaR95 is the mean of the worst 5% of paths with an "
        "influence-function interval; means have normal intervals.</p>",
    ]
    if "time_to_survive_days" in [str(m) for m in table["metric"].values]:
        body.append(
            '<p class="note">Time to survive: days from the onset of the disruption that '
            "caused a path's first shortage (traced to the short DC) to that shortage; "
            "shortage duration: days until service is back. "
            f"{esc(CENSORED_NOTE)}</p>"
        )
    if comparisons:
        body += [
            f"<h2>Paired comparison against {esc(baseline)}</h2>",
            '<p class="note">Every strategy saw the same disruptions (common random numbers), '
            "so differences are taken path by path: strategy minus baseline. P(better) is the "
            "share of paths where the strategy did strictly better. VaR/CVaR intervals: "
            f"{_tail_method(n_boot, seed)}; the width ratio shows "
            "how much narrower the paired interval is than independent runs would give.</p>",
        ]
        for cmp in comparisons:
            unit = str(cmp.attrs.get("units", ""))
            unit_text = _unit_text(unit, symbol)
            label = str(cmp.attrs["variable"]) + (f" [{unit_text}]" if unit_text else "")
            body += [f"<h3>{esc(label)}</h3>", _comparison_html(cmp, symbol)]
    rest = [im for im in images if im[0].filename != "frontier.png"]
    body += ["<h2>Figures</h2>", "<ol>"]
    body += [
        f'<li><a href="#{esc(spec.filename[:-4])}">{esc(spec.title)}</a> '
        f'<span class="note">({esc(spec.filename)})</span></li>'
        for spec, _ in images
    ]
    body.append("</ol>")
    body += [
        figure_html(spec.filename[:-4], number[spec.filename], spec.title, spec.caption, image)
        for spec, image in rest
    ]
    body += [
        "<h2>Precision</h2>",
        f'<p class="note">Relative half-width of each {pct}% interval now, and the paths '
        "needed for &plusmn;1% (standard errors shrink as 1/sqrt(paths)).</p>",
        _convergence_html(conv),
        "<h2>Provenance</h2>",
        _provenance_html(
            ds,
            [
                ("baseline", baseline),
                ("risk measure", ctx.risk_measure),
                ("confidence", f"{pct}%"),
                ("VaR/CVaR intervals", _tail_method(n_boot, seed)),
            ],
        ),
    ]
    if "scenario_text" in ds.attrs:
        body.append(
            "<details><summary>scenario file</summary>"
            f"<pre>{esc(ds.attrs['scenario_text'])}</pre></details>"
        )
    return page(f"{name} - resilience report", body)


def _tail_method(n_boot: int | None, seed: int) -> str:
    if n_boot is None:
        return "paired influence-function (asymptotic) intervals"
    if n_boot == 0:
        return "not computed (--n-boot 0)"
    return f"paired bootstrap ({n_boot} resamples, seed {seed})"
