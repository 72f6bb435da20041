"""`resilience run` end to end: table, dataset, errors, and safety of the output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import resilience
from resilience.cli import main

EXE = Path(sys.executable).with_name("resilience")


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_run_prints_the_table_and_writes_a_reopenable_dataset(tmp_path, two_tier_path):
    out = tmp_path / "run.zarr"
    result = run_cli("run", two_tier_path, "--paths", 300, "--seed", 5, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    for word in (
        "jit",
        "jic",
        "regionalized",
        "fill_rate",
        "lost_units",
        "total_cost",
        "CVaR95",
        "stockout_days",
        "P95",
        "paths",
        "300",
    ):
        assert word in result.output
    assert f"Result written to {out}" in result.output
    ds = resilience.open_results(out)
    assert ds.lost_units.chunks is not None, "open_results must be lazy (dask-backed)"
    direct = resilience.simulate(two_tier_path, paths=300, seed=5)
    for name in direct.data_vars:
        np.testing.assert_array_equal(ds[name].values, direct[name].values, err_msg=name)


def test_run_writes_netcdf_too(tmp_path, two_tier_path):
    out = tmp_path / "run.nc"
    result = run_cli("run", two_tier_path, "-n", 100, "--out", out, "-s", "jit", "-q")
    assert result.exit_code == 0, result.output
    ds = resilience.open_results(out)
    assert list(ds.strategy.values) == ["jit"]
    direct = resilience.simulate(two_tier_path, paths=100, seed=0, strategies=["jit"])
    np.testing.assert_array_equal(ds.total_cost.values, direct.total_cost.values)


def test_existing_output_is_refused_without_overwrite(tmp_path, two_tier_path):
    out = tmp_path / "run.zarr"
    assert run_cli("run", two_tier_path, "-n", 50, "--out", out, "-q").exit_code == 0
    before = resilience.open_results(out).lost_units.values
    result = CliRunner().invoke(
        main, ["run", str(two_tier_path), "-n", "50", "--seed", "9", "--out", str(out), "-q"]
    )
    assert result.exit_code == 1
    assert "already exists; pass --overwrite" in result.output
    np.testing.assert_array_equal(resilience.open_results(out).lost_units.values, before)
    result = run_cli("run", two_tier_path, "-n", 50, "--seed", 9, "--out", out, "-q", "--overwrite")
    assert result.exit_code == 0
    assert not np.array_equal(resilience.open_results(out).lost_units.values, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr"], "no temporary left"


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "file not found"),
        ("name: x\n\tnodes: 1\n", ":2:"),
        ("name: x\nhorizon_days: -3\nnodes: {}\nlanes: []\n", "horizon_days"),
    ],
    ids=["missing-file", "yaml-syntax", "schema"],
)
def test_bad_input_is_one_line_and_nonzero_exit(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    proc = subprocess.run([EXE, "run", path, "-n", "10", "-q"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("Error: ") and expected in proc.stderr, proc.stderr


def test_bad_option_values_exit_2(two_tier_path):
    result = CliRunner().invoke(main, ["run", str(two_tier_path), "--paths", "0"])
    assert result.exit_code == 2 and "--paths" in result.output
    result = CliRunner().invoke(main, ["run", str(two_tier_path), "-n", "5", "-s", "lean", "-q"])
    assert result.exit_code == 1 and "unknown strategy 'lean'" in result.output
    result = CliRunner().invoke(
        main, ["run", str(two_tier_path), "-n", "5", "-q", "--out", "x.csv"]
    )
    assert result.exit_code == 1 and "unknown result format" in result.output


def test_version():
    result = run_cli("--version")
    assert result.exit_code == 0 and resilience.__version__ in result.output


def test_real_subprocess_run(tmp_path, two_tier_path):
    out = tmp_path / "cli.zarr"
    proc = subprocess.run(
        [EXE, "run", two_tier_path, "-n", "200", "--out", out, "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "regionalized" in proc.stdout and out.exists()
    assert proc.stderr == "", "--quiet prints nothing on stderr"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_leaves_no_result_and_keeps_the_old_one(tmp_path, two_tier_path, sig):
    out = tmp_path / "run.zarr"
    assert run_cli("run", two_tier_path, "-n", 50, "--out", out, "-q").exit_code == 0
    before = resilience.open_results(out).lost_units.values
    proc = subprocess.Popen(
        [
            EXE,
            "run",
            two_tier_path,
            "-n",
            "2000000",
            "--block-size",
            "2000",
            "--out",
            out,
            "--overwrite",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".run.zarr.partial") for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "run never started writing"
        time.sleep(0.05)
    time.sleep(1.0)  # let it write a few blocks
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    np.testing.assert_array_equal(resilience.open_results(out).lost_units.values, before)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "run.zarr"]
    if sig == signal.SIGTERM:
        assert leftovers == [], "SIGTERM must clean up the temporary output"
        assert "Traceback" not in proc.stderr.read()
