"""Blocks on a dask.distributed cluster: an existing scheduler, a local process cluster,
or job-queue workers (SLURM, PBS) through dask-jobqueue, configured by a small YAML file.

Imported only when one of them is asked for (``execution.make_executor``): distributed and
dask-jobqueue are heavy, and a threads-only run never needs them.


``resilience run|sweep --cluster slurm --cluster-config cluster.yaml`` starts a Dask
scheduler in the command's process, submits ``jobs`` batch jobs that each start Dask
workers, runs every block of paths as a task on them (a lost worker costs only its
tasks: they are retried elsewhere), and cancels the jobs at the end. The config keys are
dask-jobqueue's own, checked here so a typo is an error, not a silently ignored option::

    queue: normal            # partition (SLURM) / queue (PBS)
    account: supplychain     # -A
    cores: 8                 # cores per job
    memory: 16GB             # memory per job
    processes: 2             # worker processes per job (threads = cores / processes)
    walltime: "02:00:00"
    jobs: 10                 # number of batch jobs to start
    interface: ib0           # network interface the workers and scheduler use
    job_extra_directives: ["--qos=long"]
    job_script_prologue: ["module load python/3.11", "source .venv/bin/activate"]

Anything left out comes from dask-jobqueue's configuration (``~/.config/dask/jobqueue.yaml``).
"""

from __future__ import annotations

import difflib
import logging
import numbers
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import yaml
from distributed import Client, LocalCluster, as_completed

from resilience.compiler import Network
from resilience.engine.blocks import run_block
from resilience.engine.execution import Execution, Executor, default_threads
from resilience.errors import ClusterError, ExecutionError

__all__ = [
    "CLUSTER_KINDS",
    "DistributedExecutor",
    "check_cluster_config",
    "executor_for",
    "jobqueue_executor",
    "load_cluster_config",
    "make_cluster",
]

log = logging.getLogger(__name__)

ClusterKind = Literal["slurm", "pbs"]
CLUSTER_KINDS: tuple[str, ...] = ("slurm", "pbs")

_INT = ("an integer >= 1", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1)
_STR = ("a string", lambda v: isinstance(v, str) and bool(v.strip()))
_STRS = ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v))
_MAP = ("a mapping", lambda v: isinstance(v, dict))
_SECONDS = (
    "a number of seconds > 0",
    lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0,
)
_DASHBOARD = ("an address like ':8787' (':0': any free port)", _STR[1])

#: key -> (kinds it applies to, what it must be, check)
CONFIG_KEYS: dict[str, tuple[tuple[str, ...], str, Any]] = {
    "queue": (CLUSTER_KINDS, *_STR),
    "account": (CLUSTER_KINDS, *_STR),
    "cores": (CLUSTER_KINDS, *_INT),
    "memory": (CLUSTER_KINDS, "a string like '16GB'", _STR[1]),
    "processes": (CLUSTER_KINDS, *_INT),
    "walltime": (CLUSTER_KINDS, "a string like '02:00:00'", _STR[1]),
    "job_name": (CLUSTER_KINDS, *_STR),
    "interface": (CLUSTER_KINDS, *_STR),
    "local_directory": (CLUSTER_KINDS, *_STR),
    "log_directory": (CLUSTER_KINDS, *_STR),
    "python": (CLUSTER_KINDS, *_STR),
    "death_timeout": (CLUSTER_KINDS, *_SECONDS),
    "job_extra_directives": (CLUSTER_KINDS, *_STRS),
    "job_directives_skip": (CLUSTER_KINDS, *_STRS),
    "job_script_prologue": (CLUSTER_KINDS, *_STRS),
    "worker_extra_args": (CLUSTER_KINDS, *_STRS),
    "scheduler_options": (CLUSTER_KINDS, *_MAP),
    "dashboard_address": (CLUSTER_KINDS, *_DASHBOARD),
    "job_cpu": (("slurm",), *_INT),
    "job_mem": (("slurm",), "a string like '16GB'", _STR[1]),
    "resource_spec": (("pbs",), "a string like 'select=1:ncpus=8:mem=16GB'", _STR[1]),
    # ours, not dask-jobqueue's
    "jobs": (CLUSTER_KINDS, *_INT),
    "start_timeout": (CLUSTER_KINDS, *_SECONDS),
}
DEFAULT_JOBS = 1
DEFAULT_START_TIMEOUT = 600.0


def _where(source: str | None, key: str = "") -> str:
    return ": ".join(x for x in (source, key) if x)


