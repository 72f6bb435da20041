"""Reusable click options shared by the commands (the registry of their spellings)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from resilience.errors import ResilienceError
from resilience.shards import parse_shard

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
        "Paths per kernel call (default 4096). Does not change results; a multiple of 64 "
        "is fastest (the kernel runs paths in groups of 64)."
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
    batch cluster): the same options, in the same order, on every simulating command,
    handed to the command as one ``execution`` settings object."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # imported when the command runs, so `resilience --help` does not load the engine
        from resilience.api import Execution

        settings = {name: kwargs.pop(name) for name in EXECUTION_SETTINGS}
        progress = False if kwargs.get("quiet") else None
        return func(*args, execution=Execution(**settings, progress=progress), **kwargs)

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
        wrapper = option(wrapper)
    return wrapper


EXECUTION_SETTINGS = ("block_size", "threads", "workers", "scheduler", "cluster", "cluster_config")


#: mirrors resilience.engine.NODE_DETAILS (kept literal so --help imports no numba)
node_detail_option = click.option(
    "--node-detail",
    type=click.Choice(["auto", "paths", "summary", "none"]),
    default="auto",
    show_default=True,
    help="What the result keeps of each node: paths (per-path per-node variables), "
    "summary (per-node means, quantiles and shortage probability over paths, computed "
    "as the paths run; its size does not grow with paths), none; auto: paths for "
    "networks of at most 32 nodes, else summary.",
)


def _parse_shard(ctx, param, value):
    if value is None:
        return None
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


def _random_switch(ctx, param, value):
    return False if value else None  # None: the scenario's own random_disruptions


random_disruptions_option = click.option(
    "--no-random-disruptions",
    "random_disruptions",
    is_flag=True,
    callback=_random_switch,
    help="Switch the random disruption processes off (the scenario's random_disruptions: "
    "false, same bits; a strategy's own random_disruptions still decides for it): only the "
    "scripted events disrupt.",
)
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing result at --out.",
)


def _risk_measures() -> list[str]:
    # the names live with the estimators; kept in step by tests/test_decision.py
    return [
        "cvar95_lost_units",
        "p95_lost_units",
        "p99_lost_units",
        "p5_fill_rate",
        "p_stockout",
        "expected_lost_margin",
    ]


baseline_option = click.option(
    "--baseline",
    default=None,
    metavar="STRATEGY",
    help="Strategy the others are compared with (default: the scenario's `baseline:`, "
    "else its first strategy).",
)
risk_measure_option = click.option(
    "--risk-measure",
    type=click.Choice(_risk_measures()),
    default="cvar95_lost_units",
    show_default=True,
    help="Risk measure the decision summary ranks strategies on.",
)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "csv", "json"]),
    default="text",
    show_default=True,
    help="Output: text (aligned to the terminal's width), markdown (pipe tables), csv or "
    "json (records with unformatted numbers, for other programs).",
)


def progress_bar(total: int, desc: str, quiet: bool = False):
    """A tqdm bar on stderr for the steps of a command, shown only on a terminal (never
    with --quiet, never in a pipe or a log file); ``update()`` after each step."""
    # imported when a command runs, so `resilience --help` stays light
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="step",
        file=sys.stderr,
        disable=True if quiet else None,  # None: only when stderr is a terminal
        leave=False,
        bar_format="{desc}: {n_fmt}/{total_fmt} {bar} {elapsed}",
    )


class Probability(click.ParamType):
    """A number strictly between 0 and 1 (NaN and infinities refused, unlike FloatRange)."""

    name = "probability"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not 0.0 < number < 1.0:  # False for NaN too
            self.fail(f"must be strictly between 0 and 1, got {value!r}", param, ctx)
        return number


bootstrap_seed_option = click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(0, 2**64 - 1),
    help="Seed of the bootstrap.",
)
