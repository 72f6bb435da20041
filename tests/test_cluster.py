"""Distributed runs: a local process cluster equals threads, a killed worker costs only its
tasks, dask-jobqueue job scripts from the cluster config, and a real single-node SLURM
running an array job of shards and a SLURMCluster sweep."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from resilience.api import plan_sweep, run_to_file
from resilience.api import sweep as run_sweep
from resilience.engine import Execution, Executor, make_executor
from resilience.engine.distributed import (
    DistributedExecutor,
    check_cluster_config,
    load_cluster_config,
    make_cluster,
)
from resilience.errors import ClusterError
from resilience.merge import merge_shards
from resilience.results import open_results
from resilience.sweeps.spec import load_sweep
from tests import slurm as slurm_helper
from tests.batch_helpers import BLOCK, GRID, PATHS, SEED, assert_same_data

REPO = Path(__file__).resolve().parent.parent
TWO_TIER = REPO / "src" / "resilience" / "examples" / "two-tier.yaml"
RESILIENCE = Path(sys.executable).with_name("resilience")

# Shutting a cluster down while tasks or heartbeats are in flight makes distributed warn
# about closed comms; that is the subject of these tests, not a failure.
distributed_shutdown = pytest.mark.filterwarnings(
    "ignore:.*(closed|Closing|comm|Stream|heartbeat|restart).*:RuntimeWarning",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)


@pytest.fixture(scope="module")
def plan():
    return plan_sweep(TWO_TIER, load_sweep(grid=GRID), PATHS, SEED, block_size=BLOCK)


@pytest.fixture(scope="module")
def threaded(tmp_path_factory, plan):
    out = tmp_path_factory.mktemp("threads") / "sweep.zarr"
    run_sweep(plan, out, progress=False)
    return open_results(out)


# ----------------------------------------------------------------------------- config


def test_cluster_config_is_checked_key_by_key(tmp_path):
    assert check_cluster_config("slurm", {"queue": "q", "cores": 4, "jobs": 3}) == {
        "queue": "q",
        "cores": 4,
        "jobs": 3,
    }
    with pytest.raises(ClusterError, match=r"memroy: unknown option \(did you mean 'memory'\?\)"):
        check_cluster_config("slurm", {"memroy": "4GB"})
    with pytest.raises(ClusterError, match=r"cores: must be an integer >= 1, got '4'"):
        check_cluster_config("pbs", {"cores": "4"})
    with pytest.raises(ClusterError, match=r"resource_spec: only for --cluster pbs"):
        check_cluster_config("slurm", {"resource_spec": "select=1"})
    with pytest.raises(ClusterError, match="unknown cluster kind 'lsf'"):
        check_cluster_config("lsf", {})
    f = tmp_path / "c.yaml"
    f.write_text("queue: [unclosed\n")
    with pytest.raises(ClusterError, match="YAML syntax error"):
        load_cluster_config("slurm", f)
    with pytest.raises(ClusterError, match="cannot read cluster config"):
        load_cluster_config("slurm", tmp_path / "missing.yaml")


def test_executor_choices_are_exclusive():
    with pytest.raises(ValueError, match="not scheduler and cluster"):
        make_executor(Execution(scheduler="tcp://x:1", cluster="slurm"))
    with pytest.raises(ValueError, match="needs a cluster kind"):
        make_executor(Execution(cluster_config="c.yaml"))


JOB_CONFIG = {
    "queue": "long",
    "account": "supplychain",
    "cores": 4,
    "memory": "8GB",
    "processes": 2,
    "walltime": "02:00:00",
    "job_name": "resilience",
    "job_extra_directives": ["--qos=high"],
    "job_script_prologue": ["source /opt/venv/bin/activate"],
    "interface": "lo",
    "dashboard_address": ":0",
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "kind, expected",
    [
        (
            "slurm",
            [
                "#SBATCH -J resilience",
                "#SBATCH -p long",
                "#SBATCH -A supplychain",
                "#SBATCH -n 1",
                "#SBATCH --cpus-per-task=4",
                "#SBATCH --mem=",
                "#SBATCH -t 02:00:00",
                "#SBATCH --qos=high",
            ],
        ),
        (
            "pbs",
            [
                "#PBS -N resilience",
                "#PBS -q long",
                "#PBS -A supplychain",
                "#PBS -l select=1:ncpus=4:mem=",
                "#PBS -l walltime=02:00:00",
                "#PBS --qos=high",
            ],
        ),
    ],
)
def test_job_scripts_are_generated_from_the_config(kind, expected):
    cluster = make_cluster(kind, JOB_CONFIG)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in expected:
        assert line in script, f"{line!r} not in\n{script}"
    assert "source /opt/venv/bin/activate" in script
    for part in ("--nworkers 2", "--nthreads 2", "--interface lo"):
        assert part in script
    assert sys.executable in script


# ----------------------------------------------------------------------------- local cluster


@pytest.mark.slow
@distributed_shutdown
def test_sweep_on_a_local_cluster_of_two_processes_equals_threads(tmp_path, plan, threaded):
    out = tmp_path / "dist.zarr"
    run_sweep(plan, out, workers=2, progress=False)
    assert_same_data(threaded, open_results(out))


class KillOneWorker(Executor):
    """Passes results through; after the first, SIGKILLs one worker process (from a thread)
    and waits until it is dead before asking for more."""

    def __init__(self, inner: DistributedExecutor):
        self.inner = inner
        self.killed: int | None = None
        self.after_kill = 0

    def _kill(self) -> None:
        pids = self.inner.client.run(os.getpid)
        self.killed = sorted(pids.values())[0]
        os.kill(self.killed, signal.SIGKILL)

    def run(self, networks, seed, tasks):
        for n, item in enumerate(self.inner.run(networks, seed, tasks)):
            if n == 0:
                killer = threading.Thread(target=self._kill)
                killer.start()
                killer.join()
            elif self.killed is not None:
                self.after_kill += 1
            yield item


@pytest.mark.slow
@distributed_shutdown
def test_a_worker_killed_mid_run_costs_only_its_tasks(tmp_path, plan, threaded):
    inner = DistributedExecutor.local(2)
    executor = KillOneWorker(inner)
    out = tmp_path / "killed.zarr"
    try:
        run_sweep(plan, out, executor=executor, progress=False)
        alive = set(inner.client.run(os.getpid).values())
    finally:
        inner.close()
    assert executor.killed is not None and executor.killed not in alive
    total = sum(len(plan.jobs[u].tasks) for u in range(len(plan.jobs)))
    assert executor.after_kill == total - 1
    assert_same_data(threaded, open_results(out))


# ----------------------------------------------------------------------------- real SLURM


@pytest.fixture(scope="session")
def slurm():
    """A one-node SLURM started for this session (see tests/slurm.py); always stopped.

    Its folder is not under pytest's (mode 0700) tmp root: munged needs every directory
    above its socket to be searchable by all."""
    root = Path(tempfile.mkdtemp(prefix="resilience-slurm-"))
    try:
        try:
            cluster = slurm_helper.start(root)
        except slurm_helper.Unavailable as exc:
            pytest.skip(f"no SLURM here: {exc}")
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_slurm_array_job_of_shards_merges_to_the_single_machine_result(slurm, tmp_path):
    work = tmp_path / "array"
    work.mkdir()
    script = work / "shards.sbatch"
    script.write_text(
        "#!/bin/bash\n"
        "#SBATCH --job-name=resilience-shards\n"
        "#SBATCH --array=0-2\n"
        "#SBATCH --cpus-per-task=1\n"
        f"#SBATCH --output={work}/shard-%a.log\n"
        f"{RESILIENCE} run {TWO_TIER} --paths 900 --seed 5 --threads 1 -q \\\n"
        f"    --shard $SLURM_ARRAY_TASK_ID/3 --out {work}/shard-$SLURM_ARRAY_TASK_ID.zarr\n"
    )
    res = slurm.run("sbatch", "--parsable", f"--chdir={work}", str(script))
    assert res.returncode == 0, res.stderr
    job = res.stdout.strip().split(";")[0]
    # poll (sbatch --wait backs off to many seconds between checks)
    deadline = time.monotonic() + 240
    while slurm.run("squeue", "-h", "-j", job).stdout.strip():
        assert time.monotonic() < deadline, "the array job did not finish in 240 s"
        time.sleep(0.2)
    logs = "\n".join(p.read_text() for p in sorted(work.glob("shard-*.log")))
    shards = sorted(work.glob("shard-*.zarr"))
    assert [p.name for p in shards] == ["shard-0.zarr", "shard-1.zarr", "shard-2.zarr"], logs
    merged = tmp_path / "merged.zarr"
    merge_shards(shards, merged)
    whole = tmp_path / "whole.zarr"
    run_to_file(TWO_TIER, whole, 900, 5, progress=False)
    assert_same_data(open_results(whole), open_results(merged))


@pytest.mark.slow
def test_slurm_cluster_sweep_through_dask_jobqueue_equals_threads(slurm, tmp_path, threaded):
    config = tmp_path / "cluster.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cores": 1,
                "memory": "1GB",
                "processes": 1,
                "walltime": "00:05:00",
                "jobs": 2,
                "interface": "lo",
                "dashboard_address": ":0",
                "log_directory": str(tmp_path / "logs"),
                "start_timeout": 120,
            }
        )
    )
    out = tmp_path / "slurm.zarr"
    cmd = [
        str(RESILIENCE),
        "sweep",
        str(TWO_TIER),
        *sum((["-g", g] for g in GRID), []),
        "-n",
        str(PATHS),
        "--seed",
        str(SEED),
        "--block-size",
        str(BLOCK),
        "--cluster",
        "slurm",
        "--cluster-config",
        str(config),
        "-o",
        str(out),
    ]
    res = subprocess.run(cmd, env=slurm.env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "SLURM" in res.stderr
    assert_same_data(threaded, open_results(out))
    # the jobs were cancelled when the sweep closed its cluster
    deadline = time.monotonic() + 20
    while slurm.run("squeue", "-h").stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not slurm.run("squeue", "-h").stdout.strip()