def check_cluster_config(kind: str, config: Any, source: str | None = None) -> dict:
    """Validate a config mapping for ``kind``; raise ClusterError naming the bad key."""
    if kind not in CLUSTER_KINDS:
        raise ClusterError(f"unknown cluster kind {kind!r}; use one of {', '.join(CLUSTER_KINDS)}")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ClusterError(f"{_where(source)}: must be a mapping of options (queue, cores, ...)")
    for key, value in config.items():
        spec = CONFIG_KEYS.get(key)
        if spec is None:
            guess = difflib.get_close_matches(str(key), list(CONFIG_KEYS), n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else "allowed: " + ", ".join(CONFIG_KEYS)
            raise ClusterError(f"{_where(source, str(key))}: unknown option ({hint})")
        kinds, what, ok = spec
        if kind not in kinds:
            raise ClusterError(f"{_where(source, key)}: only for --cluster {', '.join(kinds)}")
        if not ok(value):
            raise ClusterError(f"{_where(source, key)}: must be {what}, got {value!r}")
    return dict(config)


def load_cluster_config(kind: str, path: str | Path | None) -> dict:
    """Read and validate a cluster config file (None: an empty config)."""
    if path is None:
        return check_cluster_config(kind, None)
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClusterError(f"{path}: cannot read cluster config ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ClusterError(f"{path}: YAML syntax error: {exc}") from exc
    return check_cluster_config(kind, data, str(path))


def make_cluster(kind: ClusterKind, config: dict | None = None):
    """A dask-jobqueue cluster (no jobs submitted yet) from a validated config."""
    config = check_cluster_config(kind, config)
    kwargs = {k: v for k, v in config.items() if k not in ("jobs", "start_timeout")}
    kwargs.setdefault("silence_logs", "error")
    if "dashboard_address" in kwargs:  # dask-jobqueue takes it among the scheduler's options
        options = dict(kwargs.get("scheduler_options") or {})
        options["dashboard_address"] = kwargs.pop("dashboard_address")
        kwargs["scheduler_options"] = options
    try:
        # lazy on purpose: dask-jobqueue is only needed for batch clusters
        if kind == "slurm":
            from dask_jobqueue import SLURMCluster as cls
        else:
            from dask_jobqueue import PBSCluster as cls
        return cls(**kwargs)
    except (ValueError, TypeError, OSError) as exc:
        raise ClusterError(f"cannot set up the {kind.upper()} cluster: {exc}") from exc


def jobqueue_executor(kind: ClusterKind, config_path: str | Path | None = None):
    """Start a job-queue cluster, submit its jobs and wait for the first worker."""
    config = load_cluster_config(kind, config_path)
    jobs = int(config.get("jobs", DEFAULT_JOBS))
    timeout = float(config.get("start_timeout", DEFAULT_START_TIMEOUT))
    cluster = make_cluster(kind, config)
    client = None
    try:
        cluster.scale(jobs=jobs)
        log.info(
            "submitted %d %s job(s); waiting for the first worker (up to %g s)",
            jobs,
            kind.upper(),
            timeout,
        )
        client = Client(cluster)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise ClusterError(
                f"no {kind.upper()} worker connected within {timeout:g} s "
                f"(jobs still queued? raise start_timeout in the cluster config)"
            ) from exc
    except BaseException:
        if client is not None:
            client.close()
        cluster.close()
        raise
    return DistributedExecutor(client, owns_cluster=cluster)


# ----------------------------------------------------------------------------- executor

#: local worker processes per core beyond which starting them is refused
MAX_OVERSUBSCRIPTION = 4
#: seconds a scheduler has to greet a new connection before we give up on it
PROBE_TIMEOUT = 10.0


def probe_scheduler(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at ``address`` before handing it to a Client.

    A Dask peer greets every new TCP connection with a framed handshake (an 8-byte frame
    header, then msgpack naming compression and pickle protocol). Anything else there
    would make the Client read garbage as frame lengths (an HTTP reply once asked for
    3 EiB) or wait forever (a silent server), so it is refused with what was found.
    """
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return  # tls:// and others: the Client's own timeout applies
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            greeting = sock.recv(256)
    except TimeoutError:
        raise ClusterError(
            f"no Dask scheduler at {address}: something accepted the connection but said "
            f"nothing within {timeout:g} s (is it another kind of server?)"
        ) from None
    except OSError as exc:
        raise ClusterError(f"cannot reach Dask scheduler at {address}: {exc}") from exc
    if b"compression" in greeting and b"python" in greeting:
        return
    if not greeting:
        found = "it closed the connection without a word"
    elif greeting[:5] in (b"HTTP/", b"<html", b"<!DOC"):
        found = "an HTTP server answered (a dashboard or web page address?)"
    else:
        found = f"it answered {greeting[:24]!r}, which is not Dask's protocol"
    raise ClusterError(f"no Dask scheduler at {address}: {found}")


class DistributedExecutor(Executor):
    """A dask.distributed cluster: each block is an independent task, retried if a worker
    is lost; at most a few tasks per worker thread are in flight so memory stays bounded."""

    def __init__(self, client, owns_cluster: Any = None, retries: int = 3):
        self.client = client
        self.owns_cluster = owns_cluster
        self.retries = retries

    @classmethod
    def connect(cls, address: str) -> DistributedExecutor:
        probe_scheduler(address)
        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            raise ClusterError(f"cannot reach Dask scheduler at {address}: {exc}") from exc
        return cls(client)

    @classmethod
    def local(cls, workers: int, threads_per_worker: int = 1) -> DistributedExecutor:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return cls(Client(cluster), owns_cluster=cluster)

    def run(self, networks, seed, tasks):
        # Each network goes in as a task, not as scattered data: scattered data lost with
        # a worker cannot be recomputed (and the active memory manager drops broadcast
        # replicas), a task's result is recomputed from its spec. tests/test_cluster.py
        # kills a worker mid-run.
        run_id = uuid.uuid4().hex[:12]
        inputs = {
            index: self.client.submit(
                _network,
                net,
                key=f"resilience-network-{'-'.join(map(str, index))}-{run_id}",
                pure=False,
            )
            for index, net in networks.items()
        }
        pending = iter(tasks)
        by_key = {}

        def submit(task):
            future = self.client.submit(
                run_block,
                inputs[task.index],
                seed,
                task.start,
                task.size,
                task.node_detail,
                key=f"resilience-block-{'-'.join(map(str, task.index))}-{task.start}-{seed}",
                retries=self.retries,
                pure=False,
            )
            by_key[future.key] = task
            return future

        queue = as_completed([submit(t) for t in _take(pending, self._slots())], with_results=True)
        checked = time.monotonic()
        for future, result in queue:
            task = by_key.pop(future.key)
            if future.cancelled():  # its input was lost beyond recomputation: never a result
                raise ClusterError(f"the Dask task of paths {task.start}.. was cancelled: {result}")
            future.release()
            # top up to the workers there are now: job-queue workers join over minutes
            want = 1
            if time.monotonic() - checked > 1.0:
                want = max(1, self._slots() - len(by_key))
                checked = time.monotonic()
            for nxt in _take(pending, want):
                queue.add(submit(nxt))
            yield task, result

    def _slots(self) -> int:
        """Tasks to keep in flight: two per worker thread, so none idles between tasks."""
        return max(2, 2 * sum(self.client.nthreads().values()))

    def close(self):
        self.client.close()
        if self.owns_cluster is not None:
            self.owns_cluster.close()


def _network(network: Network) -> Network:
    return network


def _take(iterator, n):
    out = []
    for _ in range(n):
        item = next(iterator, None)
        if item is None:
            break
        out.append(item)
    return out


def executor_for(execution: Execution) -> DistributedExecutor:
    """The distributed executor ``execution`` asks for: job-queue, scheduler or local."""
    if execution.cluster:
        log.info("running on a %s cluster through dask-jobqueue", execution.cluster.upper())
        return jobqueue_executor(execution.cluster, execution.cluster_config)
    if execution.scheduler:
        log.info("running on the Dask scheduler at %s", execution.scheduler)
        return DistributedExecutor.connect(execution.scheduler)
    cores = default_threads()
    if execution.workers > MAX_OVERSUBSCRIPTION * cores:
        raise ExecutionError(
            f"--workers {execution.workers} on {cores} core(s): more than "
            f"{MAX_OVERSUBSCRIPTION} worker processes per core would spend the run starting "
            f"them; use at most {MAX_OVERSUBSCRIPTION * cores} (one per core is fastest)"
        )
    if execution.workers > cores:
        log.warning(
            "%d worker processes on %d core(s): the machine is oversubscribed (results are "
            "the same, only slower; one worker per core is fastest)",
            execution.workers,
            cores,
        )
    log.info("running on a local cluster of %d worker processes", execution.workers)
    return DistributedExecutor.local(execution.workers)
