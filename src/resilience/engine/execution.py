"""How blocks run: one frozen ``Execution`` settings object, the executors, progress.

``Execution`` gathers every setting that decides *where and how* blocks run but never
*what* they compute (block size, threads, Dask workers, scheduler, batch cluster,
progress bar): results are bit-identical for any value of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import dask
from tqdm.auto import tqdm

from resilience.compiler import Network
from resilience.engine.blocks import BlockResult, kernel_ready, run_block
from resilience.engine.plan import DEFAULT_BLOCK_SIZE, Task
from resilience.errors import ExecutionError
from resilience.kernels.simulate import LANES

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Execution",
    "Executor",
    "Progress",
    "ThreadedExecutor",
    "default_threads",
    "execute",
    "make_executor",
]


def default_threads() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Execution:
    """Where and how blocks of paths run; none of it changes a result bit.

    block_size : paths per kernel call (default 4096; multiples of LANES, 64, are fastest).
    threads : threads of the local threaded scheduler (default: all cores).
    workers : a new local Dask cluster of this many worker processes.
    scheduler : the address of a running Dask scheduler.
    cluster, cluster_config : ``"slurm"``/``"pbs"`` workers started as batch jobs through
        dask-jobqueue, with the options of a YAML file (docs/cluster.md).
    progress : show a progress bar (None: only on a terminal).
    """

    block_size: int | None = None
    threads: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    cluster: str | None = None
    cluster_config: str | Path | None = None
    progress: bool | None = None

    def __post_init__(self):
        for name in ("block_size", "threads", "workers"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
                raise ExecutionError(f"{name} must be an integer >= 1, got {value!r}")
        given = [
            k for k in ("scheduler", "workers", "cluster") if getattr(self, k) not in (None, 0, "")
        ]
        if len(given) > 1:
            raise ExecutionError(
                "give either scheduler (an existing cluster), workers (a new local one) or "
                f"cluster (job-queue workers), not {' and '.join(given)}"
            )
        if self.cluster_config and not self.cluster:
            raise ExecutionError("a cluster config needs a cluster kind (--cluster slurm|pbs)")

    @classmethod
    def of(cls, execution: Execution | None = None, **settings) -> Execution:
        """``execution`` with the settings given as keywords (None ones ignored) applied."""
        base = execution or cls()
        given = {k: v for k, v in settings.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown execution setting(s): {', '.join(sorted(unknown))}")
        if not given:
            return base
        return cls(**{**{f.name: getattr(base, f.name) for f in fields(cls)}, **given})


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
        delayed = [
            dask.delayed(run_block, pure=False)(
                networks[t.index], seed, t.start, t.size, t.node_detail
            )
            for t in batch
        ]
        return dask.compute(*delayed, scheduler="threads", pool=pool)

    def run(self, networks, seed, tasks):
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


def make_executor(execution: Execution | None = None) -> Executor:
    """Pick the executor ``execution`` asks for, and log why."""
    execution = execution or Execution()
    if execution.cluster or execution.scheduler or execution.workers:
        # dask.distributed (and dask-jobqueue) are heavy and optional at run time:
        # imported only when a cluster is asked for
        from resilience.engine import distributed

        return distributed.executor_for(execution)
    log.info("running on Dask's threaded scheduler")
    return ThreadedExecutor(execution.threads)


class Progress:
    """A terminal progress bar over paths (paths done, paths/s, time left)."""

    def __init__(self, total_paths: int, enabled: bool | None = None, desc: str = "simulating"):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.bar = None
        if enabled:
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


#: below this block size the kernel's lockstep groups of paths run partly empty
SMALL_BLOCK = LANES


def run_prepared(run, sink, execution: Execution | None = None) -> None:
    """Execute every task of a ``PreparedRun`` into ``sink`` with its own executor."""
    execution = execution or Execution()
    if execution.block_size is not None and execution.block_size < SMALL_BLOCK:
        log.warning(
            "block size %d is below %d: the kernel simulates paths in groups of %d, so each "
            "block does %d paths' work (results are the same, only slower)",
            execution.block_size,
            SMALL_BLOCK,
            SMALL_BLOCK,
            SMALL_BLOCK,
        )
    if not kernel_ready():
        log.info("compiling the simulation kernel (first run only, about 20 s)")
    executor = make_executor(execution)
    bar = Progress(run.paths * len(run.compiled), execution.progress)
    try:
        execute(run.networks, run.seed, run.tasks, sink, executor, bar)
    finally:
        bar.close()
        executor.close()


@contextlib.contextmanager
def shared_cluster(execution: Execution):
    """Yield settings that reuse one cluster for many runs (an optimisation's candidates,
    a stress test's nodes): a local (``workers``) or batch (``cluster``) cluster is started
    once here and every run connects to its scheduler; other settings pass through."""
    if not (execution.workers or execution.cluster):
        yield execution
        return
    executor = make_executor(execution)
    try:
        yield dataclasses.replace(
            execution,
            workers=None,
            cluster=None,
            cluster_config=None,
            scheduler=executor.client.scheduler.address,
        )
    finally:
        executor.close()


class _OncePerMessage(logging.Filter):
    """Lets each distinct message through once."""

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def log_once():
    """A context manager factory: inside every context it makes, the engine's log lines
    ("running on Dask's threaded scheduler", ...) appear once in all, not once per run."""
    once = _OncePerMessage()

    @contextlib.contextmanager
    def quiet():
        log.addFilter(once)
        try:
            yield
        finally:
            log.removeFilter(once)

    return quiet
