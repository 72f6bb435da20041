"""The simulation kernel: a block of paths through one compiled strategy.

Pure functions on arrays (numpy + numba only). Follows the order of events of
docs/model.md literally, every modelling decision included, and
tests/reference.py re-implements the same day in plain Python to check this file path
for path. Each path is reduced here to summary metrics, so memory grows with the block,
never with paths x days x nodes. Paths run in lockstep groups of LANES
(see simulate_paths) so that the arithmetic of a day runs as SIMD over paths.

``simulate_paths`` is a short driver; each step of the model's day is an
``inline="always"`` function below it, in the order the day runs them. Inlining happens
on numba's IR before typing, so the steps compile into the driver as one function, with
the driver's ``error_model``, exactly as if their bodies were written in it. They stay in
this file because numba's ``cache=True`` only notices changes to the cached function's own
file: a step in another module could be edited under a stale cached driver.

Shapes: N nodes, P stock points, A lanes, D DCs, R regions, RS region shocks, K lane
shocks, M surges, H pipeline rows (every stock point's ring, Network.pos_pipe_ptr), T
days, W = LANES paths of a group.

Scripted events (docs/model.md, "Scripted events") arrive as per-day arrays of the
Network, each of shape (0, ...) when the strategy has none of its kind: a step reads its
array's first dimension once and skips the event work without events, so a network
without events runs the loops it ran before they existed.
"""

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from resilience.kernels import rng

# Columns of ``path_out`` [paths, N_PATH_METRICS]; names in results.catalogue.PATH_METRICS.
DEMAND, FILLED, LOST, BACKLOG_END, STOCKOUT_DAYS = 0, 1, 2, 3, 4
MEAN_ON_HAND, MEAN_BACKLOG = 5, 6
PURCHASE, HOLDING, LOST_SALES_COST, BACKLOG_COST, QUALIFICATION = 7, 8, 9, 10, 11
FIRST_DISRUPTION, DAYS_TO_SHORTAGE, RECOVERY_DAYS = 12, 13, 14
ON_HAND_START, ON_HAND_END, IN_TRANSIT_END = 15, 16, 17
SHIPPED, RECEIVED, CONSUMED = 18, 19, 20
TIME_TO_SURVIVE, SHORTAGE_DURATION, SHORTAGE_START, FIRST_UNMET = 21, 22, 23, 24
# issue-14 push: units made by push plants into their finished goods
PRODUCED = 25
# issue-14 policy: orders placed and their fixed cost (0 without ordering policies)
ORDERS_PLACED, ORDER_COST = 26, 27
# issue-14 quality: expediting, defects and jidoka
EXPEDITE_COST, SCRAP_COST, EXPEDITED, DEFECTIVE, LINE_STOP_DAYS = 28, 29, 30, 31, 32
N_PATH_METRICS = 33
# Columns of ``node_out`` [paths, nodes, N_NODE_METRICS].
N_ON_HAND, N_IMPAIRED, N_DEMAND, N_FILLED, N_LOST, N_STOCKOUT = 0, 1, 2, 3, 4, 5
N_NODE_METRICS = 6
# Per-node summaries (node detail "summary", docs/results-format.md): a histogram of each
# node metric over paths, bins NODE_BINS on [0, hi] with quadratic edges hi x (k/NODE_BINS)**2
# (fine near 0, where lost units and stockout days of most paths lie), and exact sums of
# round(value x NODE_FIXED_POINT): integers, so any block split adds up to the same bits.
NODE_BINS = 256
NODE_FIXED_POINT = 256.0

FILL_BINS = 101
HIST_CHUNK = 128  # a multiple of LANES, so a chunk of paths is whole groups
# issue-14 policy: a need within this many lots of a whole number of lots is that
# number (fractional shares leave needs like 40.000000000004 units for 2 lots of 20)
LOT_EPS = 1e-9
# Paths simulated in lockstep. Each lane loop costs a fixed set-up (LLVM's run-time
# alias checks, the walk's loads and branches), so longer rows amortise it: 8 lanes ran
# 1.8x, 32 lanes 3x faster than one path at a time; 64 lanes a further 11-28% on 16 to
# 1,024 nodes and 6% on 2 (issue 16, interleaved, bit-identical; 128 lanes were slower on
# 1,024 nodes), with each stock point's pipeline ring cut to its own lead times.
LANES = 64
UNIT_EPS = 1e-9
FILL_FIXED_POINT = 4294967296.0  # 2**32; why these values: resilience.compiler
ON_HAND_FIXED_POINT = 256.0
GUIDE_RESOLUTION = 1  # see resilience.compiler
NEVER = -(2**30)  # "last active" of an entity that never was: before any window
# issue-14 quality: the units of one shipment drawn as Binomial; the rest of a larger
# shipment is split at the fixed fraction (it bounds the draw's loop)
MAX_BINOMIAL_UNITS = 1e7


class Keys(NamedTuple):
    """Random stream keys of one group's paths (uint64, rows of LANES)."""

    node: np.ndarray  # [3, N, W] chain, outage duration, its second uniform
    rshock: np.ndarray  # [RS, W]
    lshock: np.ndarray  # [K, W]
    surge: np.ndarray  # [M, W]
    demand: np.ndarray  # [D, W]
    lead: np.ndarray  # [A, W] issue-14 stochastic lead times ([0, W] without any)


class State(NamedTuple):
    """What a group's paths carry from one day to the next."""

    up: np.ndarray  # bool [N, W] node's own chain
    down_left: np.ndarray  # int64 [N, W] days left of a heavy-tailed outage after today
    rs_active: np.ndarray  # bool [RS, W]
    ls_active: np.ndarray  # bool [K, W]
    su_active: np.ndarray  # bool [M, W]
    on_hand: np.ndarray  # [P, W]
    in_transit: np.ndarray  # [P, W]
    backlog: np.ndarray  # [P, W]
    pipe: np.ndarray  # [H, W] arrivals by day, in each stock point's ring (_turn_rings)
    # int64 [3, P] each stock point's ring: today's row, first row, end. The bounds copy
    # Network.pos_pipe_ptr: steps reading that array instead ran the 2-node problem 3.3x
    # slower (issue 16; refcount operations back in the day loop, which binding was
    # not found), with these rows no slower than one network-wide ring
    ring: np.ndarray
    # disruption spells, for tracing a shortage to its cause: [0] the first day of the
    # latest spell (days in a row active / impaired), [1] its last day so far
    node_spell: np.ndarray  # int32 [2, N, W] avail < 1 (int32: twice the lanes a vector)
    ls_spell: np.ndarray  # int32 [2, K, W] lane shock active
    su_spell: np.ndarray  # int32 [2, M, W] demand surge active


class Totals(NamedTuple):
    """Per-path accumulators of a group, reduced into path_out / node_out at the end."""

    node: np.ndarray  # [N_NODE_METRICS, N, W]
    first_disruption: np.ndarray  # int64 [W], -1 = not yet
    first_shortage: np.ndarray  # int64 [W]
    recovered: np.ndarray  # int64 [W]
    sum_on_hand: np.ndarray  # [W] (all the [W] rows below are sums over days)
    sum_backlog: np.ndarray
    demand: np.ndarray
    filled: np.ndarray
    lost: np.ndarray
    stockout_days: np.ndarray
    purchase: np.ndarray
    holding: np.ndarray
    lost_cost: np.ndarray
    backlog_cost: np.ndarray
    shipped: np.ndarray
    received: np.ndarray
    consumed: np.ndarray
    shortage_day: np.ndarray  # int64 [W] first shortage traced to a disruption, -1 = none
    shortage_onset: np.ndarray  # int64 [W] the start of that disruption
    shortage_end: np.ndarray  # int64 [W] first day after it without unmet demand
    first_unmet: np.ndarray  # int64 [W] first day >= watch_day with unmet demand
    produced: np.ndarray  # [W] issue-14 push: units made into finished goods
    # issue-14 policy
    orders_placed: np.ndarray  # [W]
    order_cost: np.ndarray  # [W]


class Day(NamedTuple):
    """Scratch rows of the current day, rewritten every day."""

    avail: np.ndarray  # [N, W] own_up x region factor
    cap_left: np.ndarray  # [N, W] outflow the node may still send today
    region_factor: np.ndarray  # [R, W]
    lane_left: np.ndarray  # [C + 1, W] capacity left today (Network.lane_cap_row)
    impaired: np.ndarray  # bool [W] some node has avail < 1
    failed: np.ndarray  # bool [W] the node being updated failed today
    stockout: np.ndarray  # bool [W]
    dc_demand: np.ndarray  # [W] the demand of the DC being served
    demand: np.ndarray  # [W] network demand today
    filled: np.ndarray  # [W]
    on_hand: np.ndarray  # [W] network on hand after serving
    backlog: np.ndarray  # [W]
    dc_short: np.ndarray  # bool [D, W] the dc left demand unmet today
    dc_table: np.ndarray  # int64 [D] the first Poisson table (mask 0) of each dc today
    served: np.ndarray  # [W] what the dc being served sends out
    dc_filled: np.ndarray  # [W] of it, today's demand filled


class Orders(NamedTuple):
    """Scratch rows of the stock point being replenished."""

    order: np.ndarray  # [W]
    up_share: np.ndarray  # [W] summed share of its UP sources
    material: np.ndarray  # [W] what the source being priced can make or pick
    left: np.ndarray  # [W] order not shipped yet
    lead: np.ndarray  # int64 [W]
    limit: np.ndarray  # [max sources, W]
    ship: np.ndarray  # [max sources, W]


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
    """What a node may still send out today for ``request`` (docs/model.md, Disruptions)."""
    if avail <= 0.0:
        return 0.0
    if avail < 1.0 and capacity == np.inf:
        return avail * request
    return cap_left


