"""Reusable click options and the error boundary shared by the commands."""

from __future__ import annotations

import functools
import logging
import signal
import sys
import traceback
from pathlib import Path

import click

from resilience.errors import ResilienceError

paths_option = click.option(
    "--paths",
    "-n",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Number of disruption paths per strategy.",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=0,
    show_default=True,
    help="Random seed; the same seed gives bit-identical results however the run is split.",
)
strategy_option = click.option(
    "--strategy",
    "-s",
    "strategies",
    multiple=True,
    metavar="NAME",
    help="Strategy to run (repeatable; default: all).",
)
block_size_option = click.option(
    "--block-size",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Paths per kernel call (default 4096). Does not change results; a multiple of 32 "
        "is fastest (the kernel runs paths in groups of 32)."
    ),
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Start a local Dask cluster of N worker processes for this run.",
)
scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786.",
)
threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads of the local threaded scheduler (default: all cores).",
)
cluster_option = click.option(
    "--cluster",
    type=click.Choice(["slurm", "pbs"]),
    default=None,
    help="Run the blocks on Dask workers started as SLURM or PBS batch jobs (dask-jobqueue).",
)
cluster_config_option = click.option(
    "--cluster-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="YAML options of the --cluster jobs: queue, account, cores, memory, walltime, jobs, "
    "... (docs/cluster.md).",
)


def execution_options(func):
    """How a command runs its blocks (block size, threads, Dask workers, scheduler or
    batch cluster): the same options, in the same order, on every simulating command."""
    for option in reversed(
        [
            block_size_option,
            threads_option,
            workers_option,
            scheduler_option,
            cluster_option,
            cluster_config_option,
        ]
    ):
        func = option(func)
    return func


def _parse_shard(ctx, param, value):
    if value is None:
        return None
    from resilience.shards import parse_shard

    try:
        return parse_shard(value)
    except ResilienceError as exc:
        raise click.BadParameter(str(exc)) from None


shard_option = click.option(
    "--shard",
    metavar="I/N",
    default=None,
    callback=_parse_shard,
    help="Run only shard I of N (0-based; e.g. $SLURM_ARRAY_TASK_ID/100) and write a shard "
    "result; `resilience merge` combines them, bit-identical to one run.",
)
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing result at --out.",
)
quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar or log messages.",
)
debug_option = click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an error.",
)


def _terminate(signum, frame):
    # SIGTERM (a batch scheduler's kill, a cluster pre-emption) unwinds like Ctrl-C, so the
    # atomic writers remove their temporary output.
    raise SystemExit(128 + signum)


def error_boundary(func):
    """Turn expected errors into one readable line on stderr and a non-zero exit.

    ``ResilienceError`` and bad values (``ValueError``, ``OSError``) exit with 1;
    ``--debug`` shows the traceback instead. Ctrl-C exits with 130.
    """

    @functools.wraps(func)
    def wrapper(*args, debug=False, quiet=False, **kwargs):
        if threading_main():
            signal.signal(signal.SIGTERM, _terminate)
        logging.basicConfig(
            level=logging.WARNING if quiet else logging.INFO,
            format="%(message)s",
            stream=sys.stderr,
        )
        try:
            return func(*args, quiet=quiet, **kwargs)
        except (ResilienceError, ValueError, OSError) as exc:
            if debug:
                traceback.print_exc()
            message = str(exc).strip().replace("\n", "\n  ")
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; no result was written.", err=True)
            sys.exit(130)

    return debug_option(quiet_option(wrapper))


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
