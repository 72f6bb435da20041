"""Array-job shards: split a run (by paths) or a sweep (by points), and merge them back.

``--shard i/N`` (0-based i, so ``--shard $SLURM_ARRAY_TASK_ID/N`` with ``--array=0-(N-1)``)
runs one N-th of the work and writes an ordinary result carrying shard attributes:
``shard`` ("i/N"), ``shard_index``, ``shard_count``, ``shard_of`` ("paths" or "points"),
``total_paths`` and ``run_fingerprint`` (a hash of what makes two shards parts of one
run: scenario text, seed, paths, strategies, sweep). :func:`merge_shards` checks that the
shards are exactly 0..N-1 of one run and writes the result a single machine would have
written: per-path values are copied, per-day histograms and fixed-point sums are added
as integers, so every data variable is bit-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from resilience.errors import ResultsError, SweepError

__all__ = ["Shard", "merge_shards", "parse_shard", "write_dataset"]

SHARD_ATTRS = ("shard", "shard_index", "shard_count", "shard_of", "path_start", "shard_points")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def range(self, total: int, what: str = "paths") -> tuple[int, int]:
        """[start, stop) of this shard's part of ``total`` items (contiguous, balanced)."""
        if self.count > total:
            raise SweepError(
                f"cannot split {total} {what} into {self.count} shards; use at most {total} shards"
            )
        return total * self.index // self.count, total * (self.index + 1) // self.count


