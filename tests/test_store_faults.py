"""Faults around stored results: concurrent writers, kills, half-done replaces, missing or
corrupt chunks, --overwrite on what is not a result, dangling links, a full disk."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

import resilience
from resilience.api import run_to_file
from resilience.errors import ResultsError
from resilience.merge import merge_shards
from resilience.results import open_results, sinks, store, write_dataset
from resilience.results.store import check_output

PATHS = ["--paths", "2000", "--block-size", "256"]

#: ``resilience`` with an optional hold at one point of the write, chosen by GATE_MODE:
#: close (before the Zarr sink finishes), rename-old (just after the existing result was
#: moved aside by a replace), rmtree-old (while deleting that old result, half done).
#: It touches GATE_READY when it gets there and waits until GATE_RELEASE exists.
GATED_MAIN = r"""
import os, shutil, time

mode = os.environ.get("GATE_MODE", "none")
ready, release = os.environ.get("GATE_READY", ""), os.environ.get("GATE_RELEASE", "")


def hold():
    open(ready, "w").close()
    while not os.path.exists(release):
        time.sleep(0.05)


if mode == "close":
    from resilience.results import sinks

    original = sinks.ZarrSink.close

    def close(self):
        hold()
        original(self)

    sinks.ZarrSink.close = close
elif mode == "rename-old":
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        real_rename(src, dst, *args, **kwargs)
        if ".old-" in str(dst):
            hold()

    os.rename = rename
