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

from resilience.compiler import FILL_BINS, ON_HAND_BINS
from resilience.errors import ResultsError
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS
from resilience.results.catalogue import DAILY_DIMS
from resilience.results.dataset import (
    RunLayout,
    build_dataset,
    daily_variables,
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
                np.full((S, layout.paths, N, N_NODE_METRICS), np.nan),
            )
        self.path_out, self.node_out = buffers
        self.daily = DailyAccumulator((S,), layout.horizon)
        self.done = 0

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.layout.path_start
        self.path_out[s, lo : lo + task.size] = result.path_out
        self.node_out[s, lo : lo + task.size] = result.node_out
        self.daily.add((s,), result)
        self.done += task.size

    def dataset(self):
        _check_complete(self.layout, self.done)
        daily = self.daily.variables(self.layout.on_hand_max, self.layout.paths)
        return build_dataset(self.layout, self.path_out, self.node_out, daily)

    def close(self):
        pass


def _check_complete(layout: RunLayout, done: int) -> None:
    expected = layout.paths * len(layout.strategies)
    if done != expected:
        raise ResultsError(f"run incomplete: {done} of {expected} path-strategies done")


class NetCDFSink(MemorySink):
    """NetCDF cannot be written by region; collects in memory and writes once at the end."""

    def __init__(self, layout: RunLayout, path):
        super().__init__(layout)
        self.path = Path(path)

    def close(self):
        write_netcdf(self.dataset(), self.path)


class ZarrSink:
    """Streams each block into a Zarr store by region, so memory stays at a few blocks."""

    def __init__(self, layout: RunLayout, path):
        self.layout = layout
        self.path = Path(path)
        S = len(layout.strategies)
        N = len(layout.nodes)
        T = layout.horizon
        chunk = layout.block_size
        self.daily = DailyAccumulator((S,), T)
        self.done = 0
        # template: full-size lazy arrays, never computed (compute=False writes metadata only)
        path_out = da.zeros((S, layout.paths, N_PATH_METRICS), chunks=(1, chunk, N_PATH_METRICS))
        node_out = da.zeros(
            (S, layout.paths, N, N_NODE_METRICS), chunks=(1, chunk, N, N_NODE_METRICS)
        )
        template = build_dataset(layout, path_out, node_out, self._daily_placeholder(S, T))
        encoding = {name: {"chunks": (1, chunk)} for name in self.path_vars(template)}
        encoding.update({name: {"chunks": (1, chunk, N)} for name in self.node_vars(template)})
        template.to_zarr(
            self.path,
            mode="w",
            compute=False,
            encoding=encoding,
            consolidated=False,
            zarr_format=ZARR_FORMAT,
            write_empty_chunks=True,  # every chunk stored: a missing one is then damage
        )
        self.coords_to_drop = list(template.coords)

    @staticmethod
    def path_vars(ds):
        return [k for k, v in ds.data_vars.items() if v.dims[-2:] == ("strategy", "path")]

    @staticmethod
    def node_vars(ds):
        return [k for k, v in ds.data_vars.items() if v.dims[-3:] == ("strategy", "path", "node")]

    def _daily_placeholder(self, S, T):
        acc = DailyAccumulator((S,), T)
        with np.errstate(invalid="ignore", divide="ignore"):
            return acc.variables(self.layout.on_hand_max, 1)

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.layout.path_start
        block = _block_dataset(result)
        region = {"strategy": slice(s, s + 1), "path": slice(lo, lo + task.size)}
        block.to_zarr(self.path, region=region, consolidated=False, write_empty_chunks=True)
        self.daily.add((s,), result)
        self.done += task.size

    def close(self):
        _check_complete(self.layout, self.done)
        daily = self.daily.variables(self.layout.on_hand_max, self.layout.paths)
        day = xr.Dataset(
            {name: (("strategy", *dims), daily[name]) for name, dims in DAILY_DIMS.items()}
        )
        region = {dim: slice(None) for dim in day.dims}
        day.to_zarr(self.path, region=region, consolidated=False, write_empty_chunks=True)
        finish_zarr(self.path)  # the completeness marker and consolidated metadata, last


def _block_dataset(result):
    """One block as a Dataset of the per-path variables only (for a region write)."""
    data = per_path_variables(result.path_out[None], result.node_out[None], ("strategy", "path"))
    return xr.Dataset({name: (dims, values) for name, (dims, values, _) in data.items()})


def sink_for(path: Path, layout: RunLayout, final_name: Path | None = None):
    """The file sink for ``path``'s format (``final_name``'s, when writing a temporary)."""
    fmt = output_format(final_name or path)
    return ZarrSink(layout, path) if fmt == "zarr" else NetCDFSink(layout, path)
