"""``resilience sweep SCENARIO [SWEEP]``: simulate a grid of scenario variants into one dataset."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command
from resilience.errors import SweepError

log = logging.getLogger(__name__)

#: (column of the sweep table, heading) printed after a sweep.
HEADLINES = (
    ("lost_units P95", "P95 lost units"),
    ("total_cost mean", "Mean total cost"),
)


def _check_grid(ctx, param, values):
    # imported when the option is used: the sweeps package loads the engine (numba)
    from resilience.sweeps.spec import parse_grid_option

    for text in values:
        try:
            parse_grid_option(text)
        except SweepError as exc:
            raise click.BadParameter(str(exc)) from None
    return values


def _number(x: float) -> str:
    if not math.isfinite(x):
        return "nan"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def format_sweep_table(table, column: str, title: str) -> str:
    """One headline figure per point (rows) and strategy (columns), as plain text."""
    from resilience.sweeps import sweep_spec  # with xarray: only once a sweep has run

    spec = sweep_spec(table)
    values = table["estimate"].sel(column=column).transpose(*spec.names, "strategy")
    strategies = [str(s) for s in table["strategy"].values]
    header = [*spec.names, *strategies]
    rows = []
    flat = values.values.reshape(spec.size, len(strategies))
    for p in range(spec.size):
        steps = spec.steps(p)
        labels = [str(a.coordinate()[k]) for a, k in zip(spec.axes, steps, strict=True)]
        rows.append([*labels, *(_number(float(x)) for x in flat[p])])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    n_axes = len(spec.names)

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < n_axes else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    units = str(table["units"].sel(column=column).values)
    return "\n".join([f"{title} [{units}]", line(header), *(line(r) for r in rows)])


@click.command()
@command
@click.argument("scenario", type=click.Path(path_type=Path))
@click.argument("sweep_file", metavar="[SWEEP]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--grid",
    "-g",
    multiple=True,
    metavar="[NAME:]PATH=V1,V2,...",
    callback=_check_grid,
    help="Sweep a scenario parameter, e.g. strategies.jic.buffer_days=0,7,30 or "
    "shock_scale=0.5,1,2 (repeatable; one axis each; options sharing NAME: are zipped).",
)
@opt.paths_option
@opt.seed_option
@opt.strategy_option
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="Write the sweep dataset here (.zarr or .nc).",
)
@click.option(
    "--summary-only",
    is_flag=True,
    help="Keep per-point risk figures (mean, P50..P99, CVaR95 of the key metrics) and "
    "per-day bands, not every path.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate every point and list the grid; simulate nothing.",
)
@opt.execution_options
@opt.shard_option
@opt.overwrite_option
def sweep(
    scenario,
    sweep_file,
    grid,
    paths,
    seed,
    strategies,
    out,
    summary_only,
    dry_run,
    execution,
    shard,
    overwrite,
    quiet,
):
    """Simulate every point of a grid of variants of SCENARIO, all with the same seed.

    The grid comes from the YAML file SWEEP and/or --grid options (docs/cluster.md). Each
    point is validated before anything runs. The result has one dimension per sweep
    axis, then strategy and path. An interrupted sweep rerun with the same command skips
    the finished points.
    """
    # imported when the command runs, so `resilience --help` does not load numba and xarray
    from resilience.api import open_results, plan_sweep
    from resilience.api import sweep as run_sweep
    from resilience.sweeps import grid_shape_text, load_sweep, sweep_table

    started = time.perf_counter()
    spec = load_sweep(sweep_file, grid)
    plan = plan_sweep(
        str(scenario),
        spec,
        paths,
        seed,
        strategies or None,
        block_size=execution.block_size,
        summary_only=summary_only,
    )
    n_strategies = len(plan.strategies)
    summary = (
        f"{grid_shape_text(spec)} x {n_strategies} strategies, {paths:,} paths each; "
        f"{len(plan.jobs)} distinct networks to simulate"
    )
    if dry_run:
        click.echo(f"Sweep of {plan.base.name!r}: {summary}. Every point is valid.")
        for axis in spec.axes:
            values = ", ".join(str(v) for v in axis.coordinate())
            paths_text = ", ".join(p.path for p in axis.params)
            click.echo(f"  {axis.name}: {paths_text} = {values}")
        return
    log.info("Sweep of %r: %s", plan.base.name, summary)
    run_sweep(
        plan,
        out,
        shard=shard,
        execution=execution,
        overwrite=overwrite,
    )
    elapsed = time.perf_counter() - started
    ds = open_results(out)
    if shard is None:
        table = sweep_table(ds)
        for column, title in HEADLINES:
            click.echo(format_sweep_table(table, column, title))
            click.echo("")
    points = range(*shard.range(spec.size, "points")) if shard is not None else range(spec.size)
    units = len(plan.jobs_for(points))
    nodes = len(plan.jobs[0].compiled[0].node_names)
    node_days = units * paths * plan.base.horizon_days * nodes
    footer = (
        f"{len(points)} points x {n_strategies} strategies x {paths:,} paths "
        f"({units} distinct networks) in {elapsed:.1f} s ({node_days / elapsed:.3g} "
        f"node-days/s), seed {seed}"
    )
    if shard is not None:
        footer += f"; shard {shard} of the sweep: points {ds.attrs['shard_points']}"
    click.echo(footer)
    click.echo(f"Result written to {out}")
