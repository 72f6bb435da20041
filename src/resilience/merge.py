"""Merge array-job shards back into the result one machine would have written.

:func:`merge_shards` checks that the shards are exactly 0..N-1 of one run (scenario, seed,
paths, strategies, sweep) and combines them: per-path values are copied, per-day
histograms and fixed-point sums are added as integers, so every data variable is
bit-identical to a single run's. Sweep shards (split by points) are reassembled into the
sweep's grid. Stress-test shards (:func:`merge_stress_paths`) hold per-path figures only:
their paths are joined and the stress test's own summary rule, handed in, computes every
summary once from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.results import daily_variables, open_results, write_dataset
from resilience.results.catalogue import DAILY_DIMS, NODE_METRICS
from resilience.results.dataset import node_summary_variables
from resilience.results.store import check_output, output_lock, reading
from resilience.shards import SHARD_ATTRS
from resilience.sweeps import merge_point_shards

__all__ = ["merge_shards", "merge_stress_paths", "open_shards"]


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
        ("random_disruptions_option", "--no-random-disruptions settings"),
        ("node_detail", "node details (--node-detail)"),
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
    """Open every shard, check they are all the shards of one run, sorted by index."""
    if not paths:
        raise ResultsError("no shards given")
    shards = []
    for p in paths:
        ds = open_results(p, chunks={})
        if "shard_count" not in ds.attrs:
            raise ResultsError(f"{p} is not a shard (a complete result, written without --shard)")
        shards.append((Path(p), ds))
    _check_same_kind(shards)
    if _is_stress(shards[0][1]):
        _check_same_stress(shards)
    _check_same_run(shards)
    return _check_coverage(shards)


def _is_stress(ds: xr.Dataset) -> bool:
    return bool(ds.attrs.get("stress_test"))


def _kind(ds: xr.Dataset) -> str:
    if _is_stress(ds):
        return "a stress-test shard (resilience stress --shard)"
    if ds.attrs.get("shard_of") == "points":
        return "a sweep shard (resilience sweep --shard)"
    return "a run shard (resilience run --shard)"


def _check_same_kind(shards: list[tuple[Path, xr.Dataset]]) -> None:
    first_path, first = shards[0]
    for path, ds in shards[1:]:
        if _is_stress(ds) != _is_stress(first):
            raise ResultsError(
                f"{first_path} is {_kind(first)}, {path} is {_kind(ds)}: merge only the "
                "shards of one run or of one stress test"
            )


def _check_same_stress(shards: list[tuple[Path, xr.Dataset]]) -> None:
    """The settings of a stress test, by name: what the run checks do not look at."""
    first_path, first = shards[0]
    attrs = (
        ("start_day", "outage start days (--start)"),
        ("deterministic", "modes (--deterministic)"),
        ("random_disruptions", "random_disruptions settings"),
    )
    for path, ds in shards[1:]:
        for key, what in attrs:
            a, b = first.attrs.get(key), ds.attrs.get(key)
            if str(a) != str(b):
                raise ResultsError(
                    f"stress shards of different {what}: {first_path}: {a}; {path}: {b}. "
                    "Merge only the shards of one stress test"
                )
        for name, what in (("node", "stressed nodes (--nodes)"), ("ttr_days", "TTRs")):
            a = [str(x) for x in first[name].values.tolist()]
            b = [str(x) for x in ds[name].values.tolist()]
            if a != b:
                raise ResultsError(
                    f"stress shards of different {what}: {first_path}: {', '.join(a)}; "
                    f"{path}: {', '.join(b)}. Merge only the shards of one stress test"
                )


def _joined_paths(shards: list[xr.Dataset], whole: str) -> xr.Dataset:
    """The per-path variables of ``shards`` joined along ``path``, after checking that
    the shards follow each other from path 0 and cover all of ``whole``'s paths."""
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
        raise ResultsError(f"shards hold {expected} paths, {whole} has {total}")
    per_path = [k for k, v in shards[0].data_vars.items() if "path" in v.dims]
    return xr.concat(
        [ds[per_path] for ds in shards],
        dim="path",
        data_vars="all",
        coords="minimal",
        compat="override",
        join="exact",
    )


