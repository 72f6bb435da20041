"""Sweeps: the spec (paths, grid options, files, shock_scale), validation before anything
runs, the dataset layout, equality with direct runs, summaries, shards, resume, plots."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

import resilience
from resilience.api import plan_sweep
from resilience.api import sweep as run_sweep
from resilience.cli import main
from resilience.errors import SweepError
from resilience.merge import merge_shards
from resilience.results import open_results
from resilience.scenario.schema import load_scenario
from resilience.sweeps import summarize, sweep_table
from resilience.sweeps.spec import (
    SHOCK_SCALE,
    apply_shock_scale,
    format_path,
    load_sweep,
    parse_grid_option,
    parse_path,
)
from tests.batch_helpers import BLOCK, GRID, PATHS, SEED, assert_same_data

REPO = Path(__file__).resolve().parent.parent
TWO_TIER = REPO / "src" / "resilience" / "examples" / "two-tier.yaml"


@pytest.fixture(scope="module")
def base_doc():
    return yaml.safe_load(TWO_TIER.read_text())


@pytest.fixture(scope="module")
def spec():
    return load_sweep(grid=GRID)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, spec):
    """The GRID sweep, run once on threads (per path)."""
    out = tmp_path_factory.mktemp("sweep") / "sweep.zarr"
    plan = plan_sweep(TWO_TIER, spec, PATHS, SEED, block_size=BLOCK)
    run_sweep(plan, out, progress=False)
    return out


# ----------------------------------------------------------------------------- spec


@pytest.mark.parametrize(
    "text, keys",
    [
        ("strategies.jic.buffer_days", ("strategies", "jic", "buffer_days")),
        (
            "regions.east_asia.shocks[0].mean_duration_days",
            ("regions", "east_asia", "shocks", 0, "mean_duration_days"),
        ),
        ("nodes['chip.fab'].capacity_per_day", ("nodes", "chip.fab", "capacity_per_day")),
        ("lanes[2].lead_time_days", ("lanes", 2, "lead_time_days")),
        ("shock_scale", ()),
    ],
)
def test_paths_parse_and_print_back(text, keys):
    assert parse_path(text) == keys
    assert format_path(keys) == text


@pytest.mark.parametrize("bad", ["", "a..b", "a.[0]", "a[x]", "a[0", ".a", "a.b.", "a b"])
def test_malformed_paths_are_refused(bad):
    with pytest.raises(SweepError, match="bad path"):
        parse_path(bad)


def test_grid_options_read_yaml_scalars_names_and_flow_lists():
    assert parse_grid_option("strategies.jic.buffer_days=0,7.5,x") == (
        None,
        ("strategies", "jic", "buffer_days"),
        [0, 7.5, "x"],
    )
    assert parse_grid_option("sev:regions.r.shocks[0].capacity_fraction=[0.5, 0]") == (
        "sev",
        ("regions", "r", "shocks", 0, "capacity_fraction"),
        [0.5, 0],
    )
    for bad in ("strategies.jic.buffer_days", "strategies.jic.buffer_days=", "x=1,,2"):
        with pytest.raises(SweepError):
            parse_grid_option(bad)


def test_axes_are_named_after_their_paths_and_same_names_zip(spec):
    assert spec.names == ["buffer_days", "severity"]
    assert spec.shape == (2, 3)
    assert spec.axes[1].params[1].path == "regions.east_asia.shocks[0].capacity_fraction"
    assert spec.axes[1].values[2] == (90, 0)
    clash = load_sweep(grid=["strategies.jic.buffer_days=1,2", "buffer_days=3,4"])
    assert clash.names == ["jic_buffer_days", "buffer_days"]


def test_sweep_file_with_paths_zip_labels_and_shorthand(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "description: demo\n"
        "axes:\n"
        "  buffer:\n    path: strategies.jic.stock[0].buffer_days\n    values: [0, 30]\n"
        "  shock:\n"
        "    zip:\n"
        "      regions.east_asia.shocks[0].mean_duration_days: [5, 90]\n"
        "      regions.east_asia.shocks[0].capacity_fraction: [0.5, 0.0]\n"
        "    labels: [mild, severe]\n"
        "  shock_scale: [0.5, 2]\n"
    )
    spec = load_sweep(f, grid=["lanes[0].lead_time_days=40,50"])
    assert spec.names == ["buffer", "shock", "shock_scale", "lead_time_days"]
    assert spec.size == 16 and spec.description == "demo"
    coords = spec.coords()
    assert list(coords["shock"].values) == ["mild", "severe"]
    assert list(coords["shock__capacity_fraction"].values) == [0.5, 0.0]
    f.write_text("axes:\n  b:\n    path: buffer_days\n    valeus: [1]\n")
    with pytest.raises(
        SweepError, match=r"axes\.b\.valeus: unknown key \(did you mean 'values'\?\)"
    ):
        load_sweep(f)


def test_spec_errors_name_their_place():
    with pytest.raises(SweepError, match="values repeat"):
        load_sweep(grid=["buffer_days=1,1"])
    with pytest.raises(SweepError, match="as many values"):
        load_sweep(grid=["a:buffer_days=1,2", "a:horizon_days=3"])
    with pytest.raises(SweepError, match="taken by the results"):
        load_sweep(grid=["strategy:buffer_days=1,2"])
    with pytest.raises(SweepError, match="no sweep axes"):
        load_sweep()


# ----------------------------------------------------------------------------- validation


def test_bad_path_is_reported_with_axis_and_did_you_mean(base_doc):
    spec = load_sweep(grid=["strategies.jc.buffer_days=1,2"])
    with pytest.raises(SweepError) as info:
        spec.scenarios(base_doc)
    assert (
        "axis buffer_days: strategies.jc.buffer_days: strategies has no key 'jc' "
        "(did you mean 'jic'?)" in str(info.value)
    )
    spec = load_sweep(grid=["regions.east_asia.shocks[3].end_probability=0.5"])
    with pytest.raises(SweepError, match=r"has 1 item\(s\): no index \[3\]"):
        spec.scenarios(base_doc)


def test_bad_values_are_reported_per_axis_value_and_per_point(base_doc):
    spec = load_sweep(
        grid=[
            "strategies.jic.stock[0].buffer_days=-1,30",
            "regions.east_asia.shocks[0].capacity_fraction=0.5,1",
        ]
    )
    with pytest.raises(SweepError) as info:
        spec.scenarios(base_doc)
    text = str(info.value)
    assert "axis buffer_days=-1: strategies.jic.stock[0].buffer_days: must be a number >= 0" in text
    assert (
        "axis capacity_fraction=1: regions.east_asia.shocks[0].capacity_fraction: must be" in text
    )
    assert "30" not in text.split("buffer_days=")[-1].split(":")[0]
    # a value valid alone but not with another axis: reported with the point
    spec = load_sweep(
        grid=["regions.east_asia.shocks[0].start_probability=0.5,0.9", "shock_scale=1,2"]
    )
    with pytest.raises(SweepError) as info:
        spec.scenarios(base_doc)
    assert str(info.value) == (
        "point 3 (start_probability=0.9, shock_scale=2): regions.east_asia.shocks[0]: scaled "
        "start probability 2 x 0.9 = 1.8 per day is above 1"
    )


def test_nothing_runs_and_nothing_is_written_when_a_point_is_bad(tmp_path):
    out = tmp_path / "x.zarr"
    res = CliRunner().invoke(
        main,
        [
            "sweep",
            str(TWO_TIER),
            "--grid",
            "strategies.jic.bufer_days=1,2",
            "-n",
            "10",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 1
    assert (
        "axis bufer_days (every value): strategies.jic.bufer_days: unknown key "
        "(did you mean 'buffer_days'?)" in res.output
    )
    assert not out.exists() and list(tmp_path.iterdir()) == []
    res = CliRunner().invoke(main, ["sweep", str(TWO_TIER), "--grid", "a[0=1", "-o", str(out)])
    assert res.exit_code == 2 and "--grid" in res.output


def test_shock_scale_multiplies_every_supply_disruption_start_probability(base_doc):
    doc = yaml.safe_load(yaml.safe_dump(base_doc))
    doc["nodes"]["plant_eu"]["outage"] = {"failure_probability": 0.01, "mean_outage_days": 3}
    before = load_scenario(doc)
    assert apply_shock_scale(doc, 3.0) == []
    after = load_scenario(doc)
    pairs = [
        (
            before.regions[0].shocks[0].start_probability,
            after.regions[0].shocks[0].start_probability,
        ),
        (before.lane_shocks[0].start_probability, after.lane_shocks[0].start_probability),
        (
            before.node("chip_fab").outage.failure_probability,
            after.node("chip_fab").outage.failure_probability,
        ),
        (
            before.node("plant_eu").outage.failure_probability,
            after.node("plant_eu").outage.failure_probability,
        ),
    ]
    for old, new in pairs:
        assert new == pytest.approx(3 * old)
    # durations, severities and demand surges as written
    assert after.regions[0].shocks[0].end_probability == before.regions[0].shocks[0].end_probability
    assert after.node("chip_fab").outage == type(after.node("chip_fab").outage)(
        **{
            **before.node("chip_fab").outage.__dict__,
            "failure_probability": after.node("chip_fab").outage.failure_probability,
        }
    )
    assert after.demand_surges == before.demand_surges
    assert "mean_days_between" not in doc["regions"]["east_asia"]["shocks"][0]


def test_shock_scale_one_is_the_scenario_as_written(base_doc, spec):
    one = load_sweep(grid=["shock_scale=1,2"])
    assert one.axes[0].params[0].keys == () and one.names == [SHOCK_SCALE]
    doc = one.document(base_doc, 0)
    a, b = load_scenario(doc), load_scenario(base_doc)
    assert a.regions == b.regions and a.nodes == b.nodes and a.lane_shocks == b.lane_shocks


def test_setting_one_rate_form_replaces_the_other(base_doc):
    spec = load_sweep(grid=["regions.east_asia.shocks[0].start_probability=0.01,0.02"])
    doc = spec.document(base_doc, 1)
    shock = doc["regions"]["east_asia"]["shocks"][0]
    assert shock["start_probability"] == 0.02 and "mean_days_between" not in shock
    assert base_doc["regions"]["east_asia"]["shocks"][0]["mean_days_between"] == 120


# ----------------------------------------------------------------------------- results


def test_two_axis_sweep_has_axes_strategy_and_path_dims_with_value_coords(swept):
    ds = open_results(swept)
    assert ds["lost_units"].dims == ("buffer_days", "severity", "strategy", "path")
    assert ds["node_impaired_days"].dims[:4] == ("buffer_days", "severity", "strategy", "path")
    assert ds.sizes["buffer_days"] == 2 and ds.sizes["severity"] == 3
    assert list(ds["buffer_days"].values) == [0, 30]
    assert list(ds["severity"].values) == [5, 40, 90]
    assert list(ds["severity__capacity_fraction"].values) == [0.5, 0.2, 0.0]
    assert list(ds["strategy"].values) == ["jit", "jic", "regionalized"]
    assert list(ds["path"].values) == list(range(PATHS))
    assert ds.attrs["seed"] == SEED and ds.attrs["sweep_points"] == 6
    assert ds["lost_units"].attrs["units"] == "units"
    assert not any(p.name.startswith(".") for p in swept.parent.iterdir()), "parts left behind"


@pytest.mark.parametrize("point", range(6))
def test_every_point_equals_a_direct_run_of_its_scenario_with_the_same_seed(
    swept, spec, base_doc, point
):
    i, j = spec.steps(point)
    got = open_results(swept).isel(buffer_days=i, severity=j)
    direct = resilience.simulate(spec.document(base_doc, point), PATHS, SEED, block_size=333)
    assert_same_data(direct, got)


def test_points_share_the_random_events_and_unchanged_strategies(swept):
    ds = open_results(swept)
    # the buffer is a JIC decision: JIT and regionalized are the same network, same bits
    for s in ("jit", "regionalized"):
        a = ds["total_cost"].sel(strategy=s, buffer_days=0).values
        b = ds["total_cost"].sel(strategy=s, buffer_days=30).values
        assert a.tobytes() == b.tobytes()
    # common random numbers: the chip fab's own outages do not depend on the point
    imp = ds["node_impaired_days"].sel(node="chip_fab_eu").values
    assert (imp == imp[:1, :1, :1]).all()


def test_summary_only_keeps_per_point_risk_figures(tmp_path, swept, spec):
    out = tmp_path / "sum.zarr"
    res = CliRunner().invoke(
        main,
        [
            "sweep",
            str(TWO_TIER),
            *sum((["--grid", g] for g in GRID), []),
            "-n",
            str(PATHS),
            "--seed",
            str(SEED),
            "--block-size",
            str(BLOCK),
            "--summary-only",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "P95 lost units [units]" in res.output and "buffer_days  severity" in res.output
    ds = open_results(out)
    assert "path" not in ds.dims and "lost_units" not in ds
    assert ds["estimate"].dims == ("buffer_days", "severity", "strategy", "column")
    assert ds["daily_fill_rate_mean"].dims == ("buffer_days", "severity", "strategy", "day")
    full = sweep_table(open_results(swept))
    for name in ("estimate", "lower", "upper", "n"):
        np.testing.assert_array_equal(ds[name].values, full[name].transpose(*ds[name].dims).values)
    one = summarize(open_results(swept).isel(buffer_days=1, severity=2))
    np.testing.assert_array_equal(
        ds["estimate"].isel(buffer_days=1, severity=2).values, one["estimate"].values
    )


def test_sweep_shards_merge_bit_identical_to_the_whole_sweep(tmp_path, swept, spec):
    plan = plan_sweep(TWO_TIER, spec, PATHS, SEED, block_size=BLOCK)
    shards = [tmp_path / f"part{i}.zarr" for i in range(3)]
    for i, path in enumerate(shards):
        run_sweep(plan, path, shard=f"{i}/3", progress=False)
    one = open_results(shards[2])
    assert one["lost_units"].dims == ("point", "strategy", "path")
    assert list(one["point"].values) == [4, 5] and one.attrs["shard"] == "2/3"
    assert list(one["buffer_days"].values) == [30, 30]
    merged = tmp_path / "merged.zarr"
    merge_shards(list(reversed(shards)), merged)
    assert_same_data(open_results(swept), open_results(merged))
    with pytest.raises(resilience.ResultsError, match="missing shard 1/3"):
        merge_shards(shards[:1] + shards[2:], tmp_path / "no.zarr")
    with pytest.raises(SweepError, match="cannot split 6 points into 7 shards"):
        run_sweep(plan, tmp_path / "x.zarr", shard="6/7", progress=False)


def test_dry_run_lists_the_grid_and_simulates_nothing(tmp_path):
    out = tmp_path / "x.zarr"
    res = CliRunner().invoke(
        main,
        ["sweep", str(TWO_TIER), *sum((["-g", g] for g in GRID), []), "--dry-run", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "buffer_days (2) x severity (3) = 6 points x 3 strategies" in res.output
    assert "12 distinct networks" in res.output
    assert not out.exists()


def test_parts_of_another_sweep_are_refused_unless_overwrite(tmp_path):
    out = tmp_path / "s.zarr"
    parts = tmp_path / ".s.zarr.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text('{"seed": 1}')
    spec = load_sweep(grid=["strategies.jic.stock[0].buffer_days=0,30"])
    plan = plan_sweep(TWO_TIER, spec, 50, 3)
    with pytest.raises(SweepError, match="holds the finished parts of a different sweep"):
        run_sweep(plan, out, progress=False)
    run_sweep(plan, out, overwrite=True, progress=False)
    assert out.exists() and not parts.exists()


def _sweep_command(out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("resilience")
    grid = ["strategies.jic.stock[0].buffer_days=0,10,20,30,40,50", "shock_scale=0.5,1"]
    return [
        str(exe),
        "sweep",
        str(TWO_TIER),
        *sum((["-g", g] for g in grid), []),
        "-n",
        "2400",
        "--seed",
        "4",
        "--block-size",
        "400",
        "--threads",
        "1",
        "-o",
        str(out),
    ]


@pytest.mark.slow
def test_a_killed_sweep_resumes_where_it_stopped_and_equals_an_uninterrupted_one(tmp_path):
    out = tmp_path / "resumed.zarr"
    parts = tmp_path / ".resumed.zarr.parts"
    proc = subprocess.Popen(
        _sweep_command(out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("job-*"))) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    done = list(parts.glob("job-*"))
    assert 3 <= len(done) < 16 and not out.exists()
    res = subprocess.run(_sweep_command(out), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # the first point's three jobs were done before the kill: it is not simulated again
    assert re.search(r"resuming: [1-9]\d* of 12 points already done", res.stderr), res.stderr
    assert not parts.exists()
    spec = load_sweep(
        grid=["strategies.jic.stock[0].buffer_days=0,10,20,30,40,50", "shock_scale=0.5,1"]
    )
    whole = tmp_path / "whole.zarr"
    run_sweep(plan_sweep(TWO_TIER, spec, 2400, 4, block_size=400), whole, progress=False)
    assert_same_data(open_results(whole), open_results(out))


def test_sweep_report_draws_every_figure(tmp_path, swept):
    from resilience.report.sweep import environment_axes, write_sweep_report

    ds = open_results(swept)
    assert environment_axes(load_sweep(grid=GRID)) == ["severity"]
    page = write_sweep_report(ds, tmp_path / "rep")
    names = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert names == sorted(
        [
            "sweep_cost_mean_vs_buffer_days.png",
            "sweep_cost_mean_vs_severity.png",
            "sweep_frontier.png",
            "sweep_lost_units_p95_vs_buffer_days.png",
            "sweep_lost_units_p95_vs_severity.png",
            "sweep_report.html",
        ]
    )
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 5 and "<script" not in text
    assert not math.isnan(float(sweep_table(ds)["estimate"].sel(column="lost_units P95").max()))
    with pytest.raises(resilience.ResultsError, match="not a sweep result"):
        write_sweep_report(resilience.simulate(TWO_TIER, 10, 1), tmp_path / "no")


def test_sweep_result_opens_as_a_dataset(swept):
    ds = xr.open_zarr(swept)
    assert "sweep_json" in ds.attrs


def test_a_billion_laughs_sweep_file_is_refused_quickly(tmp_path):
    """Nine levels of nine aliases would expand to 9**9 values; refused before expanding."""
    lines = ['a0: &a0 ["x"]']
    for k in range(1, 10):
        refs = ", ".join([f"*a{k - 1}"] * 9)
        lines.append(f"a{k}: &a{k} [{refs}]")
    lines.append("axes: {buffer: {path: strategies.jic.buffer_days, values: *a9}}")
    bad = tmp_path / "laughs.yaml"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(SweepError, match=r"aliases \(\*name\) expand to 10,000,000 values"):
        load_sweep(bad)


def test_a_deeply_nested_sweep_file_is_refused(tmp_path):
    bad = tmp_path / "deep.yaml"
    bad.write_text("axes: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SweepError, match="nested too deeply"):
        load_sweep(bad)


def test_a_sweep_may_not_change_a_nodes_region():
    """The node coordinates (kind, region) are the network's shape: a point that moves a
    node to another region is refused by name, instead of leaving a stale coordinate."""
    spec = load_sweep(grid=["nodes.chip_fab.region=east_asia,europe"])
    with pytest.raises(SweepError, match="changes the region of node 'chip_fab' "):
        plan_sweep(TWO_TIER, spec, 32, 1)


# ----------------------------------------------------------------------------- the OUT lock, parts


def test_a_running_sweep_holds_the_out_lock_so_another_writer_is_refused_at_once(
    tmp_path, spec, monkeypatch
):
    from resilience.sweeps import run as sweep_run

    out = tmp_path / "locked.zarr"
    probe = (
        "import sys; from resilience.results.store import check_output\n"
        "try:\n    check_output(sys.argv[1])\n"
        "except Exception as exc:\n    print(exc)\n"
    )
    seen = []
    real = sweep_run._simulate

    def simulate(*args, **kwargs):
        # another process, while this sweep simulates (before anything is written to out)
        proc = subprocess.run(
            [sys.executable, "-c", probe, str(out)], capture_output=True, text=True, timeout=120
        )
        seen.append(proc.stdout + proc.stderr)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_run, "_simulate", simulate)
    run_sweep(plan_sweep(TWO_TIER, spec, 100, SEED, block_size=BLOCK), out, progress=False)
    assert seen == [
        f"another resilience process is writing {out} (pid {os.getpid()}); "
        "wait for it or choose another --out\n"
    ]
    assert out.exists() and not (tmp_path / ".locked.zarr.lock").exists()


def _sweep_leaving_its_parts(monkeypatch, plan, out) -> Path:
    """Run the sweep ``plan`` to ``out`` as one killed just after moving ``out`` into place
    (before removing its parts); return the parts folder."""
    from resilience.sweeps.parts import PartStore

    with monkeypatch.context() as patch:
        patch.setattr(PartStore, "remove", lambda self: None)
        run_sweep(plan, out, progress=False)
    parts = out.parent / f".{out.name}.parts"
    assert out.exists() and parts.is_dir() and list(parts.glob("job-*"))
    return parts


def test_parts_left_beside_a_finished_sweep_are_removed_by_its_rerun(tmp_path, monkeypatch, caplog):
    spec = load_sweep(grid=["strategies.jic.stock[0].buffer_days=0,30"])
    plan = plan_sweep(TWO_TIER, spec, 60, 3, block_size=BLOCK)
    out = tmp_path / "s.zarr"
    parts = _sweep_leaving_its_parts(monkeypatch, plan, out)
    caplog.set_level("INFO", logger="resilience")
    with pytest.raises(resilience.ResultsError, match="already exists"):
        run_sweep(plan, out, progress=False)
    assert not parts.exists(), "the finished sweep's parts must go"
    assert "finished parts of the sweep that wrote" in caplog.text
    assert open_results(out).attrs["sweep_points"] == 2


def test_parts_beside_a_finished_sweep_stay_when_not_provably_its_leftovers(tmp_path, monkeypatch):
    import fcntl

    spec = load_sweep(grid=["strategies.jic.stock[0].buffer_days=0,30"])
    plan = plan_sweep(TWO_TIER, spec, 60, 3, block_size=BLOCK)
    out = tmp_path / "s.zarr"
    parts = _sweep_leaving_its_parts(monkeypatch, plan, out)
    # another sweep's rerun (another seed) leaves them alone
    other = plan_sweep(TWO_TIER, spec, 60, 4, block_size=BLOCK)
    with pytest.raises(resilience.ResultsError, match="already exists"):
        run_sweep(other, out, progress=False)
    assert parts.is_dir()
    # so does a rerun while something holds the parts' lock
    with open(parts / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(resilience.ResultsError, match="already exists"):
            run_sweep(plan, out, progress=False)
        assert parts.is_dir()
    # and so does one when out is not a whole result (a chunk missing)
    next((out / "lost_units").glob("0.*")).unlink()
    with pytest.raises(resilience.ResultsError, match="already exists"):
        run_sweep(plan, out, progress=False)
    assert parts.is_dir()


@pytest.mark.parametrize("damage", ["path_out.npy", "node_out.npy", "daily.npz"])
def test_a_truncated_part_is_named_discarded_and_simulated_again(
    tmp_path, swept, spec, monkeypatch, caplog, damage
):
    from resilience.sweeps import run as sweep_run

    plan = plan_sweep(TWO_TIER, spec, PATHS, SEED, block_size=BLOCK)
    out = tmp_path / "resumed.zarr"

    def no_write(*args, **kwargs):
        raise OSError("interrupted")

    with monkeypatch.context() as patch:  # every job done, then the write fails
        patch.setattr(sweep_run, "write_dataset", no_write)
        with pytest.raises(OSError, match="interrupted"):
            run_sweep(plan, out, progress=False)
    parts = tmp_path / ".resumed.zarr.parts"
    victim = sorted(parts.glob("job-*"))[1]
    data = (victim / damage).read_bytes()
    (victim / damage).write_bytes(data[: len(data) // 2])
    caplog.set_level("INFO", logger="resilience")
    run_sweep(plan, out, progress=False)
    assert f"discarding the finished part {victim.name} ({damage} cannot be read" in caplog.text
    assert re.search(r"resuming: [1-5] of 6 points already done", caplog.text), caplog.text
    assert not parts.exists()
    assert_same_data(open_results(swept), open_results(out))
