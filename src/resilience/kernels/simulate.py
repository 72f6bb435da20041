"""The simulation kernel: a block of paths through one compiled strategy.

Pure functions on arrays (numpy + numba only). Follows the order of events of
docs/model.md literally, every modelling decision included, and
tests/reference.py re-implements the same day in plain Python to check this file path
for path. Each path is reduced here to summary metrics, so memory grows with the block,
never with paths x days x nodes. Paths run in lockstep groups of LANES
(see simulate_paths) so that the arithmetic of a day runs as SIMD over paths.
"""

import math

import numpy as np
from numba import njit, prange

from resilience.kernels import rng

# Columns of ``path_out`` [paths, N_PATH_METRICS]; names in resilience.metrics.PATH_METRICS.
DEMAND, FILLED, LOST, BACKLOG_END, STOCKOUT_DAYS = 0, 1, 2, 3, 4
MEAN_ON_HAND, MEAN_BACKLOG = 5, 6
PURCHASE, HOLDING, LOST_SALES_COST, BACKLOG_COST, QUALIFICATION = 7, 8, 9, 10, 11
FIRST_DISRUPTION, DAYS_TO_SHORTAGE, RECOVERY_DAYS = 12, 13, 14
ON_HAND_START, ON_HAND_END, IN_TRANSIT_END = 15, 16, 17
SHIPPED, RECEIVED, CONSUMED = 18, 19, 20
N_PATH_METRICS = 21
# Columns of ``node_out`` [paths, nodes, N_NODE_METRICS].
N_ON_HAND, N_IMPAIRED, N_DEMAND, N_FILLED, N_LOST, N_STOCKOUT = 0, 1, 2, 3, 4, 5
N_NODE_METRICS = 6

FILL_BINS = 101
HIST_CHUNK = 32  # a multiple of LANES, so a chunk of paths is whole groups
# Paths simulated in lockstep. Each lane loop costs a fixed set-up (LLVM's run-time
# alias checks), so longer rows amortise it: 8 lanes ran 1.8x, 32 lanes 3x faster than
# one path at a time; 64 no faster than 32.
LANES = 32
UNIT_EPS = 1e-9
FILL_FIXED_POINT = 4294967296.0  # 2**32, see compile.FILL_FIXED_POINT
ON_HAND_FIXED_POINT = 256.0
GUIDE_RESOLUTION = 8  # see compile.GUIDE_RESOLUTION


@njit(inline="always", nogil=True, cache=True)
def _min(a, b):
    """min(a, b) as a select: numba's builtin min branches, which stops LLVM vectorizing
    the lane loops. Same result as the builtin (a on ties)."""
    return b if b < a else a


@njit(inline="always", nogil=True, cache=True)
def _max(a, b):
    """max(a, b) as a select (see _min)."""
    return b if b > a else a


@njit(inline="always", nogil=True, cache=True)
def _chain_step(active, u, start_p, end_p):
    """One day of a 2-state chain: inactive starts w.p. start_p, active ends w.p. end_p."""
    if active:
        return not (u < end_p)
    return u < start_p


@njit(nogil=True, cache=True)
def _outage_days(kind, a, b, u1, u2, cap):
    """Outage length D >= 1 drawn at failure: ceil of a lognormal (median a, sigma b, by
    Box-Muller) or Pareto (min a, tail b) variate, capped at ``cap`` days."""
    if kind == 1:
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        x = a * math.exp(b * z)
    else:
        x = a * (1.0 - u1) ** (-1.0 / b)
    if x > cap:
        return cap
    d = int(math.ceil(x))
    return d if d >= 1 else 1


@njit(inline="always", nogil=True, cache=True)
def _outflow_limit(cap_left, avail, capacity, request):
    """What a node may still send out today for ``request`` (docs/model-notes.md)."""
    if avail <= 0.0:
        return 0.0
    if avail < 1.0 and capacity == np.inf:
        return avail * request
    return cap_left


