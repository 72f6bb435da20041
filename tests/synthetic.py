"""Synthetic results datasets that follow docs/results-format.md, for tests of the layers
above the engine (risk, plots, report, CLI) that must not depend on running a simulation.

The numbers come from a crude but self-consistent toy world, not from docs/model.md: each path
has at most one disruption of the far supplier (start, duration, severity shared by every
strategy, i.e. common random numbers); a strategy rides it out for ``buffer_days`` and then
serves the fraction of demand its near-shore share and the surviving capacity allow.
Accounting identities, units/long_name/description attributes, histograms and bands are
all present so that consumers can rely on the contract.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import xarray as xr

STRATEGIES = ("jit", "jic", "regionalized", "hybrid")

# buffer days, near-shore share, unit cost, qualification cost per day: JIT is cheap and
# fragile, JIC pays holding cost, regionalized pays unit cost; this hybrid is a poorly tuned
# mix that ends up dominated on the cost-risk frontier, so frontier code has a case to mark.
_PARAMS = {
    "jit": (1, 0.0, 10.0, 0.0),
    "jic": (20, 0.0, 10.0, 0.0),
    "regionalized": (3, 0.6, 11.0, 50.0),
    "hybrid": (8, 0.3, 11.0, 40.0),
}
_MU = 100.0  # mean daily network demand, units
_MARGIN = 25.0  # lost-sales cost per unit
_HOLDING = 0.1  # holding cost per unit-day

_PER_PATH_META = {
    "demand_units": ("units", "demand", "customer units demanded over the horizon"),
    "filled_units": ("units", "filled units", "units served on the day demanded"),
    "fill_rate": ("1", "fill rate", "filled_units / demand_units (1 when no demand)"),
    "lost_units": ("units", "lost units", "demand not filled on its day and lost"),
    "backlog_units_end": ("units", "backlog at end", "backlog open at horizon end"),
    "stockout_days": ("days", "stockout days", "days with unmet demand"),
    "mean_on_hand": ("units", "mean on-hand", "on-hand after serving, day average"),
    "mean_backlog": ("units", "mean backlog", "backlog after serving, day average"),
    "purchase_cost": ("currency", "purchase cost", "unit cost x units shipped"),
    "holding_cost": ("currency", "holding cost", "holding rate x on-hand unit-days"),
    "lost_sales_cost": ("currency", "lost-sales cost", "margin x lost units"),
    "backlog_cost": ("currency", "backlog cost", "penalty x backlog unit-days"),
    "qualification_cost": ("currency", "qualification cost", "backup source upkeep"),
    "total_cost": ("currency", "total cost", "sum of the cost parts"),
    "first_disruption_day": ("day", "first disruption day", "NaN if none"),
    "days_to_first_shortage": ("days", "time to survive", "NaN if no shortage"),
    "service_recovery_days": ("days", "service recovery", "NaN if no recovery"),
    "on_hand_start": ("units", "on-hand at start", "all stock points"),
    "on_hand_end": ("units", "on-hand at end", "all stock points"),
    "in_transit_end": ("units", "in transit at end", "pipeline at horizon end"),
    "units_shipped": ("units", "units shipped", "received + in transit at end"),
    "units_received": ("units", "units received", "arrivals at stock points"),
    "units_consumed": ("units", "units consumed", "shipped out or consumed"),
}

_SCENARIO_TEXT = """\
name: synthetic-test
horizon_days: {T}
demand_mode: lost_sales
# synthetic dataset built by tests/synthetic.py; not a real scenario
"""


def _meta(units: str, long_name: str, description: str) -> dict[str, str]:
    return {"units": units, "long_name": long_name, "description": description}


def _params(name: str, k: int) -> tuple[float, float, float, float]:
    if name in _PARAMS:
        return _PARAMS[name]
    # extra strategy names get a deterministic spread of parameters
    return (2 + 3 * k, 0.1 * (k % 5), 10.0 + 0.3 * k, 10.0 * k)


def _hist_band(hist: np.ndarray, left_edges: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Band read from a histogram: left edge of the first bin whose cumulative count >= q*n."""
    cum = np.cumsum(hist, axis=-1)
    n = cum[..., -1:]
    out = np.empty(hist.shape[:-1] + (len(qs),))
    for j, q in enumerate(qs):
        idx = np.argmax(cum >= q * n, axis=-1)
        out[..., j] = left_edges[idx]
    return out


