"""How a result is laid out in its file: one chunk size per dimension, shared by every
variable, and the codecs.

One size per dimension makes a stored result behave like any xarray dataset:
``xr.open_zarr(path).chunks`` is defined, and dask aligns the variables chunk for chunk.

- ``path``: a multiple of a unit of paths (the run's block size when the Zarr sink
  streams blocks, so that whole blocks fill whole chunks; PATH_UNIT when a finished
  dataset is written); as many units as keep the largest variable's chunk within
  CHUNK_BYTES, but few enough that the paths make MIN_PATH_CHUNKS chunks, when there are
  that many units: a read is split over that many cores, and the Zarr sink writes a
  chunk, and frees its buffer, while the later paths are still being simulated;
- ``strategy``: every strategy in one chunk (strategies are compared path by path), or
  one strategy per chunk when a unit of paths of all of them would exceed CHUNK_BYTES;
- dimensions before ``strategy`` (sweep axes, ``point``): one step per chunk;
- every other dimension (node, day, histogram bins, band quantiles): whole.

The demo (200,000 paths, 4 strategies, 16 nodes, blocks of 4096) gets chunks of
(4 strategies, 53,248 paths): 1.7 MB per per-path variable, 13.6 MB per per-node one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numcodecs
import numpy as np
import xarray as xr

#: Upper bound of the largest variable's chunk, uncompressed (a unit of paths may exceed it)
CHUNK_BYTES = 16 * 2**20
#: The fewest chunks along ``path`` a result of at least that many units is split into
MIN_PATH_CHUNKS = 4
#: Paths per unit of a path chunk when no block size is given
PATH_UNIT = 4096

#: The Zarr codec: zstd level 1 after a byte shuffle, in blosc (threads, no GIL held):
#: as fast to write as lz4 and about a third smaller on results (docs/results-format.md)
ZARR_COMPRESSOR = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.SHUFFLE)
#: The NetCDF codec: deflate level 1 after a shuffle, the fastest that every NetCDF-4
#: reader decodes
NETCDF_COMPRESSION = {"zlib": True, "complevel": 1, "shuffle": True}


def chunk_sizes(ds: xr.Dataset, unit: int | None = None) -> dict[str, int]:
    """The chunk size of every dimension of ``ds`` (a result, or a lazy template of one)."""
    unit = max(1, int(unit or PATH_UNIT))
    sizes = dict(ds.sizes)
    chunks = {dim: size for dim, size in sizes.items()}
    for var in ds.data_vars.values():
        if "strategy" in var.dims:
            for dim in var.dims[: var.dims.index("strategy")]:
                chunks[dim] = 1  # sweep axes, point
    if "path" not in sizes:
        return chunks
    paths = sizes["path"]
    if "strategy" in sizes and _row_bytes(ds, chunks) * min(unit, paths) > CHUNK_BYTES:
        chunks["strategy"] = 1
    row = _row_bytes(ds, chunks)
    units = math.ceil(paths / unit)
    by_size = max(1, CHUNK_BYTES // (row * unit))
    by_count = math.ceil(units / MIN_PATH_CHUNKS)
    chunks["path"] = min(paths, unit * max(1, min(by_size, by_count)))
    return chunks


def _row_bytes(ds: xr.Dataset, chunks: Mapping[str, int]) -> int:
    """Bytes of one path of the largest variable's chunk."""
    row = 1
    for var in ds.data_vars.values():
        if "path" in var.dims:
            size = np.dtype(var.dtype).itemsize
            row = max(row, size * math.prod(chunks[d] for d in var.dims if d != "path"))
    return row


def variable_chunks(var: xr.Variable | xr.DataArray, chunks: Mapping[str, int]) -> tuple:
    return tuple(chunks[d] for d in var.dims)


def chunked_variables(ds: xr.Dataset) -> list[str]:
    """The variables stored with the shared chunks: data variables and the coordinates
    that are not a dimension's index (those are read whole, into memory)."""
    return [*ds.data_vars, *(name for name in ds.coords if name not in ds.dims)]


def zarr_encoding(ds: xr.Dataset, chunks: Mapping[str, int]) -> dict[str, dict]:
    """Encoding for ``to_zarr``: the shared chunks and the codec; a dimension's index
    coordinate in one chunk (it is read whole)."""
    encoding = {name: {"chunks": ds[name].shape} for name in ds.dims if name in ds.coords}
    for name in chunked_variables(ds):
        var = ds[name]
        encoding[name] = {"chunks": variable_chunks(var, chunks)}
        if var.dtype.kind in "biuf":
            encoding[name]["compressors"] = (ZARR_COMPRESSOR,)
    return encoding


def netcdf_encoding(ds: xr.Dataset, chunks: Mapping[str, int]) -> dict[str, dict]:
    """Encoding for ``to_netcdf`` (h5netcdf): the shared chunks, compressed numbers."""
    encoding = {}
    for name in chunked_variables(ds):
        var = ds[name]
        if var.dtype.kind in "biuf" and var.ndim:
            encoding[name] = {"chunksizes": variable_chunks(var, chunks), **NETCDF_COMPRESSION}
    return encoding