@njit(nogil=True, cache=True, error_model="numpy")
def simulate_paths(
    net,
    seed,
    path_start,
    n_paths,
    path_out,
    node_out,
    fill_hist,
    on_hand_hist,
    fill_sum,
    on_hand_sum,
):
    """Simulate paths ``path_start .. path_start + n_paths - 1`` of one strategy.

    Parameters
    ----------
    net : compile.Network
    seed : uint64
    path_start, n_paths : int
        Global index of the first path and how many to run; randomness depends only on
        (seed, global path index), never on the block.
    path_out : float64[n_paths, N_PATH_METRICS]  (written)
    node_out : float64[n_paths, N, N_NODE_METRICS]  (written)
    fill_hist : int64[T, FILL_BINS]  (accumulated) daily network fill-rate histogram
    on_hand_hist : int64[T, B]  (accumulated) daily total on-hand histogram over [0, on_hand_max]
    fill_sum, on_hand_sum : int64[T]  (accumulated) fixed-point sums for exact daily means

    Paths run in groups of ``LANES`` in lockstep: the network is walked once a day for the
    whole group, and every per-path quantity is a row of ``LANES`` values (arrays shaped
    ``[entity, LANES]``). The walk (nodes, stock points, sources, bills of
    materials) is the same for every path, so its loads and branches are shared, and the
    arithmetic on a row is branch-free so LLVM turns it into SIMD. Each lane performs
    exactly the floating-point operations of a path simulated alone (a skipped shipment
    becomes a shipment of 0 units, which adds nothing), so results are bit-identical to
    tests/reference.py. The last group of a block is padded with the paths that follow
    it; their results are dropped.
    """
    # Bind every array once, and keep helpers scalar-only: reading a field of the
    # NamedTuple in a loop, or passing it to a function, makes numba refcount its arrays
    # on every use (measured 5x slower on a 2-node network).
    node_kind = net.node_kind
    node_region = net.node_region
    node_capacity = net.node_capacity
    node_fail_p = net.node_fail_p
    node_recover_p = net.node_recover_p
    node_duration_kind = net.node_duration_kind
    node_duration_a = net.node_duration_a
    node_duration_b = net.node_duration_b
    node_pos_ptr = net.node_pos_ptr
    node_out_pos = net.node_out_pos
    processing_order = net.processing_order
    pos_node = net.pos_node
    pos_order_up_to = net.pos_order_up_to
    pos_holding_cost = net.pos_holding_cost
    pos_bom_qty = net.pos_bom_qty
    pos_mode = net.pos_mode
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    src_share = net.src_share
    lane_src_node = net.lane_src_node
    lane_lead_time = net.lane_lead_time
    lane_capacity = net.lane_capacity
    lane_unit_cost = net.lane_unit_cost
    lane_shock_ptr = net.lane_shock_ptr
    lane_shock_idx = net.lane_shock_idx
    dc_node = net.dc_node
    dc_pos = net.dc_pos
    dc_poisson = net.dc_poisson
    dc_mean = net.dc_mean
    dc_lost_margin = net.dc_lost_margin
    dc_backlog_penalty = net.dc_backlog_penalty
    dc_surge_ptr = net.dc_surge_ptr
    dc_surge_idx = net.dc_surge_idx
    dc_table_ptr = net.dc_table_ptr
    table_mult = net.table_mult
    table_cdf_ptr = net.table_cdf_ptr
    table_cdf = net.table_cdf
    table_guide = net.table_guide
    rshock_region = net.rshock_region
    rshock_start = net.rshock_start
    rshock_end = net.rshock_end
    rshock_fraction = net.rshock_fraction
    lshock_start = net.lshock_start
    lshock_end = net.lshock_end
    lshock_extra = net.lshock_extra
    surge_start = net.surge_start
    surge_end = net.surge_end
    backorder = net.backorder
    n_regions = net.n_regions
    on_hand_max = net.on_hand_max
    qualification = net.qualification_cost_per_day * net.horizon
    T = net.horizon
    H = net.pipeline_len
    N = node_kind.shape[0]
    P = pos_node.shape[0]
    A = lane_src_node.shape[0]
    D = dc_node.shape[0]
    RS = rshock_region.shape[0]
    K = lshock_start.shape[0]
    M = surge_start.shape[0]
    B = on_hand_hist.shape[1]
    W = LANES
    max_sources = 1
    for p in range(P):
        max_sources = max(max_sources, pos_src_ptr[p + 1] - pos_src_ptr[p])
    on_hand_start = 0.0
    for p in range(P):
        on_hand_start += pos_order_up_to[p]

    # scratch rows of W lanes, rewritten every day
    avail = np.ones((N, W))
    cap_left = np.zeros((N, W))
    region_factor = np.ones((n_regions, W))
    lane_left = np.zeros((A, W))
    order = np.zeros(W)
    up_share = np.zeros(W)
    material = np.zeros(W)
    left = np.zeros(W)
    lead = np.zeros(W, np.int64)
    limit = np.zeros((max_sources, W))
    ship = np.zeros((max_sources, W))
    node_keys = np.zeros((3, N, W), np.uint64)  # [stream, node, lane]
    rs_keys = np.zeros((RS, W), np.uint64)
    ls_keys = np.zeros((K, W), np.uint64)
    su_keys = np.zeros((M, W), np.uint64)
    dc_keys = np.zeros((D, W), np.uint64)
    impaired = np.zeros(W, np.bool_)
    failed = np.zeros(W, np.bool_)
    stockout = np.zeros(W, np.bool_)
    day_demand = np.zeros(W)
    day_filled = np.zeros(W)
    total_on_hand = np.zeros(W)
    total_backlog = np.zeros(W)
    # Histogram bins are recorded per path and added to the [T, bins] histograms a chunk
    # of paths at a time: updating the histograms every day walks ~1 MB per path and
    # thrashes the L2 cache (measured 1.8x slower).
    fill_bins = np.zeros((HIST_CHUNK, T), np.int64)
    on_hand_bins = np.zeros((HIST_CHUNK, T), np.int64)

    for g in range(0, n_paths, W):
        n_real = min(W, n_paths - g)
        for w in range(W):
            pkey = rng.path_key(seed, path_start + g + w)
            for n in range(N):
                node_keys[0, n, w] = rng.stream_key(pkey, rng.NODE_CHAIN, n)
                node_keys[1, n, w] = rng.stream_key(pkey, rng.NODE_DURATION, n)
                node_keys[2, n, w] = rng.stream_key(pkey, rng.NODE_DURATION_2, n)
            for k in range(RS):
                rs_keys[k, w] = rng.stream_key(pkey, rng.REGION_SHOCK, k)
            for k in range(K):
                ls_keys[k, w] = rng.stream_key(pkey, rng.LANE_SHOCK, k)
            for k in range(M):
                su_keys[k, w] = rng.stream_key(pkey, rng.DEMAND_SURGE, k)
            for j in range(D):
                dc_keys[j, w] = rng.stream_key(pkey, rng.DEMAND, dc_node[j])

        # initial state (day -1): all UP, no shock, on hand = S, empty pipelines, no
        # backlog; state and per-path accumulators are one row of W lanes per entity
        up = np.ones((N, W), np.bool_)
        down_left = np.zeros((N, W), np.int64)
        rs_active = np.zeros((RS, W), np.bool_)
        ls_active = np.zeros((K, W), np.bool_)
        su_active = np.zeros((M, W), np.bool_)
        on_hand = np.empty((P, W))
        for p in range(P):
            on_hand[p, :] = pos_order_up_to[p]
        in_transit = np.zeros((P, W))
        backlog = np.zeros((P, W))
        pipe = np.zeros((H, P, W))  # [day slot, stock point, lane]
        node_acc = np.zeros((N_NODE_METRICS, N, W))  # [metric, node, lane]
        first_disruption = np.full(W, -1, np.int64)
        first_shortage = np.full(W, -1, np.int64)
        recovered = np.full(W, -1, np.int64)
        sum_on_hand = np.zeros(W)
        sum_backlog = np.zeros(W)
        demand_total = np.zeros(W)
        filled_total = np.zeros(W)
        lost_total = np.zeros(W)
        stockout_days = np.zeros(W)
        purchase = np.zeros(W)
        holding = np.zeros(W)
        lost_cost = np.zeros(W)
        backlog_cost = np.zeros(W)
        shipped_total = np.zeros(W)
        received_total = np.zeros(W)
        consumed_total = np.zeros(W)

        for t in range(T):
            # 1. update every disruption chain; the result is the state of day t
            region_factor[:, :] = 1.0
            for k in range(RS):
                r = rshock_region[k]
                fraction = rshock_fraction[k]
                for w in range(W):
                    active = _chain_step(
                        rs_active[k, w],
                        rng.uniform(rs_keys[k, w], t),
                        rshock_start[k],
                        rshock_end[k],
                    )
                    rs_active[k, w] = active
                    if active and fraction < region_factor[r, w]:
                        region_factor[r, w] = fraction
            impaired[:] = False
            for n in range(N):
                fail_p = node_fail_p[n]
                recover_p = node_recover_p[n]
                capacity = node_capacity[n]
                region = node_region[n]
                if fail_p > 0.0 and node_duration_kind[n] == 0:
                    # geometric outages: a branch-free day of the 2-state chain
                    for w in range(W):
                        u = rng.uniform(node_keys[0, n, w], t)
                        up[n, w] = not (u < fail_p) if up[n, w] else u < recover_p
                elif fail_p > 0.0:
                    # heavy-tailed outages: count an outage down, or start one; the rare
                    # failures draw their duration afterwards, outside the lane loop
                    any_failure = False
                    for w in range(W):
                        was_up = up[n, w]
                        left_days = down_left[n, w]
                        failing = was_up and rng.uniform(node_keys[0, n, w], t) < fail_p
                        failed[w] = failing
                        any_failure |= failing
                        up[n, w] = not failing if was_up else left_days == 0
                        down_left[n, w] = left_days - 1 if left_days > 0 else 0
                    if any_failure:
                        for w in range(W):
                            if failed[w]:
                                down_left[n, w] = (
                                    _outage_days(
                                        node_duration_kind[n],
                                        node_duration_a[n],
                                        node_duration_b[n],
                                        rng.uniform(node_keys[1, n, w], t),
                                        rng.uniform(node_keys[2, n, w], t),
                                        T + 1,
                                    )
                                    - 1
                                )
                for w in range(W):
                    a = region_factor[region, w] if up[n, w] else 0.0
                    avail[n, w] = a
                    impaired[w] |= a < 1.0
                    node_acc[N_IMPAIRED, n, w] += 1.0 if a < 1.0 else 0.0
                    # a x inf = inf: unlimited capacity stays unlimited while UP
                    cap_left[n, w] = a * capacity if a > 0.0 else 0.0
            for k in range(K):
                for w in range(W):
                    ls_active[k, w] = _chain_step(
                        ls_active[k, w],
                        rng.uniform(ls_keys[k, w], t),
                        lshock_start[k],
                        lshock_end[k],
                    )
            for k in range(M):
                for w in range(W):
                    su_active[k, w] = _chain_step(
                        su_active[k, w],
                        rng.uniform(su_keys[k, w], t),
                        surge_start[k],
                        surge_end[k],
                    )
            for w in range(W):
                if impaired[w] and first_disruption[w] < 0:
                    first_disruption[w] = t

            # 2. receive shipments due today (adding an empty slot changes nothing)
            slot = t % H
            for p in range(P):
                for w in range(W):
                    arriving = pipe[slot, p, w]
                    on_hand[p, w] += arriving
                    in_transit[p, w] -= arriving
                    received_total[w] += arriving
                    pipe[slot, p, w] = 0.0

            # 3. serve demand at each DC from on hand
            day_demand[:] = 0.0
            day_filled[:] = 0.0
            stockout[:] = False
            for j in range(D):
                n = dc_node[j]
                p = dc_pos[j]
                capacity = node_capacity[n]
                lost_margin = dc_lost_margin[j]
                for w in range(W):
                    mask = 0
                    for b in range(dc_surge_ptr[j + 1] - dc_surge_ptr[j]):
                        if su_active[dc_surge_idx[dc_surge_ptr[j] + b], w]:
                            mask |= 1 << b
                    table = dc_table_ptr[j] + mask
                    if dc_poisson[j]:
                        # inverse CDF with a guide table: rarely a comparison beyond the first
                        u = rng.uniform(dc_keys[j, w], t)
                        start = table_cdf_ptr[table]
                        size = (table_cdf_ptr[table + 1] - start) * GUIDE_RESOLUTION
                        k = table_guide[start * GUIDE_RESOLUTION + min(int(u * size), size - 1)]
                        while table_cdf[start + k] <= u:
                            k += 1
                        d = float(k)
                    else:
                        d = dc_mean[j] * table_mult[table]
                    request = d + backlog[p, w] if backorder else d
                    served = _min(
                        _min(request, on_hand[p, w]),
                        _outflow_limit(cap_left[n, w], avail[n, w], capacity, request),
                    )
                    on_hand[p, w] -= served
                    cap_left[n, w] -= served
                    consumed_total[w] += served
                    from_backlog = _min(backlog[p, w], served)
                    # min/max guard float round-off: a day never fills more than its
                    # demand and a backlog never goes negative (tests/test_reference.py)
                    filled = _min(d, served - from_backlog)
                    unmet = d - filled
                    if backorder:
                        backlog[p, w] = _max(0.0, request - served)
                    else:
                        lost_total[w] += unmet
                        node_acc[N_LOST, n, w] += unmet
                        lost_cost[w] += unmet * lost_margin
                    node_acc[N_DEMAND, n, w] += d
                    node_acc[N_FILLED, n, w] += filled
                    if unmet > UNIT_EPS:
                        stockout[w] = True
                        node_acc[N_STOCKOUT, n, w] += 1.0
                    day_demand[w] += d
                    day_filled[w] += filled

            # on hand and backlog are measured after serving
            total_on_hand[:] = 0.0
            for p in range(P):
                n = pos_node[p]
                holding_cost = pos_holding_cost[p]
                for w in range(W):
                    x = on_hand[p, w]
                    total_on_hand[w] += x
                    holding[w] += x * holding_cost
                    node_acc[N_ON_HAND, n, w] += x
            total_backlog[:] = 0.0
            for j in range(D):
                p = dc_pos[j]
                penalty = dc_backlog_penalty[j]
                for w in range(W):
                    x = backlog[p, w]
                    total_backlog[w] += x
                    backlog_cost[w] += x * penalty
            for w in range(W):
                sum_on_hand[w] += total_on_hand[w]
                sum_backlog[w] += total_backlog[w]
                demand_total[w] += day_demand[w]
                filled_total[w] += day_filled[w]
                if stockout[w]:
                    stockout_days[w] += 1.0
                    if first_disruption[w] >= 0 and first_shortage[w] < 0:
                        first_shortage[w] = t
                elif first_shortage[w] >= 0 and recovered[w] < 0:
                    recovered[w] = t
            for w in range(n_real):
                row = (g + w) % HIST_CHUNK
                fill = day_filled[w] / day_demand[w] if day_demand[w] > 0.0 else 1.0
                fill_bins[row, t] = FILL_BINS - 1 if fill >= 1.0 else int(fill * (FILL_BINS - 1))
                fill_sum[t] += np.int64(round(fill * FILL_FIXED_POINT))
                ob = int(total_on_hand[w] / on_hand_max * B)
                on_hand_bins[row, t] = min(max(ob, 0), B - 1)
                on_hand_sum[t] += np.int64(round(total_on_hand[w] * ON_HAND_FIXED_POINT))

            # 4. order and ship, each node before the nodes that supply it
            for a in range(A):
                for w in range(W):
                    lane_left[a, w] = lane_capacity[a]
            for idx in range(N):
                n = processing_order[idx]
                for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
                    S = pos_order_up_to[p]
                    orders = False
                    for w in range(W):
                        order[w] = S - (on_hand[p, w] + in_transit[p, w] - backlog[p, w])
                        orders |= order[w] > 0.0
                    if not orders:
                        continue
                    s0 = pos_src_ptr[p]
                    ns = pos_src_ptr[p + 1] - s0
                    failover = pos_mode[p] == 1
                    # what each source can ship today; sources of one stock point are
                    # distinct nodes, so one shipment never changes another's limit
                    up_share[:] = 0.0
                    for s in range(ns):
                        lane = src_lane[s0 + s]
                        src = lane_src_node[lane]
                        share = src_share[s0 + s]
                        capacity = node_capacity[src]
                        kind = node_kind[src]
                        if kind == 0:
                            material[:] = np.inf
                        elif kind == 2:
                            q = node_out_pos[src]
                            for w in range(W):
                                material[w] = on_hand[q, w]
                        else:
                            material[:] = np.inf
                            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                                qty = pos_bom_qty[c]
                                for w in range(W):
                                    material[w] = _min(material[w], on_hand[c, w] / qty)
                        for w in range(W):
                            a = avail[src, w]
                            most_asked = order[w] if failover else share * order[w]
                            lim = _min(
                                _min(
                                    _outflow_limit(cap_left[src, w], a, capacity, most_asked),
                                    lane_left[lane, w],
                                ),
                                material[w],
                            )
                            limit[s, w] = lim if a > 0.0 else 0.0
                            up_share[w] += share if a > 0.0 else 0.0
                    # split: each UP source is asked its share; failover: shares
                    # renormalised over UP sources, then the shortfall re-asked in order.
                    # A lane that does not order (or has no UP source) ships 0 everywhere.
                    for w in range(W):
                        left[w] = order[w]
                    for s in range(ns):
                        share = src_share[s0 + s]
                        for w in range(W):
                            lim = limit[s, w]
                            asked = (share / up_share[w] if failover else share) * order[w]
                            x = _min(asked, lim) if lim > 0.0 and order[w] > 0.0 else 0.0
                            ship[s, w] = x
                            left[w] -= x
                    if failover:
                        for s in range(ns):
                            for w in range(W):
                                extra = _min(left[w], limit[s, w] - ship[s, w])
                                if left[w] > 0.0 and extra > 0.0:
                                    ship[s, w] += extra
                                    left[w] -= extra
                    for s in range(ns):
                        lane = src_lane[s0 + s]
                        src = lane_src_node[lane]
                        unit_cost = lane_unit_cost[lane]
                        for w in range(W):
                            x = ship[s, w]
                            cap_left[src, w] -= x
                            lane_left[lane, w] -= x
                            purchase[w] += x * unit_cost
                            shipped_total[w] += x
                        kind = node_kind[src]
                        if kind == 1:
                            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                                qty = pos_bom_qty[c]
                                for w in range(W):
                                    used = ship[s, w] * qty
                                    # x = on_hand / qty can consume a hair more than on hand
                                    on_hand[c, w] = _max(0.0, on_hand[c, w] - used)
                                    consumed_total[w] += used
                        elif kind == 2:
                            q = node_out_pos[src]
                            for w in range(W):
                                on_hand[q, w] -= ship[s, w]
                                consumed_total[w] += ship[s, w]
                        for w in range(W):
                            lead[w] = lane_lead_time[lane]
                        for f in range(lane_shock_ptr[lane], lane_shock_ptr[lane + 1]):
                            k = lane_shock_idx[f]
                            for w in range(W):
                                if ls_active[k, w]:
                                    lead[w] += lshock_extra[k]
                        same_lead = True
                        for w in range(W):
                            same_lead &= lead[w] == lead[0]
                        if same_lead and lead[0] == 0:
                            for w in range(W):
                                on_hand[p, w] += ship[s, w]
                                received_total[w] += ship[s, w]
                        elif same_lead:
                            arrival = (slot + lead[0]) % H
                            for w in range(W):
                                pipe[arrival, p, w] += ship[s, w]
                                in_transit[p, w] += ship[s, w]
                        else:  # a lane shock hits some paths of the group only
                            for w in range(W):
                                x = ship[s, w]
                                if lead[w] == 0:
                                    on_hand[p, w] += x
                                    received_total[w] += x
                                else:
                                    pipe[(slot + lead[w]) % H, p, w] += x
                                    in_transit[p, w] += x

        # reduce each real path of the group
        for w in range(n_real):
            i = g + w
            out = path_out[i]
            out[DEMAND] = demand_total[w]
            out[FILLED] = filled_total[w]
            out[LOST] = lost_total[w]
            out[STOCKOUT_DAYS] = stockout_days[w]
            out[MEAN_ON_HAND] = sum_on_hand[w] / T
            out[MEAN_BACKLOG] = sum_backlog[w] / T
            out[PURCHASE] = purchase[w]
            out[HOLDING] = holding[w]
            out[LOST_SALES_COST] = lost_cost[w]
            out[BACKLOG_COST] = backlog_cost[w]
            out[QUALIFICATION] = qualification
            out[ON_HAND_START] = on_hand_start
            end_on_hand = 0.0
            end_in_transit = 0.0
            for p in range(P):
                end_on_hand += on_hand[p, w]
                end_in_transit += in_transit[p, w]
            out[ON_HAND_END] = end_on_hand
            out[IN_TRANSIT_END] = end_in_transit
            out[SHIPPED] = shipped_total[w]
            out[RECEIVED] = received_total[w]
            out[CONSUMED] = consumed_total[w]
            end_backlog = 0.0
            for j in range(D):
                end_backlog += backlog[dc_pos[j], w]
            out[BACKLOG_END] = end_backlog
            fd = first_disruption[w]
            out[FIRST_DISRUPTION] = fd if fd >= 0 else np.nan
            fs = first_shortage[w]
            out[DAYS_TO_SHORTAGE] = fs - fd if fs >= 0 else np.nan
            rc = recovered[w]
            out[RECOVERY_DAYS] = rc - fd if rc >= 0 else np.nan
            for n in range(N):
                for m in range(N_NODE_METRICS):
                    node_out[i, n, m] = node_acc[m, n, w]
                node_out[i, n, N_ON_HAND] /= T
        done = g + n_real
        if done % HIST_CHUNK == 0 or done == n_paths:
            rows = (done - 1) % HIST_CHUNK + 1
            for t in range(T):
                for c in range(rows):
                    fill_hist[t, fill_bins[c, t]] += 1
                    on_hand_hist[t, on_hand_bins[c, t]] += 1


