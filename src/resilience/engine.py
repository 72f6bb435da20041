"""Engine: split paths into blocks, run the kernel on each block through Dask, gather.

Blocks run on Dask's threaded scheduler by default (the kernel releases the GIL, so every
core works), or on a ``dask.distributed`` cluster (``scheduler=ADDRESS`` or ``workers=N``
for a local process cluster). Randomness is keyed by (seed, global path index) inside the
kernel, so the result is bit-identical whatever the block size, thread or worker count,
and every strategy sees the same events on path i (common random numbers).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from resilience.compile import FILL_BINS, ON_HAND_BINS, CompiledStrategy, Network, compile_strategy
from resilience.errors import ClusterError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS, simulate_paths
from resilience.model import Scenario

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4096


class BlockResult(NamedTuple):
    """What the kernel returns for one block of paths of one strategy."""

    path_out: np.ndarray  # [paths, N_PATH_METRICS]
    node_out: np.ndarray  # [paths, nodes, N_NODE_METRICS]
    fill_hist: np.ndarray  # [T, FILL_BINS] int64
    on_hand_hist: np.ndarray  # [T, ON_HAND_BINS] int64
    fill_sum: np.ndarray  # [T] int64 fixed point
    on_hand_sum: np.ndarray  # [T] int64 fixed point


@dataclass(frozen=True)
class Task:
    """One kernel call: paths [start, start + size) of the network at ``index``."""

    index: tuple[
        int, ...
    ]  # position of the network in the job (e.g. (strategy,) or (point, strategy))
    start: int
    size: int


def run_block(network: Network, seed: int, start: int, size: int) -> BlockResult:
    """Run one block through the kernel (releases the GIL while it runs)."""
    T = network.horizon
    result = BlockResult(
        np.empty((size, N_PATH_METRICS)),
        np.empty((size, network.node_kind.shape[0], N_NODE_METRICS)),
        np.zeros((T, FILL_BINS), np.int64),
        np.zeros((T, ON_HAND_BINS), np.int64),
        np.zeros(T, np.int64),
        np.zeros(T, np.int64),
    )
    simulate_paths(network, np.uint64(seed), start, size, *result)
    return result


def plan_blocks(paths: int, block_size: int | None, start: int = 0) -> list[tuple[int, int]]:
    """(start, size) of each block covering paths [start, start + paths)."""
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    size = block_size or DEFAULT_BLOCK_SIZE
    if size < 1:
        raise ValueError(f"block_size must be >= 1, got {size}")
    return [(start + lo, min(size, paths - lo)) for lo in range(0, paths, size)]


def default_threads() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


# ----------------------------------------------------------------------------- execution


class Executor:
    """Runs tasks and yields (task, result) as they finish, in any order."""

    def run(
        self, networks: dict[tuple[int, ...], Network], seed: int, tasks: Sequence[Task]
    ) -> Iterator[tuple[Task, BlockResult]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ThreadedExecutor(Executor):
    """Dask's threaded scheduler, fed in waves so memory stays bounded by a few blocks.

    Two waves are in flight on one shared pool of kernel threads while the caller writes
    a third: a wave's last blocks leave threads idle that the next wave's blocks fill
    (one wave at a time: +14% over a plain thread pool at 1M paths), and writing between
    waves would leave the cores idle (measured: 1.1 of 2 cores busy on the demo run).
    """

    WAVES_IN_FLIGHT = 2

    def __init__(self, threads: int | None = None):
        self.threads = threads or default_threads()

    def _compute(self, networks, seed, batch, pool):
        import dask

        delayed = [
            dask.delayed(run_block, pure=False)(networks[t.index], seed, t.start, t.size)
            for t in batch
        ]
        return dask.compute(*delayed, scheduler="threads", pool=pool)

    def run(self, networks, seed, tasks):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        wave = max(1, 4 * self.threads)
        waves = iter([tasks[lo : lo + wave] for lo in range(0, len(tasks), wave)])
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="resilience-kernel")
        drivers = ThreadPoolExecutor(self.WAVES_IN_FLIGHT, thread_name_prefix="resilience-wave")
        in_flight: deque = deque()

        def submit_next():
            batch = next(waves, None)
            if batch is not None:
                future = drivers.submit(self._compute, networks, seed, batch, pool)
                in_flight.append((batch, future))

        try:
            for _ in range(self.WAVES_IN_FLIGHT):
                submit_next()
            while in_flight:
                batch, future = in_flight.popleft()
                results = future.result()
                submit_next()
                yield from zip(batch, results, strict=True)
        finally:
            drivers.shutdown(wait=False, cancel_futures=True)
            pool.shutdown(wait=False, cancel_futures=True)


class DistributedExecutor(Executor):
    """A dask.distributed cluster: each block is an independent task, retried if a worker
    is lost; at most a few tasks per worker thread are in flight so memory stays bounded."""

    def __init__(self, client, owns_cluster: Any = None, retries: int = 3):
        self.client = client
        self.owns_cluster = owns_cluster
        self.retries = retries

    @classmethod
    def connect(cls, address: str) -> DistributedExecutor:
        from distributed import Client

        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            raise ClusterError(f"cannot reach Dask scheduler at {address}: {exc}") from exc
        return cls(client)

    @classmethod
    def local(cls, workers: int, threads_per_worker: int = 1) -> DistributedExecutor:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return cls(Client(cluster), owns_cluster=cluster)

    def run(self, networks, seed, tasks):
        from distributed import as_completed

        # Each network goes in as a task, not as scattered data: scattered data lost with
        # a worker cannot be recomputed (and the active memory manager drops broadcast
        # replicas), a task's result is recomputed from its spec. tests/test_cluster.py
        # kills a worker mid-run.
        run_id = uuid.uuid4().hex[:12]
        inputs = {
            index: self.client.submit(
                _network,
                net,
                key=f"resilience-network-{'-'.join(map(str, index))}-{run_id}",
                pure=False,
            )
            for index, net in networks.items()
        }
        pending = iter(tasks)
        by_key = {}

        def submit(task):
            future = self.client.submit(
                run_block,
                inputs[task.index],
                seed,
                task.start,
                task.size,
                key=f"resilience-block-{'-'.join(map(str, task.index))}-{task.start}-{seed}",
                retries=self.retries,
                pure=False,
            )
            by_key[future.key] = task
            return future

        queue = as_completed([submit(t) for t in _take(pending, self._slots())], with_results=True)
        checked = time.monotonic()
        for future, result in queue:
            task = by_key.pop(future.key)
            if future.cancelled():  # its input was lost beyond recomputation: never a result
                raise ClusterError(f"the Dask task of paths {task.start}.. was cancelled: {result}")
            future.release()
            # top up to the workers there are now: job-queue workers join over minutes
            want = 1
            if time.monotonic() - checked > 1.0:
                want = max(1, self._slots() - len(by_key))
                checked = time.monotonic()
            for nxt in _take(pending, want):
                queue.add(submit(nxt))
            yield task, result

    def _slots(self) -> int:
        """Tasks to keep in flight: two per worker thread, so none idles between tasks."""
        return max(2, 2 * sum(self.client.nthreads().values()))

    def close(self):
        self.client.close()
        if self.owns_cluster is not None:
            self.owns_cluster.close()


def _network(network: Network) -> Network:
    return network


def _take(iterator, n):
    out = []
    for _ in range(n):
        item = next(iterator, None)
        if item is None:
            break
        out.append(item)
    return out


def make_executor(
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
) -> Executor:
    """Pick the engine: an existing scheduler, a local process cluster, a job-queue
    cluster (``cluster="slurm"|"pbs"``, see resilience.cluster), or threads."""
    given = [
        k for k, v in (("scheduler", scheduler), ("workers", workers), ("cluster", cluster)) if v
    ]
    if len(given) > 1:
        raise ValueError(
            "give either scheduler (an existing cluster), workers (a new local one) or "
            f"cluster (job-queue workers), not {' and '.join(given)}"
        )
    if cluster_config and not cluster:
        raise ValueError("a cluster config needs a cluster kind (--cluster slurm|pbs)")
    if cluster:
        from resilience.cluster import jobqueue_executor

        log.info("running on a %s cluster through dask-jobqueue", cluster.upper())
        return jobqueue_executor(cluster, cluster_config)
    if scheduler:
        log.info("running on the Dask scheduler at %s", scheduler)
        return DistributedExecutor.connect(scheduler)
    if workers:
        log.info("running on a local cluster of %d worker processes", workers)
        return DistributedExecutor.local(workers)
    log.info("running on Dask's threaded scheduler")
    return ThreadedExecutor(threads)


# ----------------------------------------------------------------------------- progress


class Progress:
    """A terminal progress bar over paths (paths done, paths/s, time left)."""

    def __init__(self, total_paths: int, enabled: bool | None = None, desc: str = "simulating"):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total_paths,
                unit=" paths",
                unit_scale=True,
                desc=desc,
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------- high level


def resolve_strategies(scenario: Scenario, strategies: Iterable[str] | None) -> list[str]:
    names = scenario.strategy_names
    if not strategies:
        return names
    chosen = list(dict.fromkeys(strategies))
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise ValueError(
            f"unknown strategy {unknown[0]!r}; the scenario defines: {', '.join(names)}"
        )
    return chosen


def execute(
    networks: dict[tuple[int, ...], Network],
    seed: int,
    tasks: Sequence[Task],
    sink: Callable[[Task, BlockResult], None],
    executor: Executor,
    progress: Progress | None = None,
) -> None:
    """Run every task on ``executor`` and hand each result to ``sink`` as it arrives."""
    for task, result in executor.run(networks, seed, tasks):
        sink(task, result)
        if progress is not None:
            progress.update(task.size)


def simulate(
    scenario,
    paths: int = 10_000,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    progress: bool | None = False,
):
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
    from resilience.results import MemorySink

    run = prepare(scenario, paths, seed, strategies, block_size)
    sink = MemorySink(run)
    run.execute(
        sink,
        threads=threads,
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        cluster_config=cluster_config,
        progress=progress,
    )
    return sink.dataset()


@dataclass
class PreparedRun:
    """A scenario compiled for its strategies, with its tasks planned."""

    scenario: Scenario
    compiled: list[CompiledStrategy]
    paths: int
    seed: int
    tasks: list[Task]
    path_start: int = 0
    attrs: dict = field(default_factory=dict)  # extra dataset attributes (e.g. a shard's)

    @property
    def networks(self) -> dict[tuple[int, ...], Network]:
        return {(i,): c.network for i, c in enumerate(self.compiled)}

    def execute(
        self,
        sink,
        *,
        threads=None,
        workers=None,
        scheduler=None,
        progress=None,
        cluster=None,
        cluster_config=None,
    ):
        executor = make_executor(scheduler, workers, threads, cluster, cluster_config)
        bar = Progress(self.paths * len(self.compiled), progress)
        try:
            execute(self.networks, self.seed, self.tasks, sink, executor, bar)
        finally:
            bar.close()
            executor.close()


def prepare(
    scenario,
    paths: int,
    seed: int,
    strategies: Iterable[str] | None = None,
    block_size: int | None = None,
    path_start: int = 0,
) -> PreparedRun:
    """Load, compile and plan a run without executing it."""
    from resilience.schema import load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    names = resolve_strategies(scenario, strategies)
    compiled = [compile_strategy(scenario, name) for name in names]
    blocks = plan_blocks(paths, block_size, path_start)
    # strategies interleaved per block, so partial progress covers every strategy evenly
    tasks = [Task((i,), start, size) for start, size in blocks for i in range(len(compiled))]
    return PreparedRun(scenario, compiled, int(paths), int(seed), tasks, path_start)


def run_to_file(
    scenario,
    out: str | Path,
    paths: int,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    block_size: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_config: str | Path | None = None,
    shard=None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Simulate and write the result to ``out`` (.zarr or .nc), atomically.

    The result is written to a temporary sibling and moved into place only when complete:
    a failed or interrupted run leaves nothing at ``out`` and an existing result untouched.
    ``shard`` ("i/N" or a resilience.shards.Shard) runs only the i-th of N contiguous
    ranges of the paths and marks the result as a shard for ``resilience merge``.
    """
    from resilience.results import atomic_output, sink_for
    from resilience.shards import parse_shard, path_shard_attributes

    out = Path(out)
    shard = parse_shard(shard)
    if shard is None:
        run = prepare(scenario, paths, seed, strategies, block_size)
    else:
        start, stop = shard.range(paths)
        run = prepare(scenario, stop - start, seed, strategies, block_size, path_start=start)
        run.attrs = path_shard_attributes(run, shard, paths)
    with atomic_output(out, overwrite=overwrite) as tmp:
        sink = sink_for(tmp, run, final_name=out)
        run.execute(
            sink,
            threads=threads,
            workers=workers,
            scheduler=scheduler,
            cluster=cluster,
            cluster_config=cluster_config,
            progress=progress,
        )
        sink.close()
    return out
