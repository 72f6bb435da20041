"""Throughput of the engine at every scale, against its targets and NumPy programs.

    python benchmarks/throughput.py                      # the full run (see below)
    python benchmarks/throughput.py --quick              # small smoke version (~1-2 min)
    python benchmarks/throughput.py --write-readme       # also update README.md

What it measures, each configuration in its own fresh subprocess:

- the automotive scenario at 100k and 1M paths, 1 and 2 threads, the Dask overhead, cold
  and cached compile, and the NumPy baseline of the same model (below);
- the classic 2-node problem (``benchmarks/two-node.yaml``) on the engine against the
  same model written as a NumPy program (``benchmarks/numpy_two_node.py``), per core;
- automotive through the CLI (``resilience run ... --out``), end to end in a new process
  (import, cached compile, simulation, writing, risk table): seconds, bytes written,
  peak RSS, against the engine with the reducing sink on the same paths and threads;
- node-count scaling: synthetic layered networks of 16, 64, 256 and 1,024 nodes
  (``resilience.scenario.synthetic.layered_network``), with about the same node-days at
  every size (paths proportional to 1 / nodes), through the reducing sink (node-days/s,
  peak RSS) and through the CLI (node-days/s end to end, peak RSS, bytes written);
- the RNG ceiling (``benchmarks/rng_ceiling.py``): the kernel's keyed random draws alone,
  as many per path-day as the kernel makes, against the kernel's own speed on one thread.

Every measurement records the 1-minute load average when it starts.

Throughput is in node-days per second: paths x days x nodes x strategies / seconds of
simulation. Compile time is excluded from it and reported on its own: the cold compile
(a fresh, empty NUMBA_CACHE_DIR, in a new process) and the cached load (a second new
process that finds that cache). Every configuration runs in its own fresh subprocess, so
its peak memory (the RSS high-water mark from ``getrusage``) is its own.

The engine runs with a sink that keeps only reductions (per-strategy sums of demand,
filled units, lost units and total cost) and drops each block's per-path arrays, so
memory shows the engine's own footprint, not the size of a result held in memory.

The Dask overhead compares, at the largest path count and thread count, the engine
(Dask's threaded scheduler) with a plain loop over the same blocks calling the kernel
directly (on a ``ThreadPoolExecutor`` with the same number of threads), in one process,
the two interleaved over ``--rounds`` slices of the blocks so that load from elsewhere
weighs on both alike. The NumPy baseline
(``benchmarks/numpy_baseline.py``) is the same model written as a NumPy program
vectorised over paths, on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "src" / "resilience" / "examples" / "automotive.yaml"
TWO_NODE = REPO / "benchmarks" / "two-node.yaml"
README = REPO / "README.md"
START, END = "<!-- throughput:start -->", "<!-- throughput:end -->"
SEED = 2026
SCALE_NODES = (16, 64, 256, 1024)
NETWORK_SEED = 0  # seed of the generated networks' parameters
TARGETS = {
    "node_days": 1e8,  # node-days/s with every core
    "numpy_ratio": 5.0,
    "memory_ratio": 1.5,  # peak RSS at the largest / smallest path count
    "dask_overhead": 0.10,
    "cold_compile_s": 30.0,
    "small_numpy_ratio": 5.0,  # 2-node problem, engine per core / the NumPy program
    "cli_overhead": 0.15,  # CLI end to end, time over the reducing sink's
    "scaling_spread": 0.20,  # node-days/s: 1 - lowest / highest over 16 .. 1,024 nodes
}
# Single-threaded BLAS/OpenMP everywhere: the thread counts measured are the engine's.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


# ----------------------------------------------------------------------------- children
# Each measurement runs in a fresh interpreter (``throughput.py --child SPEC``) that
# prints one JSON line.


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child_compile(spec: dict) -> dict:
    """Time importing the engine and the first kernel call (compile or cache load)."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    from resilience.engine import prepare, run_block

    imported = time.perf_counter()
    run = prepare(spec["scenario"], 1, SEED, spec["strategies"])
    prepared = time.perf_counter()
    run_block(run.compiled[0].network, SEED, 0, 1)
    first = time.perf_counter()
    for c in run.compiled:  # same types for every strategy: no further compilation
        run_block(c.network, SEED, 0, 1)
    rest = time.perf_counter()
    return {
        "import_s": imported - started,
        "prepare_s": prepared - imported,
        "first_call_s": first - prepared,
        "other_strategies_s": rest - first,
        "load_1min": load,
    }


class ReduceSink:
    """Keeps per-strategy sums and drops every block's arrays."""

    def __init__(self, n_strategies: int):
        import numpy as np

        self.sums = np.zeros((n_strategies, 4))
        self.paths = 0

    def __call__(self, task, result) -> None:
        from resilience.kernels import simulate as columns
        from resilience.results.dataset import COST_COLUMNS

        out = result.path_out
        cost = out[:, list(COST_COLUMNS)]
        self.sums[task.index[0]] += (
            out[:, columns.DEMAND].sum(),
            out[:, columns.FILLED].sum(),
            out[:, columns.LOST].sum(),
            cost.sum(),
        )
        self.paths += task.size