def parse_shard(text: str | Shard | None) -> Shard | None:
    """``"7/100"`` -> Shard(7, 100). The index is 0-based: 0 <= i < N."""
    if text is None or isinstance(text, Shard):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise SweepError(f"--shard {text!r}: must be I/N, e.g. 0/10 (0-based I, 0 <= I < N)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or index >= count:
        raise SweepError(
            f"--shard {text}: need 0 <= I < N (I is 0-based, like SLURM_ARRAY_TASK_ID with "
            f"--array=0-{max(count - 1, 0)})"
        )
    return Shard(index, count)


def fingerprint(**identity) -> str:
    """A short hash of what must agree between shards (and parts) of one run."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_identity(
    scenario_sha256: str, seed: int, paths: int, strategies: Sequence[str], **extra
) -> dict:
    return {
        "scenario_sha256": scenario_sha256,
        "seed": int(seed),
        "paths": int(paths),
        "strategies": list(strategies),
        **extra,
    }


def shard_attributes(shard: Shard, of: str, identity: dict, **extra) -> dict:
    return {
        "shard": str(shard),
        "shard_index": shard.index,
        "shard_count": shard.count,
        "shard_of": of,
        "total_paths": int(identity["paths"]),
        "run_fingerprint": fingerprint(**identity),
        **extra,
    }


def path_shard_attributes(run, shard: Shard, total_paths: int) -> dict:
    """Attributes marking ``run`` (an engine.PreparedRun of one path range) as a shard."""
    text = run.scenario.source_text or ""
    identity = run_identity(
        hashlib.sha256(text.encode()).hexdigest(),
        run.seed,
        total_paths,
        [c.name for c in run.compiled],
    )
    return shard_attributes(shard, "paths", identity, path_start=run.path_start)


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
    import dask

    from resilience.results import ZARR_FORMAT, atomic_output, output_format

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


# ----------------------------------------------------------------------------- merging


def _describe(path: Path, ds: xr.Dataset) -> str:
    return f"{path} ({ds.attrs.get('scenario_name', '?')}, seed {ds.attrs.get('seed', '?')})"


def _check_same_run(shards: list[tuple[Path, xr.Dataset]]) -> None:
    first_path, first = shards[0]
    fields = (
        ("scenario_sha256", "scenarios"),
        ("seed", "seeds"),
        ("total_paths", "path counts"),
        ("shard_of", "kinds of shard (paths of a run vs points of a sweep)"),
        ("shard_count", "shard counts"),
        ("sweep_json", "sweeps"),
        ("sweep_summary_only", "--summary-only settings"),
    )
    for path, ds in shards[1:]:
        for key, what in fields:
            a, b = first.attrs.get(key), ds.attrs.get(key)
            if str(a) != str(b):
                shown_a = a if key != "scenario_sha256" else f"scenario sha256 {str(a)[:12]}"
                shown_b = b if key != "scenario_sha256" else f"scenario sha256 {str(b)[:12]}"
                if key == "scenario_sha256":
                    shown_a = f"{first.attrs.get('scenario_name', '?')!r}, {shown_a}"
                    shown_b = f"{ds.attrs.get('scenario_name', '?')!r}, {shown_b}"
                raise ResultsError(
                    f"shards of different {what}: {first_path}: {shown_a}; {path}: {shown_b}. "
                    f"Merge only the shards of one run"
                )
        names_a = [str(s) for s in first["strategy"].values]
        names_b = [str(s) for s in ds["strategy"].values]
        if names_a != names_b:
            raise ResultsError(
                f"shards of different strategies: {first_path}: {', '.join(names_a)}; "
                f"{path}: {', '.join(names_b)}"
            )
        if first.attrs.get("run_fingerprint") != ds.attrs.get("run_fingerprint"):
            raise ResultsError(
                f"{first_path} and {path} are shards of different runs (fingerprints differ)"
            )


def _check_coverage(shards: list[tuple[Path, xr.Dataset]]) -> list[tuple[Path, xr.Dataset]]:
    count = int(shards[0][1].attrs["shard_count"])
    by_index: dict[int, list[Path]] = {}
    for path, ds in shards:
        by_index.setdefault(int(ds.attrs["shard_index"]), []).append(path)
    twice = {i: ps for i, ps in by_index.items() if len(ps) > 1}
    if twice:
        i, ps = min(twice.items())
        raise ResultsError(f"shard {i}/{count} given twice: {', '.join(map(str, ps))}")
    missing = [i for i in range(count) if i not in by_index]
    if missing:
        shown = ", ".join(f"{i}/{count}" for i in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ResultsError(
            f"missing shard{'s' if len(missing) > 1 else ''} {shown}{more} "
            f"(got {len(shards)} of {count}); all shards 0..{count - 1} are needed"
        )
    return sorted(shards, key=lambda s: int(s[1].attrs["shard_index"]))


def open_shards(paths: Sequence[str | Path]) -> list[tuple[Path, xr.Dataset]]:
    from resilience.results import open_results

    if not paths:
        raise ResultsError("no shards given")
    shards = []
    for p in paths:
        ds = open_results(p, chunks={})
        if "shard_count" not in ds.attrs:
            raise ResultsError(f"{p} is not a shard (a complete result, written without --shard)")
        shards.append((Path(p), ds))
    _check_same_run(shards)
    return _check_coverage(shards)


def merge_paths(shards: list[xr.Dataset]) -> xr.Dataset:
    """Shards of one run (split by paths, in order) -> the whole run's dataset."""
    from resilience.results import DAILY_DIMS, daily_variables

    total = int(shards[0].attrs["total_paths"])
    expected = 0
    for ds in shards:
        start = int(ds.attrs["path_start"])
        if start != expected:
            raise ResultsError(
                f"shard {ds.attrs['shard']} starts at path {start}, expected {expected}"
            )
        expected += ds.sizes["path"]
    if expected != total:
        raise ResultsError(f"shards hold {expected} paths, the run has {total}")
    per_path = [k for k, v in shards[0].data_vars.items() if "path" in v.dims]
    merged = xr.concat(
        [ds[per_path] for ds in shards],
        dim="path",
        data_vars="all",
        coords="minimal",
        compat="override",
        join="exact",
    )

    def added(name):
        return sum(np.asarray(ds[name].values) for ds in shards)  # int64: exact

    edges = np.asarray(shards[0]["on_hand_bin_edges"].values)
    lead = shards[0]["daily_fill_rate_hist"].dims[:-2]  # (... , strategy)
    daily = daily_variables(
        added("daily_fill_rate_hist"),
        added("daily_on_hand_hist"),
        added("daily_fill_rate_fixed_sum"),
        added("daily_on_hand_fixed_sum"),
        edges[..., -1],
        total,
    )
    for name, tail in DAILY_DIMS.items():
        merged[name] = ((*lead, *tail), daily[name], shards[0][name].attrs)
    merged = merged.assign_coords(
        {k: v for k, v in shards[0].coords.items() if k not in merged.coords}
    )
    merged.attrs = dict(shards[0].attrs)
    return merged


def merge_shards(paths: Sequence[str | Path], out: str | Path, *, overwrite: bool = False) -> Path:
    """Check and merge the shards at ``paths`` into ``out`` (.zarr or .nc), atomically.

    Raises ``ResultsError`` when a shard is missing or given twice, when the shards are
    of different runs (scenario, seed, paths, strategies, sweep), or one is not a shard.
    """
    from resilience.results import output_format

    out = Path(out)
    output_format(out)
    if out.exists() and not overwrite:
        raise ResultsError(f"{out} already exists; pass --overwrite to replace it")
    shards = open_shards(paths)
    datasets = [ds for _, ds in shards]
    if datasets[0].attrs["shard_of"] == "points":
        from resilience.sweep_run import merge_point_shards

        merged = merge_point_shards(datasets)
    else:
        merged = merge_paths(datasets)
    for key in (*SHARD_ATTRS, "run_fingerprint", "total_paths"):
        merged.attrs.pop(key, None)
    merged.attrs["paths"] = int(datasets[0].attrs["total_paths"])
    merged.attrs["merged_from_shards"] = int(datasets[0].attrs["shard_count"])
    merged.attrs["created_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return write_dataset(merged, out, overwrite=overwrite)