@intrinsic
def _prefetch(typingctx, arr, offset):
    """A hint that the cache line of element ``offset`` of the C-contiguous ``arr`` is
    written soon (LLVM's prefetch: never faults, changes no value)."""
    if not isinstance(arr, types.Array) or not isinstance(offset, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, hint, "llvm.prefetch.p0")
        address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
        # write, keep in every cache level, data
        builder.call(fn, [address, i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, offset), codegen


@njit(inline="always", nogil=True, cache=True)
def _prefetch_row(arr, offset):
    """Prefetch the LANES float64 values from element ``offset`` of ``arr`` on: 256 bytes,
    five cache lines at most however the row is aligned."""
    for k in range(0, LANES, 8):
        _prefetch(arr, offset + k)
    _prefetch(arr, offset + LANES - 1)


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
    node_hi,
    node_hist,
    node_sum,
    node_shortage,
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
    node_out : float64[n_paths, N, N_NODE_METRICS]  (written) per-path node metrics, or
        shape (0, N, N_NODE_METRICS): not kept (node detail "summary" or "none")
    fill_hist : int64[T, FILL_BINS]  (accumulated) daily network fill-rate histogram
    on_hand_hist : int64[T, B]  (accumulated) daily total on-hand histogram over [0, on_hand_max]
    fill_sum, on_hand_sum : int64[T]  (accumulated) fixed-point sums for exact daily means
    node_hi : float64[N, N_NODE_METRICS] top edge of each node metric's histogram (a bound)
    node_hist : int64[N, N_NODE_METRICS, NODE_BINS]  (accumulated) per-node histograms,
        or shape (0, ...): no per-node summary, skipped
    node_sum : int64[N, N_NODE_METRICS]  (accumulated) fixed-point sums of node metrics
    node_shortage : int64[N]  (accumulated) paths with a stockout day at the node

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
    # The steps take the Network and the NamedTuples below whole and bind the fields they
    # use at their top, before any branch. So inlined, they leave no refcount operation
    # inside the day loop: numba's refcount pruning removes every binding's incref/decref
    # pair (checked on the optimized IR). It did not where a step was called two loops
    # deep inside another (per source inside the stock-point loop), hence _take and
    # _deliver loop over the sources themselves; and a tuple passed to a function that is
    # not inlined is refcounted on every call (measured 5x slower on a 2-node network).
    T = net.horizon
    B = on_hand_hist.shape[1]
    watch_day = net.watch_day
    keys = _new_keys(net)
    day = _new_day(net)
    orders = _new_orders(net)
    # Histogram bins are recorded per path and added to the [T, bins] histograms a chunk
    # of paths at a time: updating the histograms every day walks ~1 MB per path and
    # thrashes the L2 cache (measured 1.8x slower); so does adding them every group (a
    # walk over both histograms per group; 128 paths a walk). [T, HIST_CHUNK]: a
    # day's lanes are contiguous, so _record_day's lane loop stores them as vectors;
    # int32, so the two fit in the L2 cache beside the histograms.
    fill_bins = np.zeros((T, HIST_CHUNK), np.int32)
    on_hand_bins = np.zeros((T, HIST_CHUNK), np.int32)
    quality = _new_quality(net)

    for g in range(0, n_paths, LANES):
        n_real = min(LANES, n_paths - g)
        _set_keys(net, seed, path_start + g, keys)
        _reset_quality(net, seed, path_start + g, quality)
        state = _initial_state(net)
        totals = _new_totals(net)
        for t in range(T):
            # 1. every disruption chain, each on its own stream: the state of day t
            _update_regions(net, keys, state, day, t)
            _update_nodes(net, keys, state, day, totals, t)
            _track_node_spells(net, state, day, t)
            _update_chains(state.ls_active, keys.lshock, net.lshock_start, net.lshock_end, t)
            _update_chains(state.su_active, keys.surge, net.surge_start, net.surge_end, t)
            _track_spells(state.ls_active, state.ls_spell, t)
            _track_spells(state.su_active, state.su_spell, t)
            _update_quality_chains(net, quality, t)
            # 2. receive; 3. serve, then measure on hand and backlog; 4. order and ship
            _turn_rings(state)
            _inspect_arrivals(net, state, quality)
            _receive(state, totals)
            _receive_quality(net, day, state, totals, quality)
            _serve_demand(net, keys, state, day, totals, t)
            _measure_stock(net, state, day, totals)
            _measure_service(day, totals, t)
            _trace_shortage(net, state, day, totals, t, t >= watch_day)
            _record_day(net, day, t, g, n_real, fill_bins, on_hand_bins, B, fill_sum, on_hand_sum)
            _produce(net, state, day, orders, totals, t)
            _order_and_ship(net, keys, state, day, orders, totals, quality, t)
            _expedite(net, state, day, orders, totals, quality, t)
        _reduce_group(net, state, totals, g, n_real, path_out, node_out)
        _reduce_quality(quality, g, n_real, path_out)
        _summarise_nodes(totals, n_real, T, node_hi, node_hist, node_sum, node_shortage)
        done = g + n_real
        if done % HIST_CHUNK == 0 or done == n_paths:
            _flush_histograms(
                fill_bins, on_hand_bins, (done - 1) % HIST_CHUNK + 1, fill_hist, on_hand_hist
            )


# ----------------------------------------------------------------------------- set-up


@njit(inline="always", nogil=True, cache=True)
def _new_keys(net):
    """Key arrays of one group (filled per group by _set_keys)."""
    W = LANES
    return Keys(
        np.zeros((3, net.node_kind.shape[0], W), np.uint64),
        np.zeros((net.rshock_region.shape[0], W), np.uint64),
        np.zeros((net.lshock_start.shape[0], W), np.uint64),
        np.zeros((net.surge_start.shape[0], W), np.uint64),
        np.zeros((net.dc_node.shape[0], W), np.uint64),
        np.zeros((_lead_key_rows(net), W), np.uint64),
    )


@njit(inline="always", nogil=True, cache=True)
def _new_day(net):
    """Day scratch rows, allocated once per block (every step rewrites what it uses)."""
    W = LANES
    N = net.node_kind.shape[0]
    return Day(
        np.ones((N, W)),
        np.zeros((N, W)),
        np.ones((net.n_regions, W)),
        np.full((net.capped_lane.shape[0] + 1, W), np.inf),
        np.zeros(W, np.bool_),
        np.zeros(W, np.bool_),
        np.zeros(W, np.bool_),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros((net.dc_node.shape[0], W), np.bool_),
        net.dc_table_ptr[:-1].copy(),  # a day without scripted surges
        np.zeros(W),
        np.zeros(W),
    )


@njit(inline="always", nogil=True, cache=True)
def _new_orders(net):
    """Order scratch rows, allocated once per block; limit and ship get a row per source
    of the stock point with the most sources."""
    W = LANES
    pos_src_ptr = net.pos_src_ptr
    max_sources = 1
    for p in range(pos_src_ptr.shape[0] - 1):
        max_sources = max(max_sources, pos_src_ptr[p + 1] - pos_src_ptr[p])
    return Orders(
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W, np.int64),
        np.zeros((max_sources, W)),
        np.zeros((max_sources, W)),
    )


@njit(inline="always", nogil=True, cache=True)
def _set_keys(net, seed, first_path, keys):
    """Stream keys of paths ``first_path .. first_path + LANES - 1``: a path's streams
    depend on its global index only, so the grouping changes no draw."""
    dc_node = net.dc_node
    node_keys = keys.node
    rs_keys = keys.rshock
    ls_keys = keys.lshock
    su_keys = keys.surge
    dc_keys = keys.demand
    for w in range(LANES):
        pkey = rng.path_key(seed, first_path + w)
        for n in range(node_keys.shape[1]):
            node_keys[0, n, w] = rng.stream_key(pkey, rng.NODE_CHAIN, n)
            node_keys[1, n, w] = rng.stream_key(pkey, rng.NODE_DURATION, n)
            node_keys[2, n, w] = rng.stream_key(pkey, rng.NODE_DURATION_2, n)
        for k in range(rs_keys.shape[0]):
            rs_keys[k, w] = rng.stream_key(pkey, rng.REGION_SHOCK, k)
        for k in range(ls_keys.shape[0]):
            ls_keys[k, w] = rng.stream_key(pkey, rng.LANE_SHOCK, k)
        for k in range(su_keys.shape[0]):
            su_keys[k, w] = rng.stream_key(pkey, rng.DEMAND_SURGE, k)
        for j in range(dc_keys.shape[0]):
            dc_keys[j, w] = rng.stream_key(pkey, rng.DEMAND, dc_node[j])
        _set_lead_keys(keys, pkey, w)


@njit(inline="always", nogil=True, cache=True)
def _initial_state(net):
    """Day -1: all UP, no shock, on hand = S, empty pipelines, no backlog."""
    W = LANES
    N = net.node_kind.shape[0]
    P = net.pos_node.shape[0]
    pos_order_up_to = net.pos_order_up_to
    on_hand = np.empty((P, W))
    for p in range(P):
        on_hand[p, :] = pos_order_up_to[p]
    return State(
        np.ones((N, W), np.bool_),
        np.zeros((N, W), np.int64),
        np.zeros((net.rshock_region.shape[0], W), np.bool_),
        np.zeros((net.lshock_start.shape[0], W), np.bool_),
        np.zeros((net.surge_start.shape[0], W), np.bool_),
        on_hand,
        np.zeros((P, W)),
        np.zeros((P, W)),
        np.zeros((net.pos_pipe_ptr[P], W)),
        _new_rings(net),
        _no_spells(N),
        _no_spells(net.lshock_start.shape[0]),
        _no_spells(net.surge_start.shape[0]),
    )


@njit(inline="always", nogil=True, cache=True)
def _new_rings(net):
    """Each stock point's ring (Network.pos_pipe_ptr) with its row of day -1, the last."""
    pos_pipe_ptr = net.pos_pipe_ptr
    P = pos_pipe_ptr.shape[0] - 1
    ring = np.empty((3, P), np.int64)
    for p in range(P):
        ring[0, p] = pos_pipe_ptr[p + 1] - 1
        ring[1, p] = pos_pipe_ptr[p]
        ring[2, p] = pos_pipe_ptr[p + 1]
    return ring


@njit(inline="always", nogil=True, cache=True)
def _no_spells(n):
    """Spell rows [2, n, W] of entities never active: no start, last active long ago (so
    no window reaches it)."""
    spells = np.empty((2, n, LANES), np.int32)
    spells[0] = -1
    spells[1] = NEVER
    return spells


@njit(inline="always", nogil=True, cache=True)
def _new_totals(net):
    """Zeroed accumulators of a new group (no disruption, shortage or recovery yet)."""
    W = LANES
    return Totals(
        np.zeros((N_NODE_METRICS, net.node_kind.shape[0], W)),
        np.full(W, -1, np.int64),
        np.full(W, -1, np.int64),
        np.full(W, -1, np.int64),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.full(W, -1, np.int64),
        np.full(W, -1, np.int64),
        np.full(W, -1, np.int64),
        np.full(W, -1, np.int64),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
    )


