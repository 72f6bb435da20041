"""The public entry points, and the only module that wires the stages together.

scenario -> compiler -> engine (blocks on threads or a cluster) -> results (sinks and
files) -> risk; sweeps and merges on top. Nothing below this module imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import xarray as xr

from resilience.engine import Execution, PreparedRun, prepare
from resilience.engine.execution import run_prepared
from resilience.errors import ResultsError
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
    "stress",
    "sweep",
]


#: The result attribute that records ``random_disruptions`` given as an option (the
#: command line's ``--no-random-disruptions``) rather than in the scenario file.
RANDOM_OPTION_ATTR = "random_disruptions_option"


def _with_random(scenario, random_disruptions: bool | None):
    """``scenario`` with its top-level ``random_disruptions`` set (as the YAML key does; a
    strategy's own switch still decides for it) and the attributes saying so; unchanged
    and none for None."""
    if random_disruptions is None:
        return scenario, {}
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    on = bool(random_disruptions)
    return replace(base, random_disruptions=on), {RANDOM_OPTION_ATTR: int(on)}


def _layout(run: PreparedRun, extra_attrs: dict | None = None) -> RunLayout:
    return RunLayout.of(
        run.scenario,
        run.compiled,
        run.paths,
        run.seed,
        path_start=run.path_start,
        block_size=run.block_size,
        extra_attrs=extra_attrs,
        node_detail=run.node_detail,
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
    random_disruptions: bool | None = None,
    node_detail: str = "auto",
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
    random_disruptions : bool, optional
        Set the scenario's ``random_disruptions`` (False: ``--no-random-disruptions``),
        the same bits as the YAML key; recorded in the attribute
        ``random_disruptions_option``. None: the scenario's own.
    node_detail : ``"auto"``, ``"paths"``, ``"summary"`` or ``"none"``
        What the result keeps of each node (docs/results-format.md, "Per node"):
        per-path per-node variables, per-node summaries over paths (means, quantiles,
        shortage probability) or neither; ``auto``: ``paths`` for networks of at most 32
        nodes, else ``summary``.

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
    scenario, extra = _with_random(scenario, random_disruptions)
    run = prepare(scenario, paths, seed, strategies, execution.block_size, node_detail=node_detail)
    sink = MemorySink(_layout(run, extra or None))
    run_prepared(run, sink, execution)
    return sink.dataset()


def _simulate_range(
    scenario: Scenario,
    paths: int,
    seed: int,
    strategies,
    execution: Execution,
    path_start: int,
    total_paths: int,
) -> xr.Dataset:
    """Paths [path_start, path_start + paths) of a run of ``total_paths``, in memory: the
    same bits as those paths of the whole run."""
    run = prepare(
        scenario,
        paths,
        seed,
        strategies,
        execution.block_size,
        path_start=path_start,
        total_paths=total_paths,
    )
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
    random_disruptions: bool | None = None,
    node_detail: str = "auto",
) -> Path:
    """Simulate and write the result to ``out`` (.zarr or .nc), atomically.

    The result is written to a temporary sibling and moved into place only when complete:
    a failed or interrupted run leaves nothing at ``out`` and an existing result untouched.
    ``shard`` ("i/N" or a resilience.shards.Shard) runs only the i-th of N contiguous
    ranges of the paths and marks the result as a shard for ``resilience merge``.
    Execution keywords, ``random_disruptions`` and ``node_detail`` as for :func:`simulate`.
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
    scenario, options = _with_random(scenario, random_disruptions)
    extra = dict(options)
    if shard is None:
        run = prepare(
            scenario, paths, seed, strategies, execution.block_size, node_detail=node_detail
        )
    else:
        start, stop = shard.range(paths)
        run = prepare(
            scenario,
            stop - start,
            seed,
            strategies,
            execution.block_size,
            path_start=start,
            total_paths=paths,  # integer sums of every shard are added at the merge
            node_detail=node_detail,
        )
        extra |= path_shard_attributes(
            shard,
            scenario_text=run.scenario.source_text or "",
            seed=run.seed,
            total_paths=paths,
            strategies=[c.name for c in run.compiled],
            path_start=run.path_start,
            options=options,
        )
    with atomic_output(out, overwrite=overwrite) as tmp:
        sink = sink_for(tmp, _layout(run, extra or None), final_name=out)
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
    """Check and merge array-job shards into the result one machine would have written
    (the shards of a run, a sweep or a stress test)."""
    from resilience.stress import summarise_stress

    return merge_shards(paths, out, overwrite=overwrite, summarise_stress=summarise_stress)


def optimize(
    scenario: Scenario | str | Path | dict,
    optimization,
    *,
    seed: int = 0,
    out: str | Path | None = None,
    overwrite: bool = False,
    evaluations: int | None = None,
    paths: int | None = None,
    verify_paths: int | None = None,
    execution: Execution | None = None,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    progress: bool | None = None,
    report: str | Path | None = None,
):
    """The least-cost strategy that meets a risk target (docs/optimize.md).

    Searches the optimisation file's decision variables with Optuna's seeded TPE sampler,
    every candidate simulated through :func:`simulate` on the same ``paths`` and ``seed``
    (common random numbers); then re-simulates the best ``verify.top`` feasible candidates
    and the scenario's strategies on fresh paths (seed + ``verify.seed_offset``) and
    reports every objective and constraint with its confidence interval there.

    Parameters
    ----------
    scenario : Scenario, path or dict
        The scenario the candidates are strategies of.
    optimization : OptimizationSpec, path or dict
        The optimisation file (``resilience.optimize.load_optimization``).
    seed : int
        Seed of the search paths and of the sampler; the fresh paths use seed + offset.
    out : path, optional
        Write the evaluation dataset here (.zarr or .nc), atomically. While the search
        runs, each evaluated batch is journaled beside it (``.OUT.optimize.jsonl``): a
        killed optimisation rerun with the same arguments resumes from its evaluated
        candidates and ends as an uninterrupted run would. Without ``out`` nothing is
        written and nothing can resume.
    overwrite : bool
        Replace an existing result at ``out`` and discard a journal of another search.
    evaluations, paths, verify_paths : int, optional
        Override the file's ``budget.evaluations``, ``paths`` (per evaluation) and
        ``verify.paths`` (fresh paths).
    execution, block_size, threads, workers, scheduler, cluster, cluster_config, progress :
        As for :func:`simulate`. A local cluster (``workers``) or batch cluster
        (``cluster``) is started once and serves every evaluation.
    report : path, optional
        Also write the optimisation's HTML page here (one self-contained ``.html`` file:
        the recommendation, the cost-risk frontier, the search's convergence); checked
        before the search starts, replaced only with ``overwrite``.

    Returns
    -------
    resilience.optimize.OptimizationResult
        Evaluations, verification, the recommended strategy block (``strategy_yaml()``)
        and the evaluation dataset (``dataset``).
    """
    # imported when an optimisation runs: the optimiser loads Optuna
    from resilience.optimize.run import run_optimization

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
    if report is not None:
        from resilience.report.optimize import check_report_target

        check_report_target(report, overwrite)  # before the search, not after it
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    result = run_optimization(
        base,
        optimization,
        simulate,
        seed=seed,
        out=out,
        overwrite=overwrite,
        evaluations=evaluations,
        paths=paths,
        verify_paths=verify_paths,
        execution=execution,
    )
    if report is not None:
        from resilience.report.optimize import write_optimize_page

        result.report = str(write_optimize_page(result.dataset, report, overwrite=True))
    return result


def open_optimization(path: str | Path) -> xr.Dataset:
    """The evaluation dataset ``resilience optimize --out`` wrote (.zarr or .nc)."""
    from resilience.results.formats import output_format

    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such result")
    try:
        if output_format(path) == "zarr":
            ds = xr.open_zarr(path, consolidated=True)
        else:
            ds = xr.open_dataset(path, engine="h5netcdf")
    except ResultsError:
        raise
    except Exception as exc:  # a directory or file that is not a result
        raise ResultsError(f"{path}: not a readable result ({exc})") from exc
    return ds


def is_optimization_result(path: str | Path) -> bool:
    """Whether ``path`` holds an optimisation's evaluation dataset (not a run's result)."""
    from resilience.report.optimize import is_optimization

    try:
        ds = open_optimization(path)
    except ResultsError:
        return False
    try:
        return is_optimization(ds)
    finally:
        ds.close()


def optimize_report(result: str | Path | xr.Dataset, out_dir: str | Path) -> Path:
    """Write the page of a stored optimisation (``optimize_report.html`` and its PNGs)
    into the folder ``out_dir``; returns the page's path."""
    from resilience.report.optimize import write_optimize_report

    ds = result if isinstance(result, xr.Dataset) else open_optimization(result)
    try:
        return write_optimize_report(ds, out_dir)
    finally:
        if not isinstance(result, xr.Dataset):
            ds.close()


def stress(
    scenario: Scenario | str | Path | dict,
    *,
    nodes: Iterable[str] | None = None,
    strategies: Iterable[str] | None = None,
    paths: int = 2000,
    seed: int = 0,
    start: int | None = None,
    ttr_days: int | None = None,
    deterministic: bool = False,
    out: str | Path | None = None,
    overwrite: bool = False,
    execution: Execution | None = None,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    progress: bool | None = False,
    shard: Shard | str | None = None,
    random_disruptions: bool | None = None,
) -> xr.Dataset:
    """The per-node stress test (docs/model.md, "Stress test"): for every node (or
    ``nodes``), a scripted full outage of its time-to-recover from day ``start``, every
    strategy simulated on the same ``paths`` and ``seed`` as the run without it.

    Parameters
    ----------
    scenario : Scenario, path or dict
        Its scripted events, if any, stay in every run.
    nodes, strategies : list of str, optional
        The nodes to stress and the strategies to run (default: all).
    paths, seed : int
        Paths per run (the deterministic mode runs one) and the seed of every run.
    start : int, optional
        First day of the outage (default ``resilience.stress.DEFAULT_START_DAY``, 60).
    ttr_days : int, optional
        TTR of the nodes without ``ttr_days`` of their own (default: the P90 of each
        node's outage-length distribution, else 14 days).
    deterministic : bool
        Demand at its mean and no random disruption: the single-number TTS per node.
    out : path, optional
        Write the dataset here (.zarr or .nc), atomically.
    execution, block_size, threads, workers, scheduler, cluster, cluster_config, progress :
        As for :func:`simulate`; a local or batch cluster is started once for every run.
    shard : "i/N" or resilience.shards.Shard, optional
        Run only the i-th of N contiguous ranges of the paths (every run of the test on
        the same range) and return (and write) its per-path figures, marked as a shard:
        ``resilience merge`` joins the N shards and computes the summaries, the bits of
        one unsharded test.
    random_disruptions : bool, optional
        As for :func:`simulate` (False: ``--no-random-disruptions``).

    Returns
    -------
    xarray.Dataset
        Dims node, strategy, path and quantile (docs/results-format.md, "Stress test");
        a shard's only node, strategy and path.
    """
    # imported when a stress test runs, as for optimize: nothing else here needs them
    from resilience.engine.execution import log_once, shared_cluster
    from resilience.results import write_dataset
    from resilience.results.store import check_output
    from resilience.stress import DEFAULT_START_DAY, run_stress

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
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base, _ = _with_random(base, random_disruptions)  # the dataset says random_disruptions
    shard = parse_shard(shard)
    if out is not None:
        out = Path(out)
        check_output(out, overwrite)  # before the runs, not after them
    quiet = log_once()  # one "running on ..." line, not one per run
    # one cluster (workers or batch jobs) for every run, not one per stressed node
    with shared_cluster(execution) as settings:

        def run(variant: Scenario, n: int, s: int, names, first: int, total: int):
            with quiet():
                return _simulate_range(variant, n, s, names, settings, first, total)

        ds = run_stress(
            base,
            run,
            nodes=nodes,
            strategies=list(strategies) if strategies else None,
            paths=paths,
            seed=seed,
            start=DEFAULT_START_DAY if start is None else start,
            ttr_days=ttr_days,
            deterministic=deterministic,
            shard=shard,
        )
    if out is not None:
        write_dataset(ds, out, overwrite=overwrite)
    return ds
