"""``resilience optimize SCENARIO OPTIMIZATION``: the least-cost strategy meeting a risk target."""

from __future__ import annotations

import json
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
@opt.execution_options
@opt.overwrite_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output: text for a person, or json (the evaluations, the verification with "
    "intervals and the recommended strategy) for other programs.",
)
def optimize(
    scenario,
    optimization,
    seed,
    evaluations,
    paths,
    verify_paths,
    out,
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
    from resilience.optimize import format_text, result_records

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
    )
    if fmt == "json":
        click.echo(json.dumps(result_records(result), indent=2, default=str))
    else:
        click.echo(format_text(result), nl=False)
