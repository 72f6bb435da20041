"""``resilience merge SHARD... --out RESULT``: combine array-job shards into one result."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli import options as opt
from resilience.cli.boundary import command


@click.command()
@command
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="Write the merged result here (.zarr or .nc).",
)
@opt.overwrite_option
def merge(shards, out, overwrite, quiet):
    """Merge the shard results SHARDS (written by `run --shard`, `sweep --shard` or
    `stress --shard`).

    Every shard 0..N-1 of one run must be given exactly once; shards of different
    scenarios, seeds, path counts, strategies or sweeps are refused, and so are stress
    shards of different starts, modes, nodes or TTRs and a stress shard among run shards.
    The merged result is bit-identical to a single-machine run with the same seed (a
    stress test's summaries are computed from all the merged paths).
    """
    # imported when the command runs, so `resilience --help` does not load xarray
    from resilience.api import merge as merge_shards

    merge_shards(shards, out, overwrite=overwrite)
    click.echo(f"Merged {len(shards)} shards into {out}")