elif mode == "rmtree-old":
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if ".old-" in str(path):
            for root, _, files in os.walk(path):
                for name in files[: len(files) // 2]:
                    os.unlink(os.path.join(root, name))
            hold()
        return real_rmtree(path, *args, **kwargs)

    shutil.rmtree = rmtree

from resilience.cli import main

main()
"""


def _command(scenario, *args):
    return [sys.executable, "-c", GATED_MAIN, "run", str(scenario), *PATHS, *map(str, args), "-q"]


def _env(tmp_path, mode):
    return dict(
        os.environ,
        GATE_MODE=mode,
        GATE_READY=str(tmp_path / "gate-ready"),
        GATE_RELEASE=str(tmp_path / "gate-release"),
    )


def start(tmp_path, scenario, *args, mode="none"):
    return subprocess.Popen(
        _command(scenario, *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, mode),
    )


def run_now(tmp_path, scenario, *args):
    return subprocess.run(
        _command(scenario, *args),
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path, "none"),
    )


def wait_at_gate(tmp_path, proc):
    deadline = time.monotonic() + 240
    while not (tmp_path / "gate-ready").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the run never reached the gate"
        time.sleep(0.05)


def kill_at_gate(tmp_path, proc):
    wait_at_gate(tmp_path, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()


def beside(out: Path) -> list[str]:
    """Everything in the folder of ``out`` except ``out`` itself."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def seed_of(out: Path) -> int:
    return int(open_results(out).attrs["seed"])


@pytest.fixture
def outdir(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    return d


# ------------------------------------------------------------------ 1. concurrent writers


@pytest.mark.slow
def test_second_writer_to_the_same_out_is_refused(tmp_path, outdir, two_tier_path):
    shards = [outdir.parent / f"shard-{i}.zarr" for i in range(2)]
    for i, shard in enumerate(shards):
        run_to_file(two_tier_path, shard, 200, seed=3, shard=f"{i}/2", progress=False)
    out = outdir / "same.zarr"
    first = start(tmp_path, two_tier_path, "--seed", 1, "--out", out, mode="close")
    try:
        wait_at_gate(tmp_path, first)
        second = run_now(tmp_path, two_tier_path, "--seed", 2, "--out", out)
        assert second.returncode == 1, second.stderr
        assert (
            f"another resilience process is writing {out} (pid {first.pid}); "
            "wait for it or choose another --out" in second.stderr
        ), second.stderr
        assert "Traceback" not in second.stderr
        with pytest.raises(ResultsError, match="another resilience process is writing"):
            merge_shards(shards, out)
        with pytest.raises(ResultsError, match="another resilience process is writing"):
            write_dataset(resilience.simulate(two_tier_path, paths=50, seed=4), out)
    finally:
        (tmp_path / "gate-release").touch()
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read()
    first.stderr.close()
    assert seed_of(out) == 1, "the first run's result must be the one at --out"
    assert beside(out) == []


def test_result_appearing_at_out_during_the_run_is_not_replaced(
    tmp_path, outdir, two_tier_path, monkeypatch
):
    other = tmp_path / "other.zarr"
    run_to_file(two_tier_path, other, 100, seed=9, progress=False)
    out = outdir / "run.zarr"
    original = sinks.ZarrSink.close

    def close(self):
        shutil.copytree(other, out)  # another program puts a result there meanwhile
        original(self)

    monkeypatch.setattr(sinks.ZarrSink, "close", close)
    with pytest.raises(ResultsError, match=r"run\.zarr appeared while this result was written"):
        run_to_file(two_tier_path, out, 100, seed=1, progress=False)
    assert seed_of(out) == 9
    assert beside(out) == []


# ------------------------------------------------------------------ 2. leftovers of kills


@pytest.mark.slow
def test_killed_run_leftovers_are_cleaned_by_the_next_run(tmp_path, outdir, two_tier_path):
    out = outdir / "run.zarr"
    proc = start(tmp_path, two_tier_path, "--out", out, mode="close")
    kill_at_gate(tmp_path, proc)
    assert not out.exists()
    assert any(n.startswith(".run.zarr.partial-") for n in beside(out)), beside(out)
    run_to_file(two_tier_path, out, 100, seed=1, progress=False)
    assert seed_of(out) == 1
    assert beside(out) == [], "the next run must remove the dead run's temporaries"


@pytest.mark.slow
def test_half_deleted_old_result_of_a_killed_overwrite_is_cleaned(tmp_path, outdir, two_tier_path):
    out = outdir / "run.zarr"
    run_to_file(two_tier_path, out, 100, seed=1, progress=False)
    proc = start(
        tmp_path, two_tier_path, "--seed", 2, "--out", out, "--overwrite", mode="rmtree-old"
    )
    kill_at_gate(tmp_path, proc)
    assert seed_of(out) == 2
    assert any(n.startswith(".run.zarr.old-") for n in beside(out)), beside(out)
    # even a run refused because the result exists removes what the dead one left
    with pytest.raises(ResultsError, match="already exists"):
        run_to_file(two_tier_path, out, 100, seed=3, progress=False)
    assert seed_of(out) == 2
    assert beside(out) == []


# ------------------------------------------------------------------ 3. kill mid-replace


@pytest.mark.slow
@pytest.mark.parametrize("partial_lost", [False, True], ids=["finishes", "restores"])
def test_kill_between_the_renames_of_a_replace_is_recovered(
    tmp_path, outdir, two_tier_path, partial_lost
):
    out = outdir / "run.zarr"
    run_to_file(two_tier_path, out, 100, seed=1, progress=False)
    proc = start(
        tmp_path, two_tier_path, "--seed", 2, "--out", out, "--overwrite", mode="rename-old"
    )
    kill_at_gate(tmp_path, proc)
    assert not out.exists(), "the gate holds the replace between its two renames"
    if partial_lost:
        # without the finished new result, the old one is put back
        for partial in outdir.glob(".run.zarr.partial-*"):
            shutil.rmtree(partial)
        with pytest.raises(ResultsError, match="already exists"):
            run_to_file(two_tier_path, out, 100, seed=3, progress=False)
        assert seed_of(out) == 1
    else:
        # the new result was complete: opening the result finishes the replace
        assert seed_of(out) == 2
    assert beside(out) == []


# ------------------------------------------------------------------ 4. missing / corrupt chunks


def test_missing_chunk_is_refused_by_name(tmp_path, two_tier_path):
    out = tmp_path / "run.zarr"
    run_to_file(two_tier_path, out, 1000, seed=1, block_size=256, progress=False)
    (out / "lost_units" / "0.3").unlink()
    with pytest.raises(
        ResultsError,
        match=r"run\.zarr: incomplete result: variable lost_units is missing chunk 0\.3; "
        r"rerun or restore it",
    ):
        open_results(out)


def test_every_chunk_is_written_even_when_all_fill_value(tmp_path, two_tier_path):
    # NaN-only chunks (no disruption in a block, say) must be stored, or the check above
    # could not tell them from lost ones
    ds = resilience.simulate(two_tier_path, paths=40, seed=1).copy()
    ds["first_disruption_day"] = ds["first_disruption_day"] * float("nan")
    out = write_dataset(ds, tmp_path / "nan.zarr")
    assert sorted(os.listdir(out / "first_disruption_day")) == [".zarray", ".zattrs", "0.0"]
    back = open_results(out)
    assert back["first_disruption_day"].isnull().all()
    assert (back["total_cost"].values == ds["total_cost"].values).all()


def test_corrupt_chunk_of_a_shard_is_named_by_merge(tmp_path, two_tier_path):
    shards = [tmp_path / f"s{i}.zarr" for i in range(2)]
    for i, shard in enumerate(shards):
        run_to_file(
            two_tier_path, shard, 600, seed=4, block_size=128, shard=f"{i}/2", progress=False
        )
    chunk = shards[1] / "total_cost" / "0.1"
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ResultsError, match=r"s1\.zarr: corrupt result: variable total_cost chunk 0\.1"
    ):
        merge_shards(shards, tmp_path / "m.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0.zarr", "s1.zarr"]


# ------------------------------------------------------------------ 5. --overwrite


@pytest.mark.parametrize("kind", ["folder.zarr", "file.nc", "foreign.zarr"])
def test_overwrite_refuses_what_is_not_a_result(tmp_path, two_tier_path, kind):
    out = tmp_path / kind
    if kind == "folder.zarr":
        out.mkdir()
        (out / "thesis.tex").write_text("keep me")
    elif kind == "file.nc":
        out.write_text("keep me")
    else:
        xr.Dataset({"x": ("a", [1.0, 2.0])}).to_zarr(out, zarr_format=2, consolidated=True)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.is_dir() else None
    with pytest.raises(
        ResultsError, match=rf"{kind} is not a resilience result; refusing to replace it"
    ):
        run_to_file(two_tier_path, out, 50, overwrite=True, progress=False)
    if out.is_dir():
        assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    else:
        assert out.read_text() == "keep me"
    assert beside(out) == []


# ------------------------------------------------------------------ 6. dangling symlink


@pytest.mark.parametrize("name", ["link.zarr", "link.nc"])
def test_dangling_symlink_out_is_refused_up_front(tmp_path, two_tier_path, name, monkeypatch):
    out = tmp_path / name
    out.symlink_to(tmp_path / "gone" / name)
    for overwrite in (False, True):
        with pytest.raises(ResultsError, match="symbolic link to .*gone.*, which does not exist"):
            check_output(out, overwrite)

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated before refusing the output")

    monkeypatch.setattr("resilience.api.run_prepared", no_simulation)
    with pytest.raises(ResultsError, match="symbolic link"):
        run_to_file(two_tier_path, out, 50, progress=False)
    assert out.is_symlink()


# ------------------------------------------------------------------ 7. full disk


@pytest.fixture
def tiny_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_full_disk_ends_in_one_clean_error_and_leaves_nothing(
    tmp_path, tiny_disk, two_tier_path, suffix
):
    out = tiny_disk / f"x{suffix}"
    proc = run_now(tmp_path, two_tier_path, "--out", out)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])
    assert proc.stderr.startswith("Error: ") and "space" in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Segmentation" not in proc.stderr
    assert os.listdir(tiny_disk) == []


def test_enospc_in_the_middle_of_a_netcdf_write_raises_cleanly(
    tmp_path, two_tier_path, monkeypatch
):
    out = tmp_path / "x.nc"
    run_to_file(two_tier_path, out, 100, seed=1, progress=False)
    real = store._pwrite
    written = [0]

    def pwrite(fd, data, offset):
        if written[0] > 20_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, data, offset)
        written[0] += n
        return n

    monkeypatch.setattr(store, "_pwrite", pwrite)
    with pytest.raises(ResultsError, match=r"x\.nc: no space left on the device"):
        run_to_file(two_tier_path, out, 300, seed=2, overwrite=True, progress=False)
    assert written[0] > 20_000, "the write must have failed in the middle"
    monkeypatch.undo()
    assert seed_of(out) == 1
    assert beside(out) == []