def make_results(
    n_paths: int = 400,
    n_days: int = 60,
    *,
    strategies: tuple[str, ...] = STRATEGIES,
    n_dcs: int = 3,
    on_hand_bins: int = 24,
    seed: int = 0,
) -> xr.Dataset:
    """Build a results dataset following docs/results-format.md.

    Parameters
    ----------
    n_paths, n_days
        Sizes of the ``path`` and ``day`` dimensions.
    strategies
        Strategy names; the four defaults have hand-picked parameters.
    n_dcs
        Number of distribution centres; the network also has two suppliers (far and
        near-shore) and one plant.
    on_hand_bins
        Number of bins of ``daily_on_hand_hist``.
    seed
        Seed of the numpy Generator; the same seed gives the same dataset.
    """
    rng = np.random.default_rng(seed)
    n, T, S = n_paths, n_days, len(strategies)

    # Shared random events: every strategy sees the same disruptions and demand.
    disrupted = rng.random(n) < 0.55
    start = rng.integers(0, max(T // 2, 1), n)
    duration = np.maximum(1, np.ceil(rng.exponential(T / 5, n))).astype(np.int64)
    severity = rng.beta(2.0, 2.0, n)
    wobble = rng.random((n, T))  # per path-day shared noise
    demand = rng.poisson(_MU, (n, T)).astype(np.float64)
    end_frac = rng.random(n)

    day = np.arange(T)
    offset = day[None, :] - start[:, None]  # days since disruption start
    in_window = disrupted[:, None] & (offset >= 0) & (offset < duration[:, None])

    fill_daily = np.ones((S, n, T))
    on_hand_daily = np.empty((S, n, T))
    per_path: dict[str, np.ndarray] = {}
    for name in _PER_PATH_META:
        per_path[name] = np.empty((S, n))

    for s, name in enumerate(strategies):
        buffer_days, near_share, unit_cost, qual = _params(name, s)
        short = in_window & (offset >= buffer_days)
        level = 1.0 - severity[:, None] * (1.0 - near_share) * (0.9 + 0.1 * wobble)
        fill = np.where(short, np.clip(level, 0.0, 1.0), 1.0)
        fill_daily[s] = fill
        filled_d = fill * demand
        stock_target = _MU * (buffer_days + 2)
        drawdown = np.clip((offset + 1) / max(buffer_days, 1), 0.0, 1.0)
        on_hand = np.where(in_window, stock_target * (1.0 - 0.9 * drawdown), stock_target)
        on_hand_daily[s] = on_hand

        dem = demand.sum(axis=1)
        filled = filled_d.sum(axis=1)
        lost = dem - filled
        had_short = short.any(axis=1)
        first_short = np.where(had_short, np.argmax(short, axis=1), -1)
        window_end = start + duration
        recovered = had_short & (window_end < T)
        on_hand_start = np.full(n, stock_target)
        on_hand_end = stock_target * (1.0 - 0.2 * end_frac)
        consumed = filled
        received = consumed + on_hand_end - on_hand_start
        in_transit = np.full(n, _MU * 2.0)
        mean_on_hand = on_hand.mean(axis=1)

        p = per_path
        p["demand_units"][s] = dem
        p["filled_units"][s] = filled
        p["fill_rate"][s] = np.where(dem > 0, filled / np.where(dem > 0, dem, 1.0), 1.0)
        p["lost_units"][s] = lost
        p["backlog_units_end"][s] = 0.0
        p["stockout_days"][s] = (fill < 1.0).sum(axis=1)
        p["mean_on_hand"][s] = mean_on_hand
        p["mean_backlog"][s] = 0.0
        p["purchase_cost"][s] = unit_cost * filled
        p["holding_cost"][s] = _HOLDING * mean_on_hand * T
        p["lost_sales_cost"][s] = _MARGIN * lost
        p["backlog_cost"][s] = 0.0
        p["qualification_cost"][s] = qual * T
        p["total_cost"][s] = (
            p["purchase_cost"][s]
            + p["holding_cost"][s]
            + p["lost_sales_cost"][s]
            + p["backlog_cost"][s]
            + p["qualification_cost"][s]
        )
        p["first_disruption_day"][s] = np.where(disrupted, start, np.nan)
        p["days_to_first_shortage"][s] = np.where(had_short, first_short - start, np.nan)
        p["service_recovery_days"][s] = np.where(recovered, window_end - start, np.nan)
        p["on_hand_start"][s] = on_hand_start
        p["on_hand_end"][s] = on_hand_end
        p["in_transit_end"][s] = in_transit
        p["units_received"][s] = received
        p["units_shipped"][s] = received + in_transit
        p["units_consumed"][s] = consumed

    data_vars: dict[str, tuple] = {}
    for name, arr in per_path.items():
        data_vars[name] = (("strategy", "path"), arr, _meta(*_PER_PATH_META[name]))

    # Nodes: far supplier, near-shore supplier, one plant, n_dcs DCs.
    node_names = ["supplier_far", "supplier_near", "plant"] + [f"dc_{i}" for i in range(n_dcs)]
    node_kind = ["supplier", "supplier", "plant"] + ["dc"] * n_dcs
    node_region = ["asia", "americas", "americas"] + ["americas"] * n_dcs
    N = len(node_names)
    share = np.zeros(N)
    share[3:] = 1.0 / n_dcs
    stock_share = np.zeros(N)
    stock_share[2:] = 1.0 / (n_dcs + 1)
    impaired = np.zeros((n, N))
    impaired[:, 0] = np.where(disrupted, np.minimum(duration, T - start), 0)
    impaired[:, 1:] = rng.poisson(0.3, (n, N - 1))
    pp = per_path
    node_vars = {
        "node_mean_on_hand": (pp["mean_on_hand"][..., None] * stock_share, "units"),
        "node_impaired_days": (np.broadcast_to(impaired, (S, n, N)).copy(), "days"),
        "node_demand_units": (pp["demand_units"][..., None] * share, "units"),
        "node_filled_units": (pp["filled_units"][..., None] * share, "units"),
        "node_lost_units": (pp["lost_units"][..., None] * share, "units"),
        "node_stockout_days": (pp["stockout_days"][..., None] * (share > 0), "days"),
    }
    for name, (arr, units) in node_vars.items():
        label = name.replace("_", " ")
        # float32 like the engine's node metrics
        data_vars[name] = (
            ("strategy", "path", "node"),
            arr.astype(np.float32),
            _meta(units, label, label),
        )

    # Per-day histograms, exact means and bands read from the histograms.
    fill_edges = np.arange(101) / 100.0
    fill_bin = np.where(fill_daily >= 1.0, 100, np.minimum(np.floor(fill_daily * 100), 99))
    fill_hist = np.zeros((S, T, 101), dtype=np.int64)
    on_hand_hist = np.zeros((S, T, on_hand_bins), dtype=np.int64)
    on_hand_edges = np.empty((S, on_hand_bins + 1))
    for s in range(S):
        for t in range(T):
            fill_hist[s, t] = np.bincount(fill_bin[s, :, t].astype(np.int64), minlength=101)
        top = on_hand_daily[s].max() * 1.0001 + 1e-9
        on_hand_edges[s] = np.linspace(0.0, top, on_hand_bins + 1)
        idx = np.clip(
            np.searchsorted(on_hand_edges[s], on_hand_daily[s], side="right") - 1,
            0,
            on_hand_bins - 1,
        )
        for t in range(T):
            on_hand_hist[s, t] = np.bincount(idx[:, t], minlength=on_hand_bins)
    qs = (0.05, 0.5, 0.95)
    fill_band = _hist_band(fill_hist, fill_edges, qs)
    on_hand_band = np.empty((S, T, len(qs)))
    for s in range(S):
        on_hand_band[s] = _hist_band(on_hand_hist[s], on_hand_edges[s, :-1], qs)

    data_vars["daily_fill_rate_hist"] = (
        ("strategy", "day", "fill_bin"),
        fill_hist,
        _meta("paths", "daily fill-rate histogram", "count of paths per fill-rate bin"),
    )
    data_vars["daily_on_hand_hist"] = (
        ("strategy", "day", "on_hand_bin"),
        on_hand_hist,
        _meta("paths", "daily on-hand histogram", "count of paths per on-hand bin"),
    )
    data_vars["daily_fill_rate_mean"] = (
        ("strategy", "day"),
        fill_daily.mean(axis=1),
        _meta("1", "mean daily fill rate", "network fill rate of the day, mean over paths"),
    )
    data_vars["daily_on_hand_mean"] = (
        ("strategy", "day"),
        on_hand_daily.mean(axis=1),
        _meta("units", "mean daily on-hand", "total on-hand after serving, mean over paths"),
    )
    data_vars["daily_fill_rate_band"] = (
        ("strategy", "day", "band_quantile"),
        fill_band,
        _meta("1", "daily fill-rate band", "P5/P50/P95 read from the histogram"),
    )
    data_vars["daily_on_hand_band"] = (
        ("strategy", "day", "band_quantile"),
        on_hand_band,
        _meta("units", "daily on-hand band", "P5/P50/P95 read from the histogram"),
    )
    data_vars["on_hand_bin_edges"] = (
        ("strategy", "on_hand_edge"),
        on_hand_edges,
        _meta("units", "on-hand bin edges", "edges of daily_on_hand_hist bins"),
    )

    scenario_text = _SCENARIO_TEXT.format(T=T)
    coords = {
        "strategy": ("strategy", np.array(strategies)),
        "path": ("path", np.arange(n, dtype=np.int64)),
        "node": ("node", np.array(node_names)),
        "node_kind": ("node", np.array(node_kind)),
        "node_region": ("node", np.array(node_region)),
        "day": ("day", np.arange(T, dtype=np.int64)),
        "band_quantile": ("band_quantile", np.array(qs)),
        "fill_bin": ("fill_bin", fill_edges),
        "on_hand_bin": ("on_hand_bin", np.arange(on_hand_bins, dtype=np.int64)),
    }
    attrs = {
        "seed": seed,
        "paths": n,
        "horizon_days": T,
        "scenario_name": "synthetic-test",
        "scenario_text": scenario_text,
        "scenario_sha256": hashlib.sha256(scenario_text.encode()).hexdigest(),
        "strategies_json": json.dumps(
            {
                s: dict(
                    zip(
                        ("buffer_days", "near_share", "unit_cost", "qualification"),
                        _params(s, k),
                        strict=True,
                    )
                )
                for k, s in enumerate(strategies)
            }
        ),
        "demand_mode": "lost_sales",
        "resilience_version": "0.0.0+synthetic",
        "numba_version": "n/a",
        "numpy_version": np.__version__,
        "xarray_version": xr.__version__,
        "created_utc": "2024-01-01T00:00:00Z",
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def write_store(ds: xr.Dataset, path) -> None:
    """Write ``ds`` as ``resilience run`` writes a .zarr result (Zarr format 2, consolidated
    metadata), so ``resilience.results.open_results`` reads it back."""
    ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
