"""The resumable part store of a sweep, and the engine sink that fills it.

Each finished job is written atomically to its own folder in ``.OUT.parts/`` beside
``OUT``, so an interrupted sweep restarted with the same command skips what is done. A
part that cannot be read back (a truncated or garbled file) is named in a warning,
discarded and simulated again; the parts of a sweep whose result ``OUT`` is whole (one
killed between writing ``OUT`` and removing its parts) are removed by the next run of it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import numpy as np

from resilience._version import __version__
from resilience.engine import Task
from resilience.errors import SweepError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS
from resilience.results import NODE_DTYPE, MemorySink, RunLayout
from resilience.results.store import check_output, is_result, store_problem, unreadable_part
from resilience.sweeps.plan import SweepPlan
from resilience.sweeps.summary import summarize

__all__ = ["DAILY_FIELDS", "NODE_FIELDS", "PartStore"]

log = logging.getLogger(__name__)

#: The per-day integer sums a job folder keeps (``daily.npz``), in ``daily_variables`` order.
DAILY_FIELDS = ("fill_hist", "on_hand_hist", "fill_sum", "on_hand_sum")
#: The per-node integer summaries a job folder of node detail "summary" keeps (``nodes.npz``)
NODE_FIELDS = ("hist", "fixed_sum", "shortage")


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

    def usable(
        self, key: str, paths: int, nodes: int, summary_only: bool, node_detail: str = "paths"
    ) -> bool:
        """Whether the part ``key`` is finished and reads back whole; one that does not is
        named in a warning and discarded, so that its job is simulated again."""
        if not self.has(key):
            return False
        folder = self.path(key)
        problem = _part_problem(folder, paths, nodes, summary_only, node_detail)
        if problem is None:
            return True
        log.warning(
            "%s: discarding the finished part %s (%s); its job is simulated again",
            self.dir,
            folder.name,
            problem,
        )
        shutil.rmtree(folder, ignore_errors=True)
        return False

    def remove_if_finished(self) -> bool:
        """Remove ``.OUT.parts/`` when ``OUT`` is a whole result and the parts are this
        sweep's (their manifest) and nobody holds their lock: what a sweep killed between
        writing ``OUT`` and removing its parts leaves. Call it holding the lock of ``OUT``;
        returns whether they were removed."""
        if not self.dir.is_dir() or not is_result(self.out) or store_problem(self.out):
            return False
        try:
            manifest = json.loads((self.dir / "manifest.json").read_text())
        except (OSError, ValueError):
            return False
        if manifest != self.identity:
            return False  # another sweep's (or another version's): left to its owner
        try:
            with open(self.dir / "lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.remove()
        except OSError:  # held: that sweep is running (an older one, not locking OUT)
            return False
        log.info("removed %s, the finished parts of the sweep that wrote %s", self.dir, self.out)
        return True

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _part_problem(
    folder: Path, paths: int, nodes: int, summary_only: bool, node_detail: str = "paths"
) -> str | None:
    """What makes the part in ``folder`` unreadable (a file missing, truncated or not
    decodable, an array of the wrong shape), or None."""
    if summary_only:
        summary = folder / "summary.nc"
        if not summary.is_file():
            return "summary.nc is missing"
        return unreadable_part(summary)
    expected = {"path_out.npy": ((1, paths, N_PATH_METRICS), np.dtype(np.float64))}
    if node_detail == "paths":
        expected["node_out.npy"] = ((1, paths, nodes, N_NODE_METRICS), np.dtype(NODE_DTYPE))
    for name, (shape, dtype) in expected.items():
        try:
            array = np.load(folder / name, mmap_mode="r")  # checks the size against its header
        except (OSError, ValueError, EOFError) as exc:
            return f"{name} cannot be read: {exc}"
        if array.shape != shape or array.dtype != dtype:
            return f"{name} holds {array.dtype}{list(array.shape)}, not {dtype}{list(shape)}"
        del array
    try:
        with np.load(folder / "daily.npz") as daily:
            for field in DAILY_FIELDS:
                daily[field]  # decompresses and checks its CRC
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return f"daily.npz cannot be read: {exc}"
    if node_detail == "summary":
        try:
            with np.load(folder / "nodes.npz") as summary:
                for field in NODE_FIELDS:
                    summary[field]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            return f"nodes.npz cannot be read: {exc}"
    return None


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
            layout = RunLayout.of(
                run.scenario, run.compiled, run.paths, run.seed, node_detail=run.node_detail
            )
            buffers = (
                np.lib.format.open_memmap(
                    tmp / "path_out.npy", "w+", np.float64, (1, layout.paths, N_PATH_METRICS)
                ),
                np.lib.format.open_memmap(
                    tmp / "node_out.npy",
                    "w+",
                    NODE_DTYPE,
                    (1, layout.paths, len(layout.nodes), N_NODE_METRICS),
                )
                if layout.node_paths
                else None,
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
            (tmp / "node_out.npy").unlink(missing_ok=True)
        else:
            sink.path_out.flush()
            if sink.node_out is not None:
                sink.node_out.flush()
            np.savez(tmp / "daily.npz", **{f: getattr(sink.daily, f) for f in DAILY_FIELDS})
            if sink.nodes.summary is not None:
                np.savez(
                    tmp / "nodes.npz", **{f: getattr(sink.nodes.summary, f) for f in NODE_FIELDS}
                )
        del self.open[j]
        os.rename(tmp, self.parts.path(self.plan.keys[j]))
        self.on_done(j)

    def abort(self) -> None:
        for tmp, _ in self.open.values():
            shutil.rmtree(tmp, ignore_errors=True)
        self.open.clear()
