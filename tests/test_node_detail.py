"""Node detail (``--node-detail paths|summary|none``): what a run keeps of each node.

``paths`` is the per-path per-node variables as before; ``summary`` is per-node
histograms, exact fixed-point sums and shortage counts computed in the kernel, which must
be bit-identical for any split of the paths (blocks, threads, shards) and agree with the
per-path values they summarise; ``none`` keeps neither. No detail changes a per-path bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

import resilience
from resilience import api
from resilience.cli import main
from resilience.compiler import node_metric_bounds
from resilience.engine import prepare, resolve_node_detail, run_block
from resilience.errors import ExecutionError, ResultsError
from resilience.kernels.simulate import N_NODE_METRICS, NODE_BINS, NODE_FIXED_POINT
from resilience.results.catalogue import NODE_METRICS
from resilience.results.dataset import NODE_QUANTILES, node_bin_edges
from resilience.scenario.synthetic import layered_network
from tests.strategies import scenarios, seeds

NODE_NAMES = [e[0] for e in NODE_METRICS]
PATHS = 300


def _summary_vars(ds):
    return sorted(v for v in ds.data_vars if "node" in ds[v].dims and "path" not in ds[v].dims)


@pytest.fixture(scope="module")
def two_tier(two_tier_path):
    return str(two_tier_path)


def _simulate(scenario, node_detail, **kw):
    kw.setdefault("threads", 1)
    return resilience.simulate(scenario, paths=PATHS, seed=11, node_detail=node_detail, **kw)


def test_resolve_node_detail():
    assert resolve_node_detail(None, 32) == "paths"
    assert resolve_node_detail("auto", 33) == "summary"
    assert resolve_node_detail("none", 2) == "none"
    with pytest.raises(ExecutionError, match="node_detail must be one of"):
        resolve_node_detail("nodes", 4)


def test_auto_keeps_paths_on_small_networks_and_summaries_on_large(two_tier):
    small = resilience.simulate(two_tier, paths=40, seed=1, threads=1)
    assert small.attrs["node_detail"] == "paths" and "node_lost_units" in small
    large = resilience.simulate(layered_network(40), paths=40, seed=1, threads=1)
    assert large.attrs["node_detail"] == "summary"
    assert "node_lost_units" not in large and "node_lost_units_mean" in large


def test_detail_changes_no_per_path_bit(two_tier):
    """summary and none drop or replace only the per-node variables; paths is today's."""
    paths = _simulate(two_tier, "paths")
    default = _simulate(two_tier, "auto")
    for name in paths.data_vars:
        np.testing.assert_array_equal(paths[name].values, default[name].values)
    for detail in ("summary", "none"):
        ds = _simulate(two_tier, detail)
        assert ds.attrs["node_detail"] == detail
        assert not [v for v in ds.data_vars if ds[v].dims[-2:] == ("path", "node")]
        for name in paths.data_vars:
            if name not in NODE_NAMES:
                np.testing.assert_array_equal(paths[name].values, ds[name].values)
    assert not _summary_vars(_simulate(two_tier, "none"))


def test_summaries_bit_identical_for_any_block_split(two_tier):
    want = _simulate(two_tier, "summary", block_size=PATHS)
    for block_size, threads in ((32, 2), (100, 1), (7, 2)):
        got = _simulate(two_tier, "summary", block_size=block_size, threads=threads)
        for name in _summary_vars(want):
            np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)


def test_summaries_of_merged_shards_bit_identical(two_tier, tmp_path):
    kw = dict(paths=PATHS, seed=11, threads=2, node_detail="summary")
    want = resilience.simulate(two_tier, block_size=64, **kw)
    api.run_to_file(two_tier, tmp_path / "a.zarr", shard="0/3", block_size=50, **kw)
    api.run_to_file(two_tier, tmp_path / "b.nc", shard="1/3", block_size=32, **kw)
    api.run_to_file(two_tier, tmp_path / "c.zarr", shard="2/3", **kw)
    shards = [tmp_path / n for n in ("a.zarr", "b.nc", "c.zarr")]
    got = api.open_results(api.merge(shards, tmp_path / "m.zarr"))
    assert sorted(got.data_vars) == sorted(want.data_vars)
    for name in want.data_vars:
        np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)


def test_merge_refuses_shards_of_different_node_detail(two_tier, tmp_path):
    kw = dict(paths=60, seed=2, threads=1)
    api.run_to_file(two_tier, tmp_path / "a.zarr", shard="0/2", node_detail="summary", **kw)
    api.run_to_file(two_tier, tmp_path / "b.zarr", shard="1/2", node_detail="none", **kw)
    with pytest.raises(ResultsError, match="node details"):
        api.merge([tmp_path / "a.zarr", tmp_path / "b.zarr"], tmp_path / "m.zarr")


@pytest.mark.parametrize("out", ["r.zarr", "r.nc"])
@pytest.mark.parametrize("detail", ["paths", "summary", "none"])
def test_files_hold_what_memory_holds(two_tier, tmp_path, out, detail):
    want = _simulate(two_tier, detail, block_size=64)
    api.run_to_file(
        two_tier, tmp_path / out, paths=PATHS, seed=11, threads=2, node_detail=detail, block_size=64
    )
    got = api.open_results(tmp_path / out)
    assert sorted(got.data_vars) == sorted(want.data_vars)
    for name in want.data_vars:
        np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)


def _per_path_and_summary(network, seed, paths):
    per_path = run_block(network, seed, 0, paths, "paths").node_out  # float64 [paths, N, M]
    summary = run_block(network, seed, 0, paths, "summary")
    return per_path, summary