# ----------------------------------------------------------------------------- 1. chains


@njit(inline="always", nogil=True, cache=True)
def _update_regions(net, keys, state, day, t):
    """Regional shocks of day t, and each region's factor: the smallest capacity
    fraction among its active shocks (1 with none)."""
    rshock_region = net.rshock_region
    rshock_fraction = net.rshock_fraction
    rshock_start = net.rshock_start
    rshock_end = net.rshock_end
    rs_keys = keys.rshock
    rs_active = state.rs_active
    region_factor = day.region_factor
    region_factor[:, :] = 1.0
    for k in range(rshock_region.shape[0]):
        r = rshock_region[k]
        fraction = rshock_fraction[k]
        for w in range(LANES):
            active = _chain_step(
                rs_active[k, w], rng.uniform(rs_keys[k, w], t), rshock_start[k], rshock_end[k]
            )
            rs_active[k, w] = active
            if active and fraction < region_factor[r, w]:
                region_factor[r, w] = fraction


@njit(inline="always", nogil=True, cache=True)
def _update_nodes(net, keys, state, day, totals, t):
    """Nodes' own chains on day t, then each node's availability (capped by the day's
    scripted outages, the harshest fraction applying) and outflow limit, and the first
    day any node is impaired."""
    node_fail_p = net.node_fail_p
    node_recover_p = net.node_recover_p
    node_capacity = net.node_capacity
    node_region = net.node_region
    node_duration_kind = net.node_duration_kind
    node_duration_a = net.node_duration_a
    node_duration_b = net.node_duration_b
    event_node_cap = net.event_node_cap
    T = net.horizon
    node_events = event_node_cap.shape[0] > 0
    node_keys = keys.node
    up = state.up
    down_left = state.down_left
    avail = day.avail
    cap_left = day.cap_left
    region_factor = day.region_factor
    impaired = day.impaired
    failed = day.failed
    node_acc = totals.node
    first_disruption = totals.first_disruption
    impaired[:] = False
    for n in range(node_fail_p.shape[0]):
        fail_p = node_fail_p[n]
        recover_p = node_recover_p[n]
        capacity = node_capacity[n]
        region = node_region[n]
        if fail_p > 0.0 and node_duration_kind[n] == 0:
            # geometric outages: a branch-free day of the 2-state chain
            for w in range(LANES):
                u = rng.uniform(node_keys[0, n, w], t)
                up[n, w] = not (u < fail_p) if up[n, w] else u < recover_p
        elif fail_p > 0.0:
            # heavy-tailed outages: count an outage down, or start one; the rare
            # failures draw their duration afterwards, outside the lane loop
            any_failure = False
            for w in range(LANES):
                was_up = up[n, w]
                left_days = down_left[n, w]
                failing = was_up and rng.uniform(node_keys[0, n, w], t) < fail_p
                failed[w] = failing
                any_failure |= failing
                up[n, w] = not failing if was_up else left_days == 0
                down_left[n, w] = left_days - 1 if left_days > 0 else 0
            if any_failure:
                for w in range(LANES):
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
        # a scripted outage caps availability (1: none, and min(a, 1) is a)
        event_cap = event_node_cap[t, n] if node_events else 1.0
        for w in range(LANES):
            a = _min(region_factor[region, w] if up[n, w] else 0.0, event_cap)
            avail[n, w] = a
            hit = a < 1.0
            impaired[w] |= hit
            node_acc[N_IMPAIRED, n, w] += 1.0 if hit else 0.0
            # a x inf = inf: unlimited capacity stays unlimited while UP
            cap_left[n, w] = a * capacity if a > 0.0 else 0.0
    for w in range(LANES):
        if impaired[w] and first_disruption[w] < 0:
            first_disruption[w] = t


@njit(inline="always", nogil=True, cache=True)
def _track_node_spells(net, state, day, t):
    """Each node's impairment spell (avail < 1) after day t's availability. A loop of its
    own: in _update_nodes' lane loop these two more arrays cost 20% of the kernel (too
    many for LLVM's run-time alias checks, so that loop stopped being vectorized). Nodes
    that can never be impaired are skipped."""
    node_can_impair = net.node_can_impair
    avail = day.avail
    node_spell = state.node_spell
    today = np.int32(t)
    yesterday = np.int32(t - 1)
    for n in range(avail.shape[0]):
        if not node_can_impair[n]:
            continue
        for w in range(LANES):
            node_spell[0, n, w], node_spell[1, n, w] = _spell_step(
                avail[n, w] < 1.0, node_spell[0, n, w], node_spell[1, n, w], today, yesterday
            )


@njit(inline="always", nogil=True, cache=True)
def _spell_step(on, start, last, today, yesterday):
    """One day of a spell (start, last day active) of an entity ``on`` today: a select of
    values loaded beforehand, so a lane loop of it stays branch-free (a load in one arm
    of a conditional cannot be speculated, and keeps LLVM from vectorizing)."""
    begins = on & (last != yesterday)
    return (today if begins else start), (today if on else last)


@njit(inline="always", nogil=True, cache=True)
def _track_spells(active, spell, t):
    """Spells [2, K, W] of independent chains ``active`` [K, W] after day t's step."""
    today = np.int32(t)
    yesterday = np.int32(t - 1)
    for k in range(active.shape[0]):
        for w in range(LANES):
            spell[0, k, w], spell[1, k, w] = _spell_step(
                active[k, w], spell[0, k, w], spell[1, k, w], today, yesterday
            )


@njit(inline="always", nogil=True, cache=True)
def _update_chains(active, keys, start_p, end_p, t):
    """Day t of independent 2-state chains (lane shocks, demand surges): active, keys
    [K, W], start_p, end_p [K]."""
    for k in range(active.shape[0]):
        for w in range(LANES):
            active[k, w] = _chain_step(
                active[k, w], rng.uniform(keys[k, w], t), start_p[k], end_p[k]
            )


# ----------------------------------------------------------------------------- 2. receive


@njit(inline="always", nogil=True, cache=True)
def _receive(state, totals):
    """Put today's pipeline rows on hand (adding an empty row changes nothing)."""
    ring = state.ring
    pipe = state.pipe
    on_hand = state.on_hand
    in_transit = state.in_transit
    received_total = totals.received
    for p in range(on_hand.shape[0]):
        row = ring[0, p]
        for w in range(LANES):
            arriving = pipe[row, w]
            on_hand[p, w] += arriving
            in_transit[p, w] -= arriving
            received_total[w] += arriving
            pipe[row, w] = 0.0


@njit(inline="always", nogil=True, cache=True)
def _turn_rings(state):
    """Step 2 first: move each stock point's ring on to today's row. A counter, not
    day % length: no division in the day loop."""
    ring = state.ring
    for p in range(ring.shape[1]):
        row = ring[0, p] + 1
        ring[0, p] = ring[1, p] if row == ring[2, p] else row


@njit(inline="always", nogil=True, cache=True)
def _ring_ahead(today, first, end, lead):
    """The row of a ring [first, end) whose row of today is ``today`` that receives a
    shipment ``lead`` days from now (a ring is longer than any lead time to its stock
    point, so no two days in flight share a row)."""
    row = today + lead
    return row - (end - first) if row >= end else row


# ----------------------------------------------------------------------------- 3. serve


@njit(inline="always", nogil=True, cache=True)
def _serve_demand(net, keys, state, day, totals, t):
    """Day t's demand at each DC, in node order: draw it, then serve it. On a network
    with scripted surges each dc first gets the day's tables (event_dc_table)."""
    event_dc_table = net.event_dc_table
    dc_table = day.dc_table
    if event_dc_table.shape[0] > 0:
        # here rather than in _draw_demand: a conditional load inlined two loops deep
        # made numba's refcount pruning give up on the whole day loop (1.4x slower)
        for j in range(dc_table.shape[0]):
            dc_table[j] = event_dc_table[t, j]
    day.demand[:] = 0.0
    day.filled[:] = 0.0
    day.stockout[:] = False
    for j in range(net.dc_node.shape[0]):
        _draw_demand(net, keys, state, day, j, t)
        _serve_dc(net, state, day, totals, j)


@njit(inline="always", nogil=True, cache=True)
def _draw_demand(net, keys, state, day, j, t):
    """DC j's demand of day t into day.dc_demand [W]: Poisson(mean x m) or mean x m, m
    the multiplier of the combination (bitmask) of active surges covering it, times the
    multipliers of the day's scripted surges on it (their own tables: day.dc_table)."""
    dc_poisson = net.dc_poisson[j]
    mean = net.dc_mean[j]
    surge_ptr = net.dc_surge_ptr[j]
    n_surges = net.dc_surge_ptr[j + 1] - surge_ptr
    table_0 = day.dc_table[j]
    dc_surge_idx = net.dc_surge_idx
    table_mult = net.table_mult
    table_cdf_ptr = net.table_cdf_ptr
    table_cdf = net.table_cdf
    table_guide = net.table_guide
    table_lo = net.table_lo  # issue-14: a table may start above demand 0
    dc_keys = keys.demand
    su_active = state.su_active
    dc_demand = day.dc_demand
    # One scalar lane loop, though the draw is ~30% of a 2-node kernel: split into a
    # SIMD loop (uniform, guess, first step into scratch rows) and a scalar one for the
    # rare further steps, under an `if dc_poisson` outside the lane loops, it put
    # NRT_incref/decref calls back into the day loop (3x slower), with the branch's
    # arrays bound at the top or inside the branch alike.
    for w in range(LANES):
        mask = 0
        for b in range(n_surges):
            if su_active[dc_surge_idx[surge_ptr + b], w]:
                mask |= 1 << b
        table = table_0 + mask
        if dc_poisson:
            # inverse CDF with a guide table: rarely a comparison beyond the first
            u = rng.uniform(dc_keys[j, w], t)
            start = table_cdf_ptr[table]
            size = (table_cdf_ptr[table + 1] - start) * GUIDE_RESOLUTION
            k = table_guide[start * GUIDE_RESOLUTION + min(int(u * size), size - 1)]
            # the one step the guess is short by in about 1 draw in 8, as a select: as a
            # branch it was mispredicted that often; a second step is rarer still
            k += 1 if table_cdf[start + k] <= u else 0
            while table_cdf[start + k] <= u:
                k += 1
            dc_demand[w] = float(k + table_lo[table])
        else:
            dc_demand[w] = mean * table_mult[table]