@njit(nogil=True, parallel=True, cache=True)
def simulate_paths_parallel(
    net,
    seed,
    path_start,
    n_paths,
    path_out,
    node_out,
    fill_hist,
    on_hand_hist,
    fill_sum,
    on_hand_sum,
    n_chunks,
):
    """``simulate_paths`` with the block split into ``n_chunks`` run on numba threads.

    Each chunk accumulates private histograms that are summed afterwards; integer sums,
    so the result is identical to the serial kernel.
    """
    T = fill_hist.shape[0]
    n_chunks = max(1, min(n_chunks, n_paths))
    fh = np.zeros((n_chunks, T, fill_hist.shape[1]), np.int64)
    oh = np.zeros((n_chunks, T, on_hand_hist.shape[1]), np.int64)
    fs = np.zeros((n_chunks, T), np.int64)
    os_ = np.zeros((n_chunks, T), np.int64)
    for c in prange(n_chunks):
        lo = c * n_paths // n_chunks
        hi = (c + 1) * n_paths // n_chunks
        simulate_paths(
            net,
            seed,
            path_start + lo,
            hi - lo,
            path_out[lo:hi],
            node_out[lo:hi],
            fh[c],
            oh[c],
            fs[c],
            os_[c],
        )
    for c in range(n_chunks):
        fill_hist += fh[c]
        on_hand_hist += oh[c]
        fill_sum += fs[c]
        on_hand_sum += os_[c]
