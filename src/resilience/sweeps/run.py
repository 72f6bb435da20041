"""Run a sweep: every grid point's strategies through the engine, assembled into one dataset.

The unit of work is one compiled network (a strategy of a point). Points that leave a
strategy unchanged (a sweep of the JIC buffer leaves JIT as it is) share its network; it
is simulated once and its result used at every such point, which is exact because a
network, the seed and the path indices determine every bit of the result. All points use
the same seed: path i sees the same random events at every point (common random numbers).

Each finished unit is written atomically to its own store in ``.OUT.parts/`` beside
``OUT``, so an interrupted sweep restarted with the same command skips what is done. The
parts are assembled at the end into one dataset with the sweep axes as leading
dimensions, and removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import yaml

from resilience._version import __version__
from resilience.compiler import compile_strategy
from resilience.engine import (
    Execution,
    Executor,
    PreparedRun,
    Task,
    execute,
    make_executor,
    prepare,
    resolve_strategies,
)
from resilience.errors import ResultsError, SweepError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS
from resilience.results import (
    NODE_DTYPE,
    MemorySink,
    RunLayout,
    build_dataset,
    daily_variables,
    run_attributes,
    write_dataset,
)
from resilience.results.store import CHUNK_ELEMENTS, check_output
from resilience.risk import DEFAULT_TABLE_COLUMNS, risk_table
from resilience.scenario import Scenario, load_scenario
from resilience.shards import Shard, parse_shard, run_identity, shard_attributes
from resilience.sweeps.spec import SweepSpec

__all__ = [
    "SUMMARY_COLUMNS",
    "SweepPlan",
    "grid_dataset",
    "is_sweep",
    "merge_point_shards",
    "plan_sweep",
    "run_sweep",
    "summarize",
    "sweep_table",
]

log = logging.getLogger(__name__)

#: Statistics kept per point and strategy by ``--summary-only`` (risk_table columns).
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    *DEFAULT_TABLE_COLUMNS,
    ("lost_units", "P90"),
    ("stockout_days", "mean"),
)
#: Per-day variables kept by ``--summary-only`` (small: strategy x day).
SUMMARY_DAILY = (
    "daily_fill_rate_mean",
    "daily_fill_rate_band",
    "daily_on_hand_mean",
    "daily_on_hand_band",
)


# ----------------------------------------------------------------------------- summaries


def summarize(ds: xr.Dataset, columns: Sequence[tuple[str, str]] = SUMMARY_COLUMNS) -> xr.Dataset:
    """Per-strategy risk figures of a per-path dataset (any leading dims): the
    :func:`resilience.risk.risk_table` (estimate, lower, upper, se, n over ``column``)
    plus the per-day mean and band variables."""
    table = risk_table(ds, columns=columns).compute()
    table = table.transpose(*[d for d in ds["demand_units"].dims if d != "path"], "column")
    out = xr.merge([table, ds[list(SUMMARY_DAILY)]], combine_attrs="drop_conflicts")
    out.attrs = dict(ds.attrs)
    return out


def is_sweep(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a sweep result (``resilience report`` dispatches on this)."""
    return "sweep_json" in ds.attrs


def sweep_spec(ds: xr.Dataset) -> SweepSpec:
    return SweepSpec.from_json(ds.attrs["sweep_json"])


def sweep_table(ds: xr.Dataset) -> xr.Dataset:
    """Risk figures per sweep point and strategy: dims (axes..., strategy, column).

    A ``--summary-only`` result already holds them; a per-path one is summarised here.
    """
    if "path" not in ds.dims:
        return ds
    return summarize(ds)


# ----------------------------------------------------------------------------- plan


def network_key(network) -> str:
    """A hash of everything the kernel reads: equal keys give bit-identical results."""
    h = hashlib.sha256()
    for name, value in zip(network._fields, network, strict=True):
        h.update(name.encode())
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()[:24]