def _prepared(spec: dict):
    from resilience.engine import prepare, run_block

    run = prepare(
        spec["scenario"],
        spec["paths"],
        SEED,
        spec["strategies"],
        spec["block_size"],
        node_detail=spec.get("node_detail"),
    )
    warm = time.perf_counter()
    for net in run.networks.values():  # load the cached kernel (compile, if no cache) untimed
        run_block(net, SEED, 0, 1, run.node_detail)
    return run, time.perf_counter() - warm


def _node_days(run) -> int:
    net = run.compiled[0].network  # every strategy has the same nodes and horizon
    return run.paths * len(run.compiled) * net.horizon * len(net.node_kind)


def _engine(run, tasks, threads, sink) -> float:
    from resilience.engine import ThreadedExecutor, execute

    wall = time.perf_counter()
    execute(run.networks, run.seed, tasks, sink, ThreadedExecutor(threads))
    return time.perf_counter() - wall


def _plain_loop(run, tasks, threads, sink) -> float:
    """The same blocks through the kernel with no Dask: a loop, or a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    from resilience.engine import run_block

    networks = run.networks

    def one(task):
        return run_block(networks[task.index], run.seed, task.start, task.size, task.node_detail)

    wall = time.perf_counter()
    if threads == 1:
        for task in tasks:
            sink(task, one(task))
    else:
        with ThreadPoolExecutor(threads) as pool:
            for task, res in zip(tasks, pool.map(one, tasks), strict=True):
                sink(task, res)
    return time.perf_counter() - wall


def child_engine(spec: dict) -> dict:
    """One engine run (Dask threaded scheduler) with a reducing sink."""
    run, warm = _prepared(spec)
    rss_before = _rss_bytes()
    threads = spec["threads"]
    sink = ReduceSink(len(run.compiled))
    load = os.getloadavg()[0]
    cpu = time.process_time()
    wall = _engine(run, run.tasks, threads, sink)
    cpu = time.process_time() - cpu
    assert sink.paths == run.paths * len(run.compiled)
    return {
        "paths": run.paths,
        "threads": threads,
        "strategies": [c.name for c in run.compiled],
        "blocks": len(run.tasks),
        "node_days": _node_days(run),
        "seconds": wall,
        "cpu_seconds": cpu,
        "warmup_s": warm,
        "load_1min": load,
        "fill_rate": (sink.sums[:, 1] / sink.sums[:, 0]).tolist(),
        "mean_total_cost": (sink.sums[:, 3] / run.paths).tolist(),
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def child_overhead(spec: dict) -> dict:
    """Engine vs a plain kernel loop over the same blocks, interleaved in rounds (ABBA
    order) so that load from other processes weighs on both alike."""
    run, _ = _prepared(spec)
    threads, rounds = spec["threads"], spec["rounds"]
    tasks = run.tasks
    engine_sink, plain_sink = ReduceSink(len(run.compiled)), ReduceSink(len(run.compiled))
    # one untimed pass of each over the first blocks: thread pools and Dask's first-call
    # set-up belong to neither the engine's steady state nor the loop's
    first = tasks[: 2 * threads]
    _engine(run, first, threads, ReduceSink(len(run.compiled)))
    _plain_loop(run, first, threads, ReduceSink(len(run.compiled)))
    engine_s, plain_s = [], []
    load = os.getloadavg()[0]
    for r in range(rounds):
        part = tasks[r * len(tasks) // rounds : (r + 1) * len(tasks) // rounds]
        if r % 2 == 0:
            engine_s.append(_engine(run, part, threads, engine_sink))
            plain_s.append(_plain_loop(run, part, threads, plain_sink))
        else:
            plain_s.append(_plain_loop(run, part, threads, plain_sink))
            engine_s.append(_engine(run, part, threads, engine_sink))
    return {
        "paths": run.paths,
        "threads": threads,
        "blocks": len(tasks),
        "rounds": rounds,
        "load_1min": load,
        "engine_seconds": engine_s,
        "plain_seconds": plain_s,
        # same blocks, same keys: the reductions must be identical
        "identical": bool((engine_sink.sums == plain_sink.sums).all()),
    }


def child_numpy(spec: dict) -> dict:
    """The NumPy baseline on every strategy, one core."""
    sys.path.insert(0, str(REPO))
    from benchmarks.numpy_baseline import simulate_numpy
    from resilience.engine import prepare

    run = prepare(spec["scenario"], spec["paths"], SEED, spec["strategies"])
    fills = []
    load = os.getloadavg()[0]
    wall = time.perf_counter()
    for i, c in enumerate(run.compiled):
        m = simulate_numpy(c.network, run.paths, SEED + i)
        fills.append(float(m["filled_units"].sum() / m["demand_units"].sum()))
    wall = time.perf_counter() - wall
    return {
        "paths": run.paths,
        "node_days": _node_days(run),
        "seconds": wall,
        "load_1min": load,
        "fill_rate": fills,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def child_numpy_two_node(spec: dict) -> dict:
    """The 2-node problem as a NumPy program (benchmarks/numpy_two_node.py), one core."""
    sys.path.insert(0, str(REPO))
    from benchmarks import numpy_two_node as two

    load = os.getloadavg()[0]
    wall = time.perf_counter()
    result = two.simulate_two_node(spec["paths"], SEED)
    wall = time.perf_counter() - wall
    fill, se = two.fill_rate(result)
    return {
        "paths": spec["paths"],
        "node_days": spec["paths"] * two.HORIZON * two.NODES,
        "seconds": wall,
        "load_1min": load,
        "fill_rate": fill,
        "fill_se": se,
        "chunk": two.DEFAULT_CHUNK,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def _resilience_command() -> list[str]:
    """The installed ``resilience`` script beside this interpreter, as a user runs it."""
    script = shutil.which("resilience", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from resilience.cli import main; sys.exit(main())"]


def _bytes_under(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def child_cli(spec: dict) -> dict:
    """``resilience run SCENARIO --out DIR/run.zarr`` in a new process, end to end: wall
    time, bytes written, and the CLI process's peak RSS (RUSAGE_CHILDREN: this process
    waits for no other child)."""
    from resilience.scenario import load_scenario

    args = [
        *_resilience_command(),
        "run",
        spec["scenario"],
        "--paths",
        str(spec["paths"]),
        "--seed",
        str(SEED),
        "--threads",
        str(spec["threads"]),
        "--quiet",
    ]
    if spec.get("block_size"):
        args += ["--block-size", str(spec["block_size"])]
    if spec.get("node_detail"):
        args += ["--node-detail", spec["node_detail"]]
    for name in spec.get("strategies") or ():
        args += ["--strategy", name]
    with tempfile.TemporaryDirectory(prefix="resilience-cli-") as tmp:
        out = Path(tmp) / "run.zarr"
        load = os.getloadavg()[0]
        wall = time.perf_counter()
        proc = subprocess.run(
            [*args, "--out", str(out)], capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - wall
        if proc.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        written = _bytes_under(out)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    scenario = load_scenario(spec["scenario"])
    n_strategies = len(spec.get("strategies") or scenario.strategy_names)
    # the CLI's own footer ("N paths x S strategies in X s (...)"), on stdout or stderr
    inner = re.search(r"strategies in ([0-9.]+) s \(", proc.stdout + proc.stderr)
    return {
        "paths": spec["paths"],
        "threads": spec["threads"],
        "strategies": n_strategies,
        "node_days": spec["paths"] * n_strategies * scenario.horizon_days * len(scenario.nodes),
        "seconds": wall,
        "inner_seconds": float(inner.group(1)) if inner else None,
        "bytes_written": written,
        "peak_rss_bytes": peak,
        "load_1min": load,
    }


def child_rng(spec: dict) -> dict:
    """The scenario's keyed random draws alone, one thread (benchmarks/rng_ceiling.py)."""
    sys.path.insert(0, str(REPO))
    from benchmarks.rng_ceiling import time_draws
    from resilience.scenario import load_scenario

    scenario = load_scenario(spec["scenario"])
    load = os.getloadavg()[0]
    return {**time_draws(scenario, spec["paths"], SEED), "load_1min": load}