@njit(inline="always", nogil=True, cache=True)
def _serve_dc(net, state, day, totals, j):
    """Serve DC j from on hand within its outflow limit, backlog first; what is not
    filled today is lost or backlogged. A DOWN DC serves nothing (limit 0)."""
    n = net.dc_node[j]
    p = net.dc_pos[j]
    capacity = net.node_capacity[n]
    lost_margin = net.dc_lost_margin[j]
    backorder = net.backorder
    on_hand = state.on_hand
    backlog = state.backlog
    avail = day.avail
    cap_left = day.cap_left
    dc_demand = day.dc_demand
    day_demand = day.demand
    day_filled = day.filled
    stockout = day.stockout
    dc_short = day.dc_short
    served_row = day.served
    filled_row = day.dc_filled
    node_acc = totals.node
    consumed_total = totals.consumed
    lost_total = totals.lost
    lost_cost = totals.lost_cost
    # Branch-free lane loops of few arrays each, so LLVM vectorizes every one (one loop
    # of all sixteen needed too many run-time alias checks and ran scalar); a value a
    # loop needs from an earlier one is recomputed by the same operations or passed in
    # a scratch row (day.served, day.dc_filled). Adding 0.0 to a count >= +0 changes no
    # bit.
    for w in range(LANES):
        d = dc_demand[w]
        request = d + backlog[p, w] if backorder else d
        served_row[w] = _min(
            _min(request, on_hand[p, w]),
            _outflow_limit(cap_left[n, w], avail[n, w], capacity, request),
        )
    for w in range(LANES):
        served = served_row[w]
        on_hand[p, w] -= served
        cap_left[n, w] -= served
        consumed_total[w] += served
    for w in range(LANES):
        d = dc_demand[w]
        served = served_row[w]
        queued = backlog[p, w]
        from_backlog = _min(queued, served)
        # min/max guard float round-off: a day never fills more than its
        # demand and a backlog never goes negative (tests/test_reference.py)
        filled_row[w] = _min(d, served - from_backlog)
        request = d + queued
        backlog[p, w] = _max(0.0, request - served) if backorder else queued
    if not backorder:
        for w in range(LANES):
            unmet = dc_demand[w] - filled_row[w]
            lost_total[w] += unmet
            node_acc[N_LOST, n, w] += unmet
            lost_cost[w] += unmet * lost_margin
    for w in range(LANES):
        d = dc_demand[w]
        filled = filled_row[w]
        node_acc[N_DEMAND, n, w] += d
        node_acc[N_FILLED, n, w] += filled
        node_acc[N_STOCKOUT, n, w] += 1.0 if d - filled > UNIT_EPS else 0.0
    for w in range(LANES):
        short = dc_demand[w] - filled_row[w] > UNIT_EPS
        dc_short[j, w] = short
        stockout[w] |= short
    for w in range(LANES):
        day_demand[w] += dc_demand[w]
        day_filled[w] += filled_row[w]


# ----------------------------------------------------------------------------- measure


@njit(inline="always", nogil=True, cache=True)
def _measure_stock(net, state, day, totals):
    """On hand and backlog after serving: holding and backlog costs, network totals."""
    pos_node = net.pos_node
    pos_holding_cost = net.pos_holding_cost
    dc_pos = net.dc_pos
    dc_backlog_penalty = net.dc_backlog_penalty
    on_hand = state.on_hand
    backlog = state.backlog
    total_on_hand = day.on_hand
    total_backlog = day.backlog
    holding = totals.holding
    backlog_cost = totals.backlog_cost
    node_acc = totals.node
    total_on_hand[:] = 0.0
    for p in range(pos_node.shape[0]):
        n = pos_node[p]
        holding_cost = pos_holding_cost[p]
        for w in range(LANES):
            x = on_hand[p, w]
            total_on_hand[w] += x
            holding[w] += x * holding_cost
            node_acc[N_ON_HAND, n, w] += x
    total_backlog[:] = 0.0
    for j in range(dc_pos.shape[0]):
        p = dc_pos[j]
        penalty = dc_backlog_penalty[j]
        for w in range(LANES):
            x = backlog[p, w]
            total_backlog[w] += x
            backlog_cost[w] += x * penalty


@njit(inline="always", nogil=True, cache=True)
def _measure_service(day, totals, t):
    """Add day t to the path totals; the first shortage on or after the first
    disruption, and the first day after it with no unmet demand (both deprecated: see
    _trace_shortage)."""
    total_on_hand = day.on_hand
    total_backlog = day.backlog
    day_demand = day.demand
    day_filled = day.filled
    stockout = day.stockout
    sum_on_hand = totals.sum_on_hand
    sum_backlog = totals.sum_backlog
    demand_total = totals.demand
    filled_total = totals.filled
    stockout_days = totals.stockout_days
    first_disruption = totals.first_disruption
    first_shortage = totals.first_shortage
    recovered = totals.recovered
    # Short branch-free lane loops of few arrays each, so LLVM vectorizes every one
    # (one loop of all eleven needed too many run-time alias checks and ran scalar).
    # Adding 0.0 to a count >= +0 changes no bit.
    for w in range(LANES):
        sum_on_hand[w] += total_on_hand[w]
        sum_backlog[w] += total_backlog[w]
    for w in range(LANES):
        demand_total[w] += day_demand[w]
        filled_total[w] += day_filled[w]
    for w in range(LANES):
        stockout_days[w] += 1.0 if stockout[w] else 0.0
    for w in range(LANES):
        short = stockout[w]
        shortage = first_shortage[w]
        back = recovered[w]
        first_shortage[w] = t if short & (first_disruption[w] >= 0) & (shortage < 0) else shortage
        recovered[w] = t if (not short) & (shortage >= 0) & (back < 0) else back


@njit(inline="always", nogil=True, cache=True)
def _trace_shortage(net, state, day, totals, t, watching):
    """The first day with unmet demand from the watch day on (``watching``: t >=
    watch_day); the end of the traced shortage (the first day after it without unmet
    demand); and the first shortage traced to a disruption (docs/model.md, "Time to
    survive and shortage duration"): on a day with unmet demand at a dc j, before any
    traced one, the latest start among the disruptions upstream of j (a node impaired,
    a lane shock on an active lane, a surge on j, a scripted lane or demand event) still
    active on day t or ended at most j's pipeline time dc_window[j] days before. No such
    disruption: not traced (demand noise), and a later shortage may be. The tracing
    loops run only on days some path of the group has an untraced shortage."""
    dc_up_ptr = net.dc_up_ptr
    dc_up_node = net.dc_up_node
    dc_up_lshock_ptr = net.dc_up_lshock_ptr
    dc_up_lshock = net.dc_up_lshock
    dc_surge_ptr = net.dc_surge_ptr
    dc_surge_idx = net.dc_surge_idx
    dc_window = net.dc_window
    event_dc_onset = net.event_dc_onset
    node_spell = state.node_spell
    ls_spell = state.ls_spell
    su_spell = state.su_spell
    stockout = day.stockout
    dc_short = day.dc_short
    shortage_day = totals.shortage_day
    shortage_onset = totals.shortage_onset
    shortage_end = totals.shortage_end
    first_unmet = totals.first_unmet
    dc_events = event_dc_onset.shape[0] > 0
    pending = False
    for w in range(LANES):
        # every value loaded first and combined with & (not `and`): branch-free
        short = stockout[w]
        unmet_day = first_unmet[w]
        end = shortage_end[w]
        traced = shortage_day[w] >= 0
        first_unmet[w] = t if watching & short & (unmet_day < 0) else unmet_day
        shortage_end[w] = t if traced & (end < 0) & (not short) else end
        pending |= short & (not traced)
    if not pending:
        return
    for w in range(LANES):
        if not (stockout[w] and shortage_day[w] < 0):
            continue
        best = -1
        for j in range(dc_window.shape[0]):
            if not dc_short[j, w]:
                continue
            since = t - dc_window[j]
            for i in range(dc_up_ptr[j], dc_up_ptr[j + 1]):
                n = dc_up_node[i]
                if node_spell[1, n, w] >= since and node_spell[0, n, w] > best:
                    best = node_spell[0, n, w]
            for i in range(dc_up_lshock_ptr[j], dc_up_lshock_ptr[j + 1]):
                k = dc_up_lshock[i]
                if ls_spell[1, k, w] >= since and ls_spell[0, k, w] > best:
                    best = ls_spell[0, k, w]
            for i in range(dc_surge_ptr[j], dc_surge_ptr[j + 1]):
                m = dc_surge_idx[i]
                if su_spell[1, m, w] >= since and su_spell[0, m, w] > best:
                    best = su_spell[0, m, w]
            if dc_events and event_dc_onset[t, j] > best:
                best = event_dc_onset[t, j]
        if best >= 0:
            shortage_day[w] = t
            shortage_onset[w] = best


@njit(inline="always", nogil=True, cache=True)
def _record_day(net, day, t, g, n_real, fill_bins, on_hand_bins, B, fill_sum, on_hand_sum):
    """Day t of the real paths of group ``g`` (block-relative index of its first path)
    into the histogram bins [T, HIST_CHUNK] (B on-hand bins) and the fixed-point daily
    sums [T]. One lane loop with the day's sums in local integers (int64 sums are the
    same in any order). LLVM does not vectorize it (its remarks: an early exit with
    reductions, and calls at the int() conversions), but removing the whole step saved
    nothing measurable on the 2-node problem (issue 16), so it stays one plain loop."""
    on_hand_max = net.on_hand_max
    day_demand = day.demand
    day_filled = day.filled
    total_on_hand = day.on_hand
    fill_row = fill_bins[t]
    on_hand_row = on_hand_bins[t]
    row0 = g % HIST_CHUNK
    fill_total = np.int64(0)
    on_hand_total = np.int64(0)
    for w in range(n_real):
        demand = day_demand[w]
        fill = day_filled[w] / demand if demand > 0.0 else 1.0
        # Bin indices are guarded: int() of NaN or inf is undefined, and an index out of
        # [0, bins) would write outside the histogram. NaN (inf/inf from absurd demand)
        # goes to bin 0; every finite value gets the bin it always got
        # (tests/test_reference.py::test_kernel_guards_histogram_bins). The selects pick
        # a guarded value, so an undefined int() in an arm not picked is never used.
        fill_bin = int(fill * (FILL_BINS - 1)) if fill > 0.0 else 0
        fill_row[row0 + w] = FILL_BINS - 1 if fill >= 1.0 else fill_bin
        fill_total += np.int64(round(fill * FILL_FIXED_POINT))
        stock = total_on_hand[w]
        x = stock / on_hand_max * B
        stock_bin = int(x) if x > 0.0 else 0
        on_hand_row[row0 + w] = B - 1 if x >= B else stock_bin
        on_hand_total += np.int64(round(stock * ON_HAND_FIXED_POINT))
    fill_sum[t] += fill_total
    on_hand_sum[t] += on_hand_total


