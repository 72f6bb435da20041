"""``resilience stress SCENARIO``: a scripted full outage of every node in turn, ranked."""

from __future__ import annotations

import time
from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command


def _node_list(ctx, param, value):
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("give node names separated by commas, e.g. --nodes fab,plant")
    return names


@click.command()
@command
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--nodes",
    metavar="A,B,...",
    default=None,
    callback=_node_list,
    help="Nodes to stress, separated by commas (default: every node).",
)
@opt.strategy_option
@click.option(
    "--paths",
    "-n",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Paths per strategy of every run (the baseline and one per node).",
)
@opt.seed_option
@click.option(
    "--start",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="First day of each outage: after the network has settled from its initial state.",
)
@click.option(
    "--ttr-days",
    type=click.IntRange(min=1),
    default=None,
    help="Time-to-recover of the nodes without ttr_days in the scenario (default: the P90 "
    "of the node's outage-length distribution, else 14 days).",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="Demand at its mean and no random disruption, one path: the classic single-number "
    "time-to-survive of each node.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Rows per strategy in the text table, most exposed first (0: every node).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the dataset (dims node, strategy, path, quantile) here (.zarr or .nc).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a report folder here: the nodes x strategies heat map of the REI "
    "(stress-heatmap.png) and stress.html (heat map and ranked tables).",
)
@opt.shard_option
@opt.random_disruptions_option
@opt.overwrite_option
@opt.execution_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "csv", "json"]),
    default="text",
    show_default=True,
    help="text or markdown (ranked tables), csv or json (every figure of every node x "
    "strategy, unformatted, bounds included).",
)
def stress(
    scenario,
    nodes,
    strategies,
    paths,
    seed,
    start,
    ttr_days,
    deterministic,
    top,
    out,
    report_dir,
    shard,
    random_disruptions,
    overwrite,
    execution,
    fmt,
    quiet,
):
    """Stress every node of SCENARIO: a full outage of its time-to-recover (TTR) from day
    --start, under every strategy, on the same paths as the run without it.

    TTR per node: its ttr_days in the scenario, else --ttr-days, else the P90 of its
    outage-length distribution, else 14 days (the table says which). Per node and
    strategy: the time-to-survive (days from the outage start to the first shortage it
    caused: P50 [P5, P95]), TTR - TTS, the lost units and lost margin caused (paired
    differences: mean with its 95% CI, P95), the probability that the outage caused no
    shortage, and the REI (mean lost margin caused / the worst node's). Ranked most
    exposed first.

    --shard I/N runs every run of the test on the I-th of N ranges of the paths and writes
    its per-path figures to --out; `resilience merge` joins the N shards into the dataset
    (and the figures) of one unsharded test with the same seed, bit for bit; `resilience
    report` on the merged dataset writes the heat map and the page.
    """
    # imported when the command runs, so `resilience --help` does not load numba and xarray
    from resilience.api import stress as run_stress
    from resilience.report.stress import check_stress_report_folder, write_stress_report
    from resilience.risk.format import render
    from resilience.stress import stress_section

    if shard is not None and out is None:
        raise click.UsageError("--shard needs --out: each shard writes a result to merge")
    if shard is not None and report_dir is not None:
        raise click.UsageError(
            "--report needs the whole test: merge the shards, then `resilience report`"
        )
    if report_dir is not None:
        check_stress_report_folder(report_dir)  # before the runs, not after them
    started = time.perf_counter()
    ds = run_stress(
        str(scenario),
        nodes=nodes,
        strategies=strategies or None,
        paths=paths,
        seed=seed,
        start=start,
        ttr_days=ttr_days,
        deterministic=deterministic,
        out=out,
        overwrite=overwrite,
        execution=execution,
        shard=shard,
        random_disruptions=random_disruptions,
    )
    elapsed = time.perf_counter() - started
    if shard is not None:  # per-path figures only: the summaries come at the merge
        first = int(ds.attrs["path_start"])
        click.echo(
            f"Stress shard {shard}: {ds.sizes['node'] + 1} runs x {ds.sizes['strategy']} "
            f"strategies, paths {first:,}..{first + ds.sizes['path'] - 1:,} of {paths:,} in "
            f"{elapsed:.1f} s, seed {seed}; written to {out} (`resilience merge` the shards)"
        )
        return
    to_stderr = fmt in ("json", "csv")  # keep stdout machine-readable
    click.echo(render([stress_section(ds, top or None)], fmt), nl=not to_stderr)
    runs = ds.sizes["node"] + 1
    click.echo(
        f"{runs} runs ({ds.sizes['node']} nodes + the baseline) x {ds.sizes['strategy']} "
        f"strategies x {ds.attrs['paths']:,} paths in {elapsed:.1f} s, seed {seed}",
        err=to_stderr,
    )
    if out is not None:
        click.echo(f"Result written to {out}", err=to_stderr)
    if report_dir is not None:
        page = write_stress_report(ds, report_dir)
        click.echo(f"Report (heat map and ranked tables) written to {page}", err=to_stderr)