CHILDREN = {
    "compile": child_compile,
    "engine": child_engine,
    "overhead": child_overhead,
    "numpy": child_numpy,
    "numpy_two_node": child_numpy_two_node,
    "cli": child_cli,
    "rng": child_rng,
}


def spawn(kind: str, spec: dict, env: dict | None = None, timeout: float | None = None) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    full_env = {**os.environ, **SINGLE_THREAD_ENV, **(env or {})}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- machine


def machine() -> dict:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import numba
    import numpy

    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "ram_bytes": ram,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(terse=True),
    }


# ----------------------------------------------------------------------------- report


def _gib(b: float) -> str:
    return f"{b / 2**30:.1f} GiB"


def _mib(b: float) -> str:
    return f"{b / 2**20:.0f} MiB"


def _size(b: float) -> str:
    """Bytes with 3 significant digits (bytes written can be far below a MiB)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


def _rate(x: float) -> str:
    return f"{x:.3g}"


def _paths(n: int) -> str:
    return (
        f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
    )


def _ok(good: bool) -> str:
    return "met" if good else "**missed**"


def report(
    m: dict,
    compile_cold: dict,
    compile_cached: dict,
    configs: list[dict],
    overhead: dict | None,
    numpy_: dict,
    scenario_desc: str,
    loads: tuple,
    when: str,
    block_size: int,
    command: str = "python benchmarks/throughput.py",
    *,
    two_node: dict | None = None,
    cli: dict | None = None,
    scaling: dict | None = None,
    rng: list[dict] | None = None,
) -> str:
    """The README's performance section. The sections after the automotive table are
    each optional (None: not measured, not shown):

    - ``two_node``: {"engine": [engine results at each thread count], "numpy": the
      NumPy program's result, "scenario": its file};
    - ``cli``: a CLI result with "sink", the engine's reducing-sink result on the same
      paths and threads, and "scenario";
    - ``scaling``: {"threads", "seed", "rows": [{"nodes", "block_size", "engine", "cli"}]};
    - ``rng``: [{"name", "kernel_rate" (node-days/s per thread), **the rng child's result}].
    """
    lines = []
    lines.append(
        f"Measured {when} by `python benchmarks/throughput.py` on: {m['cpu']}, "
        f"{m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{_gib(m['ram_bytes'])} RAM; Python {m['python']}, NumPy {m['numpy']}, "
        f"Numba {m['numba']}. Load average (1 min) {loads[0]:.2f} at the start, "
        f"{loads[1]:.2f} at the end."
    )
    lines.append("")
    lines.append(
        f"Workload: {scenario_desc}, seed {SEED}, blocks of {block_size} paths. The "
        "engine runs on Dask's threaded scheduler with a sink that keeps only "
        "per-strategy sums (per-path arrays dropped after each block), each "
        "configuration in a fresh process. node-days/s = paths x days x nodes x "
        "strategies / seconds, compile excluded."
    )
    lines.append("")
    lines.append("| paths | threads | seconds | node-days/s | CPU use | peak RSS | load at start |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for c in configs:
        lines.append(
            f"| {_paths(c['paths'])} | {c['threads']} | {c['seconds']:.1f} | "
            f"{_rate(c['node_days'] / c['seconds'])} | "
            f"{c['cpu_seconds'] / c['seconds'] / c['threads']:.0%} | "
            f"{_mib(c['peak_rss_bytes'])} | {c['load_1min']:.2f} |"
        )
    lines.append("")
    lines.append(
        f"Compile: cold {compile_cold['first_call_s']:.1f} s (fresh NUMBA_CACHE_DIR, new "
        f"process; importing the engine {compile_cold['import_s']:.1f} s more"
        f"{_load(compile_cold)}); cached "
        f"load {compile_cached['first_call_s']:.2f} s in a new process (import "
        f"{compile_cached['import_s']:.1f} s{_load(compile_cached)})."
    )
    big = max(c["paths"] for c in configs)
    small = min(c["paths"] for c in configs)
    max_threads = max(c["threads"] for c in configs)
    if overhead is not None:
        eng, plain = sum(overhead["engine_seconds"]), sum(overhead["plain_seconds"])
        ratios = sorted(
            e / p - 1
            for e, p in zip(overhead["engine_seconds"], overhead["plain_seconds"], strict=True)
        )
        overhead["fraction"] = eng / plain - 1
        same = "identical sums" if overhead["identical"] else "DIFFERENT sums"
        lines.append(
            f"Dask overhead at {_paths(overhead['paths'])} paths, {overhead['threads']} "
            f"threads: the engine and a plain loop over the same {overhead['blocks']} blocks "
            f"(a ThreadPoolExecutor calling the kernel), interleaved in {overhead['rounds']} "
            f"rounds: engine {eng:.1f} s, plain loop {plain:.1f} s: "
            f"{overhead['fraction']:+.1%} (rounds from {ratios[0]:+.1%} to {ratios[-1]:+.1%}; "
            f"{same}{_load(overhead)})."
        )
    np_rate = numpy_["node_days"] / numpy_["seconds"]

    # node-days/s does not depend on the path count: compare each thread count's best
    def best_rate(t):
        return max(c["node_days"] / c["seconds"] for c in configs if c["threads"] == t)

    ratio1 = best_rate(1) / np_rate if any(c["threads"] == 1 for c in configs) else None
    ration = best_rate(max_threads) / np_rate
    lines.append(
        f"NumPy baseline (benchmarks/numpy_baseline.py, one core, {_paths(numpy_['paths'])} "
        f"paths in chunks of up to 8192{_load(numpy_)}): {_rate(np_rate)} node-days/s. "
        "The engine's best "
        + (f"rate is {ratio1:.2f}x that on one thread and " if ratio1 is not None else "rate is ")
        + f"{ration:.2f}x on {max_threads} threads."
    )
    kfill = configs[0]["fill_rate"]
    lines.append(
        "Fill rate by strategy ("
        + ", ".join(configs[0]["strategies"])
        + "): engine "
        + ", ".join(f"{f:.3%}" for f in kfill)
        + "; NumPy baseline "
        + ", ".join(f"{f:.3%}" for f in numpy_["fill_rate"])
        + "."
    )
    extra_targets: list[str] = []
    if two_node is not None:
        lines.append("")
        extra_targets += _two_node_section(two_node, lines)
    if cli is not None:
        lines.append("")
        extra_targets += _cli_section(cli, lines)
    if scaling is not None:
        lines.append("")
        extra_targets += _scaling_section(scaling, lines)
    if rng:
        lines.append("")
        _rng_section(rng, lines)
    lines.append("")
    lines.append("| target | goal | measured | |")
    lines.append("|---|---|---|---|")
    top = [c for c in configs if c["threads"] == max_threads]
    top_rate = max(c["node_days"] / c["seconds"] for c in top)
    lines.append(
        f"| throughput, {max_threads} threads | >= {TARGETS['node_days']:.0e} node-days/s | "
        f"{_rate(top_rate)} | {_ok(top_rate >= TARGETS['node_days'])} |"
    )
    lines.append(
        f"| vs NumPy baseline, engine on {max_threads} threads | >= "
        f"{TARGETS['numpy_ratio']:.0f}x | {ration:.2f}x | "
        f"{_ok(ration >= TARGETS['numpy_ratio'])} |"
    )
    if ratio1 is not None and max_threads != 1:
        lines.append(f"| vs NumPy baseline, core for core | (reference) | {ratio1:.2f}x | |")
    mem = {}
    for c in configs:
        mem.setdefault(c["threads"], {})[c["paths"]] = c["peak_rss_bytes"]
    if big != small:
        ratios = [v[big] / v[small] for v in mem.values() if big in v and small in v]
        worst = max(ratios)
        lines.append(
            f"| peak memory {_paths(big)} / {_paths(small)} | <= "
            f"{TARGETS['memory_ratio']}x | {worst:.2f}x | "
            f"{_ok(worst <= TARGETS['memory_ratio'])} |"
        )
    if overhead is not None:
        lines.append(
            f"| Dask overhead, {_paths(overhead['paths'])} paths, {overhead['threads']} "
            f"threads | < {TARGETS['dask_overhead']:.0%} | {overhead['fraction']:+.1%} | "
            f"{_ok(overhead['fraction'] < TARGETS['dask_overhead'])} |"
        )
    lines.append(
        f"| cold compile | < {TARGETS['cold_compile_s']:.0f} s | "
        f"{compile_cold['first_call_s']:.1f} s | "
        f"{_ok(compile_cold['first_call_s'] < TARGETS['cold_compile_s'])} |"
    )
    lines += extra_targets
    lines.append("")
    lines.append(f"Command: `{command}`.")
    return "\n".join(lines)


def _load(result: dict) -> str:
    """``; load X`` for a result that recorded the load average when it started."""
    load = result.get("load_1min")
    return f"; load {load:.2f}" if load is not None else ""


def _per_s(result: dict) -> float:
    return result["node_days"] / result["seconds"]


def _relative(path) -> str:
    path = Path(path)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _two_node_section(two_node: dict, lines: list[str]) -> list[str]:
    """The 2-node problem, engine vs the NumPy program; returns its target rows."""
    np_ = two_node["numpy"]
    np_rate = _per_s(np_)
    engine = sorted(two_node["engine"], key=lambda c: (c["threads"], c["paths"]))
    lines.append(
        f"Small network: the classic 2-node problem (`{_relative(two_node['scenario'])}`: a "
        "supplier with Markov outages, fail 0.01 / recover 0.1 a day, lead time 7, "
        "Poisson(20) demand at one DC, order-up-to 260, lost sales, 365 days), on the "
        "engine (reducing sink) and as the same model written as a NumPy program "
        f"vectorised over paths (`benchmarks/numpy_two_node.py`, chunks of "
        f"{np_.get('chunk', 8192)} paths, NumPy's Generator, one core)."
    )
    lines.append("")
    lines.append(
        "| program | paths | threads | seconds | node-days/s | per core / NumPy | "
        "fill rate | peak RSS | load at start |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in engine:
        lines.append(
            f"| engine | {_paths(c['paths'])} | {c['threads']} | {c['seconds']:.1f} | "
            f"{_rate(_per_s(c))} | {_per_s(c) / c['threads'] / np_rate:.2f}x | "
            f"{c['fill_rate'][0]:.3%} | {_mib(c['peak_rss_bytes'])} | {c['load_1min']:.2f} |"
        )
    lines.append(
        f"| NumPy | {_paths(np_['paths'])} | 1 | {np_['seconds']:.1f} | {_rate(np_rate)} | "
        f"1x | {np_['fill_rate']:.3%} +- {np_['fill_se']:.3%} | "
        f"{_mib(np_['peak_rss_bytes'])} | {np_['load_1min']:.2f} |"
    )
    per_core = max(_per_s(c) / c["threads"] for c in engine)
    goal = TARGETS["small_numpy_ratio"]
    return [
        f"| small network (2 nodes) vs NumPy, core for core | >= {goal:.0f}x | "
        f"{per_core / np_rate:.2f}x | {_ok(per_core / np_rate >= goal)} |"
    ]


def _cli_section(cli: dict, lines: list[str]) -> list[str]:
    """Automotive through the CLI vs the reducing sink; returns its target row."""
    sink = cli["sink"]
    # the same paths, strategies and network: compare times (node-days are equal)
    extra = cli["seconds"] / sink["seconds"] - 1
    inner = cli.get("inner_seconds")
    lines.append(
        f"Through the CLI: `resilience run {_relative(cli['scenario'])} --paths "
        f"{cli['paths']} --threads {cli['threads']} --out run.zarr`, end to end in a new "
        "process (import, cached compile, simulation, writing the dataset, the risk "
        f"table): {cli['seconds']:.1f} s, {_rate(_per_s(cli))} node-days/s"
        + (f" (the CLI's own timer: {inner:.1f} s)" if inner is not None else "")
        + f", {_size(cli['bytes_written'])} written, peak RSS {_mib(cli['peak_rss_bytes'])}"
        f"{_load(cli)}. The engine with the reducing sink on the same paths and threads, run just before it: "
        f"{sink['seconds']:.1f} s, {_rate(_per_s(sink))} node-days/s, peak RSS "
        f"{_mib(sink['peak_rss_bytes'])}{_load(sink)}. The CLI's time end to end is "
        f"{extra:+.1%} over the sink's."
    )
    goal = TARGETS["cli_overhead"]
    return [
        f"| CLI end to end vs the sink, {_paths(cli['paths'])} paths, {cli['threads']} "
        f"threads | within {goal:.0%} | {extra:+.1%} | {_ok(extra <= goal)} |"
    ]


def _scaling_section(scaling: dict, lines: list[str]) -> list[str]:
    """Node-count scaling on generated networks; returns its target row."""
    rows = sorted(scaling["rows"], key=lambda r: r["nodes"])
    lines.append(
        "Scaling with the network: synthetic layered networks "
        f"(`resilience generate-network N --seed {scaling['seed']}`: suppliers -> tier-1 "
        "plants -> assembly plants -> DCs, 2 strategies; docs/scenario-format.md), about "
        "the same node-days at every size (paths ~ 1 / nodes), "
        f"the fastest of {scaling.get('rounds', 1)} rounds over the sizes in alternating "
        f"order, {scaling['threads']} threads, per-node detail `{scaling.get('node_detail', 'auto')}` "
        "(`--node-detail`), the engine with the reducing sink and the CLI "
        "writing the dataset (end to end, as above)."
    )
    lines.append("")
    lines.append(
        "| nodes | paths | blocks of | node-days/s | peak RSS | load | CLI node-days/s | "
        "CLI peak RSS | bytes written | CLI load |"
    )
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        e, c = r["engine"], r.get("cli")
        cli_cells = (
            f"{_rate(_per_s(c))} | {_mib(c['peak_rss_bytes'])} | "
            f"{_size(c['bytes_written'])} | {c['load_1min']:.2f}"
            if c is not None
            else "- | - | - | -"
        )
        lines.append(
            f"| {r['nodes']:,} | {e['paths']:,} | {r['block_size']} | {_rate(_per_s(e))} | "
            f"{_mib(e['peak_rss_bytes'])} | {e['load_1min']:.2f} | {cli_cells} |"
        )
    rates = {r["nodes"]: _per_s(r["engine"]) for r in rows}
    low, high = min(rates, key=rates.get), max(rates, key=rates.get)
    spread = 1 - rates[low] / rates[high]
    goal = TARGETS["scaling_spread"]
    return [
        f"| node-days/s flat from {rows[0]['nodes']:,} to {rows[-1]['nodes']:,} nodes | "
        f"within {goal:.0%} | lowest ({low:,} nodes) {spread:.1%} below highest "
        f"({high:,} nodes) | {_ok(spread <= goal)} |"
    ]


def _rng_section(rng: list[dict], lines: list[str]) -> None:
    from resilience.kernels.simulate import LANES

    lines.append(
        "RNG ceiling: the kernel's keyed random draws alone (`benchmarks/rng_ceiling.py`: a "
        "bare njit loop calling `resilience.kernels.rng`'s path_key, stream_key and uniform "
        f"in the kernel's pattern, {LANES} paths in lockstep, one thread), as many stream keys "
        "per path and uniforms per path-day as the kernel makes for the scenario, against "
        "the kernel's node-days/s per thread."
    )
    lines.append("")
    lines.append(
        "| scenario | keys per path | draws per path-day | draws/s | ceiling node-days/s | "
        "kernel node-days/s per thread | kernel / ceiling | load |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rng:
        ceiling = r["paths"] * r["horizon"] * r["nodes"] / r["seconds"]
        kernel = r.get("kernel_rate")
        lines.append(
            f"| {r['name']} | {r['keys_per_path']} | {r['draws_per_day']} | "
            f"{_rate(r['draws'] / r['seconds'])} | {_rate(ceiling)} | "
            + (f"{_rate(kernel)} | {kernel / ceiling:.1%}" if kernel else "- | -")
            + f" | {r['load_1min']:.2f} |"
        )


def write_readme(text: str, path: Path = README) -> None:
    """Replace the text between the throughput markers of README.md."""
    if not path.exists():
        raise SystemExit(f"{path} does not exist; not writing")
    body = path.read_text()
    if START not in body or END not in body or body.index(START) > body.index(END):
        raise SystemExit(f"{path} has no '{START}' ... '{END}' markers; not writing")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    path.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", body, count=1))


# ----------------------------------------------------------------------------- main


def scale_plan(nodes: int, paths_at_16: int, threads: int, blocks_per_thread: int) -> tuple:
    """(paths, block size) for a generated network of ``nodes`` nodes: about
    ``paths_at_16 x 16 / nodes`` paths (the same node-days at every size), in blocks of a
    multiple of the kernel's LANES paths (no group runs partly empty; at most the engine's
    default), a whole number of blocks per thread (at least ``blocks_per_thread``), so no
    thread idles at the end."""
    from resilience.engine import DEFAULT_BLOCK_SIZE
    from resilience.kernels.simulate import LANES

    target = max(1, paths_at_16 * 16 // nodes)
    per_block = target / (blocks_per_thread * threads)
    size = min(DEFAULT_BLOCK_SIZE, max(LANES, LANES * round(per_block / LANES)))
    per_thread = max(blocks_per_thread, round(target / (size * threads)))
    return size * per_thread * threads, size


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", default="100000,1000000", help="comma-separated path counts")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small smoke version: 2k/8k paths, small 2-node, CLI, scaling and RNG runs",
    )
    ap.add_argument(
        "--numpy-paths",
        type=int,
        default=None,
        help="paths for the NumPy baseline (default: the smallest path count)",
    )
    ap.add_argument("--block-size", type=int, default=None, help="paths per block (engine default)")
    ap.add_argument("--strategies", default=None, help="comma-separated (default: all)")
    ap.add_argument(
        "--rounds",
        type=int,
        default=8,
        help="interleaved rounds of the Dask-overhead comparison (0: skip it)",
    )
    ap.add_argument("--scenario", default=str(SCENARIO))
    ap.add_argument(
        "--node-detail",
        default=None,
        choices=["auto", "paths", "summary", "none"],
        help="per-node detail of every run (default: the engine's auto)",
    )
    ap.add_argument(
        "--two-node-paths",
        type=int,
        default=None,
        help="paths of the 2-node problem on the engine (default 1000000; 0: skip it)",
    )
    ap.add_argument(
        "--two-node-numpy-paths",
        type=int,
        default=None,
        help="paths of the 2-node NumPy program (default 100000)",
    )
    ap.add_argument(
        "--cli-paths",
        type=int,
        default=None,
        help="paths of the CLI run (default: the largest path count; 0: skip it)",
    )
    ap.add_argument(
        "--scale-nodes",
        default=",".join(map(str, SCALE_NODES)),
        help="node counts of the scaling table ('': skip it)",
    )
    ap.add_argument(
        "--scale-paths",
        type=int,
        default=None,
        help="paths at 16 nodes in the scaling table, ~1/nodes elsewhere (default 100000)",
    )
    ap.add_argument(
        "--scale-rounds",
        type=int,
        default=None,
        help="rounds of the scaling table, the fastest kept (default 2, --quick 1)",
    )
    ap.add_argument(
        "--rng-paths",
        type=int,
        default=None,
        help="paths of the RNG ceiling (default: the smallest path count; 0: skip it)",
    )
    ap.add_argument(
        "--write-readme",
        action="store_true",
        help=f"replace the text between {START} and {END} in README.md",
    )
    ap.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        kind, spec = args.child
        print(json.dumps(CHILDREN[kind](json.loads(spec))))
        return 0

    from resilience.engine import DEFAULT_BLOCK_SIZE
    from resilience.scenario.schema import load_scenario
    from resilience.scenario.synthetic import layered_network, to_yaml

    paths = [int(p) for p in args.paths.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    if args.quick:
        paths = [2000, 8000]

    def sized(value, full, quick):
        return value if value is not None else quick if args.quick else full

    numpy_paths = args.numpy_paths or min(paths)
    two_node_paths = sized(args.two_node_paths, 1_000_000, 20_000)
    two_node_numpy_paths = sized(args.two_node_numpy_paths, 100_000, 20_000)
    cli_paths = sized(args.cli_paths, max(paths), max(paths))
    scale_nodes = [int(n) for n in args.scale_nodes.split(",") if n.strip()]
    scale_paths = sized(args.scale_paths, 100_000, 2048)
    scale_rounds = sized(args.scale_rounds, 2, 1)
    rng_paths = sized(args.rng_paths, min(paths), min(paths))
    strategies = args.strategies.split(",") if args.strategies else None
    block_size = args.block_size or DEFAULT_BLOCK_SIZE
    scenario = load_scenario(args.scenario)
    chosen = strategies or scenario.strategy_names
    n_nodes = len(scenario.nodes)
    scenario_desc = (
        f"`{_relative(args.scenario)}` "
        f"({n_nodes} nodes, {scenario.horizon_days} days, {len(chosen)} strategies)"
    )
    common = {
        "scenario": args.scenario,
        "strategies": strategies,
        "block_size": block_size,
        "node_detail": args.node_detail,
    }
    top_threads = max(threads)

    m = machine()
    loads = [os.getloadavg()[0]]
    _say(
        f"# {m['cpu']}, {m['usable_cpus']} usable CPUs, {_gib(m['ram_bytes'])}; load {loads[0]:.2f}"
    )
    if loads[0] > 0.5:
        _say("warning: the machine is busy; timings will be pessimistic")

    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        cold = spawn("compile", common, env={"NUMBA_CACHE_DIR": cache})
        cached = spawn("compile", common, env={"NUMBA_CACHE_DIR": cache})
    _say(f"compile: cold {cold['first_call_s']:.1f} s, cached {cached['first_call_s']:.2f} s")
    # make sure the default cache is warm for the engine children (untimed anyway)
    spawn("compile", common)

    def engine_run(spec: dict, label: str) -> dict:
        c = spawn("engine", spec)
        _say(
            f"{label}{c['paths']:>9} paths x {c['threads']} threads: {c['seconds']:.1f} s, "
            f"{_per_s(c):.3g} node-days/s, peak {_mib(c['peak_rss_bytes'])}, "
            f"load {c['load_1min']:.2f}"
        )
        return c

    configs = []
    for n in sorted(paths):
        for t in sorted(threads):
            configs.append(engine_run({**common, "paths": n, "threads": t}, ""))
    overhead = None
    if args.rounds > 0:
        overhead = spawn(
            "overhead",
            {**common, "paths": max(paths), "threads": top_threads, "rounds": args.rounds},
        )
        _say(
            f"overhead: engine {sum(overhead['engine_seconds']):.1f} s, plain loop "
            f"{sum(overhead['plain_seconds']):.1f} s"
        )
    numpy_ = spawn("numpy", {**common, "paths": numpy_paths})
    _say(f"numpy: {numpy_['seconds']:.1f} s, {_per_s(numpy_):.3g} node-days/s")

    two_node = None
    if two_node_paths > 0:
        small = {"scenario": str(TWO_NODE), "strategies": None, "block_size": block_size}
        engines = [
            engine_run({**small, "paths": two_node_paths, "threads": t}, "2-node: ")
            for t in sorted(threads)
        ]
        np2 = spawn("numpy_two_node", {"paths": two_node_numpy_paths})
        _say(f"2-node numpy: {np2['seconds']:.1f} s, {_per_s(np2):.3g} node-days/s")
        two_node = {"scenario": str(TWO_NODE), "engine": engines, "numpy": np2}

    cli = None
    if cli_paths > 0:
        spec = {**common, "paths": cli_paths, "threads": top_threads}
        # the sink measured right before the CLI, not reused from the table above: on a
        # shared machine minutes apart can differ by more than the overhead measured
        sink = engine_run(spec, "sink for the CLI: ")
        cli = spawn("cli", spec)
        cli.update(sink=sink, scenario=args.scenario)
        _say(
            f"cli: {cli['seconds']:.1f} s end to end, {_size(cli['bytes_written'])} written, "
            f"peak {_mib(cli['peak_rss_bytes'])}; sink {sink['seconds']:.1f} s"
        )

    scaling = None
    if scale_nodes:
        best: dict[int, dict] = {}
        with tempfile.TemporaryDirectory(prefix="resilience-networks-") as tmp:
            for n in scale_nodes:
                path = Path(tmp) / f"layered-{n}.yaml"
                path.write_text(to_yaml(layered_network(n, seed=NETWORK_SEED)))
            # Rounds over the sizes in alternating order, the fastest of each kept: a
            # machine that slows down mid-run then weighs on every size alike.
            for r in range(scale_rounds):
                for n in scale_nodes if r % 2 == 0 else scale_nodes[::-1]:
                    n_paths, size = scale_plan(n, scale_paths, top_threads, 1 if args.quick else 4)
                    spec = {
                        "scenario": str(Path(tmp) / f"layered-{n}.yaml"),
                        "strategies": None,
                        "block_size": size,
                        "paths": n_paths,
                        "threads": top_threads,
                        # the same detail at every size, so the table compares the simulation
                        "node_detail": args.node_detail or "summary",
                    }
                    e = engine_run(spec, f"{n:>5} nodes: ")
                    c = spawn("cli", spec)
                    _say(
                        f"{n:>5} nodes, CLI: {c['seconds']:.1f} s, {_per_s(c):.3g} node-days/s, "
                        f"{_size(c['bytes_written'])} written, peak {_mib(c['peak_rss_bytes'])}"
                    )
                    row = best.setdefault(n, {"nodes": n, "block_size": size})
                    for key, result in (("engine", e), ("cli", c)):
                        if key not in row or result["seconds"] < row[key]["seconds"]:
                            row[key] = result
        rows = [best[n] for n in scale_nodes]
        scaling = {
            "threads": top_threads,
            "seed": NETWORK_SEED,
            "rows": rows,
            "node_detail": args.node_detail or "summary",
            "rounds": scale_rounds,
        }

    rng = []
    if rng_paths > 0:

        def per_thread(results: list[dict]) -> float | None:
            return max((_per_s(c) / c["threads"] for c in results), default=None)

        measured = [(f"`{_relative(args.scenario)}`", args.scenario, configs)]
        if two_node is not None:
            measured.append((f"`{_relative(TWO_NODE)}`", str(TWO_NODE), two_node["engine"]))
        for name, path, results in measured:
            r = spawn("rng", {"scenario": path, "paths": rng_paths})
            r.update(name=name, kernel_rate=per_thread(results))
            rng.append(r)
            _say(f"rng {name}: {r['draws'] / r['seconds']:.3g} draws/s")
    loads.append(os.getloadavg()[0])

    when = dt.date.today().isoformat()
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "benchmarks/throughput.py", *given])
    text = report(
        m,
        cold,
        cached,
        configs,
        overhead,
        numpy_,
        scenario_desc,
        tuple(loads),
        when,
        block_size,
        command,
        two_node=two_node,
        cli=cli,
        scaling=scaling,
        rng=rng,
    )
    print(text)
    if args.write_readme:
        write_readme(text)
        _say(f"\n(written to {README})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