# ----------------------------------------------------------------------------- 4a. produce
# issue-14 push production (docs/model.md, "Push production")


@njit(inline="always", nogil=True, cache=True)
def _produce(net, state, day, orders, totals, t):
    """Day t's production at each push plant (in node order), before any order: the
    plan, cut to what the plant's availability and capacity allow, to the room left under
    its storage cap, and to what its scarcest component allows (a partial batch; the rest
    of the day's plan is not made up later). Components are drawn BOM x made; the units
    go into the plant's finished-goods stock point. Capacity spent here is not taken from
    the day's outflow limit: making and dispatching are limited separately. Without push
    plants the loop does not run."""
    push_node = net.push_node
    push_fg_pos = net.push_fg_pos
    push_storage_cap = net.push_storage_cap
    push_plan = net.push_plan
    node_capacity = net.node_capacity
    node_pos_ptr = net.node_pos_ptr
    pos_bom_qty = net.pos_bom_qty
    on_hand = state.on_hand
    avail = day.avail
    cap_left = day.cap_left
    make = orders.material
    consumed_total = totals.consumed
    produced_total = totals.produced
    for i in range(push_node.shape[0]):
        n = push_node[i]
        q = push_fg_pos[i]
        storage_cap = push_storage_cap[i]
        planned = push_plan[t, i]
        capacity = node_capacity[n]
        for w in range(LANES):
            room = _max(0.0, storage_cap - on_hand[q, w])
            limit = _outflow_limit(cap_left[n, w], avail[n, w], capacity, planned)
            make[w] = _min(_min(planned, limit), room)
        for c in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
            qty = pos_bom_qty[c]
            for w in range(LANES):
                make[w] = _min(make[w], on_hand[c, w] / qty)
        for c in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
            qty = pos_bom_qty[c]
            for w in range(LANES):
                used = make[w] * qty
                # make = on_hand / qty can use a hair more than on hand
                on_hand[c, w] = _max(0.0, on_hand[c, w] - used)
                consumed_total[w] += used
        for w in range(LANES):
            on_hand[q, w] += make[w]
            produced_total[w] += make[w]


# ----------------------------------------------------------------------------- 4. order


@njit(inline="always", nogil=True, cache=True)
def _order_and_ship(net, keys, state, day, orders, totals, quality, t):
    """Replenish every stock point on day t, nodes in processing order (each before the
    nodes that supply it) and a node's stock points in BOM order. A lane a scripted event
    closes today has no capacity."""
    processing_order = net.processing_order
    node_pos_ptr = net.node_pos_ptr
    pos_order_up_to = net.pos_order_up_to
    lane_capacity = net.lane_capacity
    capped_lane = net.capped_lane
    event_lane_closed = net.event_lane_closed
    lane_events = event_lane_closed.shape[0] > 0
    policies = net.pol_kind.shape[0] > 0
    on_hand = state.on_hand
    in_transit = state.in_transit
    backlog = state.backlog
    lane_left = day.lane_left
    order = orders.order
    for r in range(capped_lane.shape[0]):
        a = capped_lane[r]
        capacity = 0.0 if lane_events and event_lane_closed[t, a] else lane_capacity[a]
        for w in range(LANES):
            lane_left[r, w] = capacity
    n_nodes = processing_order.shape[0]
    for idx in range(n_nodes):
        n = processing_order[idx]
        if idx + 1 < n_nodes:
            _prefetch_stock_points(net, state, processing_order[idx + 1])
        for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
            S = pos_order_up_to[p]
            orders_any = False
            for w in range(LANES):
                order[w] = S - (on_hand[p, w] + in_transit[p, w] - backlog[p, w])
                orders_any |= order[w] > 0.0
            if policies:
                orders_any = _policy_order(net, p, state, orders, t)
            if orders_any:
                _source_limits(net, p, state, day, orders)
                _allocate(net, p, orders)
                _take(net, p, state, day, orders, totals)
                _deliver(net, keys, p, state, orders, totals, t)
                _ship_defects(net, keys, p, state, orders, totals, quality, t)
                if policies:
                    _count_order(net, p, orders, totals)


@njit(inline="always", nogil=True, cache=True)
def _prefetch_stock_points(net, state, n):
    """Prefetch the rows that replenishing node n's stock points writes: their on hand,
    in transit and backlog, and the pipeline row of their first source's lead time. In a
    large network these rows are scattered over megabytes and the stock points are visited
    in processing order, not in memory order: without the hint, writing a shipment into
    the pipeline waited on memory (a fifth of a 1,024-node kernel). A hint only: it
    changes no value."""
    node_pos_ptr = net.node_pos_ptr
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    lane_lead_time = net.lane_lead_time
    on_hand = state.on_hand
    in_transit = state.in_transit
    backlog = state.backlog
    ring = state.ring
    pipe = state.pipe
    for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
        _prefetch_row(on_hand, p * LANES)
        _prefetch_row(in_transit, p * LANES)
        _prefetch_row(backlog, p * LANES)
        if pos_src_ptr[p + 1] > pos_src_ptr[p]:
            lead = lane_lead_time[src_lane[pos_src_ptr[p]]]
            _prefetch_row(pipe, _ring_ahead(ring[0, p], ring[1, p], ring[2, p], lead) * LANES)


@njit(inline="always", nogil=True, cache=True)
def _source_limits(net, p, state, day, orders):
    """What each source of stock point p can ship today, min(outflow limit left, lane
    capacity left, material), into orders.limit [s, W] (0 for a DOWN source), and the
    summed share of its UP sources. Its sources are distinct nodes, so one shipment
    never changes another's limit: all limits are fixed before any ships."""
    pos_src_ptr = net.pos_src_ptr
    pos_mode = net.pos_mode
    src_lane = net.src_lane
    src_share = net.src_share
    lane_src_node = net.lane_src_node
    node_capacity = net.node_capacity
    node_kind = net.node_material_kind
    node_out_pos = net.node_out_pos
    node_pos_ptr = net.node_pos_ptr
    pos_bom_qty = net.pos_bom_qty
    on_hand = state.on_hand
    avail = day.avail
    cap_left = day.cap_left
    lane_left = day.lane_left
    lane_cap_row = net.lane_cap_row
    order = orders.order
    up_share = orders.up_share
    material = orders.material
    limit = orders.limit
    s0 = pos_src_ptr[p]
    failover = pos_mode[p] == 1
    up_share[:] = 0.0
    for s in range(pos_src_ptr[p + 1] - s0):
        lane = src_lane[s0 + s]
        src = lane_src_node[lane]
        row = lane_cap_row[lane]
        share = src_share[s0 + s]
        capacity = node_capacity[src]
        kind = node_kind[src]
        if kind == 0:
            material[:] = np.inf
        elif kind == 2:
            q = node_out_pos[src]
            for w in range(LANES):
                material[w] = on_hand[q, w]
        else:
            material[:] = np.inf
            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                qty = pos_bom_qty[c]
                for w in range(LANES):
                    material[w] = _min(material[w], on_hand[c, w] / qty)
        for w in range(LANES):
            a = avail[src, w]
            most_asked = order[w] if failover else share * order[w]
            lim = _min(
                _min(_outflow_limit(cap_left[src, w], a, capacity, most_asked), lane_left[row, w]),
                material[w],
            )
            limit[s, w] = lim if a > 0.0 else 0.0
            up_share[w] += share if a > 0.0 else 0.0


@njit(inline="always", nogil=True, cache=True)
def _allocate(net, p, orders):
    """Split stock point p's order over its sources into orders.ship [s, W]. split: each
    UP source is asked its share; failover: shares renormalised over UP sources, then the
    shortfall re-asked in sourcing order. A lane that does not order (or has no UP
    source) ships 0 everywhere."""
    pos_src_ptr = net.pos_src_ptr
    src_share = net.src_share
    order = orders.order
    up_share = orders.up_share
    left = orders.left
    limit = orders.limit
    ship = orders.ship
    s0 = pos_src_ptr[p]
    ns = pos_src_ptr[p + 1] - s0
    failover = net.pos_mode[p] == 1
    for w in range(LANES):
        left[w] = order[w]
    for s in range(ns):
        share = src_share[s0 + s]
        for w in range(LANES):
            lim = limit[s, w]
            asked = (share / up_share[w] if failover else share) * order[w]
            x = _min(asked, lim) if lim > 0.0 and order[w] > 0.0 else 0.0
            ship[s, w] = x
            left[w] -= x
    if failover:
        for s in range(ns):
            for w in range(LANES):
                extra = _min(left[w], limit[s, w] - ship[s, w])
                if left[w] > 0.0 and extra > 0.0:
                    ship[s, w] += extra
                    left[w] -= extra


