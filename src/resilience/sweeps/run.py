"""Run a sweep: every grid point's strategies through the engine, assembled into one dataset.

The sweep is planned (:mod:`~resilience.sweeps.plan`) into jobs, one per distinct compiled
network; the jobs not already finished are simulated into the part store
(:mod:`~resilience.sweeps.parts`), and the parts assembled at the end
(:mod:`~resilience.sweeps.assemble`) into one dataset with the sweep axes as leading
dimensions, and removed. All points use the same seed: path i sees the same random events
at every point (common random numbers).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from resilience.engine import Execution, Executor, Task, execute, make_executor
from resilience.results import write_dataset
from resilience.results.store import check_output, check_target, output_lock
from resilience.shards import Shard, parse_shard, shard_attributes
from resilience.sweeps.assemble import grid_dataset, point_dataset, stacked_dataset
from resilience.sweeps.parts import PartStore, _JobWriter
from resilience.sweeps.plan import SweepPlan

__all__ = ["run_sweep"]

log = logging.getLogger(__name__)


class SweepProgress:
    """Two bars: grid points finished, and paths simulated."""

    def __init__(self, points: int, points_done: int, paths: int, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.bars = []
        if enabled:
            from tqdm.auto import tqdm

            common = {"file": sys.stderr, "dynamic_ncols": True}
            self.bars = [
                tqdm(
                    total=points,
                    initial=points_done,
                    unit=" points",
                    desc="points",
                    position=0,
                    **common,
                ),
                tqdm(
                    total=paths, unit=" paths", unit_scale=True, desc="paths ", position=1, **common
                ),
            ]

    def update(self, n: int) -> None:
        if self.bars:
            self.bars[1].update(n)

    def point_done(self) -> None:
        if self.bars:
            self.bars[0].update(1)

    def close(self) -> None:
        for bar in reversed(self.bars):
            bar.close()


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    *,
    shard: Shard | str | None = None,
    execution: Execution | None = None,
    executor: Executor | None = None,
    overwrite: bool = False,
) -> Path:
    """Simulate the jobs of ``plan`` not already finished and write the result to ``out``.

    With ``shard`` ("i/N"), only the i-th of N contiguous ranges of points is run and
    written as a shard (dim ``point``) for ``resilience merge``. ``executor`` (left
    open) replaces the one ``execution`` asks for.
    """
    out = Path(out)
    check_target(out)  # a bad --out is refused before its lock file is created
    # one writer of out from the start: a second one is refused at once, not at the end
    with output_lock(out):
        if not overwrite:
            # a sweep killed between writing out and removing its parts left them
            PartStore(out, plan.identity).remove_if_finished()
        check_output(out, overwrite)  # before the shard is read (the part store checks again)
        _run_locked(plan, out, parse_shard(shard), execution or Execution(), executor, overwrite)
    return out


def _run_locked(plan, out, shard, execution, executor, overwrite) -> None:
    lo, hi = shard.range(plan.points, "points") if shard is not None else (0, plan.points)
    points = range(lo, hi)
    needed = plan.jobs_for(points)
    with PartStore(out, plan.identity, overwrite) as parts:
        todo = [j for j in needed if not _usable(plan, parts, j)]
        waiting = {p: set(plan.point_jobs(p)) & set(todo) for p in points}
        done_points = sum(1 for p in points if not waiting[p])
        if done_points:
            log.info(
                "resuming: %d of %d points already done (in %s)",
                done_points,
                len(points),
                parts.dir,
            )
        if todo:
            _simulate(plan, parts, todo, waiting, done_points, execution, executor)
        per_point = [point_dataset(plan, parts, p) for p in points]
        attrs = plan.attributes()
        if shard is None:
            ds = grid_dataset(per_point, plan.spec)
        else:
            ds = stacked_dataset(per_point, list(points), plan.spec)
            attrs.update(
                shard_attributes(shard, "points", plan.identity, shard_points=f"{lo}-{hi - 1}")
            )
        ds.attrs = attrs
        write_dataset(ds, out, overwrite=overwrite)
        parts.remove()


def _usable(plan: SweepPlan, parts: PartStore, j: int) -> bool:
    """Whether job ``j`` is finished in the part store (one that cannot be read back is
    discarded there, so it is simulated again)."""
    run = plan.jobs[j]
    nodes = len(run.compiled[0].node_names)
    return parts.usable(plan.keys[j], run.paths, nodes, plan.summary_only, run.node_detail)


def _simulate(plan, parts, todo, waiting, done_points, execution, executor) -> None:
    networks = {(j,): plan.jobs[j].compiled[0].network for j in todo}
    # job-major order: a job finishes (and is written) before the next starts
    tasks = [Task((j,), t.start, t.size, t.node_detail) for j in todo for t in plan.jobs[j].tasks]
    bar = SweepProgress(
        len(waiting), done_points, sum(plan.jobs[j].paths for j in todo), execution.progress
    )
    users: dict[int, list[int]] = {}
    for p, jobs in waiting.items():
        for j in jobs:
            users.setdefault(j, []).append(p)

    def job_done(j: int) -> None:
        for p in users.get(j, ()):
            waiting[p].discard(j)
            if not waiting[p]:
                bar.point_done()

    writer = _JobWriter(plan, parts, job_done)
    owned = executor is None
    if owned:
        executor = make_executor(execution)
    try:
        execute(networks, plan.seed, tasks, writer, executor, bar)
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
        if owned:
            executor.close()
