"""Sinks: where the engine's block results go, in memory or streamed to a file.

A sink is called with (task, result) for every block as it finishes, in any order; it
places the block's paths by ``task.start`` and sums the per-day histograms and fixed-point
sums as integers (order-independent), so any split of the paths gives the same bits.
"""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from resilience.compiler import FILL_BINS, ON_HAND_BINS
from resilience.errors import ResultsError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS, NODE_BINS
from resilience.results.catalogue import DAILY_DIMS
from resilience.results.chunks import chunk_sizes, netcdf_encoding, zarr_encoding
from resilience.results.dataset import (
    RunLayout,
    daily_variables,
    dataset_of,
    fill_per_path,
    node_summary_variables,
    per_path_of_arrays,
    per_path_shapes,
    per_path_variables,
)
from resilience.results.store import ZARR_FORMAT, finish_zarr, output_format, write_netcdf


class DailyAccumulator:
    """Sums per-block histograms and fixed-point sums (integer sums: order-independent)."""

    def __init__(self, lead_shape, T):
        self.fill_hist = np.zeros((*lead_shape, T, FILL_BINS), np.int64)
        self.on_hand_hist = np.zeros((*lead_shape, T, ON_HAND_BINS), np.int64)
        self.fill_sum = np.zeros((*lead_shape, T), np.int64)
        self.on_hand_sum = np.zeros((*lead_shape, T), np.int64)

    def add(self, index, result):
        self.fill_hist[index] += result.fill_hist
        self.on_hand_hist[index] += result.on_hand_hist
        self.fill_sum[index] += result.fill_sum
        self.on_hand_sum[index] += result.on_hand_sum

    def variables(self, on_hand_max, paths):
        return daily_variables(
            self.fill_hist, self.on_hand_hist, self.fill_sum, self.on_hand_sum, on_hand_max, paths
        )


class NodeSummaryAccumulator:
    """Sums the kernel's per-node histograms, fixed-point sums and shortage counts over
    blocks (integers: order-independent), for node detail "summary"."""

    def __init__(self, lead_shape, N):
        self.hist = np.zeros((*lead_shape, N, N_NODE_METRICS, NODE_BINS), np.int64)
        self.fixed_sum = np.zeros((*lead_shape, N, N_NODE_METRICS), np.int64)
        self.shortage = np.zeros((*lead_shape, N), np.int64)

    def add(self, index, result):
        self.hist[index] += result.node_hist
        self.fixed_sum[index] += result.node_sum
        self.shortage[index] += result.node_shortage

    def variables(self, node_hi, paths, lead_dims=()):
        return node_summary_variables(
            self.hist, self.fixed_sum, self.shortage, node_hi, paths, lead_dims
        )


class _NodeDetail:
    """The per-node summaries of a sink's run, when its layout asks for them."""

    def __init__(self, layout: RunLayout):
        self.layout = layout
        self.summary = None
        if layout.node_detail == "summary":
            self.summary = NodeSummaryAccumulator((len(layout.strategies),), len(layout.nodes))

    def add(self, index, result):
        if self.summary is not None:
            self.summary.add(index, result)

    def variables(self) -> dict:
        if self.summary is None:
            return {}
        return self.summary.variables(self.layout.node_hi, self.layout.paths)


class MemorySink:
    """Collects every block in arrays; ``dataset()`` builds the result.

    ``buffers`` (path_out, node_out) of shapes [S, paths, N_PATH_METRICS] and
    [S, paths, N, N_NODE_METRICS] replace the in-memory arrays, e.g. memory-mapped files
    (node_out may be NODE_DTYPE: the dataset stores it so anyway).
    """

    def __init__(self, layout: RunLayout, buffers=None):
        self.layout = layout
        S = len(layout.strategies)
        N = len(layout.nodes)
        if buffers is None:
            buffers = (
                np.full((S, layout.paths, N_PATH_METRICS), np.nan),
                np.full((S, layout.paths, N, N_NODE_METRICS), np.nan)
                if layout.node_paths
                else None,
            )
        self.path_out, self.node_out = buffers
        self.daily = DailyAccumulator((S,), layout.horizon)
        self.nodes = _NodeDetail(layout)
        self.done = 0

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.layout.path_start
        self.path_out[s, lo : lo + task.size] = result.path_out
        if self.node_out is not None:
            self.node_out[s, lo : lo + task.size] = result.node_out
        self.daily.add((s,), result)
        self.nodes.add((s,), result)
        self.done += task.size

    def dataset(self):
        _check_complete(self.layout, self.done)
        daily = self.daily.variables(self.layout.on_hand_max, self.layout.paths)
        per_path = per_path_variables(self.path_out, self.node_out, ("strategy", "path"))
        return dataset_of(self.layout, {**per_path, **self.nodes.variables()}, daily)

    def close(self):
        pass


