"""The resumable part store of a sweep, and the engine sink that fills it.

Each finished job is written atomically to its own folder in ``.OUT.parts/`` beside
``OUT``, so an interrupted sweep restarted with the same command skips what is done.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from resilience._version import __version__
from resilience.engine import Task
from resilience.errors import SweepError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS
from resilience.results import NODE_DTYPE, MemorySink, RunLayout
from resilience.results.store import check_output
from resilience.sweeps.plan import SweepPlan
from resilience.sweeps.summary import summarize

__all__ = ["DAILY_FIELDS", "PartStore"]

#: The per-day integer sums a job folder keeps (``daily.npz``), in ``daily_variables`` order.
DAILY_FIELDS = ("fill_hist", "on_hand_hist", "fill_sum", "on_hand_sum")


class PartStore:
    """``.OUT.parts/``: one folder per finished job (moved into place only when complete),
    a manifest naming the sweep they belong to, and a lock so two processes never share it.

    A job folder holds its per-path arrays as ``.npy`` files (memory-mapped while the
    blocks arrive, so memory stays at a few blocks) and its per-day integer sums, or with
    ``--summary-only`` just its summary (``summary.nc``).
    """

    def __init__(self, out: Path, identity: dict, overwrite: bool = False):
        self.out = Path(out)
        self.dir = self.out.parent / f".{self.out.name}.parts"
        self.identity = {**identity, "resilience_version": __version__}
        self.overwrite = overwrite
        self._lock = None

    def __enter__(self) -> PartStore:
        check_output(self.out, self.overwrite)  # the one check of ``out`` itself
        self.dir.mkdir(exist_ok=True)
        self._lock = open(self.dir / "lock", "w")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise SweepError(
                f"another sweep is writing to {self.dir}; wait for it to finish"
            ) from None
        manifest = self.dir / "manifest.json"
        if manifest.exists():
            try:
                old = json.loads(manifest.read_text())
            except ValueError:
                old = {}
            if old != self.identity:
                if not self.overwrite:
                    diff = [k for k in self.identity if old.get(k) != self.identity[k]] or ["?"]
                    self.__exit__()
                    raise SweepError(
                        f"{self.dir} holds the finished parts of a different sweep (its "
                        f"{', '.join(diff)} differ{'s' if len(diff) == 1 else ''}); pass "
                        f"--overwrite to discard them, or rerun that sweep's command to finish it"
                    )
                for part in self.dir.glob("job-*"):
                    shutil.rmtree(part, ignore_errors=True)
        manifest.write_text(json.dumps(self.identity, sort_keys=True))
        # temporaries of an interrupted run (we hold the lock: nobody else writes them)
        for stale in self.dir.glob(".job-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def path(self, key: str) -> Path:
        return self.dir / f"job-{key}"

    def temporary(self, key: str) -> Path:
        """A fresh name for a job folder being written (renamed to :meth:`path` when done)."""
        return self.dir / f".job-{key}.partial-{uuid.uuid4().hex[:8]}"

    def has(self, key: str) -> bool:
        return self.path(key).is_dir()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class _JobWriter:
    """The engine's sink for a sweep: routes each block to its job's ``MemorySink``
    (over memory-mapped files) and moves the job's folder into place the moment it is
    complete."""

    def __init__(self, plan: SweepPlan, parts: PartStore, on_done):
        self.plan = plan
        self.parts = parts
        self.on_done = on_done
        self.open: dict[int, tuple[Path, object]] = {}

    def _start(self, j: int):
        run = self.plan.jobs[j]
        tmp = self.parts.temporary(self.plan.keys[j])
        tmp.mkdir()
        try:
            layout = RunLayout.of(run.scenario, run.compiled, run.paths, run.seed)
            buffers = (
                np.lib.format.open_memmap(
                    tmp / "path_out.npy", "w+", np.float64, (1, layout.paths, N_PATH_METRICS)
                ),
                np.lib.format.open_memmap(
                    tmp / "node_out.npy",
                    "w+",
                    NODE_DTYPE,
                    (1, layout.paths, len(layout.nodes), N_NODE_METRICS),
                ),
            )
            sink = MemorySink(layout, buffers)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.open[j] = (tmp, sink)
        return self.open[j]

    def __call__(self, task: Task, result) -> None:
        (j,) = task.index
        tmp, sink = self.open.get(j) or self._start(j)
        sink(Task((0,), task.start, task.size), result)
        if sink.done < self.plan.jobs[j].paths:
            return
        if self.plan.summary_only:
            summarize(sink.dataset()).to_netcdf(tmp / "summary.nc", engine="h5netcdf")
            del sink
            (tmp / "path_out.npy").unlink()
            (tmp / "node_out.npy").unlink()
        else:
            sink.path_out.flush()
            sink.node_out.flush()
            np.savez(tmp / "daily.npz", **{f: getattr(sink.daily, f) for f in DAILY_FIELDS})
        del self.open[j]
        os.rename(tmp, self.parts.path(self.plan.keys[j]))
        self.on_done(j)

    def abort(self) -> None:
        for tmp, _ in self.open.values():
            shutil.rmtree(tmp, ignore_errors=True)
        self.open.clear()
