"""Stress-test shards: ``stress --shard I/N`` and ``merge`` give the bits of one unsharded
``stress --out`` (every per-path figure and every summary), and the merge refuses what
is not one stress test's shards; ``report`` on a stress dataset; ``--no-random-disruptions``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import resilience
from resilience.api import merge, run_to_file, simulate, stress
from resilience.cli import main
from resilience.errors import ResultsError
from resilience.report.stress import HEATMAP_FILE, STRESS_REPORT_FILE
from tests.test_stress import DOC

# random demand and a random outage of the supplier: shortages with and without the stress
RANDOM = copy.deepcopy(DOC)
RANDOM["nodes"]["dc"]["demand"] = {"distribution": "poisson", "mean_per_day": 10}
RANDOM["horizon_days"] = 90

PATHS = 70  # 3 shards of 23, 23 and 24 paths, across the 32-path lanes


def _write(tmp_path, doc, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _stress_cli(scenario, out, *extra, paths=PATHS, seed=4):
    args = ["stress", str(scenario), "-n", str(paths), "--seed", str(seed), "--start", "30"]
    args += ["--ttr-days", "12", "--out", str(out), "-q", *extra]
    return CliRunner().invoke(main, args)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """An unsharded stress --out and its 3 shards, all through the command."""
    tmp = tmp_path_factory.mktemp("stress-shards")
    scenario = _write(tmp, RANDOM)
    whole = tmp / "whole.zarr"
    result = _stress_cli(scenario, whole)
    assert result.exit_code == 0, result.output
    shards = []
    for k in range(3):
        out = tmp / f"stress-shard{k}.zarr"
        result = _stress_cli(scenario, out, "--shard", f"{k}/3", "--block-size", "32")
        assert result.exit_code == 0, result.output
        assert f"Stress shard {k}/3" in result.output
        shards.append(out)
    return tmp, scenario, whole, shards


def test_three_shards_merged_are_the_unsharded_test_bit_for_bit(sharded):
    tmp, _, whole, shards = sharded
    out = tmp / "stress.zarr"
    # given out of order: the merge sorts by shard index
    result = CliRunner().invoke(
        main, ["merge", *map(str, reversed(shards)), "--out", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    a = resilience.open_results(whole).load()
    b = resilience.open_results(out).load()
    assert b.attrs.pop("merged_from_shards") == 3
    assert a.identical(b)  # values, dims, coords, attributes of every variable
    # the summaries are there, and came from all the paths
    assert a.sizes["path"] == PATHS and "rei" in b and "tts_quantile" in b
    assert float(b.lost_units_mean.max()) > 0
    assert not np.isnan(b.tts_days.values).all()


def test_a_shard_holds_its_paths_of_the_per_path_figures(sharded):
    _, _, whole, shards = sharded
    a = resilience.open_results(whole).load()
    s = resilience.open_results(shards[1]).load()
    assert (int(s.attrs["path_start"]), s.sizes["path"]) == (23, 23)
    assert "rei" not in s and "tts_quantile" not in s  # summaries only at the merge
    for name in ("tts_days", "lost_units_caused", "lost_margin_caused", "first_unmet_day"):
        np.testing.assert_array_equal(s[name].values, a[name].isel(path=slice(23, 46)).values)


def test_merge_refuses_missing_twice_and_foreign_shards(sharded, tmp_path):
    tmp, scenario, whole, shards = sharded
    with pytest.raises(ResultsError, match=r"missing shard 1/3 \(got 2 of 3\)"):
        merge([shards[0], shards[2]], tmp_path / "m.zarr")
    with pytest.raises(ResultsError, match="shard 0/3 given twice"):
        merge([shards[0], shards[0], shards[1], shards[2]], tmp_path / "m.zarr")
    with pytest.raises(ResultsError, match="is not a shard"):
        merge([whole, *shards], tmp_path / "m.zarr")
    # a run shard among stress shards: named as such
    run_shard = tmp_path / "run-shard1.zarr"
    run_to_file(str(scenario), run_shard, PATHS, 4, shard="1/3")
    with pytest.raises(ResultsError, match=r"is a stress-test shard .* is a run shard"):
        merge([shards[0], run_shard, shards[2]], tmp_path / "m.zarr")
    with pytest.raises(ResultsError, match=r"is a run shard .* is a stress-test shard"):
        merge([run_shard, shards[0], shards[2]], tmp_path / "m.zarr")
    assert not (tmp_path / "m.zarr").exists()


@pytest.mark.parametrize(
    ("change", "doc_change", "message"),
    [
        ({"--seed": "5"}, None, "shards of different seeds"),
        ({"--start": "31"}, None, r"different outage start days \(--start\): .*30; .*31"),
        ({"--ttr-days": "13"}, None, "different TTRs"),
        ({"--nodes": "sup,dc"}, None, r"different stressed nodes \(--nodes\)"),
        ({"--no-random-disruptions": None}, None, "different random_disruptions settings"),
        ({"-n": "71"}, None, "shards of different path counts"),
        ({"--strategy": "lean"}, None, "shards of different strategies"),
        ({}, {"buffer_days": 3}, "shards of different scenarios"),
    ],
)
def test_merge_refuses_shards_of_another_test_by_name(
    sharded, tmp_path, change, doc_change, message
):
    _, scenario, _, shards = sharded
    if doc_change:
        scenario = _write(tmp_path, {**copy.deepcopy(RANDOM), **doc_change}, "other.yaml")
    options = {"-n": str(PATHS), "--seed": "4", "--start": "30", "--ttr-days": "12", **change}
    args = [x for key, value in options.items() for x in (key, value) if x is not None]
    other = tmp_path / "other-shard1.zarr"
    result = CliRunner().invoke(
        main, ["stress", str(scenario), *args, "--shard", "1/3", "--out", str(other), "-q"]
    )
    assert result.exit_code == 0, result.output
    with pytest.raises(ResultsError, match=message):
        merge([shards[0], other, shards[2]], tmp_path / "m.zarr")
    result = CliRunner().invoke(
        main, ["merge", str(shards[0]), str(other), str(shards[2]), "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 1 and "Error: " in result.output


def test_command_exit_codes(sharded, tmp_path):
    _, scenario, _, shards = sharded
    runner = CliRunner()
    # --shard needs --out; a shard has no report; a malformed shard is a usage error
    result = runner.invoke(main, ["stress", str(scenario), "--shard", "0/3", "-q"])
    assert result.exit_code == 2 and "--shard needs --out" in result.output
    result = runner.invoke(
        main,
        ["stress", str(scenario), "--shard", "0/3", "-o", str(tmp_path / "x.zarr")]
        + ["--report", str(tmp_path / "r"), "-q"],
    )
    assert result.exit_code == 2 and "--report needs the whole test" in result.output
    result = runner.invoke(main, ["stress", str(scenario), "--shard", "3/3", "-o", "x.zarr"])
    assert result.exit_code == 2 and "need 0 <= I < N" in result.output
    # the deterministic mode is one path: it cannot be split
    result = runner.invoke(
        main,
        ["stress", str(scenario), "--deterministic", "--shard", "0/2"]
        + ["-o", str(tmp_path / "d.zarr"), "-q"],
    )
    assert result.exit_code == 1 and "cannot split 1 paths into 2 shards" in result.output
    # a report of a shard is refused: merge first
    result = runner.invoke(main, ["report", str(shards[0]), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "`resilience merge` its shards" in result.output


# ----------------------------------------------------------------------------- report


def test_report_recognises_a_stress_dataset(sharded, tmp_path):
    tmp, _, whole, _ = sharded
    folder = tmp_path / "page"
    result = CliRunner().invoke(main, ["report", str(whole), "--out", str(folder), "-q"])
    assert result.exit_code == 0, result.output
    assert f"Report written to {folder / STRESS_REPORT_FILE}" in result.output
    assert (folder / HEATMAP_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (folder / STRESS_REPORT_FILE).read_text()
    assert "Risk exposure by node and strategy" in page and page.count("<h3>Strategy") == 2
    assert not (folder / "report.html").exists()  # not the run report
    # the default folder: <stem>_report beside the result
    result = CliRunner().invoke(main, ["report", str(whole), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp / "whole_report" / STRESS_REPORT_FILE).exists()


# ----------------------------------------------------------------------------- the switch


def test_no_random_disruptions_is_the_yaml_key(tmp_path):
    """--no-random-disruptions gives the bits of the scenario with random_disruptions:
    false (every per-path variable), on run (in memory and --out) and on stress; and it
    does switch something off here (the supplier's random outages)."""
    off = {**copy.deepcopy(RANDOM), "random_disruptions": False}
    keyed = simulate(off, 40, 9)
    flagged = simulate(RANDOM, 40, 9, random_disruptions=False)
    on = simulate(RANDOM, 40, 9)
    per_path = [k for k, v in keyed.data_vars.items() if "path" in v.dims]
    for name in per_path:
        np.testing.assert_array_equal(flagged[name].values, keyed[name].values, err_msg=name)
    assert flagged.attrs["random_disruptions_option"] == 0
    assert not np.array_equal(on.lost_units.values, flagged.lost_units.values)

    scenario = _write(tmp_path, RANDOM)
    keyed_path = _write(tmp_path, off, "off.yaml")
    runner = CliRunner()
    for source, extra, out in (
        (keyed_path, [], "keyed.zarr"),
        (scenario, ["--no-random-disruptions"], "flag.zarr"),
    ):
        result = runner.invoke(
            main,
            ["run", str(source), "-n", "40", "--seed", "9", "-o", str(tmp_path / out), "-q"]
            + extra,
        )
        assert result.exit_code == 0, result.output
    a = resilience.open_results(tmp_path / "keyed.zarr").load()
    b = resilience.open_results(tmp_path / "flag.zarr").load()
    for name in per_path:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)

    s_keyed = stress(off, nodes=["sup"], paths=40, seed=9, start=20, ttr_days=5)
    s_flag = stress(
        RANDOM, nodes=["sup"], paths=40, seed=9, start=20, ttr_days=5, random_disruptions=False
    )
    assert s_keyed.identical(s_flag)
    assert s_flag.attrs["random_disruptions"] == 0
    result = runner.invoke(
        main,
        ["stress", str(scenario), "--nodes", "sup", "-n", "40", "--seed", "9", "--start", "20"]
        + ["--ttr-days", "5", "--no-random-disruptions", "--format", "json", "-q"],
    )
    assert result.exit_code == 0, result.output


def test_run_shards_with_and_without_the_switch_are_not_merged(tmp_path):
    scenario = _write(tmp_path, RANDOM)
    a, b = tmp_path / "a.zarr", tmp_path / "b.zarr"
    run_to_file(str(scenario), a, 40, 9, shard="0/2", random_disruptions=False)
    run_to_file(str(scenario), b, 40, 9, shard="1/2")
    with pytest.raises(ResultsError, match="shards of different --no-random-disruptions"):
        merge([a, b], tmp_path / "m.zarr")
    run_to_file(str(scenario), b, 40, 9, shard="1/2", random_disruptions=False, overwrite=True)
    merged = resilience.open_results(merge([a, b], tmp_path / "m.zarr")).load()
    whole = simulate(RANDOM, 40, 9, random_disruptions=False)
    assert merged.attrs["random_disruptions_option"] == 0
    np.testing.assert_array_equal(merged.lost_units.values, whole.lost_units.values)