@dataclass
class SweepPlan:
    """A validated sweep: one scenario per point, the distinct networks to simulate."""

    spec: SweepSpec
    base: Scenario
    scenarios: list[Scenario]
    strategies: list[str]
    paths: int
    seed: int
    summary_only: bool
    units: list[PreparedRun]  # one single-strategy run per distinct network
    keys: list[str]  # network key of each unit
    unit_of: np.ndarray  # [points, strategies] -> unit index

    @property
    def points(self) -> int:
        return self.spec.size

    @property
    def identity(self) -> dict:
        text = self.base.source_text or ""
        return run_identity(
            hashlib.sha256(text.encode()).hexdigest(),
            self.seed,
            self.paths,
            self.strategies,
            sweep=self.spec.to_json(),
            summary_only=bool(self.summary_only),
        )

    def units_for(self, points: Iterable[int]) -> list[int]:
        """Distinct units the given points need, in order of first use."""
        return list(dict.fromkeys(int(u) for p in points for u in self.unit_of[p]))

    def attributes(self) -> dict:
        compiled = [compile_strategy(self.base, s) for s in self.strategies]
        extra = {
            "sweep_json": self.spec.to_json(),
            "sweep_axes": json.dumps(self.spec.names),
            "sweep_points": self.points,
            "sweep_summary_only": int(self.summary_only),
            "sweep_description": self.spec.description,
            "sweep_distinct_networks": len(self.units),
        }
        attrs = run_attributes(self.base, compiled, self.seed, self.paths, extra)
        attrs["title"] = f"resilience sweep: {self.base.name}"
        return attrs


