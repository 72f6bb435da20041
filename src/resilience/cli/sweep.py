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


def _headline(table, column: str, title: str):
    """(header, rows of label and number texts, records, heading) of one headline figure
    per point (rows) and strategy (columns)."""
    from resilience.risk.format import (  # with xarray: only once a sweep has run
        clip_to_support,
        currency_symbol,
        number_format,
        quantity_kind,
        unit_label,
    )
    from resilience.sweeps import sweep_spec

    spec = sweep_spec(table)
    sel = {"column": column}
    values = table["estimate"].sel(sel).transpose(*spec.names, "strategy")
    bounds = [
        table[k].sel(sel).transpose(*spec.names, "strategy").values.reshape(spec.size, -1)
        if k in table
        else None
        for k in ("lower", "upper")
    ]
    strategies = [str(s) for s in table["strategy"].values]
    units = str(table["units"].sel(sel).values)
    currency = table.attrs.get("currency")
    flat = values.values.reshape(spec.size, len(strategies))
    finite = [float(x) for x in flat.ravel() if math.isfinite(x)]
    fmt = number_format(quantity_kind(units), finite, symbol=currency_symbol(currency))
    metric, statistic = column.split(" ", 1)
    unit = currency if units == "currency" and currency else units
    header = [*spec.names, *strategies]
    rows, records = [], []
    for p in range(spec.size):
        steps = spec.steps(p)
        point = {a.name: a.coordinate()[k] for a, k in zip(spec.axes, steps, strict=True)}
        rows.append([*(str(v) for v in point.values()), *(fmt(float(x)) for x in flat[p])])
        for i, s in enumerate(strategies):
            lo, hi = (math.nan if b is None else float(b[p, i]) for b in bounds)
            lo, hi, _ = clip_to_support(quantity_kind(units), lo, hi)
            records.append(
                {
                    "point": {k: _plain(v) for k, v in point.items()},
                    "table": "sweep",
                    "metric": metric,
                    "statistic": statistic,
                    "strategy": s,
                    "estimate": _finite(flat[p, i]),
                    "lower": _finite(lo),
                    "upper": _finite(hi),
                    "units": unit,
                }
            )
    label = unit_label(units, currency)
    return header, rows, records, f"{title} [{label}]", len(spec.names)


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def format_sweep_table(table, column: str, title: str) -> str:
    """One headline figure per point (rows) and strategy (columns), as plain text: the
    figure's number format (percent, money in k/M/bn, units, days), axes left-aligned."""
    header, rows, _, heading, n_axes = _headline(table, column, title)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < n_axes else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([heading, line(header), *(line(r) for r in rows)])


def sweep_sections(table, headlines=HEADLINES) -> list:
    """The headline tables as output sections (text, markdown, csv / json records)."""
    from resilience.risk.format import Section

    sections = []
    for column, title in headlines:
        header, rows, records, heading, n_axes = _headline(table, column, title)
        text = format_sweep_table(table, column, title) + "\n"
        align = ["---"] * n_axes + ["---:"] * (len(header) - n_axes)
        md = [f"### {heading}", "", _md(header), _md(align), *(_md(r) for r in rows)]
        sections.append(
            Section(
                "sweep",
                lambda width, text=text: text,
                lambda md=md: "\n".join(md) + "\n",
                tuple(records),
            )
        )
    return sections


def _md(cells) -> str:
    return "| " + " | ".join(cells) + " |"


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
@opt.node_detail_option
@opt.shard_option
@opt.overwrite_option
@opt.format_option
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
    node_detail,
    shard,
    overwrite,
    fmt,
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
    from resilience.risk.format import render
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
        node_detail=node_detail,
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
    to_stderr = fmt in ("csv", "json")  # keep stdout machine-readable
    if shard is None:
        text = render(sweep_sections(sweep_table(ds)), fmt)
        click.echo(text, nl=not to_stderr)
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
    click.echo(footer, err=to_stderr)
    click.echo(f"Result written to {out}", err=to_stderr)
