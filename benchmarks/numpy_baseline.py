"""The model as a plain NumPy program vectorised over paths: the throughput baseline.

This is what a user would write by hand without Numba: the daily logic of docs/model.md
(its modelling decisions included), one Python loop over days and over the few nodes,
stock points and sources, with every operation a NumPy array operation over a chunk of
paths. Randomness comes from NumPy's own ``Generator`` (PCG64), so results agree with the
kernel in distribution, not bit for bit (``test_numpy_baseline.py`` checks the mean fill
rate per strategy against the kernel's within Monte Carlo error).

It reads the same compiled ``Network`` as the kernel (so both simulate exactly the same
parameters) and returns the per-path metrics the risk table needs; it does not build the
kernel's daily histograms.
"""

from __future__ import annotations

import numpy as np

from resilience.compiler import UNIT_EPS, Network

METRICS = (
    "demand_units",
    "filled_units",
    "lost_units",
    "stockout_days",
    "mean_on_hand",
    "purchase_cost",
    "holding_cost",
    "lost_sales_cost",
    "backlog_cost",
    "qualification_cost",
    "total_cost",
    "on_hand_start",
    "on_hand_end",
    "in_transit_end",
    "units_shipped",
    "units_received",
    "units_consumed",
)
DEFAULT_CHUNK = 8192


def simulate_numpy(
    net: Network, paths: int, seed: int, chunk: int = DEFAULT_CHUNK
) -> dict[str, np.ndarray]:
    """Simulate ``paths`` paths of one compiled strategy; returns metric -> [paths] array."""
    rng = np.random.default_rng(seed)
    plan = _Plan(net)
    out = {name: np.empty(paths) for name in METRICS}
    for lo in range(0, paths, chunk):
        n = min(chunk, paths - lo)
        for name, values in _simulate_chunk(plan, n, rng).items():
            out[name][lo : lo + n] = values
    return out


class _Plan:
    """The network's structure as small Python lists (the loops run over these)."""

    def __init__(self, net: Network):
        self.net = net
        self.N = len(net.node_kind)
        self.P = len(net.pos_node)
        self.finite_cap = np.isfinite(net.node_capacity)
        fail = np.flatnonzero(net.node_fail_p > 0)
        self.geo = fail[net.node_duration_kind[fail] == 0]
        self.drawn = fail[net.node_duration_kind[fail] != 0]
        self.positions = [
            list(range(net.node_pos_ptr[n], net.node_pos_ptr[n + 1])) for n in range(self.N)
        ]
        self.sources = []  # per stock point: [(lane, src, share), ...]
        for p in range(self.P):
            lo, hi = net.pos_src_ptr[p], net.pos_src_ptr[p + 1]
            self.sources.append(
                [
                    (int(a), int(net.lane_src_node[a]), float(s))
                    for a, s in zip(net.src_lane[lo:hi], net.src_share[lo:hi], strict=True)
                ]
            )
        self.lane_shocks = [
            [int(k) for k in net.lane_shock_idx[net.lane_shock_ptr[a] : net.lane_shock_ptr[a + 1]]]
            for a in range(len(net.lane_src_node))
        ]
        self.dc_surges = [
            [int(m) for m in net.dc_surge_idx[net.dc_surge_ptr[j] : net.dc_surge_ptr[j + 1]]]
            for j in range(len(net.dc_node))
        ]


def _chain(active, u, start, end):
    """2-state chains, rows = chains: inactive starts w.p. start, active ends w.p. end."""
    return np.where(active, u >= end[:, None], u < start[:, None])


