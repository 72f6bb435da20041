"""Result files: formats, atomic writes, opening and validating stored results.

Every file is written to a temporary sibling and moved into place only when complete, so
a failed or interrupted run leaves nothing at ``out`` and an existing result untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import dask
import xarray as xr

from resilience.errors import ResultsError

FORMATS = {".zarr": "zarr", ".nc": "netcdf"}
# Zarr format 2: its string dtypes and consolidated metadata are stable specifications
# (format 3 marks both as unstable extensions), so results stay readable elsewhere.
ZARR_FORMAT = 2


def output_format(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ResultsError(
            f"{path}: unknown result format {Path(path).suffix!r}; use .zarr (default) or .nc"
        )
    return fmt


def check_output(out: Path, overwrite: bool = False) -> None:
    """Refuse an ``out`` that cannot take a new result: unknown format, an existing result
    without ``overwrite``, or a folder that does not exist. The one such check."""
    out = Path(out)
    output_format(out)
    if out.exists() and not overwrite:
        raise ResultsError(f"{out} already exists; pass --overwrite to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise ResultsError(f"{parent} does not exist; create the directory first")


@contextlib.contextmanager
def atomic_output(out: Path, overwrite: bool = False):
    """Yield a temporary path beside ``out``; move it into place only on success.

    On any exception (including KeyboardInterrupt / SystemExit from SIGTERM) the temporary
    is removed and an existing ``out`` is left untouched.
    """
    out = Path(out)
    check_output(out, overwrite)
    parent = out.parent if str(out.parent) else Path(".")
    tmp = parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        _replace(tmp, out)
    except BaseException:
        _remove(tmp)
        raise


def _replace(tmp: Path, out: Path) -> None:
    if out.exists():
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out, trash)
        os.rename(tmp, out)
        _remove(trash)
    else:
        os.rename(tmp, out)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def open_results(path: str | os.PathLike, chunks="auto") -> xr.Dataset:
    """Open a result written by ``resilience run`` (.zarr or .nc), lazily (dask-backed)."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such result")
    fmt = output_format(path)
    try:
        if fmt == "zarr":
            ds = xr.open_zarr(path, consolidated=True, chunks=chunks)
        else:
            ds = xr.open_dataset(path, engine="h5netcdf", chunks=chunks)
    except Exception as exc:  # a directory or file that is not a result
        raise ResultsError(f"{path}: not a readable result ({exc})") from exc
    if "strategy" not in ds.dims or "seed" not in ds.attrs:
        raise ResultsError(f"{path}: not a resilience result (no strategy dimension or seed)")
    return ds


def strategy_definitions(ds: xr.Dataset) -> dict:
    return json.loads(ds.attrs.get("strategies_json", "{}"))


# ----------------------------------------------------------------------------- writing


#: Elements per chunk of a written dataset (8 MiB of float64): few chunks for small
#: results (Zarr's per-chunk cost dominates them), bounded reads for large ones.
CHUNK_ELEMENTS = 2**20


def chunking(dims: Sequence[str], shape: Sequence[int]) -> tuple:
    """Chunks of one variable: whole trailing dimensions, then as many steps of the
    leading ones (path, strategy, sweep axes) as fit in CHUNK_ELEMENTS."""
    chunks = [1] * len(dims)
    size = 1
    for i in range(len(dims) - 1, -1, -1):
        take = max(1, min(shape[i], CHUNK_ELEMENTS // size))
        chunks[i] = take
        size *= take
        if take < shape[i]:
            break
    return tuple(chunks)


def write_dataset(ds: xr.Dataset, out: Path, *, overwrite: bool = False) -> Path:
    """Write a (lazy) dataset to ``out`` (.zarr or .nc) atomically, on local threads."""
    out = Path(out)
    fmt = output_format(out)
    ds = ds.copy()
    for var in ds.variables.values():
        var.encoding = {}
    encoding: dict[str, dict] = {}
    for name, var in ds.data_vars.items():
        if var.dtype == object:
            encoding[name] = {"dtype": str}
        chunks = chunking(var.dims, var.shape)
        ds[name] = var.chunk(dict(zip(var.dims, chunks, strict=True)))
        if fmt == "zarr":
            encoding.setdefault(name, {})["chunks"] = chunks
    # the cluster of a run may still be the default dask scheduler: files are written here
    with atomic_output(out, overwrite=overwrite) as tmp, dask.config.set(scheduler="threads"):
        if fmt == "zarr":
            ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True, zarr_format=ZARR_FORMAT)
        else:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return out
