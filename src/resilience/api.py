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

    Returns
    -------
    resilience.optimize.OptimizationResult
        Evaluations, verification, the recommended strategy block (``strategy_yaml()``)
        and the evaluation dataset (``dataset``).
    """
    # imported when an optimisation runs: the optimiser loads Optuna on first use, and
    # nothing else in this module needs it
    import copy
    import dataclasses
    import hashlib
    import time

    import yaml

    from resilience.engine import make_executor
    from resilience.optimize import (
        Journal,
        OptimizationResult,
        OptimizationSpec,
        candidate_documents,
        evaluation_dataset,
        journal_path,
        load_optimization,
        ranked,
        run_search,
        verify_candidates,
    )
    from resilience.results import write_dataset
    from resilience.results.store import check_output

    started = time.perf_counter()
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
    scenario_doc = yaml.safe_load(base.source_text)
    spec = (
        optimization
        if isinstance(optimization, OptimizationSpec)
        else load_optimization(optimization)
    )
    spec = spec.with_budget(evaluations, paths, verify_paths)
    base_doc = spec.prepare(scenario_doc)
    benchmarks = spec.benchmark_names(scenario_doc)
    if out is not None:
        out = Path(out)
        check_output(out, overwrite)  # before the search, not after it
    identity = {
        "scenario_sha256": hashlib.sha256((base.source_text or "").encode()).hexdigest(),
        "seed": int(seed),
        "search": spec.search_identity(),
    }
    journal = Journal(journal_path(out) if out is not None else None, identity, overwrite)
    fresh_seed = (int(seed) + spec.seed_offset) % 2**64
    seconds: dict[str, float] = {}
    shared = None
    if execution.workers or execution.cluster:
        # one cluster for every evaluation, not one started and stopped per candidate
        shared = make_executor(execution)
        execution = dataclasses.replace(
            execution,
            workers=None,
            cluster=None,
            cluster_config=None,
            scheduler=shared.client.scheduler.address,
        )
    try:
        search_execution = dataclasses.replace(execution, progress=False)
        once = _OncePerRun()

        def evaluate(doc, names):
            # one "running on ..." line for the run, not one per candidate
            with _quiet_engine(once):
                return simulate(doc, spec.paths, seed, strategies=names, execution=search_execution)

        with journal:
            outcome = run_search(
                spec, base_doc, evaluate, seed=seed, journal=journal, currency=base.currency
            )
            seconds["search"] = outcome.seconds
            order = ranked(outcome.evaluations, spec)
            pool = [e for e in order if e.feasible][: spec.verify_top]
            searched_feasible = bool(pool)
            if not pool:  # none feasible: verify the nearest misses, recommend nothing
                pool = order[: spec.verify_top]
            taken = set(benchmarks)
            names, blocks = [], {}
            for e in pool:
                name = f"evaluation_{e.number}"
                while name in taken:
                    name += "_"
                taken.add(name)
                names.append((name, e.number))
                blocks[name] = e.block
            for b in benchmarks:
                names.append((b, None))
                blocks[b] = scenario_doc["strategies"][b]
            verify_started = time.perf_counter()
            fresh = simulate(
                candidate_documents(base_doc, blocks),
                spec.fresh_paths,
                fresh_seed,
                strategies=[n for n, _ in names],
                execution=execution,
            )
            verified, recommended = verify_candidates(spec, fresh, names)
            if not searched_feasible:
                recommended = None
            seconds["verify"] = time.perf_counter() - verify_started
            block = None
            if recommended is not None:
                e = next(x for x in outcome.evaluations if x.number == recommended.evaluation)
                block = copy.deepcopy(e.block)
                written = str(block.get("description") or "").strip()
                found = (
                    f"Minimises {spec.objective.text}"
                    + (
                        f" subject to {'; '.join(c.text for c in spec.constraints)}"
                        if spec.constraints
                        else ""
                    )
                    + f": resilience optimize evaluation {e.number} (seed {seed}, "
                    f"{spec.paths:,} paths), verified on {spec.fresh_paths:,} fresh paths "
                    f"(seed {fresh_seed})."
                )
                block = {
                    "description": f"{written} {found}".strip(),
                    **{k: v for k, v in block.items() if k != "description"},
                }
            result = OptimizationResult(
                spec=spec,
                scenario_name=base.name,
                seed=int(seed),
                evaluations=outcome.evaluations,
                stopped=outcome.stopped,
                verified=verified,
                recommended=recommended,
                block=block,
                seconds=seconds,
                replayed=outcome.replayed,
                currency=base.currency,
                out=None if out is None else str(out),
            )
            seconds["total"] = time.perf_counter() - started
            result.dataset = evaluation_dataset(result)
            if out is not None:
                write_dataset(result.dataset, out, overwrite=overwrite)
                journal.remove()
    finally:
        if shared is not None:
            shared.close()
    return result


class _OncePerRun:
    """A logging filter that lets each distinct message through once."""

    def __init__(self):
        self.seen: set[str] = set()

    def filter(self, record) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def _quiet_engine(once: _OncePerRun):
    """Engine log lines of an optimisation's evaluations, each shown once."""
    import contextlib
    import logging

    @contextlib.contextmanager
    def quiet():
        logger = logging.getLogger("resilience.engine.execution")
        logger.addFilter(once)
        try:
            yield
        finally:
            logger.removeFilter(once)

    return quiet()