def _simulate_chunk(plan: _Plan, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    net = plan.net
    T, N, P = net.horizon, plan.N, plan.P
    H = int(np.diff(net.pos_pipe_ptr).max())  # one ring as long as the longest
    cap = net.node_capacity
    fail_p = net.node_fail_p
    S = net.pos_order_up_to
    lane_cap = net.lane_capacity
    finite_lanes = np.isfinite(lane_cap)

    up = np.ones((N, n), bool)
    down_left = np.zeros((N, n), np.int64)
    region_factor = np.ones((net.n_regions, n))
    rs = np.zeros((len(net.rshock_start), n), bool)
    ls = np.zeros((len(net.lshock_start), n), bool)
    su = np.zeros((len(net.surge_start), n), bool)
    on_hand = np.repeat(S[:, None], n, axis=1)
    in_transit = np.zeros((P, n))
    backlog = np.zeros((P, n))
    pipe = np.zeros((H, P, n))
    cols = np.arange(n)
    m = {name: np.zeros(n) for name in METRICS}
    sum_on_hand = np.zeros(n)

    for t in range(T):
        # 1. disruption chains: regions, nodes, lane shocks, demand surges
        region_factor.fill(1.0)
        if len(rs):
            rs = _chain(rs, rng.random(rs.shape), net.rshock_start, net.rshock_end)
            for k, r in enumerate(net.rshock_region):
                np.minimum(
                    region_factor[r],
                    np.where(rs[k], net.rshock_fraction[k], 1.0),
                    out=region_factor[r],
                )
        if len(plan.geo):
            g = plan.geo
            u = rng.random((len(g), n))
            up[g] = np.where(up[g], u >= fail_p[g, None], u < net.node_recover_p[g, None])
        if len(plan.drawn):
            g = plan.drawn
            u = rng.random((len(g), n))
            was_up = up[g]
            left = down_left[g]
            fails = was_up & (u < fail_p[g, None])
            recovers = ~was_up & (left == 0)
            left -= ~was_up & (left > 0)
            rows, where = np.nonzero(fails)
            if len(rows):
                kind = net.node_duration_kind[g][rows]
                a = net.node_duration_a[g][rows]
                b = net.node_duration_b[g][rows]
                z = rng.standard_normal(len(rows))
                v = rng.random(len(rows))
                # lognormal (median a, sigma b) or Pareto (minimum a, tail index b)
                tail = np.where(kind == 1, 1.0, b)
                x = np.where(kind == 1, a * np.exp(b * z), a * (1.0 - v) ** (-1.0 / tail))
                days = np.clip(np.ceil(np.minimum(x, T + 1)), 1, T + 1).astype(np.int64)
                left[rows, where] = days - 1
            up[g] = (was_up & ~fails) | recovers
            down_left[g] = left
        avail = np.where(up, region_factor[net.node_region], 0.0)
        cap_left = np.empty((N, n))
        for i in range(N):
            cap_left[i] = (
                avail[i] * cap[i] if plan.finite_cap[i] else np.where(avail[i] > 0, np.inf, 0.0)
            )
        if len(ls):
            ls = _chain(ls, rng.random(ls.shape), net.lshock_start, net.lshock_end)
        if len(su):
            su = _chain(su, rng.random(su.shape), net.surge_start, net.surge_end)

        # 2. receive
        arriving = pipe[t % H]
        on_hand += arriving
        in_transit -= arriving
        m["units_received"] += arriving.sum(axis=0)
        arriving.fill(0.0)

        # 3. serve demand
        stockout = np.zeros(n, bool)
        for j, node in enumerate(net.dc_node):
            p = net.dc_pos[j]
            mean = np.full(n, net.dc_mean[j])
            for s in plan.dc_surges[j]:
                mean = np.where(su[s], mean * net.surge_mult[s], mean)
            d = rng.poisson(mean).astype(np.float64) if net.dc_poisson[j] else mean
            request = d + backlog[p] if net.backorder else d
            limit = _outflow_limit(cap_left[node], avail[node], plan.finite_cap[node], request)
            served = np.minimum(np.minimum(request, on_hand[p]), limit)
            on_hand[p] -= served
            cap_left[node] -= served
            m["units_consumed"] += served
            from_backlog = np.minimum(backlog[p], served)
            filled = served - from_backlog
            unmet = d - filled
            if net.backorder:
                backlog[p] += unmet - from_backlog
            else:
                m["lost_units"] += unmet
                m["lost_sales_cost"] += unmet * net.dc_lost_margin[j]
            stockout |= unmet > UNIT_EPS
            m["demand_units"] += d
            m["filled_units"] += filled
        m["holding_cost"] += net.pos_holding_cost @ on_hand
        sum_on_hand += on_hand.sum(axis=0)
        for j in range(len(net.dc_node)):
            m["backlog_cost"] += backlog[net.dc_pos[j]] * net.dc_backlog_penalty[j]
        m["stockout_days"] += stockout

        # 4. order and ship, each node before the nodes that supply it
        lane_left = {a: np.full(n, lane_cap[a]) for a in np.flatnonzero(finite_lanes)}
        for node in net.processing_order:
            for p in plan.positions[node]:
                sources = plan.sources[p]
                if not sources:
                    continue
                order = np.maximum(S[p] - (on_hand[p] + in_transit[p] - backlog[p]), 0.0)
                failover = net.pos_mode[p] == 1
                up_share = np.zeros(n)
                limits = []
                for lane, src, share in sources:
                    a = avail[src]
                    up_share += np.where(a > 0, share, 0.0)
                    kind = net.node_kind[src]
                    asked = order if failover else share * order
                    lim = _outflow_limit(cap_left[src], a, plan.finite_cap[src], asked)
                    if kind == 2:
                        lim = np.minimum(lim, on_hand[net.node_out_pos[src]])
                    elif kind == 1:
                        for c in plan.positions[src]:
                            lim = np.minimum(lim, on_hand[c] / net.pos_bom_qty[c])
                    if lane in lane_left:
                        lim = np.minimum(lim, lane_left[lane])
                    limits.append(np.where(a > 0, lim, 0.0))
                ships = []
                left = order.copy()
                for (_, _, share), lim in zip(sources, limits, strict=True):
                    if failover:
                        frac = np.divide(share, up_share, out=np.zeros(n), where=up_share > 0)
                    else:
                        frac = share
                    x = np.where(lim > 0, np.minimum(frac * order, lim), 0.0)
                    left -= x
                    ships.append(x)
                if failover:
                    for s, lim in enumerate(limits):
                        extra = np.maximum(np.minimum(left, lim - ships[s]), 0.0)
                        ships[s] = ships[s] + extra
                        left -= extra
                for (lane, src, _), x in zip(sources, ships, strict=True):
                    cap_left[src] -= x
                    if lane in lane_left:
                        lane_left[lane] -= x
                    kind = net.node_kind[src]
                    if kind == 1:
                        for c in plan.positions[src]:
                            used = x * net.pos_bom_qty[c]
                            on_hand[c] -= used
                            m["units_consumed"] += used
                    elif kind == 2:
                        on_hand[net.node_out_pos[src]] -= x
                        m["units_consumed"] += x
                    m["purchase_cost"] += x * net.lane_unit_cost[lane]
                    m["units_shipped"] += x
                    lead = int(net.lane_lead_time[lane])
                    shocks = plan.lane_shocks[lane]
                    if not shocks:
                        if lead == 0:
                            on_hand[p] += x
                            m["units_received"] += x
                        else:
                            pipe[(t + lead) % H, p] += x
                            in_transit[p] += x
                        continue
                    leads = np.full(n, lead)
                    for k in shocks:
                        leads += ls[k] * net.lshock_extra[k]
                    now = np.where(leads == 0, x, 0.0)
                    later = x - now
                    on_hand[p] += now
                    m["units_received"] += now
                    pipe[(t + leads) % H, p, cols] += later
                    in_transit[p] += later

    m["mean_on_hand"] = sum_on_hand / T
    m["qualification_cost"][:] = net.qualification_cost_per_day * T
    m["total_cost"] = (
        m["purchase_cost"]
        + m["holding_cost"]
        + m["lost_sales_cost"]
        + m["backlog_cost"]
        + m["qualification_cost"]
    )
    m["on_hand_start"][:] = S.sum()
    m["on_hand_end"] = on_hand.sum(axis=0)
    m["in_transit_end"] = in_transit.sum(axis=0)
    return m


def _outflow_limit(cap_left, avail, finite_capacity, request):
    """What a node may still send today for ``request`` (docs/model-notes.md)."""
    if finite_capacity:
        return cap_left  # 0 when DOWN: capacity x avail
    return np.where(avail < 1.0, avail * request, np.inf)


def fill_rate(metrics: dict[str, np.ndarray]) -> float:
    return float(metrics["filled_units"].sum() / metrics["demand_units"].sum())


if __name__ == "__main__":  # pragma: no cover - manual check
    import sys
    import time

    from resilience.engine import prepare

    paths = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    run = prepare("src/resilience/examples/automotive.yaml", paths, 0)
    for c in run.compiled:
        started = time.perf_counter()
        res = simulate_numpy(c.network, paths, 0)
        dt = time.perf_counter() - started
        nd = paths * c.network.horizon * len(c.network.node_kind)
        print(f"{c.name:14s} fill {fill_rate(res):.4%}  {nd / dt:.3g} node-days/s")