@njit(inline="always", nogil=True, cache=True)
def _take(net, p, state, day, orders, totals):
    """Take the shipments orders.ship [s, W] to stock point p from each source's outflow
    and lane capacity left and from its material (a plant's components, BOM x shipped;
    a DC's on hand), and cost them."""
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    lane_src_node = net.lane_src_node
    lane_unit_cost = net.lane_unit_cost
    node_kind = net.node_material_kind
    node_out_pos = net.node_out_pos
    node_pos_ptr = net.node_pos_ptr
    pos_bom_qty = net.pos_bom_qty
    on_hand = state.on_hand
    cap_left = day.cap_left
    lane_left = day.lane_left
    lane_cap_row = net.lane_cap_row
    ship = orders.ship
    purchase = totals.purchase
    shipped_total = totals.shipped
    consumed_total = totals.consumed
    s0 = pos_src_ptr[p]
    for s in range(pos_src_ptr[p + 1] - s0):
        lane = src_lane[s0 + s]
        src = lane_src_node[lane]
        row = lane_cap_row[lane]
        unit_cost = lane_unit_cost[lane]
        for w in range(LANES):
            x = ship[s, w]
            cap_left[src, w] -= x
            lane_left[row, w] -= x
            purchase[w] += x * unit_cost
            shipped_total[w] += x
        kind = node_kind[src]
        if kind == 1:
            for c in range(node_pos_ptr[src], node_pos_ptr[src + 1]):
                qty = pos_bom_qty[c]
                for w in range(LANES):
                    used = ship[s, w] * qty
                    # x = on_hand / qty can consume a hair more than on hand
                    on_hand[c, w] = _max(0.0, on_hand[c, w] - used)
                    consumed_total[w] += used
        elif kind == 2:
            q = node_out_pos[src]
            for w in range(LANES):
                on_hand[q, w] -= ship[s, w]
                consumed_total[w] += ship[s, w]


@njit(inline="always", nogil=True, cache=True)
def _deliver(net, keys, p, state, orders, totals, t):
    """Put the shipments orders.ship [s, W] to stock point p in the pipeline, at the
    lane's lead time plus the extra days of its active lane shocks and of today's
    scripted lane events, fixed on the ship day; lead 0 goes on hand at once (every node
    drawing on p was processed earlier today). After _take: p is no source's material (a
    node never supplies itself), so taking every source first changes no bits."""
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    lane_lead_time = net.lane_lead_time
    lane_shock_ptr = net.lane_shock_ptr
    lane_shock_idx = net.lane_shock_idx
    lshock_extra = net.lshock_extra
    event_lane_extra = net.event_lane_extra
    lane_events = event_lane_extra.shape[0] > 0
    lane_lt_ptr = net.lane_lt_ptr  # issue-14 stochastic lead times
    lane_lt_cdf = net.lane_lt_cdf
    lane_lt_delta = net.lane_lt_delta
    lead_keys = keys.lead
    ring = state.ring
    ls_active = state.ls_active
    on_hand = state.on_hand
    in_transit = state.in_transit
    pipe = state.pipe
    lead = orders.lead
    ship = orders.ship
    received_total = totals.received
    today = ring[0, p]
    first = ring[1, p]
    end = ring[2, p]
    s0 = pos_src_ptr[p]
    for s in range(pos_src_ptr[p + 1] - s0):
        lane = src_lane[s0 + s]
        base_lead = lane_lead_time[lane] + (event_lane_extra[t, lane] if lane_events else 0)
        for w in range(LANES):
            lead[w] = base_lead
        _draw_lead_times(lane_lt_ptr, lane_lt_cdf, lane_lt_delta, lead_keys, lane, lead, t)
        for f in range(lane_shock_ptr[lane], lane_shock_ptr[lane + 1]):
            k = lane_shock_idx[f]
            for w in range(LANES):
                if ls_active[k, w]:
                    lead[w] += lshock_extra[k]
        # one lead time for the whole group (the usual case) keeps the lane loops
        # branch-free
        same_lead = True
        for w in range(LANES):
            same_lead &= lead[w] == lead[0]
        if same_lead and lead[0] == 0:
            for w in range(LANES):
                on_hand[p, w] += ship[s, w]
                received_total[w] += ship[s, w]
        elif same_lead:
            arrival = _ring_ahead(today, first, end, lead[0])
            for w in range(LANES):
                pipe[arrival, w] += ship[s, w]
                in_transit[p, w] += ship[s, w]
        else:  # a lane shock hits some paths of the group only
            for w in range(LANES):
                x = ship[s, w]
                if lead[w] == 0:
                    on_hand[p, w] += x
                    received_total[w] += x
                else:
                    pipe[_ring_ahead(today, first, end, lead[w]), w] += x
                    in_transit[p, w] += x


# ----------------------------------------------------------------------------- issue-14 lead times
# Stochastic lead times (docs/model.md, "Stochastic lead times"): a lane with a
# distribution draws its lead time per shipment from its own stream (rng.LEAD_TIME,
# entity = lane). A network without one has no key rows and lane_lt_ptr all zero, so
# _draw_lead_times only reads two pointers per shipment.


@njit(inline="always", nogil=True, cache=True)
def _lead_key_rows(net):
    """Rows of the lead-time keys: one per lane when some lane's lead time is drawn."""
    return net.lane_src_node.shape[0] if net.lane_lt_cdf.shape[0] > 0 else 0


@njit(inline="always", nogil=True, cache=True)
def _set_lead_keys(keys, pkey, w):
    """Lane a's lead-time stream of path lane w (no rows: nothing to do)."""
    lead_keys = keys.lead
    for a in range(lead_keys.shape[0]):
        lead_keys[a, w] = rng.stream_key(pkey, rng.LEAD_TIME, a)


@njit(inline="always", nogil=True, cache=True)
def _draw_lead_times(lane_lt_ptr, lane_lt_cdf, lane_lt_delta, lead_keys, lane, lead, t):
    """Add to lead [W] the drawn part of ``lane``'s lead time on day t: lane_lead_time is
    the longest value, so lead + delta is the value drawn, by inverting the lane's CDF
    with day t's uniform of its stream. Takes the arrays, bound by the caller before
    any branch: a field loaded inside the branch, inlined this deep, kept numba's
    refcount pruning off the day loop (measured 3x slower)."""
    lo = lane_lt_ptr[lane]
    hi = lane_lt_ptr[lane + 1]
    if hi > lo:
        for w in range(LANES):
            u = rng.uniform(lead_keys[lane, w], t)
            k = lo
            while lane_lt_cdf[k] <= u:
                k += 1
            lead[w] += lane_lt_delta[k]


# ----------------------------------------------------------------------------- 4. policies
# issue-14 policy (docs/model.md, "Ordering policies"): run only on networks with a
# policy, an order quantity rule or an order cost (Network.pol_* not empty).


@njit(inline="always", nogil=True, cache=True)
def _policy_order(net, p, state, orders, t):
    """Stock point p's order of day t under its policy into orders.order [W] (which
    holds the base-stock order S - IP), then its minimum order quantity and lot
    multiple. Returns whether some path orders."""
    kind = net.pol_kind[p]
    low = net.pol_low[p]
    high = net.pol_high[p]
    review = net.pol_review[p]
    moq = net.pol_moq[p]
    lot = net.pol_lot[p]
    reviewing = (t + review - net.pol_offset[p]) % review == 0
    on_hand = state.on_hand
    in_transit = state.in_transit
    backlog = state.backlog
    order = orders.order
    if kind == 1:  # (s, S): up to S when IP <= s
        for w in range(LANES):
            ip = on_hand[p, w] + in_transit[p, w] - backlog[p, w]
            order[w] = high - ip if ip <= low else 0.0
    elif kind == 2:  # (r, Q): the fewest Q that lift IP above r
        for w in range(LANES):
            ip = on_hand[p, w] + in_transit[p, w] - backlog[p, w]
            lots = float(math.floor((low - ip) / high)) + 1.0
            order[w] = lots * high if ip <= low else 0.0
    elif kind == 3 and not reviewing:  # (R, S): up to S on review days only
        order[:] = 0.0
    orders_any = False
    for w in range(LANES):
        x = order[w]
        x = _max(x, moq) if x > 0.0 else x
        if lot > 0.0 and x > 0.0:
            x = lot * _max(1.0, float(math.ceil(x / lot - LOT_EPS)))
        order[w] = x
        orders_any |= x > 0.0
    return orders_any


@njit(inline="always", nogil=True, cache=True)
def _count_order(net, p, orders, totals):
    """An order of stock point p is placed when something ships on it today (more than
    round-off): count it and charge its fixed cost."""
    cost = net.pol_order_cost[p]
    s0 = net.pos_src_ptr[p]
    ns = net.pos_src_ptr[p + 1] - s0
    ship = orders.ship
    orders_placed = totals.orders_placed
    order_cost = totals.order_cost
    for w in range(LANES):
        shipped = 0.0
        for s in range(ns):
            shipped += ship[s, w]
        placed = shipped > UNIT_EPS
        orders_placed[w] += 1.0 if placed else 0.0
        order_cost[w] += cost if placed else 0.0


# ----------------------------------------------------------------------------- issue-14 quality
#
# Expediting, defects and jidoka (docs/model.md, "Expediting" and "Quality and jidoka").
# Every array of these features has a 0-length first dimension when the strategy does not
# use it, so each step below reads a shape once and returns: a network without them runs
# the loops it ran before they existed.


class Quality(NamedTuple):
    """Keys, state and totals of expediting, defects and jidoka of one group."""

    defect_key: np.ndarray  # uint64 [A', W] Binomial draws of each lane (A' = 0: none)
    incident_key: np.ndarray  # uint64 [E, W] quality-incident chain of each defect entry
    jidoka_key: np.ndarray  # uint64 [N', W] line-stop recovery chain (N' = 0: no jidoka)
    incident: np.ndarray  # bool [E, W] incident active today
    line_stop: np.ndarray  # bool [N', W] the plant's line is stopped today
    jid_in: np.ndarray  # [N', W] units received at the plant since its last check
    jid_bad: np.ndarray  # [N', W] defective units among them
    bad_pipe: np.ndarray  # [H', W] defective units among each pipeline row's arrivals
    scrap_pipe: np.ndarray  # [H', W] their scrap cost (H' = 0 without defects)
    expedited: np.ndarray  # [W] (the [W] rows: sums over days)
    expedite_cost: np.ndarray
    defective: np.ndarray
    scrap_cost: np.ndarray
    line_stop_days: np.ndarray


@njit(inline="always", nogil=True, cache=True)
def _new_quality(net):
    """Zeroed quality keys, state and totals of a group (0-length rows without the features)."""
    W = LANES
    A = net.lane_defect.shape[0]
    E = net.defect_fraction.shape[0]
    NJ = net.node_jidoka_threshold.shape[0]
    H = net.pos_pipe_ptr[-1] if A > 0 else 0
    return Quality(
        np.zeros((A, W), np.uint64),
        np.zeros((E, W), np.uint64),
        np.zeros((NJ, W), np.uint64),
        np.zeros((E, W), np.bool_),
        np.zeros((NJ, W), np.bool_),
        np.zeros((NJ, W)),
        np.zeros((NJ, W)),
        np.zeros((H, W)),
        np.zeros((H, W)),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
        np.zeros(W),
    )


