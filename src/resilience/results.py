"""Results: kernel outputs -> one self-describing xarray Dataset, in memory or on disk.

Layout in docs/results-format.md. Writers stream block by block (Zarr region writes) so a
run's memory does not grow with its paths; every file is written to a temporary sibling
and moved into place only when complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from resilience import __version__
from resilience import risk as _risk  # noqa: F401  (registers the ``ds.risk`` accessor)
from resilience.compile import (
    FILL_BINS,
    FILL_FIXED_POINT,
    ON_HAND_BINS,
    ON_HAND_FIXED_POINT,
    strategies_json,
)
from resilience.errors import ResultsError
from resilience.kernels import simulate as K
from resilience.metrics import DERIVED_METRICS, NODE_METRICS, PATH_METRICS, attrs

BANDS = (0.05, 0.5, 0.95)
FORMATS = {".zarr": "zarr", ".nc": "netcdf"}
# Node metrics are stored as float32: day counts and unit sums well inside float32's 24-bit
# mantissa for any realistic node, and it halves the largest part of a result.
NODE_DTYPE = np.float32
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


# ----------------------------------------------------------------------------- assembly


def histogram_quantiles(hist: np.ndarray, edges: np.ndarray, qs=BANDS) -> np.ndarray:
    """Quantiles from bin counts, linear within a bin (error at most one bin width).

    hist [..., bins] counts; edges [bins + 1]. Returns [..., len(qs)].
    """
    counts = hist.astype(np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    cum = np.cumsum(counts, axis=-1)
    out = np.empty(hist.shape[:-1] + (len(qs),))
    for k, q in enumerate(qs):
        target = q * total
        idx = np.argmax(cum >= target, axis=-1)[..., None]
        below = np.take_along_axis(cum - counts, idx, axis=-1)
        inbin = np.take_along_axis(counts, idx, axis=-1)
        frac = np.where(inbin > 0, (target - below) / np.where(inbin > 0, inbin, 1), 0.0)
        lo = edges[idx]
        hi = edges[idx + 1]
        out[..., k] = (lo + np.clip(frac, 0, 1) * (hi - lo))[..., 0]
    return out


def fill_edges() -> np.ndarray:
    # last bin holds exactly 1.0 (full service), so its edges are [1, 1]
    return np.concatenate([np.linspace(0.0, 1.0, FILL_BINS), [1.0]])


def daily_variables(fill_hist, on_hand_hist, fill_sum, on_hand_sum, on_hand_max, paths):
    """Per-day variables from merged histograms and fixed-point sums.

    fill_hist [..., T, FILL_BINS], on_hand_hist [..., T, ON_HAND_BINS], sums [..., T],
    on_hand_max [...] (per strategy), paths: number of paths merged.
    """
    on_edges = np.linspace(0.0, 1.0, ON_HAND_BINS + 1) * np.asarray(on_hand_max)[..., None]
    on_band = np.empty(on_hand_hist.shape[:-1] + (len(BANDS),))
    for idx in np.ndindex(on_hand_hist.shape[:-2]):
        on_band[idx] = histogram_quantiles(on_hand_hist[idx], on_edges[idx])
    fill_band = histogram_quantiles(fill_hist, fill_edges())
    return {
        "daily_fill_rate_hist": fill_hist,
        "daily_on_hand_hist": on_hand_hist,
        "daily_fill_rate_fixed_sum": fill_sum,
        "daily_on_hand_fixed_sum": on_hand_sum,
        "daily_fill_rate_mean": fill_sum / FILL_FIXED_POINT / paths,
        "daily_on_hand_mean": on_hand_sum / ON_HAND_FIXED_POINT / paths,
        "daily_fill_rate_band": fill_band,
        "daily_on_hand_band": on_band,
        "on_hand_bin_edges": on_edges,
    }


# per-day variables: their dims after the leading (..., "strategy")
DAILY_DIMS = {
    "daily_fill_rate_fixed_sum": ("day",),
    "daily_on_hand_fixed_sum": ("day",),
    "daily_fill_rate_hist": ("day", "fill_bin"),
    "daily_on_hand_hist": ("day", "on_hand_bin"),
    "daily_fill_rate_mean": ("day",),
    "daily_on_hand_mean": ("day",),
    "daily_fill_rate_band": ("day", "quantile"),
    "daily_on_hand_band": ("day", "quantile"),
    "on_hand_bin_edges": ("on_hand_edge",),
}

DAILY_ATTRS = {
    "daily_fill_rate_hist": (
        "count",
        "Paths per daily fill-rate bin",
        "Number of paths whose network fill rate of the day falls in each bin.",
    ),
    "daily_on_hand_hist": (
        "count",
        "Paths per daily on-hand bin",
        "Number of paths whose total on-hand after serving falls in each bin.",
    ),
    "daily_fill_rate_fixed_sum": (
        "2**-32",
        "Daily fill-rate sum (fixed point)",
        "Sum over paths of the daily fill rate x 2**32, rounded: an exact integer, so shards merge bit-identically.",
    ),
    "daily_on_hand_fixed_sum": (
        "units x 2**-8",
        "Daily on-hand sum (fixed point)",
        "Sum over paths of total on-hand x 2**8, rounded: an exact integer, so shards merge bit-identically.",
    ),
    "daily_fill_rate_mean": (
        "1",
        "Mean daily fill rate",
        "Mean over paths of the network fill rate of the day.",
    ),
    "daily_on_hand_mean": (
        "units",
        "Mean daily on-hand",
        "Mean over paths of total on-hand after serving.",
    ),
    "daily_fill_rate_band": (
        "1",
        "Daily fill-rate quantiles",
        "P5/P50/P95 over paths of the network fill rate of the day (from the histogram, within one bin).",
    ),
    "daily_on_hand_band": (
        "units",
        "Daily on-hand quantiles",
        "P5/P50/P95 over paths of total on-hand after serving (from the histogram, within one bin).",
    ),
    "on_hand_bin_edges": (
        "units",
        "On-hand bin edges",
        "Edges of the on-hand histogram bins for each strategy.",
    ),
}


def run_attributes(scenario, compiled, seed: int, paths: int, extra: dict | None = None) -> dict:
    import numba

    text = scenario.source_text or ""
    out = {
        "title": f"resilience results: {scenario.name}",
        "seed": int(seed),
        "paths": int(paths),
        "horizon_days": int(scenario.horizon_days),
        "demand_mode": scenario.demand_mode,
        "scenario_name": scenario.name,
        "scenario_path": str(scenario.source_path or ""),
        "scenario_text": text,
        "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "strategies_json": strategies_json(compiled),
        "resilience_version": __version__,
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "xarray_version": xr.__version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    out.update(extra or {})
    return out


def _fill_rate(demand, filled):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(demand > 0, filled / np.where(demand > 0, demand, 1), 1.0)


def build_dataset(
    run, path_out, node_out, daily, *, lead_dims=(), lead_coords=None, attrs_extra=None
):
    """Dataset from full arrays.

    path_out [*lead, S, paths, N_PATH_METRICS]; node_out [*lead, S, paths, N, N_NODE_METRICS];
    daily: output of ``daily_variables`` with shapes [*lead, S, T, ...].
    """
    c0 = run.compiled[0]
    dims = (*lead_dims, "strategy", "path")
    data = {}
    for col, entry in enumerate(PATH_METRICS):
        data[entry[0]] = (dims, path_out[..., col], attrs(entry))
    demand = path_out[..., K.DEMAND]
    filled = path_out[..., K.FILLED]
    costs = path_out[
        ..., [K.PURCHASE, K.HOLDING, K.LOST_SALES_COST, K.BACKLOG_COST, K.QUALIFICATION]
    ]
    derived = {"fill_rate": _fill_rate(demand, filled), "total_cost": costs.sum(axis=-1)}
    for entry in DERIVED_METRICS:
        data[entry[0]] = (dims, derived[entry[0]], attrs(entry))
    for col, entry in enumerate(NODE_METRICS):
        data[entry[0]] = ((*dims, "node"), node_out[..., col].astype(NODE_DTYPE), attrs(entry))
    for name, tail in DAILY_DIMS.items():
        units, long_name, description = DAILY_ATTRS[name]
        data[name] = (
            (*lead_dims, "strategy", *tail),
            daily[name],
            {"units": units, "long_name": long_name, "description": description},
        )
    coords = {
        "strategy": [c.name for c in run.compiled],
        "path": np.arange(run.path_start, run.path_start + run.paths, dtype=np.int64),
        "node": list(c0.node_names),
        "node_kind": ("node", list(c0.node_kinds)),
        "node_region": ("node", list(c0.node_regions)),
        "day": np.arange(run.scenario.horizon_days, dtype=np.int64),
        "quantile": list(BANDS),
        "fill_bin": fill_edges()[:FILL_BINS],
        "on_hand_bin": np.arange(ON_HAND_BINS, dtype=np.int64),
        **(lead_coords or {}),
    }
    ds = xr.Dataset(data, coords=coords)
    ds["strategy"].attrs = {"long_name": "Sourcing strategy"}
    ds["path"].attrs = {"long_name": "Path (one realisation of every random event)"}
    ds.attrs = run_attributes(run.scenario, run.compiled, run.seed, run.paths, attrs_extra)
    return ds


# ----------------------------------------------------------------------------- sinks


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

    def __init__(self, run, buffers=None):
        self.run = run
        S = len(run.compiled)
        N = len(run.compiled[0].node_names)
        if buffers is None:
            buffers = (
                np.full((S, run.paths, K.N_PATH_METRICS), np.nan),
                np.full((S, run.paths, N, K.N_NODE_METRICS), np.nan),
            )
        self.path_out, self.node_out = buffers
        self.daily = DailyAccumulator((S,), run.scenario.horizon_days)
        self.done = 0

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.run.path_start
        self.path_out[s, lo : lo + task.size] = result.path_out
        self.node_out[s, lo : lo + task.size] = result.node_out
        self.daily.add((s,), result)
        self.done += task.size

    def dataset(self):
        expected = self.run.paths * len(self.run.compiled)
        if self.done != expected:
            raise ResultsError(f"run incomplete: {self.done} of {expected} path-strategies done")
        on_hand_max = np.array([c.network.on_hand_max for c in self.run.compiled])
        daily = self.daily.variables(on_hand_max, self.run.paths)
        return build_dataset(
            self.run, self.path_out, self.node_out, daily, attrs_extra=self.run.attrs
        )

    def close(self):
        pass


class NetCDFSink(MemorySink):
    """NetCDF cannot be written by region; collects in memory and writes once at the end."""

    def __init__(self, run, path):
        super().__init__(run)
        self.path = Path(path)

    def close(self):
        ds = self.dataset()
        ds.to_netcdf(self.path, engine="h5netcdf")


class ZarrSink:
    """Streams each block into a Zarr store by region, so memory stays at a few blocks."""

    def __init__(self, run, path):
        import dask.array as da

        self.run = run
        self.path = Path(path)
        S = len(run.compiled)
        N = len(run.compiled[0].node_names)
        T = run.scenario.horizon_days
        chunk = max(t.size for t in run.tasks)
        self.daily = DailyAccumulator((S,), T)
        self.done = 0
        # template: full-size lazy arrays, never computed (compute=False writes metadata only)
        path_out = da.zeros((S, run.paths, K.N_PATH_METRICS), chunks=(1, chunk, K.N_PATH_METRICS))
        node_out = da.zeros(
            (S, run.paths, N, K.N_NODE_METRICS), chunks=(1, chunk, N, K.N_NODE_METRICS)
        )
        template = build_dataset(
            run, path_out, node_out, self._daily_placeholder(S, T), attrs_extra=run.attrs
        )
        encoding = {name: {"chunks": (1, chunk)} for name in self.path_vars(template)}
        encoding.update({name: {"chunks": (1, chunk, N)} for name in self.node_vars(template)})
        template.to_zarr(
            self.path,
            mode="w",
            compute=False,
            encoding=encoding,
            consolidated=False,
            zarr_format=ZARR_FORMAT,
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
        on_hand_max = np.array([c.network.on_hand_max for c in self.run.compiled])
        with np.errstate(invalid="ignore", divide="ignore"):
            return acc.variables(on_hand_max, 1)

    def __call__(self, task, result):
        (s,) = task.index
        lo = task.start - self.run.path_start
        block = _block_dataset(result)
        region = {"strategy": slice(s, s + 1), "path": slice(lo, lo + task.size)}
        block.to_zarr(self.path, region=region, consolidated=False)
        self.daily.add((s,), result)
        self.done += task.size

    def close(self):
        import zarr

        expected = self.run.paths * len(self.run.compiled)
        if self.done != expected:
            raise ResultsError(f"run incomplete: {self.done} of {expected} path-strategies done")
        on_hand_max = np.array([c.network.on_hand_max for c in self.run.compiled])
        daily = self.daily.variables(on_hand_max, self.run.paths)
        day = xr.Dataset(
            {name: (("strategy", *dims), daily[name]) for name, dims in DAILY_DIMS.items()}
        )
        region = {dim: slice(None) for dim in day.dims}
        day.to_zarr(self.path, region=region, consolidated=False)
        zarr.consolidate_metadata(str(self.path))


def _block_dataset(result):
    """One block as a Dataset of the per-path variables only (for a region write)."""
    data = {}
    po = result.path_out[None]
    no = result.node_out[None]
    for col, entry in enumerate(PATH_METRICS):
        data[entry[0]] = (("strategy", "path"), po[..., col])
    data["fill_rate"] = (("strategy", "path"), _fill_rate(po[..., K.DEMAND], po[..., K.FILLED]))
    cost_cols = [K.PURCHASE, K.HOLDING, K.LOST_SALES_COST, K.BACKLOG_COST, K.QUALIFICATION]
    data["total_cost"] = (("strategy", "path"), po[..., cost_cols].sum(axis=-1))
    for col, entry in enumerate(NODE_METRICS):
        data[entry[0]] = (("strategy", "path", "node"), no[..., col].astype(NODE_DTYPE))
    return xr.Dataset(data)


def sink_for(path: Path, run, final_name: Path | None = None):
    fmt = output_format(final_name or path)
    return ZarrSink(run, path) if fmt == "zarr" else NetCDFSink(run, path)


# ----------------------------------------------------------------------------- files


@contextlib.contextmanager
def atomic_output(out: Path, overwrite: bool = False):
    """Yield a temporary path beside ``out``; move it into place only on success.

    On any exception (including KeyboardInterrupt / SystemExit from SIGTERM) the temporary
    is removed and an existing ``out`` is left untouched.
    """
    out = Path(out)
    output_format(out)
    if out.exists() and not overwrite:
        raise ResultsError(f"{out} already exists; pass --overwrite to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise ResultsError(f"{parent} does not exist; create the directory first")
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
