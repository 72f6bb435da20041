"""``resilience run SCENARIO``: simulate every strategy, print the risk table, write the result."""

from __future__ import annotations

import time
from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command


@click.command()
@command
@click.argument("scenario", type=click.Path(path_type=Path))
@opt.paths_option
@opt.seed_option
@opt.strategy_option
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the dataset here (.zarr or .nc). Default: print the table only.",
)
@opt.execution_options
@opt.node_detail_option
@opt.shard_option
@opt.random_disruptions_option
@opt.overwrite_option
@opt.baseline_option
@opt.risk_measure_option
@opt.format_option
def run(
    scenario,
    paths,
    seed,
    strategies,
    out,
    execution,
    node_detail,
    shard,
    random_disruptions,
    overwrite,
    baseline,
    risk_measure,
    fmt,
    quiet,
):
    """Simulate SCENARIO (a YAML file) and compare its sourcing strategies.

    Prints first the decision summary (which strategy buys the most risk reduction per
    unit of cost, against the baseline, on the same paths), then, per strategy: fill rate
    (mean, P5, P1), lost units and total cost (mean, P50, P95, P99, CVaR95), stockout days
    P95 and the number of paths (a backorder run shows late units and the backlog instead
    of lost units). --format markdown / csv / json prints the same figures as pipe tables
    or machine-readable records; the closing lines then go to stderr.
    """
    # imported when the command runs, so `resilience --help` does not load numba and xarray
    from resilience.api import open_results, run_to_file, simulate
    from resilience.risk import risk_table
    from resilience.risk.decision import decision_summary, summary_section
    from resilience.risk.format import render, risk_table_section
    from resilience.risk.tables import table_columns

    started = time.perf_counter()
    if shard is not None and out is None:
        raise click.UsageError("--shard needs --out: each shard writes a result to merge")
    if out is None:
        ds = simulate(
            str(scenario),
            paths,
            seed,
            strategies or None,
            execution=execution,
            random_disruptions=random_disruptions,
            node_detail=node_detail,
        )
    else:
        run_to_file(
            str(scenario),
            out,
            paths,
            seed,
            strategies or None,
            shard=shard,
            overwrite=overwrite,
            execution=execution,
            random_disruptions=random_disruptions,
            node_detail=node_detail,
        )
        ds = open_results(out)
    elapsed = time.perf_counter() - started
    sections = []
    with opt.progress_bar(2, "risk figures", quiet) as bar:
        if ds.sizes["strategy"] > 1:
            sections.append(summary_section(decision_summary(ds, baseline, risk_measure)))
        bar.update()
        sections.append(risk_table_section(risk_table(ds, columns=table_columns(ds))))
        bar.update()
    to_stderr = fmt in ("csv", "json")  # keep stdout machine-readable
    click.echo(render(sections, fmt), nl=not to_stderr)
    n_strategies = ds.sizes["strategy"]
    n_paths = ds.sizes["path"]
    node_days = n_paths * n_strategies * ds.sizes["day"] * ds.sizes["node"]
    footer = (
        f"{n_paths:,} paths x {n_strategies} strategies in {elapsed:.1f} s "
        f"({node_days / elapsed:.3g} node-days/s), seed {seed}"
    )
    if shard is not None:
        footer += f"; shard {shard} (paths {int(ds.attrs['path_start']):,}.."
        footer += f"{int(ds.attrs['path_start']) + n_paths - 1:,} of {paths:,})"
    click.echo(footer, err=to_stderr)
    if out is not None:
        click.echo(f"Result written to {out}", err=to_stderr)