@njit(inline="always", nogil=True, cache=True)
def _reset_quality(net, seed, first_path, quality):
    """Keys of the group starting at global path ``first_path``; state and totals zeroed."""
    defect_key = quality.defect_key
    incident_key = quality.incident_key
    jidoka_key = quality.jidoka_key
    defect_entity = net.defect_entity
    for w in range(LANES):
        pkey = rng.path_key(seed, first_path + w)
        for a in range(defect_key.shape[0]):
            defect_key[a, w] = rng.stream_key(pkey, rng.DEFECT, a)
        for e in range(incident_key.shape[0]):
            incident_key[e, w] = rng.stream_key(pkey, rng.QUALITY_INCIDENT, defect_entity[e])
        for n in range(jidoka_key.shape[0]):
            jidoka_key[n, w] = rng.stream_key(pkey, rng.JIDOKA, n)
    quality.incident[:] = False
    quality.line_stop[:] = False
    quality.jid_in[:] = 0.0
    quality.jid_bad[:] = 0.0
    quality.bad_pipe[:] = 0.0
    quality.scrap_pipe[:] = 0.0
    quality.expedited[:] = 0.0
    quality.expedite_cost[:] = 0.0
    quality.defective[:] = 0.0
    quality.scrap_cost[:] = 0.0
    quality.line_stop_days[:] = 0.0


@njit(inline="always", nogil=True, cache=True)
def _update_quality_chains(net, quality, t):
    """Step 1, after the demand surges: each defect entry's incident chain, then each
    stopped line's recovery chain (a stop ends w.p. node_jidoka_recover)."""
    incident = quality.incident
    incident_key = quality.incident_key
    defect_inc_start = net.defect_inc_start
    defect_inc_end = net.defect_inc_end
    line_stop = quality.line_stop
    jidoka_key = quality.jidoka_key
    node_jidoka_recover = net.node_jidoka_recover
    node_jidoka_threshold = net.node_jidoka_threshold
    for e in range(incident.shape[0]):
        start_p = defect_inc_start[e]
        end_p = defect_inc_end[e]
        for w in range(LANES):
            incident[e, w] = _chain_step(
                incident[e, w], rng.uniform(incident_key[e, w], t), start_p, end_p
            )
    for n in range(line_stop.shape[0]):
        if node_jidoka_threshold[n] == np.inf:
            continue
        recover_p = node_jidoka_recover[n]
        for w in range(LANES):
            stopped = line_stop[n, w]
            u = rng.uniform(jidoka_key[n, w], t)
            line_stop[n, w] = stopped & (not (u < recover_p))


@njit(inline="always", nogil=True, cache=True)
def _inspect_arrivals(net, state, quality):
    """Step 2, before _receive: each jidoka plant counts today's arrivals at its component
    stock points and the defective units among them (its check follows _receive)."""
    jid_in = quality.jid_in
    node_jidoka_threshold = net.node_jidoka_threshold
    node_pos_ptr = net.node_pos_ptr
    ring = state.ring
    pipe = state.pipe
    bad_pipe = quality.bad_pipe
    jid_bad = quality.jid_bad
    defects = bad_pipe.shape[0] > 0
    for n in range(jid_in.shape[0]):
        if node_jidoka_threshold[n] == np.inf:
            continue
        for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
            row = ring[0, p]
            for w in range(LANES):
                jid_in[n, w] += pipe[row, w]
            if defects:
                for w in range(LANES):
                    jid_bad[n, w] += bad_pipe[row, w]


@njit(inline="always", nogil=True, cache=True)
def _receive_quality(net, day, state, totals, quality):
    """Step 2, after _receive: scrap the defective part of today's arrivals (found at
    receipt, they never enter stock); then each jidoka plant compares the defect fraction
    of what it received since its last check with its threshold: above it, the line
    stops (or stays stopped), and a stopped line has availability 0 for the day."""
    bad_pipe = quality.bad_pipe
    scrap_pipe = quality.scrap_pipe
    on_hand = state.on_hand
    defective = quality.defective
    scrap_cost = quality.scrap_cost
    consumed_total = totals.consumed
    line_stop = quality.line_stop
    node_jidoka_threshold = net.node_jidoka_threshold
    jid_in = quality.jid_in
    jid_bad = quality.jid_bad
    line_stop_days = quality.line_stop_days
    avail = day.avail
    cap_left = day.cap_left
    ring = state.ring
    for p in range(on_hand.shape[0] if bad_pipe.shape[0] > 0 else 0):
        row = ring[0, p]
        for w in range(LANES):
            bad = bad_pipe[row, w]
            on_hand[p, w] -= bad
            defective[w] += bad
            consumed_total[w] += bad
            scrap_cost[w] += scrap_pipe[row, w]
            bad_pipe[row, w] = 0.0
            scrap_pipe[row, w] = 0.0
    for n in range(line_stop.shape[0]):
        threshold = node_jidoka_threshold[n]
        if threshold == np.inf:
            continue
        for w in range(LANES):
            received = jid_in[n, w]
            fraction = jid_bad[n, w] / received if received > 0.0 else 0.0
            stopped = line_stop[n, w] | (fraction > threshold)
            line_stop[n, w] = stopped
            jid_in[n, w] = 0.0
            jid_bad[n, w] = 0.0
            avail[n, w] = 0.0 if stopped else avail[n, w]
            cap_left[n, w] = 0.0 if stopped else cap_left[n, w]
            line_stop_days[w] += 1.0 if stopped else 0.0


@njit(nogil=True, cache=True)
def _binomial(n, f, chunk, key, t, T):
    """Binomial(n, f) by inversion, the pmf by the recurrence p_{k+1} = p_k (n - k) / (k +
    1) x f / (1 - f) from p_0 = (1 - f)^n, summed until it passes u: a loop bounded by
    the chunk's size. n is split into chunks of ``chunk`` units ((1 - f)^chunk >= e^-600:
    no underflow), chunk c drawing its uniform at position t + c x T of the lane's stream
    (0 for f <= 0, n for f >= 1)."""
    if f <= 0.0 or n <= 0:
        return 0.0
    if f >= 1.0:
        return float(n)
    r = f / (1.0 - f)
    total = 0.0
    c = 0
    left = n
    while left > 0:
        m = chunk if left > chunk else left
        u = rng.uniform(key, t + c * T)
        pk = (1.0 - f) ** float(m)
        cdf = pk
        k = 0
        while cdf <= u and k < m:
            pk *= float(m - k) / float(k + 1) * r
            k += 1
            cdf += pk
        total += float(k)
        left -= m
        c += 1
    return total


@njit(inline="always", nogil=True, cache=True)
def _ship_defects(net, keys, p, state, orders, totals, quality, t):
    """Step 4, after _deliver of stock point p: the defective part of each source's
    shipment, on the shipment's arrival day (found at receipt): a fixed fraction of it,
    or Binomial(whole units, fraction) plus the fraction of the fractional unit; the
    fraction is the incident's while the lane's incident chain is active. A lead-time-0
    shipment is inspected at once; a jidoka plant counts it at its next check."""
    lane_defect = net.lane_defect
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    lane_lead_time = net.lane_lead_time
    lane_shock_ptr = net.lane_shock_ptr
    lane_shock_idx = net.lane_shock_idx
    lshock_extra = net.lshock_extra
    event_lane_extra = net.event_lane_extra
    lane_events = event_lane_extra.shape[0] > 0
    lane_lt_ptr = net.lane_lt_ptr  # a stochastic lead time: the same draw as _deliver's
    lane_lt_cdf = net.lane_lt_cdf
    lane_lt_delta = net.lane_lt_delta
    lead_keys = keys.lead
    defect_fraction = net.defect_fraction
    defect_inc_fraction = net.defect_inc_fraction
    defect_binomial = net.defect_binomial
    defect_chunk = net.defect_chunk
    defect_inc_chunk = net.defect_inc_chunk
    defect_scrap_cost = net.defect_scrap_cost
    ring = state.ring
    T = net.horizon
    ls_active = state.ls_active
    on_hand = state.on_hand
    lead = orders.lead
    ship = orders.ship
    consumed_total = totals.consumed
    defect_key = quality.defect_key
    incident = quality.incident
    bad_pipe = quality.bad_pipe
    scrap_pipe = quality.scrap_pipe
    defective = quality.defective
    scrap_cost = quality.scrap_cost
    jid_in = quality.jid_in
    jid_bad = quality.jid_bad
    pos_node = net.pos_node
    pos_jidoka = net.pos_jidoka
    n = pos_node[p]
    jidoka = pos_jidoka[p]
    s0 = pos_src_ptr[p]
    null = defect_fraction.shape[0] - 1
    # no early return (a loop of 0 sources instead): steps inlined in this loop keep to
    # the shape of the others (see _expedite for one that did not, and cost 1.4x)
    ns = pos_src_ptr[p + 1] - s0 if lane_defect.shape[0] > 0 else 0
    for s in range(ns):
        lane = src_lane[s0 + s]
        e = lane_defect[lane]
        if e == null and not jidoka:
            continue  # the null entry: no defects, nobody counting
        base_lead = lane_lead_time[lane] + (event_lane_extra[t, lane] if lane_events else 0)
        for w in range(LANES):
            lead[w] = base_lead
        # the defective units travel with the shipment: its drawn lead time (the same
        # uniform of the lane's stream as in _deliver), then the lane shocks' extra days
        _draw_lead_times(lane_lt_ptr, lane_lt_cdf, lane_lt_delta, lead_keys, lane, lead, t)
        for f in range(lane_shock_ptr[lane], lane_shock_ptr[lane + 1]):
            k = lane_shock_idx[f]
            for w in range(LANES):
                if ls_active[k, w]:
                    lead[w] += lshock_extra[k]
        fraction = defect_fraction[e]
        inc_fraction = defect_inc_fraction[e]
        binomial = defect_binomial[e]
        chunk = defect_chunk[e]
        inc_chunk = defect_inc_chunk[e]
        scrap = defect_scrap_cost[e]
        for w in range(LANES):
            x = ship[s, w]
            on_incident = incident[e, w]
            f = inc_fraction if on_incident else fraction
            if binomial:
                whole = math.floor(_min(x, MAX_BINOMIAL_UNITS))
                drawn = _binomial(
                    int(whole),
                    f,
                    inc_chunk if on_incident else chunk,
                    defect_key[lane, w],
                    t,
                    T,
                )
                bad = drawn + (x - whole) * f
            else:
                bad = x * f
            if lead[w] == 0:
                on_hand[p, w] -= bad
                defective[w] += bad
                scrap_cost[w] += bad * scrap
                consumed_total[w] += bad
                if jidoka:
                    jid_in[n, w] += x
                    jid_bad[n, w] += bad
            else:
                arrival = _ring_ahead(ring[0, p], ring[1, p], ring[2, p], lead[w])
                bad_pipe[arrival, w] += bad
                scrap_pipe[arrival, w] += bad * scrap


