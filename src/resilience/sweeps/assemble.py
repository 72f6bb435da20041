"""Assemble a sweep's result: each point's dataset from its jobs' part folders, the points
into one grid dataset (the sweep axes as leading dimensions), or a shard of points."""

from __future__ import annotations

import math
from collections.abc import Sequence

import dask.array as da
import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.results import RunLayout, daily_variables
from resilience.results.dataset import dataset_of, node_summary_variables, per_path_variables
from resilience.results.store import CHUNK_ELEMENTS
from resilience.sweeps.parts import DAILY_FIELDS, NODE_FIELDS, PartStore
from resilience.sweeps.plan import SweepPlan
from resilience.sweeps.spec import SweepSpec

__all__ = ["grid_dataset", "merge_point_shards", "point_dataset", "stacked_dataset"]


def point_dataset(plan: SweepPlan, parts: PartStore, p: int) -> xr.Dataset:
    """The result of point ``p`` (dims strategy, ...) from its jobs' folders (lazy)."""
    folders = [parts.path(plan.keys[j]) for j in plan.point_jobs(p)]
    if plan.summary_only:
        return _summary_point(folders, plan.strategies)
    compiled = plan.point_compiled(p)
    layout = RunLayout.of(
        plan.scenarios[p], compiled, plan.paths, plan.seed, node_detail=plan.node_detail
    )
    sums = [np.load(folder / "daily.npz") for folder in folders]
    daily = daily_variables(
        *(np.stack([s[f][0] for s in sums]) for f in DAILY_FIELDS),
        layout.on_hand_max,
        layout.paths,
    )
    node_out = _stacked(folders, "node_out") if layout.node_paths else None
    data = per_path_variables(_stacked(folders, "path_out"), node_out, ("strategy", "path"))
    if layout.node_detail == "summary":
        nodes = [np.load(folder / "nodes.npz") for folder in folders]
        fields = [np.stack([n[f][0] for n in nodes]) for f in NODE_FIELDS]
        data.update(node_summary_variables(*fields, layout.node_hi, layout.paths))
    return dataset_of(layout, data, daily)


def _summary_point(folders: Sequence, strategies: Sequence[str]) -> xr.Dataset:
    """A ``--summary-only`` point: its jobs' summaries along ``strategy``."""
    pieces = []
    for folder, name in zip(folders, strategies, strict=True):
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


def _stacked(folders: Sequence, name: str) -> da.Array:
    """The jobs' memory-mapped ``name.npy`` arrays stacked along a leading strategy axis."""
    arrays = []
    for folder in folders:
        mm = np.load(folder / f"{name}.npy", mmap_mode="r")[0]
        rows = max(1, CHUNK_ELEMENTS // math.prod(mm.shape[1:]))
        arrays.append(da.from_array(mm, chunks=(rows, *mm.shape[1:]), name=f"{folder.name}-{name}"))
    return da.stack(arrays)


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
