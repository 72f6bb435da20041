"""The classic two-node problem as a hand-written NumPy program, vectorised over paths.

    python benchmarks/numpy_two_node.py [PATHS] [SEED]

One supplier with Markov outages (an UP supplier fails with probability 0.01 a day, a
DOWN one recovers with probability 0.1), one lane with a lead time of 7 days, one DC
with Poisson(20) demand a day, an order-up-to level of 260, lost sales, 365 days. It is
the model the package simulates for ``benchmarks/two-node.yaml``, written the way a user
would write it without Numba: one Python loop over days, every step a NumPy operation
over a chunk of paths, random numbers from NumPy's own ``Generator`` (PCG64). The day
follows docs/model.md, "A simulated day", step for step:

1. the supplier's outage chain moves (the state holds for the whole day);
2. the shipment due today arrives at the DC;
3. the DC draws today's demand and serves what it can from on hand; the rest is lost;
4. the DC orders S - (on hand + in transit); an UP supplier (unlimited capacity) ships
   all of it, a DOWN one nothing (the order is not remembered: it is missing from
   tomorrow's inventory position and ordered again then); the shipment arrives at step 2
   of day t + 7.

The results agree with the engine's in distribution, not bit for bit (different random
numbers): ``benchmarks/test_numpy_two_node.py`` checks the fill rate within 4 standard
errors; ``benchmarks/throughput.py`` times the two.
"""

from __future__ import annotations

import sys
import time

import numpy as np

FAIL_P = 0.01  # per day, UP -> DOWN
RECOVER_P = 0.1  # per day, DOWN -> UP
LEAD_TIME = 7  # days
DEMAND_MEAN = 20.0  # Poisson, per day
ORDER_UP_TO = 260.0
HORIZON = 365  # days
NODES = 2
DEFAULT_CHUNK = 8192


def simulate_two_node(
    paths: int, seed: int = 0, chunk: int = DEFAULT_CHUNK
) -> dict[str, np.ndarray]:
    """Simulate ``paths`` paths; returns per-path ``demand_units``, ``filled_units``,
    ``lost_units`` and ``stockout_days`` ([paths] arrays)."""
    rng = np.random.default_rng(seed)
    out = {
        name: np.empty(paths)
        for name in ("demand_units", "filled_units", "lost_units", "stockout_days")
    }
    for lo in range(0, paths, chunk):
        n = min(chunk, paths - lo)
        for name, values in _simulate_chunk(n, rng).items():
            out[name][lo : lo + n] = values
    return out


def _simulate_chunk(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    slots = LEAD_TIME + 1  # ring buffer of shipments by arrival day
    up = np.ones(n, np.bool_)
    on_hand = np.full(n, ORDER_UP_TO)
    in_transit = np.zeros(n)
    pipe = np.zeros((slots, n))
    demand_total = np.zeros(n)
    filled_total = np.zeros(n)
    stockout_days = np.zeros(n)
    u = np.empty(n)
    served = np.empty(n)
    order = np.empty(n)
    for t in range(HORIZON):
        # 1. the supplier's outage chain: UP fails w.p. FAIL_P, DOWN recovers w.p. RECOVER_P
        rng.random(out=u)
        up = np.where(up, u >= FAIL_P, u < RECOVER_P)
        # 2. receive today's arrivals
        slot = t % slots
        arriving = pipe[slot]
        on_hand += arriving
        in_transit -= arriving
        arriving[:] = 0.0
        # 3. serve Poisson demand from on hand; the unmet part is lost
        d = rng.poisson(DEMAND_MEAN, n).astype(np.float64)
        np.minimum(d, on_hand, out=served)
        on_hand -= served
        demand_total += d
        filled_total += served
        stockout_days += d - served > 1e-9
        # 4. order up to S; an UP supplier ships all of it, arriving on day t + LEAD_TIME
        np.subtract(ORDER_UP_TO, on_hand + in_transit, out=order)
        ship = np.where(up & (order > 0.0), order, 0.0)
        pipe[(slot + LEAD_TIME) % slots] += ship
        in_transit += ship
    return {
        "demand_units": demand_total,
        "filled_units": filled_total,
        "lost_units": demand_total - filled_total,
        "stockout_days": stockout_days,
    }


def fill_rate(result: dict[str, np.ndarray]) -> tuple[float, float]:
    """Total filled / total demanded, and its delta-method standard error."""
    num, den = result["filled_units"], result["demand_units"]
    r = float(num.sum() / den.sum())
    resid = num - r * den
    return r, float(np.sqrt(resid.var(ddof=1) / len(num)) / den.mean())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = int(args[0]) if args else 100_000
    seed = int(args[1]) if len(args) > 1 else 0
    wall = time.perf_counter()
    result = simulate_two_node(paths, seed)
    wall = time.perf_counter() - wall
    fill, se = fill_rate(result)
    node_days = paths * HORIZON * NODES
    print(
        f"{paths:,} paths in {wall:.2f} s ({node_days / wall:.3g} node-days/s): "
        f"fill rate {fill:.4%} +- {se:.4%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