def _check_complete(layout: RunLayout, done: int) -> None:
    expected = layout.paths * len(layout.strategies)
    if done != expected:
        raise ResultsError(f"run incomplete: {done} of {expected} path-strategies done")


class NetCDFSink:
    """NetCDF cannot be written by region: collects every block in memory, in the stored
    layout (one array per variable, node variables as NODE_DTYPE: no copy at the end), and
    writes the file once, compressed, at the end."""

    def __init__(self, layout: RunLayout, path):
        self.layout = layout
        self.path = Path(path)
        S = len(layout.strategies)
        shapes = per_path_shapes(len(layout.nodes), layout.node_paths)
        self.buffer = _ChunkBuffer(shapes, (S, layout.paths))
        self.daily = DailyAccumulator((S,), layout.horizon)
        self.nodes = _NodeDetail(layout)
        self.done = 0

    def __call__(self, task, result):
        (s,) = task.index
        self.buffer.put(s, task.start - self.layout.path_start, result, 0, task.size)
        self.daily.add((s,), result)
        self.nodes.add((s,), result)
        self.done += task.size

    def dataset(self) -> xr.Dataset:
        _check_complete(self.layout, self.done)
        daily = self.daily.variables(self.layout.on_hand_max, self.layout.paths)
        per_path = per_path_of_arrays(self.buffer.data, ("strategy", "path"))
        return dataset_of(self.layout, {**per_path, **self.nodes.variables()}, daily)

    def close(self):
        ds = self.dataset()
        chunks = chunk_sizes(ds, unit=self.layout.block_size)  # those of the Zarr sink
        write_netcdf(ds, self.path, encoding=netcdf_encoding(ds, chunks))