def merge_paths(shards: list[xr.Dataset]) -> xr.Dataset:
    """Shards of one run (split by paths, in order) -> the whole run's dataset."""
    total = int(shards[0].attrs["total_paths"])
    merged = _joined_paths(shards, "the run")

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
    if "node_shortage_paths" in shards[0]:  # node detail "summary": integer sums added
        names = [e[0] for e in NODE_METRICS]
        hist = np.stack([added(f"{n}_hist") for n in names], axis=-2)
        fixed_sum = np.stack([added(f"{n}_fixed_sum") for n in names], axis=-1)
        hi = np.stack([np.asarray(shards[0][f"{n}_hist_max"].values) for n in names], axis=-1)
        node_lead = shards[0]["node_shortage_paths"].dims[:-2]
        summary = node_summary_variables(
            hist, fixed_sum, added("node_shortage_paths"), hi, total, node_lead
        )
        for name, (dims, values, attributes) in summary.items():
            merged[name] = (dims, values, attributes)
    merged = merged.assign_coords(
        {k: v for k, v in shards[0].coords.items() if k not in merged.coords}
    )
    merged.attrs = dict(shards[0].attrs)
    return merged


def merge_stress_paths(
    shards: list[xr.Dataset], summarise: Callable[[xr.Dataset], xr.Dataset]
) -> xr.Dataset:
    """Stress-test shards (split by paths, in order) -> the whole test's dataset: the
    per-path figures joined along ``path``, the per-node inputs (TTRs) of the first, and
    ``summarise`` (resilience.stress.summarise_stress) of the whole."""
    total = int(shards[0].attrs["total_paths"])
    # in memory before any sum: the summaries add in one order, as unsharded
    merged = _joined_paths(shards, "the stress test").load()
    for name, var in shards[0].data_vars.items():
        if "path" not in var.dims:
            merged[name] = var.load()
    merged.attrs = dict(shards[0].attrs)
    for key in (*SHARD_ATTRS, "run_fingerprint", "total_paths", "scenario_sha256"):
        merged.attrs.pop(key, None)
    merged.attrs["paths"] = total
    return summarise(merged)


def merge_shards(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    summarise_stress: Callable[[xr.Dataset], xr.Dataset] | None = None,
) -> Path:
    """Check and merge the shards at ``paths`` into ``out`` (.zarr or .nc), atomically.

    Raises ``ResultsError`` when a shard is missing or given twice, when the shards are
    of different runs (scenario, seed, paths, strategies, sweep; a stress test's start,
    mode, nodes and TTRs), of different kinds (a run's and a stress test's), or one is not
    a shard, incomplete (a missing chunk) or corrupt (a chunk that cannot be read: named),
    and when another process is writing ``out``. Stress-test shards need
    ``summarise_stress`` (resilience.api.merge passes it).
    """
    out = Path(out)
    check_output(out, overwrite)
    with output_lock(out):  # held from the first read to the rename: one writer of out
        shards = open_shards(paths)
        datasets = [ds for _, ds in shards]
        with reading(*(path for path, _ in shards)):
            if _is_stress(datasets[0]):
                if summarise_stress is None:
                    raise ResultsError("stress-test shards: merge them with resilience.api.merge")
                merged = merge_stress_paths(datasets, summarise_stress)
                merged.attrs["merged_from_shards"] = int(datasets[0].attrs["shard_count"])
                # no created_utc: the stress dataset carries none, unsharded or merged
                return write_dataset(merged, out, overwrite=overwrite)
            if datasets[0].attrs["shard_of"] == "points":
                merged = merge_point_shards(datasets)
            else:
                merged = merge_paths(datasets)
            for key in (*SHARD_ATTRS, "run_fingerprint", "total_paths"):
                merged.attrs.pop(key, None)
            merged.attrs["paths"] = int(datasets[0].attrs["total_paths"])
            merged.attrs["merged_from_shards"] = int(datasets[0].attrs["shard_count"])
            merged.attrs["created_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            return write_dataset(merged, out, overwrite=overwrite)
