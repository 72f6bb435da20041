"""``resilience compare RESULTS --baseline jit``: paired comparison tables."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command

_PROBABILITY = click.FloatRange(0.0, 1.0, min_open=True, max_open=True)


@click.command("compare")
@command
@click.argument("results", type=click.Path(exists=True, path_type=Path))
@opt.baseline_option
@opt.risk_measure_option
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    default=("total_cost", "lost_units", "fill_rate"),
    show_default=True,
    help="Per-path variable to compare; repeat for several.",
)
@click.option("--level", default=0.95, show_default=True, type=_PROBABILITY, help="VaR/CVaR level.")
@click.option(
    "--confidence",
    default=0.95,
    show_default=True,
    type=_PROBABILITY,
    help="Confidence of the intervals.",
)
@click.option(
    "--n-boot",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap resamples for the VaR/CVaR intervals (0: none).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
def compare(
    results: Path,
    baseline: str | None,
    risk_measure: str,
    metrics: tuple[str, ...],
    level: float,
    confidence: float,
    n_boot: int,
    seed: int,
    quiet: bool,
) -> None:
    """Compare every strategy in RESULTS with the baseline, path by path.

    Prints first the decision summary (extra cost, tail-cost change, risk avoided and cost
    per unit of risk avoided, with intervals, and a verdict per strategy), then, per metric, the mean difference, P(better), and the VaR and CVaR differences
    (strategy minus baseline) with confidence intervals.
    """
    # imported when the command runs, so `resilience --help` does not load xarray
    from resilience.api import open_results
    from resilience.risk import compare as paired_compare
    from resilience.risk import format_comparison
    from resilience.risk.decision import decision_summary, default_baseline, format_summary

    ds = open_results(results)
    baseline = baseline or default_baseline(ds)
    tables = []
    for metric in metrics:
        cmp = paired_compare(
            ds, baseline, metric, level=level, confidence=confidence, n_boot=n_boot, seed=seed
        )
        tables.append(format_comparison(cmp))
    summary = decision_summary(ds, baseline, risk_measure, confidence=confidence)
    click.echo("Decision summary\n" + format_summary(summary))
    click.echo("\n".join(tables), nl=False)