def _check_summary_against_paths(network, seed, paths):
    """The kernel's summaries are those of the per-path values: histograms (the same bin
    formula in numpy), shortage counts, means within the fixed point's rounding, and every
    quantile within one bin of X_(ceil(n q)) of the per-path values."""
    x, summary = _per_path_and_summary(network, seed, paths)
    hi = node_metric_bounds(network)
    assert (x <= hi * (1 + 1e-9) + 1e-9).all(), "a per-path node metric exceeds its bound"
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt(x / hi) * NODE_BINS
    bins = np.where((hi > 0) & (x > 0), np.minimum(np.nan_to_num(r), NODE_BINS - 1), 0)
    bins = bins.astype(np.int64)
    for n in range(x.shape[1]):
        for m in range(N_NODE_METRICS):
            counts = np.bincount(bins[:, n, m], minlength=NODE_BINS)
            np.testing.assert_array_equal(summary.node_hist[n, m], counts)
    np.testing.assert_array_equal(summary.node_shortage, (x[:, :, 5] > 0).sum(axis=0))
    np.testing.assert_array_equal(
        summary.node_sum, np.round(x * NODE_FIXED_POINT).astype(np.int64).sum(axis=0)
    )
    mean = summary.node_sum / NODE_FIXED_POINT / paths
    assert np.all(np.abs(mean - x.mean(axis=0)) <= 0.5 / NODE_FIXED_POINT + 1e-9 * np.abs(mean))
    from resilience.results.dataset import row_quantiles

    edges = node_bin_edges(hi)
    got = row_quantiles(summary.node_hist, edges, NODE_QUANTILES)
    order = np.sort(x, axis=0)
    for k, q in enumerate(NODE_QUANTILES):
        rank = max(0, int(np.ceil(paths * q)) - 1)
        exact = order[rank]  # X_(ceil(n q)) [N, M]
        b = np.take_along_axis(bins, np.argsort(x, axis=0, kind="stable")[rank][None], 0)[0]
        lo = np.take_along_axis(edges, b[..., None], -1)[..., 0]
        top = np.take_along_axis(edges, b[..., None] + 1, -1)[..., 0]
        width = top - lo
        assert np.all(np.abs(got[..., k] - exact) <= width + 1e-9), f"quantile {q}"


@pytest.mark.parametrize("strategy", [0, 1, 2])
def test_summaries_agree_with_the_per_path_values(two_tier, strategy):
    run = prepare(two_tier, 10, 1)
    _check_summary_against_paths(run.compiled[strategy].network, 77, 250)


@settings(max_examples=15)
@given(
    scenario=scenarios(events=True, production=True, variability=True, policies=True, quality=True),
    seed=seeds,
)
def test_summaries_and_bounds_on_random_networks(scenario, seed):
    """Random networks, backorders and scripted events included: no per-path node metric
    exceeds the histogram's top edge, and the summaries are the per-path values'."""
    for name in scenario.strategy_names:
        net = prepare(scenario, 1, 0, [name]).compiled[0].network
        _check_summary_against_paths(net, seed, 40)


def test_block_buffers_do_not_grow_with_paths_x_nodes():
    net = prepare(layered_network(64), 1, 0).compiled[0].network
    for detail in ("summary", "none"):
        result = run_block(net, 1, 0, 64, detail)
        assert result.node_out.shape[0] == 0
        rows = net.node_kind.shape[0] if detail == "summary" else 0
        assert result.node_hist.shape == (rows, N_NODE_METRICS, NODE_BINS)


def test_summary_variables_are_described(two_tier):
    ds = _simulate(two_tier, "summary")
    for name in _summary_vars(ds):
        assert {"units", "long_name", "description"} <= set(ds[name].attrs), name
    assert list(ds["node_quantile"].values) == list(NODE_QUANTILES)
    assert ds["node_lost_units_quantile"].dims == ("strategy", "node", "node_quantile")
    p = ds["node_shortage_probability"].values
    assert ((p >= 0) & (p <= 1)).all()


def test_cli_node_detail(two_tier, tmp_path):
    out = tmp_path / "x.zarr"
    args = ["run", two_tier, "--paths", "64", "--threads", "1", "--node-detail", "none"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = api.open_results(out)
    assert ds.attrs["node_detail"] == "none" and "node_lost_units" not in ds
    bad = CliRunner().invoke(main, [*args[:-1], "nodes"])
    assert bad.exit_code == 2


@pytest.mark.parametrize("detail", ["summary", "none"])
def test_sweep_keeps_the_node_detail_of_a_run(two_tier, tmp_path, detail):
    """Each point of a sweep with a node detail holds what a run of its scenario with
    that detail holds, bit for bit (summaries from the part store's nodes.npz)."""
    from resilience.api import plan_sweep, sweep
    from resilience.sweeps import load_sweep

    spec = load_sweep(grid=["strategies.jic.buffer_days=5,20"])
    plan = plan_sweep(two_tier, spec, 96, 4, ["jic"], block_size=32, node_detail=detail)
    ds = api.open_results(sweep(plan, tmp_path / "s.zarr", threads=2, progress=False))
    assert ds.attrs["node_detail"] == detail
    for p, scenario in enumerate(plan.scenarios):
        want = resilience.simulate(
            scenario, paths=96, seed=4, strategies=["jic"], threads=1, node_detail=detail
        )
        got = ds.isel(buffer_days=p)
        for name in want.data_vars:
            np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)