class ZarrSink:
    """Streams blocks into a Zarr store, a whole chunk at a time.

    The store's chunks are :func:`~resilience.results.chunks.chunk_sizes` of the run, in
    whole blocks along ``path``; each block is copied into the buffer of its chunk (every
    variable, the chunk's strategies and paths), and the chunk is compressed and written
    the moment its last block arrives (in any order), while the engine's next waves run.
    Memory: the chunks being filled (one row of chunks along ``path`` at a time for blocks
    arriving in about path order: a quarter of the result at most, CHUNK_BYTES per
    variable), and the blocks in flight.
    """

    def __init__(self, layout: RunLayout, path):
        self.layout = layout
        self.path = Path(path)
        S = len(layout.strategies)
        self.daily = DailyAccumulator((S,), layout.horizon)
        self.nodes = _NodeDetail(layout)
        self.done = 0
        template = self._template(layout)
        self.chunks = chunk_sizes(template, unit=layout.block_size)
        per_path = [k for k, v in template.data_vars.items() if v.dims[:2] == ("strategy", "path")]
        for name in per_path:  # the rest (coordinates, per-day placeholders) is written now
            template[name] = template[name].chunk({d: self.chunks[d] for d in ("strategy", "path")})
        template.to_zarr(
            self.path,
            mode="w",
            compute=False,  # the per-path arrays: metadata only, the chunks come from blocks
            encoding=zarr_encoding(template, self.chunks),
            consolidated=False,
            zarr_format=ZARR_FORMAT,
            write_empty_chunks=True,  # every chunk stored: a missing one is then damage
        )
        self.shapes = per_path_shapes(len(layout.nodes), layout.node_paths)
        self.arrays = {name: self._array(name) for name in self.shapes}
        self.pending: dict[tuple[int, int], _ChunkBuffer] = {}

    @staticmethod
    def _template(layout: RunLayout) -> xr.Dataset:
        """The result as full-size lazy arrays (never computed) and placeholder per-day
        variables and per-node summaries (overwritten at the end)."""
        S, N, T = len(layout.strategies), len(layout.nodes), layout.horizon
        path_out = da.zeros((S, layout.paths, N_PATH_METRICS), chunks=-1)
        node_out = None
        if layout.node_paths:
            node_out = da.zeros((S, layout.paths, N, N_NODE_METRICS), chunks=-1)
        acc = DailyAccumulator((S,), T)
        with np.errstate(invalid="ignore", divide="ignore"):
            daily = acc.variables(layout.on_hand_max, 1)
        per_path = per_path_variables(path_out, node_out, ("strategy", "path"))
        return dataset_of(layout, {**per_path, **_NodeDetail(layout).variables()}, daily)

    def _array(self, name: str):
        array = zarr.open_array(str(self.path / name), mode="r+", zarr_format=ZARR_FORMAT)
        return array.with_config({"write_empty_chunks": True})

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.layout.path_start
        step, s_step = self.chunks["path"], self.chunks["strategy"]
        pos = lo
        while pos < lo + task.size:  # one chunk, unless blocks and chunks are not aligned
            key = (s // s_step, pos // step)
            end = min(lo + task.size, (key[1] + 1) * step)
            buffer = self.pending.get(key) or self._open(key)
            buffer.put(s - key[0] * s_step, pos - key[1] * step, result, pos - lo, end - lo)
            if buffer.missing == 0:
                self._write(key, self.pending.pop(key))
            pos = end
        self.daily.add((s,), result)
        self.nodes.add((s,), result)
        self.done += task.size

    def _bounds(self, key: tuple[int, int]) -> tuple[slice, slice]:
        s_step, step = self.chunks["strategy"], self.chunks["path"]
        strategies = slice(key[0] * s_step, min(len(self.layout.strategies), (key[0] + 1) * s_step))
        paths = slice(key[1] * step, min(self.layout.paths, (key[1] + 1) * step))
        return strategies, paths

    def _open(self, key: tuple[int, int]) -> _ChunkBuffer:
        strategies, paths = self._bounds(key)
        lead = (strategies.stop - strategies.start, paths.stop - paths.start)
        self.pending[key] = _ChunkBuffer(self.shapes, lead)
        return self.pending[key]

    def _write(self, key: tuple[int, int], buffer: _ChunkBuffer) -> None:
        region = self._bounds(key)
        for name, array in self.arrays.items():
            array[region] = buffer.data[name]

    def close(self):
        _check_complete(self.layout, self.done)
        if self.pending:  # every path arrived, so every chunk was written
            raise ResultsError(f"run incomplete: chunks {sorted(self.pending)} not filled")
        daily = self.daily.variables(self.layout.on_hand_max, self.layout.paths)
        for name in DAILY_DIMS:
            self._array(name)[...] = daily[name]
        for name, (_, values, _) in self.nodes.variables().items():
            self._array(name)[...] = values
        finish_zarr(self.path)  # the completeness marker and consolidated metadata, last


class _ChunkBuffer:
    """The values of one chunk of every per-path variable, filled block by block."""

    def __init__(self, shapes: dict[str, tuple[np.dtype, tuple[int, ...]]], lead: tuple):
        self.data = {
            name: np.empty((*lead, *tail), dtype) for name, (dtype, tail) in shapes.items()
        }
        self.missing = lead[0] * lead[1]  # path-strategies still to come

    def put(self, s: int, at: int, result, lo: int, hi: int) -> None:
        """Paths [lo, hi) of a block of strategy ``s`` (of the chunk), at path ``at``."""
        views = {name: array[s, at : at + hi - lo] for name, array in self.data.items()}
        fill_per_path(views, result.path_out[lo:hi], result.node_out[lo:hi])  # node: if kept
        self.missing -= hi - lo


def sink_for(path: Path, layout: RunLayout, final_name: Path | None = None):
    """The file sink for ``path``'s format (``final_name``'s, when writing a temporary)."""
    fmt = output_format(final_name or path)
    return ZarrSink(layout, path) if fmt == "zarr" else NetCDFSink(layout, path)
