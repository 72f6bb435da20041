"""Array-job shards of a run: the split, the merge (bit-identical to one run), refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from resilience.cli import main
from resilience.errors import ResultsError, SweepError
from resilience.merge import merge_shards
from resilience.results import open_results
from resilience.shards import Shard, parse_shard
from tests.batch_helpers import assert_same_data

REPO = Path(__file__).resolve().parent.parent
TWO_TIER = REPO / "src" / "resilience" / "examples" / "two-tier.yaml"
PATHS = 1000
SEED = 21


def _run(*args) -> str:
    res = CliRunner().invoke(main, ["run", str(TWO_TIER), "-q", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One whole run and its three shards (with another block size: it must not matter)."""
    d = tmp_path_factory.mktemp("shards")
    _run("-n", PATHS, "--seed", SEED, "--block-size", 256, "-o", d / "whole.zarr")
    outputs = []
    for i in range(3):
        out = d / f"shard-{i}.zarr"
        text = _run(
            "-n", PATHS, "--seed", SEED, "--block-size", 150, "--shard", f"{i}/3", "-o", out
        )
        assert f"shard {i}/3" in text
        outputs.append(out)
    return d, outputs


def test_parse_shard_is_zero_based():
    assert parse_shard("7/100") == Shard(7, 100)
    assert parse_shard(" 0 / 1 ") == Shard(0, 1)
    for bad in ("3/3", "1/0", "-1/3", "a/b", "1", "1/2/3"):
        with pytest.raises(SweepError):
            parse_shard(bad)


@pytest.mark.parametrize("total, count", [(10, 3), (1000, 7), (5, 5), (1, 1)])
def test_shard_ranges_cover_every_path_once(total, count):
    ranges = [Shard(i, count).range(total) for i in range(count)]
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1
    with pytest.raises(SweepError, match="cannot split"):
        Shard(0, total + 1).range(total)


def test_a_shard_holds_its_paths_and_says_which_shard_it_is(runs):
    _, shards = runs
    ds = open_results(shards[1])
    assert list(ds["path"].values) == list(range(333, 666))
    assert ds.attrs["shard"] == "1/3" and ds.attrs["shard_of"] == "paths"
    assert ds.attrs["total_paths"] == PATHS and ds.attrs["path_start"] == 333


def test_three_shards_merge_bit_identical_to_the_whole_run(runs):
    d, shards = runs
    out = d / "merged.zarr"
    res = CliRunner().invoke(
        main, ["merge", *map(str, [shards[2], shards[0], shards[1]]), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    whole, merged = open_results(d / "whole.zarr"), open_results(out)
    assert_same_data(whole, merged)
    assert set(whole.data_vars) == set(merged.data_vars)
    assert merged.attrs["paths"] == PATHS and "shard" not in merged.attrs
    for name in ("lost_units", "daily_fill_rate_mean"):
        assert merged[name].attrs == whole[name].attrs


def test_merge_writes_netcdf_too(runs, tmp_path):
    d, shards = runs
    merge_shards(shards, tmp_path / "merged.nc")
    assert_same_data(open_results(d / "whole.zarr"), open_results(tmp_path / "merged.nc"))


def test_a_missing_shard_is_refused(runs, tmp_path):
    _, shards = runs
    res = CliRunner().invoke(
        main, ["merge", str(shards[0]), str(shards[2]), "-o", str(tmp_path / "m.zarr")]
    )
    assert res.exit_code == 1
    assert "missing shard 1/3 (got 2 of 3); all shards 0..2 are needed" in res.output
    assert not (tmp_path / "m.zarr").exists()


def test_a_duplicated_shard_is_refused(runs, tmp_path):
    _, shards = runs
    with pytest.raises(
        ResultsError, match=r"shard 0/3 given twice: .*shard-0.zarr, .*shard-0.zarr"
    ):
        merge_shards([shards[0], shards[0], shards[1], shards[2]], tmp_path / "m.zarr")


def test_shards_of_another_seed_or_scenario_are_refused(runs, tmp_path):
    d, shards = runs
    other_seed = tmp_path / "seed.zarr"
    _run("-n", PATHS, "--seed", SEED + 1, "--shard", "1/3", "-o", other_seed)
    with pytest.raises(ResultsError, match=r"shards of different seeds: .*: 21; .*: 22"):
        merge_shards([shards[0], other_seed, shards[2]], tmp_path / "m.zarr")
    text = TWO_TIER.read_text().replace("name: two-tier example", "name: other example")
    other = tmp_path / "other.yaml"
    other.write_text(text)
    res = CliRunner().invoke(
        main,
        [
            "run",
            str(other),
            "-q",
            "-n",
            str(PATHS),
            "--seed",
            str(SEED),
            "--shard",
            "1/3",
            "-o",
            str(tmp_path / "o.zarr"),
        ],
    )
    assert res.exit_code == 0, res.output
    with pytest.raises(
        ResultsError,
        match=r"shards of different scenarios: .*'two-tier example'"
        r".*'other example'",
    ):
        merge_shards([shards[0], tmp_path / "o.zarr", shards[2]], tmp_path / "m.zarr")
    with pytest.raises(ResultsError, match="not a shard"):
        merge_shards([d / "whole.zarr", shards[1], shards[2]], tmp_path / "m.zarr")


def test_shard_option_errors(tmp_path):
    res = CliRunner().invoke(
        main, ["run", str(TWO_TIER), "--shard", "3/3", "-o", str(tmp_path / "x.zarr")]
    )
    assert res.exit_code == 2 and "0 <= I < N" in res.output
    res = CliRunner().invoke(main, ["run", str(TWO_TIER), "--shard", "0/3"])
    assert res.exit_code == 2 and "--shard needs --out" in res.output
    res = CliRunner().invoke(
        main, ["run", str(TWO_TIER), "-n", "2", "--shard", "0/3", "-o", str(tmp_path / "x.zarr")]
    )
    assert res.exit_code == 1 and "cannot split 2 paths into 3 shards" in res.output
