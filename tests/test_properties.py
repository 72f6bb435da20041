"""Properties of the kernel on random networks (tests/strategies.py): conservation of
units, bounds on fill, full service without disruptions, monotonicity in buffer on a
single-stage network, common random numbers across strategies, and invariance of every
output (histograms and fixed-point sums included) to how paths are split into blocks."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from resilience.compiler import compile_strategy, poisson_cdf
from resilience.kernels import simulate as k
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import empty_output, network, run_kernel
from tests.strategies import scenario_docs, scenarios, seeds, single_stage_docs

N_PATHS = 8
ROUND_OFF = 1e-12


def _close(a: np.ndarray, b: np.ndarray, scale: np.ndarray, rel: float = 1e-9) -> None:
    """|a - b| <= rel x max(scale, 1), elementwise: exact up to float round-off."""
    np.testing.assert_array_less(np.abs(a - b), rel * np.maximum(np.abs(scale), 1.0) + 1e-300)


@given(scenario=scenarios(variability=True), seed=seeds)
def test_units_are_conserved_on_every_path(scenario, seed):
    """Also with issue-14 variability: stochastic lead times (orders crossing) keep
    shipped = received + in transit exactly."""
    for strategy in scenario.strategy_names:
        p = run_kernel(network(scenario, strategy), seed, 0, N_PATHS).path_out
        start, end = p[:, k.ON_HAND_START], p[:, k.ON_HAND_END]
        received, consumed = p[:, k.RECEIVED], p[:, k.CONSUMED]
        shipped, in_transit = p[:, k.SHIPPED], p[:, k.IN_TRANSIT_END]
        scale = np.maximum.reduce([start, end, received, consumed, shipped])
        _close(start + received - consumed, end, scale)
        _close(shipped, received + in_transit, scale)
        assert (in_transit >= -1e-9 * np.maximum(scale, 1.0)).all()


@given(scenario=scenarios(production=True), seed=seeds)
def test_units_are_conserved_with_push_production(scenario, seed):
    """Push plants (issue-14 push) make units into their finished goods: stock at the
    start + received + produced - consumed = stock at the end (consumed includes the
    components production draws and what leaves the finished goods)."""
    for strategy in scenario.strategy_names:
        p = run_kernel(network(scenario, strategy), seed, 0, N_PATHS).path_out
        start, end = p[:, k.ON_HAND_START], p[:, k.ON_HAND_END]
        received, consumed = p[:, k.RECEIVED], p[:, k.CONSUMED]
        produced = p[:, k.PRODUCED]
        shipped, in_transit = p[:, k.SHIPPED], p[:, k.IN_TRANSIT_END]
        scale = np.maximum.reduce([start, end, received, consumed, shipped, produced])
        _close(start + received + produced - consumed, end, scale)
        _close(shipped, received + in_transit, scale)
        assert (produced >= 0.0).all()


@given(scenario=scenarios(quality=True), seed=seeds)
def test_units_are_conserved_with_defects_and_expediting(scenario, seed):
    """Scrapped units leave through units_consumed, expedited ones arrive through
    units_shipped and units_received: the same balances hold (issue 14)."""
    test_units_are_conserved_on_every_path.hypothesis.inner_test(scenario, seed)


@given(scenario=scenarios(), seed=seeds)
def test_fill_rate_is_a_fraction(scenario, seed):
    dcs = [i for i, n in enumerate(scenario.nodes) if n.kind == "dc"]
    for strategy in scenario.strategy_names:
        out = run_kernel(network(scenario, strategy), seed, 0, N_PATHS)
        p, nodes = out.path_out, out.node_out
        demand, filled = p[:, k.DEMAND], p[:, k.FILLED]
        dc_demand, dc_filled = nodes[:, dcs, k.N_DEMAND], nodes[:, dcs, k.N_FILLED]
        # Backlog served late is netted out as served - backlog in floats, which can leave a
        # day 1 ulp over-filled (filled 0.30000000000000004 of 0.3) and the backlog at
        # -5.6e-17: allow that much round-off, nothing more.
        assert (filled >= 0).all() and (filled <= demand * (1 + ROUND_OFF)).all()
        assert (dc_filled >= 0).all() and (dc_filled <= dc_demand * (1 + ROUND_OFF)).all()
        fill_rate = np.where(demand > 0, filled / np.where(demand > 0, demand, 1.0), 1.0)
        assert ((fill_rate >= 0) & (fill_rate <= 1 + ROUND_OFF)).all()
        assert (p[:, k.LOST] >= 0).all() and (p[:, k.STOCKOUT_DAYS] <= scenario.horizon_days).all()
        for col in (k.BACKLOG_END, k.MEAN_BACKLOG):
            assert (p[:, col] >= -ROUND_OFF * np.maximum(demand, 1.0)).all()
        # the daily fill histogram has one count per path and day
        assert (out.fill_hist.sum(axis=1) == N_PATHS).all()
        assert (out.fill_sum <= N_PATHS * k.FILL_FIXED_POINT).all()


@given(doc=scenario_docs(disruptions=False), seed=seeds)
def test_no_disruptions_and_ample_stock_fill_every_order(doc, seed):
    """No outages, shocks or surges, DCs of unlimited capacity stocked for the whole
    horizon's demand of the network: every unit is served on its day."""
    horizon = doc["horizon_days"]
    most = 0.0  # the most the network's customers can ask for over the horizon
    for node in doc["nodes"].values():
        if node["kind"] == "dc":
            node.pop("capacity_per_day", None)
            demand = node.get("demand")
            if demand:
                mean = demand["mean_per_day"]
                per_day = (
                    mean if demand["distribution"] == "deterministic" else len(poisson_cdf(mean))
                )
                most += horizon * per_day
    ample = [
        {"at": name, "order_up_to": most} for name, n in doc["nodes"].items() if n["kind"] == "dc"
    ]
    for body in doc["strategies"].values():
        body["stock"] = ample  # a strategy's stock entries take precedence
    scenario = load_scenario(doc)
    for strategy in scenario.strategy_names:
        p = run_kernel(network(scenario, strategy), seed, 0, N_PATHS).path_out
        assert (p[:, k.FILLED] == p[:, k.DEMAND]).all()
        assert (p[:, k.STOCKOUT_DAYS] == 0).all() and (p[:, k.LOST] == 0).all()
        assert np.isnan(p[:, k.FIRST_DISRUPTION]).all()
        assert np.isnan(p[:, k.DAYS_TO_SHORTAGE]).all()


