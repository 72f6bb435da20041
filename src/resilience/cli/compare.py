"""``resilience compare RESULTS --baseline jit``: paired comparison tables."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command

_PROBABILITY = opt.Probability()


@click.command("compare")
@command
@click.argument("results", type=click.Path(path_type=Path))
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
    "--interval",
    type=click.Choice(["influence", "bootstrap"]),
    default=None,
    help="VaR/CVaR difference intervals: paired influence functions (fast; the default) "
    "or a paired bootstrap (the default when --n-boot is given).",
)
@click.option(
    "--n-boot",
    default=None,
    type=click.IntRange(0, 100_000),
    help="Bootstrap resamples for the VaR/CVaR intervals; implies --interval bootstrap "
    "(default 200 there; 0: no intervals).",
)
@opt.bootstrap_seed_option
@opt.format_option
def compare(
    results: Path,
    baseline: str | None,
    risk_measure: str,
    metrics: tuple[str, ...],
    level: float,
    confidence: float,
    interval: str | None,
    n_boot: int | None,
    seed: int,
    fmt: str,
    quiet: bool,
) -> None:
    """Compare every strategy in RESULTS with the baseline, path by path.

    Prints first the decision summary (extra cost, tail-cost change, risk avoided and cost
    per unit of risk avoided, with intervals, and a verdict per strategy), then, per
    metric, the mean difference, P(better), and the VaR and CVaR differences (strategy
    minus baseline) with confidence intervals. --format markdown / csv / json prints the
    same figures as pipe tables or machine-readable records.
    """
    # imported when the command runs, so `resilience --help` does not load xarray
    from resilience.api import open_results
    from resilience.risk import compare as paired_compare
    from resilience.risk.decision import decision_summary, default_baseline, summary_section
    from resilience.risk.format import comparison_section, render

    ds = open_results(results)
    baseline = baseline or default_baseline(ds)
    tables = []
    with opt.progress_bar(len(metrics) + 1, "comparing", quiet) as bar:
        for metric in metrics:
            cmp = paired_compare(
                ds,
                baseline,
                metric,
                level=level,
                confidence=confidence,
                n_boot=n_boot,
                seed=seed,
                interval=interval,
            ).compute()
            tables.append(comparison_section(cmp))
            bar.update()
        summary = decision_summary(ds, baseline, risk_measure, confidence=confidence)
        bar.update()
    click.echo(render([summary_section(summary), *tables], fmt), nl=False)
