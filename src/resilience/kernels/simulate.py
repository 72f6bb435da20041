"""The simulation kernel: a block of paths through one compiled strategy.

Pure functions on arrays (numpy + numba only). Follows MODEL.md's order of events
literally; the choices where MODEL.md is silent are in docs/model-notes.md, and
tests/reference.py re-implements the same day in plain Python to check this file path
for path. Each path is reduced here to summary metrics, so memory grows with the block,
never with paths x days x nodes.
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
HIST_CHUNK = 32
UNIT_EPS = 1e-9
FILL_FIXED_POINT = 4294967296.0  # 2**32, see compile.FILL_FIXED_POINT
ON_HAND_FIXED_POINT = 256.0


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


@njit(nogil=True, cache=True)
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
    max_sources = 1
    for p in range(P):
        max_sources = max(max_sources, pos_src_ptr[p + 1] - pos_src_ptr[p])

    up = np.ones(N, np.bool_)
    down_left = np.zeros(N, np.int64)
    avail = np.ones(N)
    cap_left = np.zeros(N)
    region_factor = np.ones(n_regions)
    rs_active = np.zeros(RS, np.bool_)
    ls_active = np.zeros(K, np.bool_)
    su_active = np.zeros(M, np.bool_)
    on_hand = np.zeros(P)
    in_transit = np.zeros(P)
    backlog = np.zeros(P)
    pipe = np.zeros((H, P))
    lane_left = np.zeros(A)
    limit = np.zeros(max_sources)
    ship = np.zeros(max_sources)
    node_keys = np.zeros((N, 3), np.uint64)
    rs_keys = np.zeros(RS, np.uint64)
    ls_keys = np.zeros(K, np.uint64)
    su_keys = np.zeros(M, np.uint64)
    dc_keys = np.zeros(D, np.uint64)
    # Histogram bins are recorded per path and added to the [T, bins] histograms a chunk
    # of paths at a time: updating the histograms every day walks ~1 MB per path and
    # thrashes the L2 cache (measured 1.8x slower).
    fill_bins = np.zeros((HIST_CHUNK, T), np.int64)
    on_hand_bins = np.zeros((HIST_CHUNK, T), np.int64)

    for i in range(n_paths):
        slot_in_chunk = i % HIST_CHUNK
        pkey = rng.path_key(seed, path_start + i)
        for n in range(N):
            node_keys[n, 0] = rng.stream_key(pkey, rng.NODE_CHAIN, n)
            node_keys[n, 1] = rng.stream_key(pkey, rng.NODE_DURATION, n)
            node_keys[n, 2] = rng.stream_key(pkey, rng.NODE_DURATION_2, n)
        for k in range(RS):
            rs_keys[k] = rng.stream_key(pkey, rng.REGION_SHOCK, k)
        for k in range(K):
            ls_keys[k] = rng.stream_key(pkey, rng.LANE_SHOCK, k)
        for k in range(M):
            su_keys[k] = rng.stream_key(pkey, rng.DEMAND_SURGE, k)
        for j in range(D):
            dc_keys[j] = rng.stream_key(pkey, rng.DEMAND, dc_node[j])

        # initial state (day -1): all UP, no shock, on hand = S, empty pipelines, no backlog
        up[:] = True
        down_left[:] = 0
        rs_active[:] = False
        ls_active[:] = False
        su_active[:] = False
        on_hand[:] = pos_order_up_to
        in_transit[:] = 0.0
        backlog[:] = 0.0
        pipe[:, :] = 0.0
        out = path_out[i]
        out[:] = 0.0
        nout = node_out[i]
        nout[:, :] = 0.0
        first_disruption = -1
        first_shortage = -1
        recovered = -1
        sum_on_hand = 0.0
        sum_backlog = 0.0
        demand_total = 0.0
        filled_total = 0.0
        lost_total = 0.0
        stockout_days = 0.0
        purchase = 0.0
        holding = 0.0
        lost_cost = 0.0
        backlog_cost = 0.0
        shipped_total = 0.0
        received_total = 0.0
        consumed_total = 0.0

        for t in range(T):
            # 1. update every disruption chain; the result is the state of day t
            for r in range(n_regions):
                region_factor[r] = 1.0
            for k in range(RS):
                rs_active[k] = _chain_step(
                    rs_active[k], rng.uniform(rs_keys[k], t), rshock_start[k], rshock_end[k]
                )
                if rs_active[k] and rshock_fraction[k] < region_factor[rshock_region[k]]:
                    region_factor[rshock_region[k]] = rshock_fraction[k]
            impaired_today = False
            for n in range(N):
                fail_p = node_fail_p[n]
                if fail_p > 0.0:
                    if up[n]:
                        if rng.uniform(node_keys[n, 0], t) < fail_p:
                            up[n] = False
                            if node_duration_kind[n] != 0:
                                down_left[n] = (
                                    _outage_days(
                                        node_duration_kind[n],
                                        node_duration_a[n],
                                        node_duration_b[n],
                                        rng.uniform(node_keys[n, 1], t),
                                        rng.uniform(node_keys[n, 2], t),
                                        T + 1,
                                    )
                                    - 1
                                )
                    elif node_duration_kind[n] == 0:
                        if rng.uniform(node_keys[n, 0], t) < node_recover_p[n]:
                            up[n] = True
                    elif down_left[n] == 0:
                        up[n] = True
                    else:
                        down_left[n] -= 1
                a = region_factor[node_region[n]] if up[n] else 0.0
                avail[n] = a
                if a < 1.0:
                    impaired_today = True
                    nout[n, N_IMPAIRED] += 1.0
                if a <= 0.0:
                    cap_left[n] = 0.0
                elif node_capacity[n] == np.inf:
                    cap_left[n] = np.inf
                else:
                    cap_left[n] = a * node_capacity[n]
            for k in range(K):
                ls_active[k] = _chain_step(
                    ls_active[k], rng.uniform(ls_keys[k], t), lshock_start[k], lshock_end[k]
                )
            for k in range(M):
                su_active[k] = _chain_step(
                    su_active[k], rng.uniform(su_keys[k], t), surge_start[k], surge_end[k]
                )
            if impaired_today and first_disruption < 0:
                first_disruption = t

            # 2. receive shipments due today
            slot = t % H
            for p in range(P):
                arriving = pipe[slot, p]
                if arriving != 0.0:
                    on_hand[p] += arriving
                    in_transit[p] -= arriving
                    received_total += arriving
                    pipe[slot, p] = 0.0

            # 3. serve demand at each DC from on hand
            day_demand = 0.0
            day_filled = 0.0
            stockout = False
            for j in range(D):
                n = dc_node[j]
                p = dc_pos[j]
                mask = 0
                for b in range(dc_surge_ptr[j + 1] - dc_surge_ptr[j]):
                    if su_active[dc_surge_idx[dc_surge_ptr[j] + b]]:
                        mask |= 1 << b
                table = dc_table_ptr[j] + mask
                if dc_poisson[j]:
                    # inverse CDF with a guide table: ~1 comparison per draw
                    u = rng.uniform(dc_keys[j], t)
                    start = table_cdf_ptr[table]
                    size = table_cdf_ptr[table + 1] - start
                    k = table_guide[start + int(u * size)]
                    while table_cdf[start + k] <= u:
                        k += 1
                    d = float(k)
                else:
                    d = dc_mean[j] * table_mult[table]
                request = d + backlog[p] if backorder else d
                served = min(
                    request,
                    on_hand[p],
                    _outflow_limit(cap_left[n], avail[n], node_capacity[n], request),
                )
                on_hand[p] -= served
                cap_left[n] -= served
                consumed_total += served
                from_backlog = min(backlog[p], served)
                # min/max guard float round-off: a day never fills more than its demand and
                # a backlog never goes negative (tests/test_reference.py pins both)
                filled = min(d, served - from_backlog)
                unmet = d - filled
                if backorder:
                    backlog[p] = max(0.0, request - served)
                else:
                    lost_total += unmet
                    nout[n, N_LOST] += unmet
                    lost_cost += unmet * dc_lost_margin[j]
                nout[n, N_DEMAND] += d
                nout[n, N_FILLED] += filled
                if unmet > UNIT_EPS:
                    stockout = True
                    nout[n, N_STOCKOUT] += 1.0
                day_demand += d
                day_filled += filled

            # on hand and backlog are measured after serving
            total_on_hand = 0.0
            for p in range(P):
                total_on_hand += on_hand[p]
                holding += on_hand[p] * pos_holding_cost[p]
                nout[pos_node[p], N_ON_HAND] += on_hand[p]
            total_backlog = 0.0
            for j in range(D):
                total_backlog += backlog[dc_pos[j]]
                backlog_cost += backlog[dc_pos[j]] * dc_backlog_penalty[j]
            sum_on_hand += total_on_hand
            sum_backlog += total_backlog
            demand_total += day_demand
            filled_total += day_filled
            if stockout:
                stockout_days += 1.0
                if first_disruption >= 0 and first_shortage < 0:
                    first_shortage = t
            elif first_shortage >= 0 and recovered < 0:
                recovered = t
            fill = day_filled / day_demand if day_demand > 0.0 else 1.0
            fill_bins[slot_in_chunk, t] = (
                FILL_BINS - 1 if fill >= 1.0 else int(fill * (FILL_BINS - 1))
            )
            fill_sum[t] += np.int64(round(fill * FILL_FIXED_POINT))
            ob = int(total_on_hand / on_hand_max * B)
            on_hand_bins[slot_in_chunk, t] = min(max(ob, 0), B - 1)
            on_hand_sum[t] += np.int64(round(total_on_hand * ON_HAND_FIXED_POINT))

            # 4. order and ship, each node before the nodes that supply it
            for a in range(A):
                lane_left[a] = lane_capacity[a]
            for idx in range(N):
                n = processing_order[idx]
                for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
                    order = pos_order_up_to[p] - (on_hand[p] + in_transit[p] - backlog[p])
                    if order <= 0.0:
                        continue
                    s0 = pos_src_ptr[p]
                    ns = pos_src_ptr[p + 1] - s0
                    failover = pos_mode[p] == 1
                    # what each source can ship today; sources of one stock point are
                    # distinct nodes, so one shipment never changes another's limit
                    up_share = 0.0
                    for s in range(ns):
                        lane = src_lane[s0 + s]
                        src = lane_src_node[lane]
                        a = avail[src]
                        if a <= 0.0:
                            limit[s] = 0.0
                            continue
                        up_share += src_share[s0 + s]
                        kind = node_kind[src]
                        if kind == 0:
                            material = np.inf
                        elif kind == 2:
                            material = on_hand[node_out_pos[src]]
                        else:
                            material = np.inf
                            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                                material = min(material, on_hand[c] / pos_bom_qty[c])
                        most_asked = order if failover else src_share[s0 + s] * order
                        limit[s] = min(
                            _outflow_limit(cap_left[src], a, node_capacity[src], most_asked),
                            lane_left[lane],
                            material,
                        )
                    if up_share <= 0.0:
                        continue
                    # split: each UP source is asked its share; failover: shares
                    # renormalised over UP sources, then the shortfall re-asked in order
                    left = order
                    for s in range(ns):
                        share = src_share[s0 + s] / up_share if failover else src_share[s0 + s]
                        ship[s] = min(share * order, limit[s]) if limit[s] > 0.0 else 0.0
                        left -= ship[s]
                    if failover:
                        for s in range(ns):
                            if left <= 0.0:
                                break
                            extra = min(left, limit[s] - ship[s])
                            if extra > 0.0:
                                ship[s] += extra
                                left -= extra
                    for s in range(ns):
                        x = ship[s]
                        if x <= 0.0:
                            continue
                        lane = src_lane[s0 + s]
                        src = lane_src_node[lane]
                        cap_left[src] -= x
                        lane_left[lane] -= x
                        kind = node_kind[src]
                        if kind == 1:
                            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                                # x = on_hand / qty can consume a hair more than on hand
                                on_hand[c] = max(0.0, on_hand[c] - x * pos_bom_qty[c])
                                consumed_total += x * pos_bom_qty[c]
                        elif kind == 2:
                            on_hand[node_out_pos[src]] -= x
                            consumed_total += x
                        purchase += x * lane_unit_cost[lane]
                        shipped_total += x
                        lead = lane_lead_time[lane]
                        for f in range(lane_shock_ptr[lane], lane_shock_ptr[lane + 1]):
                            if ls_active[lane_shock_idx[f]]:
                                lead += lshock_extra[lane_shock_idx[f]]
                        if lead == 0:
                            on_hand[p] += x
                            received_total += x
                        else:
                            pipe[(t + lead) % H, p] += x
                            in_transit[p] += x

        # reduce the path
        out[DEMAND] = demand_total
        out[FILLED] = filled_total
        out[LOST] = lost_total
        out[STOCKOUT_DAYS] = stockout_days
        out[MEAN_ON_HAND] = sum_on_hand / T
        out[MEAN_BACKLOG] = sum_backlog / T
        out[PURCHASE] = purchase
        out[HOLDING] = holding
        out[LOST_SALES_COST] = lost_cost
        out[BACKLOG_COST] = backlog_cost
        out[QUALIFICATION] = net.qualification_cost_per_day * T
        out[ON_HAND_START] = pos_order_up_to.sum()
        out[ON_HAND_END] = on_hand.sum()
        out[IN_TRANSIT_END] = in_transit.sum()
        out[SHIPPED] = shipped_total
        out[RECEIVED] = received_total
        out[CONSUMED] = consumed_total
        end_backlog = 0.0
        for j in range(D):
            end_backlog += backlog[dc_pos[j]]
        out[BACKLOG_END] = end_backlog
        out[FIRST_DISRUPTION] = first_disruption if first_disruption >= 0 else np.nan
        out[DAYS_TO_SHORTAGE] = first_shortage - first_disruption if first_shortage >= 0 else np.nan
        out[RECOVERY_DAYS] = recovered - first_disruption if recovered >= 0 else np.nan
        for n in range(N):
            nout[n, N_ON_HAND] /= T
        if slot_in_chunk == HIST_CHUNK - 1 or i == n_paths - 1:
            for t in range(T):
                for c in range(slot_in_chunk + 1):
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
