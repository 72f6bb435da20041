"""``resilience report RESULTS``: figures and a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command


@click.command("report")
@command
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for report.html and the PNGs  [default: <RESULTS stem>_report beside RESULTS]",
)
@opt.baseline_option
@opt.risk_measure_option
@click.option(
    "--n-boot",
    default=None,
    type=click.IntRange(0, 100_000),
    help="Bootstrap the paired VaR/CVaR intervals with this many resamples (0: no "
    "intervals; default: paired influence-function intervals, no resampling).",
)
@opt.bootstrap_seed_option
def report(
    results: Path,
    out_dir: Path | None,
    baseline: str | None,
    risk_measure: str,
    n_boot: int | None,
    seed: int,
    quiet: bool,
) -> None:
    """Write plots and a self-contained HTML report of the results dataset RESULTS.

    The report opens with the decision summary (which strategy buys the most safety per
    unit of money, against the baseline, on the chosen risk measure) and the cost-risk
    frontier, then the risk table, the paired comparisons and the figures. A sweep result
    gets the sweep report (metric-vs-parameter curves and the frontier over every point);
    an optimisation result (`resilience optimize --out`) its page (optimize_report.html:
    the recommendation, the cost-risk frontier and the search's convergence); a stress
    test (`resilience stress --out`, or its merged shards) its page (stress.html: the
    nodes x strategies heat map of the REI and the ranked tables).
    """
    # imported when the command runs, so `resilience --help` does not load matplotlib
    from resilience.api import is_optimization_result, open_results, optimize_report
    from resilience.report import write_report, write_sweep_report
    from resilience.report.stress import is_stress, write_stress_report
    from resilience.sweeps import is_sweep

    if out_dir is None:
        out_dir = results.parent / f"{results.stem}_report"
    if is_optimization_result(results):  # `resilience optimize --out`: the optimisation's page
        click.echo(f"Report written to {optimize_report(results, out_dir)}")
        return
    ds = open_results(results)
    progress = False if quiet else None
    if is_stress(ds):  # `resilience stress --out`: the heat map and the ranked tables
        path = write_stress_report(ds, out_dir)
    elif is_sweep(ds):
        # a sweep: metric-vs-parameter curves and the frontier over every point
        path = write_sweep_report(ds, out_dir)
    else:
        path = write_report(
            ds,
            out_dir,
            baseline=baseline,
            risk_measure=risk_measure,
            n_boot=n_boot,
            seed=seed,
            progress=progress,
        )
    click.echo(f"Report written to {path}")
