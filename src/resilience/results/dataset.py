"""Kernel outputs -> one self-describing xarray Dataset (docs/results-format.md).

A dataset is built from a small ``RunLayout`` record (strategies, nodes, paths, seed and
the run's attributes), never from the engine's objects, so files, shards and sweeps can
build results from what they stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numba
import numpy as np
import xarray as xr

from resilience._version import __version__
from resilience.compiler import (
    FILL_BINS,
    FILL_FIXED_POINT,
    ON_HAND_BINS,
    ON_HAND_FIXED_POINT,
    CompiledStrategy,
    node_metric_bounds,
    strategies_json,
)
from resilience.kernels import simulate as kernel
from resilience.results.catalogue import (
    DAILY_ATTRS,
    DAILY_DIMS,
    DERIVED_METRICS,
    NODE_METRICS,
    NODE_SHORTAGE_ATTRS,
    NODE_SUMMARY_DIMS,
    PATH_METRICS,
    attrs,
    node_summary_attrs,
)

BANDS = (0.05, 0.5, 0.95)
#: the quantiles over paths of each per-node summary (``node_quantile``)
NODE_QUANTILES = (0.5, 0.9, 0.95, 0.99)
# Node metrics are stored as float32: day counts and unit sums well inside float32's 24-bit
# mantissa for any realistic node, and it halves the largest part of a result.
NODE_DTYPE = np.float32
# the kernel's path_out columns summed into total_cost, in this order (the order is part
# of the bits: float addition is not associative)
COST_COLUMNS = (
    kernel.PURCHASE,
    kernel.HOLDING,
    kernel.LOST_SALES_COST,
    kernel.BACKLOG_COST,
    kernel.QUALIFICATION,
    kernel.ORDER_COST,  # issue-14 policy: 0 without order costs, so no sum changes
    # issue-14 quality
    kernel.EXPEDITE_COST,
    kernel.SCRAP_COST,
)


# ----------------------------------------------------------------------------- assembly


def histogram_quantiles(hist: np.ndarray, edges: np.ndarray, qs=BANDS) -> np.ndarray:
    """Quantiles from bin counts, linear within a bin (error at most one bin width).

    hist [..., bins] counts; edges [bins + 1]. Returns [..., len(qs)].
    """
    edges = np.asarray(edges)
    return row_quantiles(hist, np.broadcast_to(edges, hist.shape[:-1] + edges.shape), qs)


def node_bin_edges(hi: np.ndarray) -> np.ndarray:
    """[..., NODE_BINS + 1] edges hi x (k / NODE_BINS)**2 of the per-node histograms (the
    kernel's _summarise_nodes bins), from their top edges ``hi`` [...]."""
    k = np.arange(kernel.NODE_BINS + 1, dtype=np.float64) / kernel.NODE_BINS
    return np.asarray(hi, dtype=np.float64)[..., None] * (k * k)


def row_quantiles(hist: np.ndarray, edges: np.ndarray, qs) -> np.ndarray:
    """``histogram_quantiles`` with edges of their own per histogram: hist [..., bins],
    edges [..., bins + 1] -> [..., len(qs)] (linear within a bin)."""
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
        lo = np.take_along_axis(edges, idx, axis=-1)
        hi = np.take_along_axis(edges, idx + 1, axis=-1)
        out[..., k] = (lo + np.clip(frac, 0, 1) * (hi - lo))[..., 0]
    return out


def node_summary_variables(hist, fixed_sum, shortage, hi, paths, lead_dims=()) -> dict:
    """The per-node summary variables (``per_path_variables``' form) from the kernel's
    integer summaries summed over blocks: hist [..., S, N, N_NODE_METRICS, NODE_BINS],
    fixed_sum and hi [..., S, N, N_NODE_METRICS], shortage [..., S, N]; paths merged."""
    dims = (*lead_dims, "strategy", "node")
    hist, fixed_sum, hi = np.asarray(hist), np.asarray(fixed_sum), np.asarray(hi)
    data = {}
    for m, entry in enumerate(NODE_METRICS):
        counts = hist[..., m, :]
        values = {
            "hist": counts,
            "fixed_sum": fixed_sum[..., m],
            "hist_max": hi[..., m],
            "mean": fixed_sum[..., m] / kernel.NODE_FIXED_POINT / paths,
            "quantile": row_quantiles(counts, node_bin_edges(hi[..., m]), NODE_QUANTILES),
        }
        for suffix, tail in NODE_SUMMARY_DIMS.items():
            data[f"{entry[0]}_{suffix}"] = (
                (*dims, *tail),
                values[suffix],
                node_summary_attrs(entry, suffix),
            )
    shortage = np.asarray(shortage)
    for name, value in (
        ("node_shortage_paths", shortage),
        ("node_shortage_probability", shortage / paths),
    ):
        units, long_name, description = NODE_SHORTAGE_ATTRS[name]
        data[name] = (
            dims,
            value,
            {"units": units, "long_name": long_name, "description": description},
        )
    return data


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


def run_attributes(
    scenario, compiled: list[CompiledStrategy], seed: int, paths: int, extra: dict | None = None
) -> dict:
    """The dataset attributes of a run: seed, scenario (text and hash), strategies, versions."""
    text = scenario.source_text or ""
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out = {
        "title": f"resilience results: {scenario.name}",
        "Conventions": "CF-1.10",
        "source": f"resilience {__version__} (Monte Carlo supply-network simulation, numba "
        f"{numba.__version__})",
        "history": f"{created} simulated by resilience {__version__}: {int(paths)} paths, "
        f"seed {int(seed)}",
        "references": "https://github.com/resilience-dev/resilience",
        "seed": int(seed),
        "paths": int(paths),
        "horizon_days": int(scenario.horizon_days),
        "demand_mode": scenario.demand_mode,
        "baseline": scenario.baseline or scenario.strategy_names[0],
        "currency": scenario.currency or "currency",
        "scenario_name": scenario.name,
        "scenario_path": str(scenario.source_path or ""),
        "scenario_text": text,
        "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "strategies_json": strategies_json(compiled),
        "resilience_version": __version__,
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "xarray_version": xr.__version__,
        "created_utc": created,
    }
    out.update(extra or {})
    return out


@dataclass(frozen=True)
class RunLayout:
    """What a dataset's coordinates and attributes are made of.

    strategies : names along ``strategy``; nodes, node_kinds, node_regions : along ``node``;
    paths, path_start : the path range; horizon : days; on_hand_max : [strategies] upper
    edge of each strategy's on-hand histogram; block_size : paths per block (chunking);
    attrs : the dataset attributes (``run_attributes``).
    """

    strategies: tuple[str, ...]
    nodes: tuple[str, ...]
    node_kinds: tuple[str, ...]
    node_regions: tuple[str, ...]
    paths: int
    path_start: int
    horizon: int
    on_hand_max: np.ndarray = field(compare=False)
    block_size: int
    attrs: dict = field(compare=False)
    #: what the run keeps of each node: "paths", "summary" or "none"
    node_detail: str = "paths"
    #: [S, N, N_NODE_METRICS] top edges of the per-node histograms (detail "summary")
    node_hi: np.ndarray | None = field(default=None, compare=False)

    @property
    def node_paths(self) -> bool:
        """Whether the per-path per-node variables are kept."""
        return self.node_detail == "paths"

    @classmethod
    def of(
        cls,
        scenario,
        compiled: list[CompiledStrategy],
        paths: int,
        seed: int,
        *,
        path_start: int = 0,
        block_size: int | None = None,
        extra_attrs: dict | None = None,
        node_detail: str = "paths",
    ) -> RunLayout:
        c0 = compiled[0]
        node_hi = None
        if node_detail == "summary":
            node_hi = np.stack([node_metric_bounds(c.network) for c in compiled])
        return cls(
            strategies=tuple(c.name for c in compiled),
            nodes=tuple(c0.node_names),
            node_kinds=tuple(c0.node_kinds),
            node_regions=tuple(c0.node_regions),
            paths=int(paths),
            path_start=int(path_start),
            horizon=int(scenario.horizon_days),
            on_hand_max=np.array([c.network.on_hand_max for c in compiled]),
            block_size=int(block_size or paths),
            attrs=run_attributes(
                scenario, compiled, seed, paths, {"node_detail": node_detail, **(extra_attrs or {})}
            ),
            node_detail=node_detail,
            node_hi=node_hi,
        )


def fill_rate(demand, filled):
    """Filled / demanded, 1 where nothing was demanded (no demand: nothing was missed)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(demand > 0, filled / np.where(demand > 0, demand, 1), 1.0)


def derived_variables(path_out) -> dict[str, np.ndarray]:
    """The variables computed from the kernel's path columns: fill_rate and total_cost.

    path_out [..., N_PATH_METRICS] -> {name: [...]}. The one place they are defined.
    """
    demand = path_out[..., kernel.DEMAND]
    filled = path_out[..., kernel.FILLED]
    # numpy adds column 0 to the sequential sum of the others while they are fewer than
    # 8 (pairwise beyond): parts that are 0 leave today's bits unchanged up to 8 parts
    total_cost = path_out[..., list(COST_COLUMNS)].sum(axis=-1)
    return {"fill_rate": fill_rate(demand, filled), "total_cost": total_cost}


def per_path_variables(path_out, node_out, dims) -> dict:
    """The per-path and per-path-per-node data variables (values and attributes); no
    per-node ones when ``node_out`` is None (node detail "summary" or "none")."""
    data = {}
    for col, entry in enumerate(PATH_METRICS):
        data[entry[0]] = (dims, path_out[..., col], attrs(entry))
    derived = derived_variables(path_out)
    for entry in DERIVED_METRICS:
        data[entry[0]] = (dims, derived[entry[0]], attrs(entry))
    if node_out is None:
        return data
    for col, entry in enumerate(NODE_METRICS):
        data[entry[0]] = ((*dims, "node"), node_out[..., col].astype(NODE_DTYPE), attrs(entry))
    return data


def fill_per_path(target: dict[str, np.ndarray], path_out, node_out) -> None:
    """Write the per-path variables of ``path_out`` / ``node_out`` (as in
    ``per_path_variables``, same values) into ``target``'s arrays (name -> an array of the
    right shape, e.g. a view into a chunk buffer), in one pass each; the per-node ones
    only when ``target`` has them."""
    for col, entry in enumerate(PATH_METRICS):
        target[entry[0]][...] = path_out[..., col]
    derived = derived_variables(path_out)
    for entry in DERIVED_METRICS:
        target[entry[0]][...] = derived[entry[0]]
    if NODE_METRICS[0][0] not in target:
        return
    for col, entry in enumerate(NODE_METRICS):
        target[entry[0]][...] = node_out[..., col]  # cast to the target's NODE_DTYPE


def per_path_shapes(nodes: int, node_paths: bool = True) -> dict[str, tuple[np.dtype, tuple]]:
    """Each per-path variable's dtype and shape after (..., strategy, path), in
    ``per_path_variables`` order: the arrays ``fill_per_path`` fills (the per-node ones
    only with ``node_paths``)."""
    shapes = {e[0]: (np.dtype(np.float64), ()) for e in (*PATH_METRICS, *DERIVED_METRICS)}
    if node_paths:
        shapes.update({e[0]: (np.dtype(NODE_DTYPE), (nodes,)) for e in NODE_METRICS})
    return shapes


def per_path_of_arrays(arrays: dict[str, np.ndarray], dims) -> dict:
    """``per_path_variables``' form (dims, values, attributes) of arrays filled by
    ``fill_per_path``."""
    data = {e[0]: (dims, arrays[e[0]], attrs(e)) for e in (*PATH_METRICS, *DERIVED_METRICS)}
    data.update(
        {e[0]: ((*dims, "node"), arrays[e[0]], attrs(e)) for e in NODE_METRICS if e[0] in arrays}
    )
    return data


def build_dataset(
    layout: RunLayout, path_out, node_out, daily, *, lead_dims=(), lead_coords=None
) -> xr.Dataset:
    """Dataset from full arrays.

    path_out [*lead, S, paths, N_PATH_METRICS]; node_out [*lead, S, paths, N, N_NODE_METRICS];
    daily: output of ``daily_variables`` with shapes [*lead, S, T, ...].
    """
    dims = (*lead_dims, "strategy", "path")
    data = per_path_variables(path_out, node_out, dims)
    return dataset_of(layout, data, daily, lead_dims=lead_dims, lead_coords=lead_coords)


def dataset_of(
    layout: RunLayout, per_path: dict, daily, *, lead_dims=(), lead_coords=None
) -> xr.Dataset:
    """Dataset from the per-path variables (``per_path_variables``' form) and the per-day
    ones (``daily_variables``' output, shapes [*lead, S, T, ...])."""
    data = dict(per_path)
    for name, tail in DAILY_DIMS.items():
        units, long_name, description = DAILY_ATTRS[name]
        data[name] = (
            (*lead_dims, "strategy", *tail),
            daily[name],
            {"units": units, "long_name": long_name, "description": description},
        )
    if any("node_bin" in v[0] for v in per_path.values()):
        extra_coords = {
            "node_bin": np.arange(kernel.NODE_BINS, dtype=np.int64),
            "node_quantile": list(NODE_QUANTILES),
        }
    else:
        extra_coords = {}
    coords = {
        "strategy": list(layout.strategies),
        "path": np.arange(layout.path_start, layout.path_start + layout.paths, dtype=np.int64),
        "node": list(layout.nodes),
        "node_kind": ("node", list(layout.node_kinds)),
        "node_region": ("node", list(layout.node_regions)),
        "day": np.arange(layout.horizon, dtype=np.int64),
        "band_quantile": list(BANDS),
        "fill_bin": fill_edges()[:FILL_BINS],
        "on_hand_bin": np.arange(ON_HAND_BINS, dtype=np.int64),
        **extra_coords,
        **(lead_coords or {}),
    }
    ds = xr.Dataset(data, coords=coords)
    for name, attributes in COORD_ATTRS.items():
        if name in ds.coords:
            ds[name].attrs = dict(attributes)
    ds.attrs = dict(layout.attrs)
    return ds


#: attributes of the coordinates (CF-style long_name / units where they have units)
COORD_ATTRS = {
    "strategy": {"long_name": "Sourcing strategy"},
    "path": {"long_name": "Path (one realisation of every random event)"},
    "node": {"long_name": "Network node"},
    "node_kind": {"long_name": "Node kind (supplier, plant or dc)"},
    "node_region": {"long_name": "Region of the node"},
    # an index, not a calendar: "days since <date>" would make readers decode it as time
    "day": {"long_name": "Day of the horizon (0 = first day)", "units": "day"},
    "band_quantile": {"long_name": "Quantile of the per-day bands (P5, P50, P95)", "units": "1"},
    "fill_bin": {"long_name": "Left edge of the daily fill-rate bin", "units": "1"},
    "on_hand_bin": {"long_name": "Daily on-hand bin (edges in on_hand_bin_edges)"},
    "node_bin": {"long_name": "Per-node summary histogram bin (edges: see its variables)"},
    "node_quantile": {"long_name": "Quantile of the per-node summaries over paths", "units": "1"},
}
