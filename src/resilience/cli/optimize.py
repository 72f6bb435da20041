"""``resilience optimize SCENARIO OPTIMIZATION``: the least-cost strategy meeting a risk target."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command


@click.command()
@command
@click.argument("scenario", type=click.Path(path_type=Path))
@click.argument("optimization", type=click.Path(path_type=Path))
@opt.seed_option
@click.option(
    "--evaluations",
    type=click.IntRange(min=1),
    default=None,
    help="Candidates to simulate (default: the file's budget.evaluations).",
)
@click.option(
    "--paths",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="Paths per evaluation (default: the file's paths).",
)
@click.option(
    "--verify-paths",
    type=click.IntRange(min=1),
    default=None,
    help="Fresh paths of the verification (default: the file's verify.paths).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write every evaluation and the verification as a dataset (.zarr or .nc); the "
    "search is journaled beside it, so a killed run rerun with the same command resumes.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the optimisation's page here: one self-contained HTML file with the "
    "recommendation, the cost-risk frontier of every evaluation and the search's "
    "convergence (`resilience report OUT` draws it later from the dataset).",
)
@opt.execution_options
@opt.overwrite_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "csv", "json"]),
    default="text",
    show_default=True,
    help="Output: text for a person, markdown (pipe tables, the strategy block as a YAML "
    "code block), csv (a record per evaluation and figure, per verified strategy and "
    "figure, per benchmark) or json (the whole result) for other programs.",
)
def optimize(
    scenario,
    optimization,
    seed,
    evaluations,
    paths,
    verify_paths,
    out,
    report,
    execution,
    overwrite,
    fmt,
    quiet,
):
    """Search OPTIMIZATION's decision variables for the strategy of SCENARIO with the
    least objective (e.g. expected total cost) that meets every constraint (e.g.
    P95(lost_units) <= 40000).

    Every candidate is simulated on the same paths (common random numbers); the best few
    are then simulated again on fresh paths with the scenario's strategies, and every
    figure is reported with its confidence interval there. Prints the recommended
    strategy block, ready to paste under `strategies:` (docs/optimize.md).
    """
    # imported when the command runs, so `resilience --help` does not load numba and Optuna
    from resilience.api import optimize as run_optimize
    from resilience.optimize.tables import format_result

    result = run_optimize(
        str(scenario),
        optimization,
        seed=seed,
        out=out,
        overwrite=overwrite,
        evaluations=evaluations,
        paths=paths,
        verify_paths=verify_paths,
        execution=execution,
        report=report,
    )
    click.echo(format_result(result, fmt), nl=False)
    if fmt in ("csv", "json"):  # stdout stays machine-readable; where things went on stderr
        for what, where in (("Evaluations", result.out), ("Report", result.report)):
            if where:
                click.echo(f"{what} written to {where}", err=True)