@given(doc=single_stage_docs(), seed=seeds)
def test_more_buffer_never_lowers_fill_on_a_single_stage(doc, seed):
    """Supplier -> DC over a lead-time-0 lane, unlimited supplier capacity: a higher
    order-up-to level never lowers any path's fill rate (under any disruptions)."""
    scenario = load_scenario(doc)
    names = scenario.strategy_names  # buffers grow with the index
    levels = [compile_strategy(scenario, s).network.pos_order_up_to[0] for s in names]
    assert levels == sorted(levels)
    outs = [run_kernel(network(scenario, s), seed, 0, N_PATHS).path_out for s in names]
    for lower, higher in zip(outs, outs[1:], strict=False):
        np.testing.assert_array_equal(lower[:, k.DEMAND], higher[:, k.DEMAND])
        # fractional capacity fractions make quantities inexact: allow round-off
        slack = 1e-9 * np.maximum(lower[:, k.DEMAND], 1.0)
        assert (higher[:, k.FILLED] >= lower[:, k.FILLED] - slack).all()


@given(scenario=scenarios(), seed=seeds, path_start=st.integers(0, 2**40))
def test_common_random_numbers_across_strategies(scenario, seed, path_start):
    """Strategies differ by decisions, never by luck: demand and disruptions per path are
    the same for every strategy."""
    outs = [
        run_kernel(network(scenario, s), seed, path_start, N_PATHS) for s in scenario.strategy_names
    ]
    first = outs[0]
    for other in outs[1:]:
        np.testing.assert_array_equal(other.path_out[:, k.DEMAND], first.path_out[:, k.DEMAND])
        np.testing.assert_array_equal(
            other.path_out[:, k.FIRST_DISRUPTION], first.path_out[:, k.FIRST_DISRUPTION]
        )
        for col in (k.N_DEMAND, k.N_IMPAIRED):
            np.testing.assert_array_equal(other.node_out[:, :, col], first.node_out[:, :, col])


def _blocks(draw_sizes: list[int], n: int) -> list[tuple[int, int]]:
    """Split 0..n-1 into consecutive blocks of the drawn sizes (the last takes the rest)."""
    blocks, lo = [], 0
    for size in draw_sizes:
        if lo >= n:
            break
        blocks.append((lo, min(lo + size, n)))
        lo += size
    if lo < n:
        blocks.append((lo, n))
    return blocks


def _assert_identical(a, b) -> None:
    for name, x, y in zip(a._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)  # NaN == NaN, otherwise bits


@given(
    scenario=scenarios(variability=True),
    seed=seeds,
    path_start=st.integers(0, 2**40),
    n=st.integers(1, 70),  # past HIST_CHUNK (32) paths, where histograms are flushed
    sizes=st.lists(st.integers(0, 40), max_size=5),
)
def test_any_split_into_blocks_gives_the_same_bits(scenario, seed, path_start, n, sizes):
    strategy = scenario.strategy_names[-1]
    net = network(scenario, strategy)
    whole = run_kernel(net, seed, path_start, n)
    parts = empty_output(net, n)
    for lo, hi in _blocks(sizes, n):
        block = run_kernel(net, seed, path_start + lo, hi - lo)
        parts.path_out[lo:hi] = block.path_out
        parts.node_out[lo:hi] = block.node_out
        for acc, part in zip(parts[2:], block[2:], strict=True):
            acc += part
    _assert_identical(whole, parts)
    # and blocks written straight into views of one output, accumulating in place
    views = empty_output(net, n)
    for lo, hi in _blocks(sizes[::-1], n):
        run_kernel(
            net,
            seed,
            path_start + lo,
            hi - lo,
            views._replace(path_out=views.path_out[lo:hi], node_out=views.node_out[lo:hi]),
        )
    _assert_identical(whole, views)