@njit(inline="always", nogil=True, cache=True)
def _expedite(net, state, day, orders, totals, quality, t):
    """Step 4, after every stock point's regular shipments (nothing changes a stock
    point's inventory position after its own turn in _order_and_ship, so this is the IP
    right after them): in processing order, a stock point whose IP is below its trigger,
    or (when_sources_down) none of whose regular sources is up today, orders min(S - IP,
    capacity per day) from its emergency source, which is never down, ships good units
    and delivers after its own lead time. A pass of its own: inlined per stock point in
    _order_and_ship's loop this step made the whole kernel 1.4x slower without any
    expediting (measured on the automotive example)."""
    processing_order = net.processing_order
    node_pos_ptr = net.node_pos_ptr
    pos_src_ptr = net.pos_src_ptr
    src_lane = net.src_lane
    src_share = net.src_share
    lane_src_node = net.lane_src_node
    pos_exp_capacity = net.pos_exp_capacity
    pos_exp_trigger = net.pos_exp_trigger
    pos_exp_down = net.pos_exp_down
    pos_exp_lead = net.pos_exp_lead
    pos_exp_premium = net.pos_exp_premium
    pos_order_up_to = net.pos_order_up_to
    pos_jidoka = net.pos_jidoka
    has_expedite = net.has_expedite
    ring = state.ring
    on_hand = state.on_hand
    in_transit = state.in_transit
    backlog = state.backlog
    pipe = state.pipe
    avail = day.avail
    up_share = orders.up_share
    shipped_total = totals.shipped
    received_total = totals.received
    expedited = quality.expedited
    expedite_cost = quality.expedite_cost
    jid_in = quality.jid_in
    pos_node = net.pos_node
    for idx in range(processing_order.shape[0] if has_expedite else 0):
        n = processing_order[idx]
        for p in range(node_pos_ptr[n], node_pos_ptr[n + 1]):
            capacity = pos_exp_capacity[p]
            trigger = pos_exp_trigger[p]
            when_down = pos_exp_down[p]
            exp_lead = pos_exp_lead[p]
            premium = pos_exp_premium[p]
            S = pos_order_up_to[p]
            # what a jidoka plant receives at once is counted at its next check
            jidoka = exp_lead == 0 and pos_jidoka[p]
            arrival = _ring_ahead(ring[0, p], ring[1, p], ring[2, p], exp_lead)
            active = capacity > 0.0
            s0 = pos_src_ptr[p]
            up_share[:] = 0.0
            for s in range(pos_src_ptr[p + 1] - s0 if active else 0):
                share = src_share[s0 + s]
                src = lane_src_node[src_lane[s0 + s]]
                for w in range(LANES):
                    up_share[w] += share if avail[src, w] > 0.0 else 0.0
            for w in range(LANES if active else 0):
                ip = on_hand[p, w] + in_transit[p, w] - backlog[p, w]
                want = S - ip
                fire = (ip < trigger) | (when_down & (up_share[w] <= 0.0))
                x = _min(want, capacity) if fire & (want > 0.0) else 0.0
                if exp_lead == 0:
                    on_hand[p, w] += x
                    received_total[w] += x
                    if jidoka:
                        jid_in[pos_node[p], w] += x
                else:
                    pipe[arrival, w] += x
                    in_transit[p, w] += x
                shipped_total[w] += x
                expedited[w] += x
                expedite_cost[w] += x * premium


@njit(inline="always", nogil=True, cache=True)
def _reduce_quality(quality, g, n_real, path_out):
    """The quality totals of the group's real paths into path_out (0 without the features)."""
    for w in range(n_real):
        out = path_out[g + w]
        out[EXPEDITE_COST] = quality.expedite_cost[w]
        out[SCRAP_COST] = quality.scrap_cost[w]
        out[EXPEDITED] = quality.expedited[w]
        out[DEFECTIVE] = quality.defective[w]
        out[LINE_STOP_DAYS] = quality.line_stop_days[w]


# ----------------------------------------------------------------------------- reduce


@njit(inline="always", nogil=True, cache=True)
def _reduce_group(net, state, totals, g, n_real, path_out, node_out):
    """Write the ``n_real`` real paths of the group starting at block row ``g`` into
    path_out [paths, N_PATH_METRICS] and node_out [paths, N, N_NODE_METRICS]."""
    T = net.horizon
    dc_pos = net.dc_pos
    qualification = net.qualification_cost_per_day * net.horizon
    pos_order_up_to = net.pos_order_up_to
    on_hand = state.on_hand
    in_transit = state.in_transit
    backlog = state.backlog
    node_acc = totals.node
    P = on_hand.shape[0]
    on_hand_start = 0.0
    for p in range(P):
        on_hand_start += pos_order_up_to[p]
    for w in range(n_real):
        i = g + w
        out = path_out[i]
        out[DEMAND] = totals.demand[w]
        out[FILLED] = totals.filled[w]
        out[LOST] = totals.lost[w]
        out[STOCKOUT_DAYS] = totals.stockout_days[w]
        out[MEAN_ON_HAND] = totals.sum_on_hand[w] / T
        out[MEAN_BACKLOG] = totals.sum_backlog[w] / T
        out[PURCHASE] = totals.purchase[w]
        out[HOLDING] = totals.holding[w]
        out[LOST_SALES_COST] = totals.lost_cost[w]
        out[BACKLOG_COST] = totals.backlog_cost[w]
        out[QUALIFICATION] = qualification
        out[ON_HAND_START] = on_hand_start
        end_on_hand = 0.0
        end_in_transit = 0.0
        for p in range(P):
            end_on_hand += on_hand[p, w]
            end_in_transit += in_transit[p, w]
        out[ON_HAND_END] = end_on_hand
        out[IN_TRANSIT_END] = end_in_transit
        out[SHIPPED] = totals.shipped[w]
        out[RECEIVED] = totals.received[w]
        out[CONSUMED] = totals.consumed[w]
        end_backlog = 0.0
        for j in range(dc_pos.shape[0]):
            end_backlog += backlog[dc_pos[j], w]
        out[BACKLOG_END] = end_backlog
        fd = totals.first_disruption[w]
        out[FIRST_DISRUPTION] = fd if fd >= 0 else np.nan
        fs = totals.first_shortage[w]
        out[DAYS_TO_SHORTAGE] = fs - fd if fs >= 0 else np.nan
        rc = totals.recovered[w]
        out[RECOVERY_DAYS] = rc - fd if rc >= 0 else np.nan
        sd = totals.shortage_day[w]
        end = totals.shortage_end[w] if totals.shortage_end[w] >= 0 else T
        out[TIME_TO_SURVIVE] = sd - totals.shortage_onset[w] if sd >= 0 else np.nan
        out[SHORTAGE_DURATION] = end - sd if sd >= 0 else np.nan
        out[SHORTAGE_START] = sd if sd >= 0 else np.nan
        fu = totals.first_unmet[w]
        out[FIRST_UNMET] = fu if fu >= 0 else np.nan
        out[PRODUCED] = totals.produced[w]
        out[ORDERS_PLACED] = totals.orders_placed[w]
        out[ORDER_COST] = totals.order_cost[w]
        if node_out.shape[0] == 0:
            continue  # node detail "summary" or "none": no per-path node metrics kept
        for n in range(node_acc.shape[1]):
            for m in range(N_NODE_METRICS):
                node_out[i, n, m] = node_acc[m, n, w]
            node_out[i, n, N_ON_HAND] /= T


@njit(inline="always", nogil=True, cache=True)
def _summarise_nodes(totals, n_real, T, node_hi, node_hist, node_sum, node_shortage):
    """Add the group's ``n_real`` real paths to the per-node histograms, fixed-point sums
    and shortage counts (skipped when node_hist has no rows). Each value is the one
    node_out would hold (the on-hand sum over days / T), so summaries and per-path
    variables agree."""
    if node_hist.shape[0] == 0:
        return
    node_acc = totals.node
    nb = node_hist.shape[2]
    for n in range(node_acc.shape[1]):
        for m in range(N_NODE_METRICS):
            hi = node_hi[n, m]
            for w in range(n_real):
                x = node_acc[m, n, w]
                if m == N_ON_HAND:
                    x /= T
                # guarded like _record_day's bins: int() of NaN or inf is undefined
                b = 0
                if hi > 0.0 and x > 0.0:
                    r = math.sqrt(x / hi) * nb
                    b = nb - 1 if r >= nb else int(r)
                node_hist[n, m, b] += 1
                node_sum[n, m] += np.int64(round(x * NODE_FIXED_POINT))
        for w in range(n_real):
            if node_acc[N_STOCKOUT, n, w] > 0.0:
                node_shortage[n] += 1


@njit(inline="always", nogil=True, cache=True)
def _flush_histograms(fill_bins, on_hand_bins, rows, fill_hist, on_hand_hist):
    """Add the first ``rows`` paths' bins [T, HIST_CHUNK] to the histograms [T, bins].
    A day's paths mostly share the fill-rate bin of a full day, and increments of one
    counter wait on each other (store-to-load forwarding): full days are counted in a
    register and added once."""
    full_bin = FILL_BINS - 1
    for t in range(fill_bins.shape[0]):
        fill_t = fill_bins[t]
        on_hand_t = on_hand_bins[t]
        full = 0
        for c in range(rows):
            b = fill_t[c]
            if b == full_bin:
                full += 1
            else:
                fill_hist[t, b] += 1
            on_hand_hist[t, on_hand_t[c]] += 1
        fill_hist[t, full_bin] += full