def plan_sweep(
    scenario,
    spec: SweepSpec,
    paths: int,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    block_size: int | None = None,
    summary_only: bool = False,
) -> SweepPlan:
    """Validate every point of ``spec`` on ``scenario`` and compile its strategies.

    Raises ``SweepError`` (every bad path or value, with its axis and point) or
    ``ScenarioError`` (the base scenario) before anything is simulated.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base_doc = yaml.safe_load(base.source_text)
    scenarios = spec.scenarios(base_doc, source=str(base.source_path or ""))
    names = resolve_strategies(base, strategies)
    units: list[PreparedRun] = []
    keys: list[str] = []
    index: dict[str, int] = {}
    unit_of = np.empty((spec.size, len(names)), dtype=np.int64)
    node_names = None
    for p, sc in enumerate(scenarios):
        missing = [s for s in names if s not in sc.strategy_names]
        if missing:
            raise SweepError(f"point {p} ({spec.label(p)}): has no strategy {missing[0]!r}")
        for s, name in enumerate(names):
            run = prepare(sc, paths, seed, [name], block_size)
            compiled = run.compiled[0]
            if node_names is None:
                node_names = compiled.node_names
            elif compiled.node_names != node_names:
                raise SweepError(
                    f"point {p} ({spec.label(p)}): changes the network's nodes; a sweep may "
                    f"change parameters, not which nodes exist"
                )
            key = network_key(compiled.network)
            if key not in index:
                index[key] = len(units)
                units.append(run)
                keys.append(key)
            unit_of[p, s] = index[key]
    return SweepPlan(
        spec,
        base,
        scenarios,
        names,
        int(paths),
        int(seed),
        bool(summary_only),
        units,
        keys,
        unit_of,
    )


# ----------------------------------------------------------------------------- parts


class PartStore:
    """``.OUT.parts/``: one folder per finished unit (moved into place only when complete),
    a manifest naming the sweep they belong to, and a lock so two processes never share it.

    A unit folder holds its per-path arrays as ``.npy`` files (memory-mapped while the
    blocks arrive, so memory stays at a few blocks) and its per-day integer sums, or with
    ``--summary-only`` just its summary (``summary.nc``).
    """

    def __init__(self, out: Path, identity: dict, overwrite: bool = False):
        self.dir = out.parent / f".{out.name}.parts"
        self.identity = {**identity, "resilience_version": __version__}
        self.overwrite = overwrite
        self._lock = None

    def __enter__(self) -> PartStore:
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
                for part in self.dir.glob("unit-*"):
                    shutil.rmtree(part, ignore_errors=True)
        manifest.write_text(json.dumps(self.identity, sort_keys=True))
        # temporaries of an interrupted run (we hold the lock: nobody else writes them)
        for stale in self.dir.glob(".unit-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def path(self, key: str) -> Path:
        return self.dir / f"unit-{key}"

    def has(self, key: str) -> bool:
        return self.path(key).is_dir()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


_DAILY_FIELDS = ("fill_hist", "on_hand_hist", "fill_sum", "on_hand_sum")


class _UnitWriter:
    """The engine's sink for a sweep: routes each block to its unit's ``MemorySink``
    (over memory-mapped files) and moves the unit's folder into place the moment it is
    complete."""

    def __init__(self, plan: SweepPlan, parts: PartStore, on_done):
        self.plan = plan
        self.parts = parts
        self.on_done = on_done
        self.open: dict[int, tuple[Path, object]] = {}

    def _start(self, u: int):
        run = self.plan.units[u]
        tmp = self.parts.dir / f".unit-{self.plan.keys[u]}.partial-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            n_nodes = len(run.compiled[0].node_names)
            buffers = (
                np.lib.format.open_memmap(
                    tmp / "path_out.npy", "w+", np.float64, (1, run.paths, N_PATH_METRICS)
                ),
                np.lib.format.open_memmap(
                    tmp / "node_out.npy", "w+", NODE_DTYPE, (1, run.paths, n_nodes, N_NODE_METRICS)
                ),
            )
            layout = RunLayout.of(run.scenario, run.compiled, run.paths, run.seed)
            sink = MemorySink(layout, buffers)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.open[u] = (tmp, sink)
        return self.open[u]

    def __call__(self, task: Task, result) -> None:
        (u,) = task.index
        tmp, sink = self.open.get(u) or self._start(u)
        sink(Task((0,), task.start, task.size), result)
        if sink.done < self.plan.units[u].paths:
            return
        if self.plan.summary_only:
            summarize(sink.dataset()).to_netcdf(tmp / "summary.nc", engine="h5netcdf")
            del sink
            (tmp / "path_out.npy").unlink()
            (tmp / "node_out.npy").unlink()
        else:
            sink.path_out.flush()
            sink.node_out.flush()
            np.savez(tmp / "daily.npz", **{f: getattr(sink.daily, f) for f in _DAILY_FIELDS})
        del self.open[u]
        os.rename(tmp, self.parts.path(self.plan.keys[u]))
        self.on_done(u)

    def abort(self) -> None:
        for tmp, _ in self.open.values():
            shutil.rmtree(tmp, ignore_errors=True)
        self.open.clear()


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


# ----------------------------------------------------------------------------- assembly


def point_dataset(plan: SweepPlan, parts: PartStore, p: int) -> xr.Dataset:
    """The result of point ``p`` (dims strategy, ...) from its units' folders (lazy)."""
    units = [int(u) for u in plan.unit_of[p]]
    folders = [parts.path(plan.keys[u]) for u in units]
    if plan.summary_only:
        pieces = []
        for folder, name in zip(folders, plan.strategies, strict=True):
            with xr.open_dataset(folder / "summary.nc", engine="h5netcdf") as one:
                pieces.append(one.load().assign_coords(strategy=[name]))
        ds = xr.concat(
            pieces,
            dim="strategy",
            data_vars="all",
            coords="minimal",
            compat="override",
            join="exact",
            combine_attrs="override",
        )
        ds["strategy"].attrs = {"long_name": "Sourcing strategy"}
        return ds

    def stacked(name):
        arrays = []
        for folder in folders:
            mm = np.load(folder / f"{name}.npy", mmap_mode="r")[0]
            rows = max(1, CHUNK_ELEMENTS // math.prod(mm.shape[1:]))
            arrays.append(
                da.from_array(mm, chunks=(rows, *mm.shape[1:]), name=f"{folder.name}-{name}")
            )
        return da.stack(arrays)

    sums = [np.load(folder / "daily.npz") for folder in folders]
    daily = daily_variables(
        *(np.stack([s[f][0] for s in sums]) for f in _DAILY_FIELDS),
        np.array([plan.units[u].compiled[0].network.on_hand_max for u in units]),
        plan.paths,
    )
    compiled = [
        replace(plan.units[u].compiled[0], name=name)
        for u, name in zip(units, plan.strategies, strict=True)
    ]
    layout = RunLayout.of(plan.scenarios[p], compiled, plan.paths, plan.seed)
    return build_dataset(layout, stacked("path_out"), stacked("node_out"), daily)


def _combine(datasets, dims) -> xr.Dataset:
    return xr.combine_nested(
        datasets,
        concat_dim=dims,
        data_vars="all",
        coords="minimal",
        compat="override",
        join="exact",
        combine_attrs="override",
    )


def grid_dataset(points: Sequence[xr.Dataset], spec: SweepSpec) -> xr.Dataset:
    """Point datasets in point order -> one dataset with the axes as leading dims."""
    if len(points) != spec.size:
        raise ResultsError(f"{len(points)} point results for a sweep of {spec.size} points")
    cells = np.empty(spec.shape, dtype=object)
    for p, ds in enumerate(points):
        cells[spec.steps(p)] = ds.expand_dims(spec.names)
    return _combine(cells.tolist(), spec.names).assign_coords(spec.coords())


def stacked_dataset(
    points: Sequence[xr.Dataset], indices: Sequence[int], spec: SweepSpec
) -> xr.Dataset:
    """Some points of a sweep (a shard) along one ``point`` dimension, with each axis
    value as a coordinate on ``point``."""
    ds = _combine([d.expand_dims("point") for d in points], ["point"])
    steps = np.array([spec.steps(p) for p in indices]).reshape(len(indices), len(spec.axes))
    coords = {"point": ("point", np.asarray(indices, dtype=np.int64))}
    for a, axis in enumerate(spec.axes):
        coords[axis.name] = ("point", axis.coordinate()[steps[:, a]])
    return ds.assign_coords(coords)


def merge_point_shards(shards: Sequence[xr.Dataset]) -> xr.Dataset:
    """Sweep shards (split by points, in shard order) -> the whole sweep's grid dataset."""
    spec = SweepSpec.from_json(shards[0].attrs["sweep_json"])
    points = [ds.isel(point=k, drop=True) for ds in shards for k in range(ds.sizes["point"])]
    got = [int(i) for ds in shards for i in ds["point"].values]
    if got != list(range(spec.size)):
        raise ResultsError(f"the shards hold points {got[:10]}..., expected 0..{spec.size - 1}")
    ds = grid_dataset(points, spec)
    ds.attrs = dict(shards[0].attrs)
    return ds


# ----------------------------------------------------------------------------- running


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    *,
    shard: Shard | str | None = None,
    execution: Execution | None = None,
    executor: Executor | None = None,
    overwrite: bool = False,
) -> Path:
    """Simulate the units of ``plan`` not already finished and write the result to ``out``.

    With ``shard`` ("i/N"), only the i-th of N contiguous ranges of points is run and
    written as a shard (dim ``point``) for ``resilience merge``. ``executor`` (left
    open) replaces the one ``execution`` asks for.
    """
    out = Path(out)
    check_output(out, overwrite)
    execution = execution or Execution()
    shard = parse_shard(shard)
    lo, hi = shard.range(plan.points, "points") if shard is not None else (0, plan.points)
    points = range(lo, hi)
    needed = plan.units_for(points)
    with PartStore(out, plan.identity, overwrite) as parts:
        todo = [u for u in needed if not parts.has(plan.keys[u])]
        waiting = {p: {int(u) for u in plan.unit_of[p]} & set(todo) for p in points}
        done_points = sum(1 for p in points if not waiting[p])
        if done_points:
            log.info(
                "resuming: %d of %d points already done (in %s)",
                done_points,
                len(points),
                parts.dir,
            )
        if todo:
            _simulate(
                plan,
                parts,
                todo,
                waiting,
                done_points,
                execution,
                executor,
            )
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
    return out


def _simulate(plan, parts, todo, waiting, done_points, execution, executor) -> None:
    networks = {(u,): plan.units[u].compiled[0].network for u in todo}
    # unit-major order: a unit finishes (and is written) before the next starts
    tasks = [Task((u,), t.start, t.size) for u in todo for t in plan.units[u].tasks]
    bar = SweepProgress(
        len(waiting), done_points, sum(plan.units[u].paths for u in todo), execution.progress
    )
    users: dict[int, list[int]] = {}
    for p, units in waiting.items():
        for u in units:
            users.setdefault(u, []).append(p)

    def unit_done(u: int) -> None:
        for p in users.get(u, ()):
            waiting[p].discard(u)
            if not waiting[p]:
                bar.point_done()

    writer = _UnitWriter(plan, parts, unit_done)
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
