"""The public entry points, and the only module that wires the stages together.

scenario -> compiler -> engine (blocks on threads or a cluster) -> results (sinks and
files) -> risk; sweeps and merges on top. Nothing below this module imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import xarray as xr

from resilience.engine import Execution, PreparedRun, prepare
from resilience.engine.execution import run_prepared
from resilience.merge import merge_shards
from resilience.results import MemorySink, RunLayout, atomic_output, open_results, sink_for
from resilience.scenario import Scenario, load_scenario
from resilience.shards import Shard, parse_shard, path_shard_attributes
from resilience.sweeps import SweepPlan, SweepSpec, load_sweep, plan_sweep, run_sweep

__all__ = [
    "Execution",
    "SweepSpec",
    "load_scenario",
    "load_sweep",
    "merge",
    "open_results",
    "plan_sweep",
    "run_to_file",
    "simulate",
    "sweep",
]


def _layout(run: PreparedRun, extra_attrs: dict | None = None) -> RunLayout:
    return RunLayout.of(
        run.scenario,
        run.compiled,
        run.paths,
        run.seed,
        path_start=run.path_start,
        block_size=run.block_size,
        extra_attrs=extra_attrs,
    )


def simulate(
    scenario: Scenario | str | Path | dict,
    paths: int = 10_000,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    execution: Execution | None = None,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    progress: bool | None = False,
) -> xr.Dataset:
    """Simulate ``paths`` disruption paths of every strategy and return an xarray Dataset.

    Parameters
    ----------
    scenario : Scenario, path or dict
        Loaded with ``resilience.load_scenario`` when not already a Scenario.
    paths, seed : int
        Number of paths and the seed; the same seed gives bit-identical results for any
        block size, thread count, worker count or scheduler.
    strategies : list of str, optional
        Strategy names (default: all, in scenario order).
    execution : Execution, optional
        Where and how blocks run; the keywords below override its fields.
    block_size : int, optional
        Paths per kernel call (default 4096).
    threads, workers, scheduler :
        Threads of the local threaded scheduler; or a local cluster of ``workers``
        processes; or the address of a running Dask scheduler.
    cluster, cluster_config :
        ``"slurm"`` or ``"pbs"``: workers started as batch jobs through dask-jobqueue,
        with the options of the YAML file ``cluster_config`` (docs/cluster.md).
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    xarray.Dataset
        Layout in docs/results-format.md.
    """
    execution = Execution.of(
        execution,
        block_size=block_size,
        threads=threads,
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        cluster_config=cluster_config,
        progress=progress,
    )
    run = prepare(scenario, paths, seed, strategies, execution.block_size)
    sink = MemorySink(_layout(run))
    run_prepared(run, sink, execution)
    return sink.dataset()


def run_to_file(
    scenario: Scenario | str | Path | dict,
    out: str | Path,
    paths: int,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    execution: Execution | None = None,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    shard: Shard | str | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Simulate and write the result to ``out`` (.zarr or .nc), atomically.

    The result is written to a temporary sibling and moved into place only when complete:
    a failed or interrupted run leaves nothing at ``out`` and an existing result untouched.
    ``shard`` ("i/N" or a resilience.shards.Shard) runs only the i-th of N contiguous
    ranges of the paths and marks the result as a shard for ``resilience merge``.
    Execution keywords as for :func:`simulate`.
    """
    execution = Execution.of(
        execution,
        block_size=block_size,
        threads=threads,
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        cluster_config=cluster_config,
        progress=progress,
    )
    out = Path(out)
    shard = parse_shard(shard)
    extra = None
    if shard is None:
        run = prepare(scenario, paths, seed, strategies, execution.block_size)
    else:
        start, stop = shard.range(paths)
        run = prepare(
            scenario, stop - start, seed, strategies, execution.block_size, path_start=start
        )
        extra = path_shard_attributes(
            shard,
            scenario_text=run.scenario.source_text or "",
            seed=run.seed,
            total_paths=paths,
            strategies=[c.name for c in run.compiled],
            path_start=run.path_start,
        )
    with atomic_output(out, overwrite=overwrite) as tmp:
        sink = sink_for(tmp, _layout(run, extra), final_name=out)
        run_prepared(run, sink, execution)
        sink.close()
    return out


def sweep(
    plan: SweepPlan,
    out: str | Path,
    *,
    shard: Shard | str | None = None,
    execution: Execution | None = None,
    executor=None,
    overwrite: bool = False,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    progress: bool | None = None,
) -> Path:
    """Run every point of a planned sweep (``plan_sweep``) not already done into ``out``.

    An interrupted sweep rerun with the same plan resumes from its finished parts.
    ``executor`` (left open) replaces the one ``execution`` asks for. Execution keywords
    as for :func:`simulate` (the block size is the plan's).
    """
    execution = Execution.of(
        execution,
        threads=threads,
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        cluster_config=cluster_config,
        progress=progress,
    )
    return run_sweep(
        plan, out, shard=shard, execution=execution, executor=executor, overwrite=overwrite
    )


def merge(paths: Sequence[str | Path], out: str | Path, *, overwrite: bool = False) -> Path:
    """Check and merge array-job shards into the result one machine would have written."""
    return merge_shards(paths, out, overwrite=overwrite)
