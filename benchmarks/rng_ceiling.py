"""The RNG ceiling: the package's keyed random draws alone, as many as the kernel makes.

The kernel draws every random number from a SplitMix64 stream keyed by (seed, path,
purpose, entity) and read at position ``day`` (``resilience.kernels.rng``). Drawing them
is work the kernel cannot avoid, so the speed of the draws alone bounds the kernel's
speed from above: ``draw_loop`` below is a bare njit loop that calls the package's own
``path_key``, ``stream_key`` and ``uniform`` in the kernel's pattern (groups of LANES
paths in lockstep; per path every stream key the kernel derives, then per day one uniform per
stream the kernel reads daily) and does nothing else with them but add them up.

``draws_of(scenario)`` counts them from the scenario's entities, as the kernel does:

- stream keys per path: 3 per node (its outage chain and the two outage-length streams,
  derived for every node), one per regional shock, lane shock, demand surge and DC;
- uniforms per path-day: one per regional shock, per node with an outage (geometric: its
  chain every day; lognormal/Pareto: its chain on the days it is up, counted as every
  day), per lane shock, per demand surge, and per DC with Poisson demand. The outage
  lengths drawn on the rare days of a heavy-tailed breakdown are left out.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from resilience.kernels import rng
from resilience.kernels.simulate import LANES  # paths in lockstep, as in the kernel


@njit(nogil=True, cache=True)
def draw_loop(seed, path_start, n_paths, n_keys, n_daily, horizon):
    """Derive ``n_keys`` stream keys per path, then read ``n_daily`` of them once a day for
    ``horizon`` days, for paths ``path_start ..`` in groups of LANES; returns the sum of
    the uniforms (so that nothing is optimised away)."""
    keys = np.zeros((max(n_keys, 1), LANES), np.uint64)
    acc = np.zeros(LANES)
    for g in range(0, n_paths, LANES):
        for w in range(LANES):
            pkey = rng.path_key(seed, path_start + g + w)
            for k in range(n_keys):
                keys[k, w] = rng.stream_key(pkey, 1 + k % 7, k)
        for t in range(horizon):
            for k in range(n_daily):
                for w in range(LANES):
                    acc[w] += rng.uniform(keys[k, w], t)
    total = 0.0
    for w in range(LANES):
        total += acc[w]
    return total


def draws_of(scenario) -> dict[str, int]:
    """Stream keys per path and uniforms per path-day the kernel makes for one strategy of
    ``scenario`` (a loaded resilience Scenario)."""
    region_shocks = sum(len(r.shocks) for r in scenario.regions)
    outages = sum(
        1 for n in scenario.nodes if n.outage is not None and n.outage.failure_probability > 0
    )
    dcs = [n for n in scenario.nodes if n.kind == "dc"]
    poisson = sum(1 for n in dcs if n.demand is not None and n.demand.distribution == "poisson")
    lane_shocks = len(scenario.lane_shocks)
    surges = len(scenario.demand_surges)
    return {
        "keys_per_path": 3 * len(scenario.nodes) + region_shocks + lane_shocks + surges + len(dcs),
        "draws_per_day": region_shocks + outages + lane_shocks + surges + poisson,
        "nodes": len(scenario.nodes),
        "horizon": scenario.horizon_days,
    }


def time_draws(scenario, paths: int, seed: int = 0) -> dict:
    """Time ``paths`` paths' worth of the scenario's draws on one thread (compile or
    cache load excluded)."""
    counts = draws_of(scenario)
    keys, daily, horizon = counts["keys_per_path"], counts["draws_per_day"], counts["horizon"]
    draw_loop(np.uint64(seed), 0, LANES, keys, daily, 1)  # compile / load the cache untimed
    wall = time.perf_counter()
    total = draw_loop(np.uint64(seed), 0, paths, keys, daily, horizon)
    wall = time.perf_counter() - wall
    groups = -(-paths // LANES)
    draws = groups * LANES * horizon * daily
    # a mean uniform of 1/2 says every draw was made (and made from the package's streams)
    assert draws == 0 or abs(total / draws - 0.5) < 0.01, total / draws
    return {**counts, "paths": paths, "draws": draws, "seconds": wall}
