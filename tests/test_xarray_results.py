"""Stored results behave like any xarray dataset: plain ``xr.open_zarr`` / ``xr.open_dataset``
and ``resilience.open_results`` give one chunk size per dimension, the band dimension does
not hide ``Dataset.quantile``, and everyday xarray operations just work."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import resilience
from resilience.engine import prepare, run_block
from resilience.results import RunLayout, ZarrSink
from resilience.results.chunks import CHUNK_BYTES, chunk_sizes

REPO = Path(__file__).resolve().parent.parent
TWO_TIER = REPO / "src" / "resilience" / "examples" / "two-tier.yaml"
PATHS, SEED, BLOCK = 3000, 11, 256
# 12 blocks of 256 paths: at least 4 chunks along path, each of whole blocks
PATH_CHUNKS = (768, 768, 768, 696)


@pytest.fixture(scope="module")
def direct():
    return resilience.simulate(TWO_TIER, PATHS, SEED, block_size=BLOCK)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The same run written as .zarr and as .nc."""
    folder = tmp_path_factory.mktemp("xr")
    out = {}
    for suffix in (".zarr", ".nc"):
        out[suffix] = folder / f"run{suffix}"
        resilience.run_to_file(TWO_TIER, out[suffix], PATHS, SEED, block_size=BLOCK, progress=False)
    return out


def _plain(path: Path) -> xr.Dataset:
    if path.suffix == ".zarr":
        return xr.open_zarr(path)
    return xr.open_dataset(path, engine="h5netcdf", chunks={})


@pytest.fixture(
    params=[(".zarr", "plain"), (".zarr", "api"), (".nc", "plain"), (".nc", "api")],
    ids=["zarr-xarray", "zarr-open_results", "nc-xarray", "nc-open_results"],
)
def opened(request, written):
    suffix, how = request.param
    path = written[suffix]
    return _plain(path) if how == "plain" else resilience.open_results(path)


def test_one_chunk_size_per_dimension(opened):
    chunks = opened.chunks  # raises when two variables disagree along a dimension
    assert chunks["path"] in (PATH_CHUNKS, (PATHS,))  # stored, or "auto" (open_results)
    assert chunks["strategy"] == (opened.sizes["strategy"],)
    assert chunks["node"] == (opened.sizes["node"],)


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_plain_open_keeps_the_stored_chunks(written, suffix):
    ds = _plain(written[suffix])
    assert ds.chunks["path"] == PATH_CHUNKS
    assert ds["lost_units"].chunks == ((3,), PATH_CHUNKS)
    assert ds["node_lost_units"].chunks == ((3,), PATH_CHUNKS, (ds.sizes["node"],))


def test_values_are_the_simulated_ones(opened, direct):
    for name in direct.data_vars:
        got, want = opened[name].values, direct[name].values
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_band_dimension_leaves_dataset_quantile_alone(opened):
    assert "quantile" not in opened.dims
    assert opened["daily_fill_rate_band"].dims == ("strategy", "day", "band_quantile")
    assert list(opened["band_quantile"].values) == [0.05, 0.5, 0.95]
    p95 = opened[["lost_units", "total_cost"]].quantile(0.95, dim="path")
    assert p95["lost_units"].dims == ("strategy",)
    assert float(p95["quantile"]) == 0.95
    want = np.quantile(opened["lost_units"].values, 0.95, axis=1)
    np.testing.assert_allclose(p95["lost_units"].values, want)
    # the whole dataset too: per-day variables have no path and come through unchanged
    whole = opened.quantile(0.95, dim="path")
    assert "path" not in whole.dims and "band_quantile" in whole.dims


def test_everyday_xarray_operations(opened, direct):
    frame = opened[["lost_units"]].to_dataframe()
    assert list(frame.index.names) == ["strategy", "path"]
    assert len(frame) == opened.sizes["strategy"] * PATHS
    jit = opened.sel(strategy="jit")
    np.testing.assert_array_equal(jit["total_cost"].values, direct["total_cost"].values[0])
    mean = opened.mean("path")
    np.testing.assert_allclose(
        mean["lost_units"].values, direct["lost_units"].values.mean(axis=1), rtol=1e-12
    )
    assert mean["node_lost_units"].dims == ("strategy", "node")
    assert float(opened["fill_rate"].isel(path=slice(0, 10)).max()) <= 1.0


def test_netcdf_is_compressed_in_the_same_chunks(written):
    import h5py

    with h5py.File(written[".nc"], "r") as f:
        assert f["total_cost"].compression == "gzip"
        assert f["total_cost"].shuffle
        assert f["total_cost"].chunks == (3, PATH_CHUNKS[0])


def test_zarr_store_is_few_files_of_whole_chunks(written):
    stored = written[".zarr"]
    assert sorted(p.name for p in (stored / "lost_units").iterdir()) == [
        ".zarray",
        ".zattrs",
        "0.0",
        "0.1",
        "0.2",
        "0.3",
    ]
    assert sorted(p.name for p in (stored / "daily_fill_rate_hist").iterdir())[2:] == ["0.0.0"]


def test_blocks_arriving_in_any_order_give_the_same_store(tmp_path, direct):
    run = prepare(TWO_TIER, PATHS, SEED, block_size=BLOCK)
    layout = RunLayout.of(run.scenario, run.compiled, run.paths, run.seed, block_size=BLOCK)
    sink = ZarrSink(layout, tmp_path / "shuffled.zarr")
    tasks = list(run.tasks)
    random.Random(3).shuffle(tasks)
    for task in tasks:
        sink(task, run_block(run.networks[task.index], run.seed, task.start, task.size))
    sink.close()
    back = xr.open_zarr(tmp_path / "shuffled.zarr")
    for name in direct.data_vars:
        np.testing.assert_array_equal(back[name].values, direct[name].values, err_msg=name)


def _result_like(strategies: int, paths: int, nodes: int) -> xr.Dataset:
    """A dataset with a result's dimensions and dtypes (lazy: nothing allocated)."""
    import dask.array as da

    return xr.Dataset(
        {
            "lost_units": (("strategy", "path"), da.zeros((strategies, paths))),
            "node_lost_units": (
                ("strategy", "path", "node"),
                da.zeros((strategies, paths, nodes), dtype=np.float32),
            ),
            "daily_fill_rate_mean": (("strategy", "day"), da.zeros((strategies, 365))),
        }
    )


def test_chunk_scheme_of_the_demo_and_of_large_runs():
    demo = chunk_sizes(_result_like(4, 200_000, 16), unit=4096)
    assert demo == {"strategy": 4, "path": 53_248, "node": 16, "day": 365}
    # a million paths: chunks stay within CHUNK_BYTES
    big = chunk_sizes(_result_like(4, 1_000_000, 16), unit=4096)
    assert big["path"] == 65_536 and 4 * big["path"] * 16 * 4 <= CHUNK_BYTES
    # a unit of all strategies above CHUNK_BYTES: one strategy per chunk
    wide = chunk_sizes(_result_like(4, 100_000, 1024), unit=4096)
    assert wide["strategy"] == 1 and wide["path"] == 4096
    # fewer paths than a unit: one chunk
    assert chunk_sizes(_result_like(3, 40, 5))["path"] == 40
    # sweep axes lead: one step per chunk
    swept = _result_like(3, 1000, 5).expand_dims(buffer_days=2)
    assert chunk_sizes(swept)["buffer_days"] == 1
