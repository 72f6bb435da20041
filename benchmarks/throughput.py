"""Throughput of the engine on the automotive scenario, against its targets and a NumPy
baseline.

    python benchmarks/throughput.py                      # 100k and 1M paths, 1 and 2 threads
    python benchmarks/throughput.py --quick              # small smoke version (~1 min)
    python benchmarks/throughput.py --write-readme       # also update README.md

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "src" / "resilience" / "examples" / "automotive.yaml"
README = REPO / "README.md"
START, END = "<!-- throughput:start -->", "<!-- throughput:end -->"
SEED = 2026
TARGETS = {
    "node_days": 1e8,  # node-days/s with every core
    "numpy_ratio": 5.0,
    "memory_ratio": 1.5,  # peak RSS at the largest / smallest path count
    "dask_overhead": 0.10,
    "cold_compile_s": 30.0,
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
    }


class ReduceSink:
    """Keeps per-strategy sums and drops every block's arrays."""

    def __init__(self, n_strategies: int):
        import numpy as np

        self.sums = np.zeros((n_strategies, 4))
        self.paths = 0

    def __call__(self, task, result) -> None:
        from resilience.kernels import simulate as K

        out = result.path_out
        cost = out[:, [K.PURCHASE, K.HOLDING, K.LOST_SALES_COST, K.BACKLOG_COST, K.QUALIFICATION]]
        self.sums[task.index[0]] += (
            out[:, K.DEMAND].sum(),
            out[:, K.FILLED].sum(),
            out[:, K.LOST].sum(),
            cost.sum(),
        )
        self.paths += task.size


def _prepared(spec: dict):
    from resilience.engine import prepare, run_block

    run = prepare(spec["scenario"], spec["paths"], SEED, spec["strategies"], spec["block_size"])
    warm = time.perf_counter()
    for net in run.networks.values():  # load the cached kernel (compile, if no cache) untimed
        run_block(net, SEED, 0, 1)
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
        return run_block(networks[task.index], run.seed, task.start, task.size)

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


CHILDREN = {
    "compile": child_compile,
    "engine": child_engine,
    "overhead": child_overhead,
    "numpy": child_numpy,
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
) -> str:
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
        f"process; importing the engine {compile_cold['import_s']:.1f} s more); cached "
        f"load {compile_cached['first_call_s']:.2f} s in a new process (import "
        f"{compile_cached['import_s']:.1f} s)."
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
            f"{same})."
        )
    np_rate = numpy_["node_days"] / numpy_["seconds"]

    # node-days/s does not depend on the path count: compare each thread count's best
    def best_rate(t):
        return max(c["node_days"] / c["seconds"] for c in configs if c["threads"] == t)

    ratio1 = best_rate(1) / np_rate if any(c["threads"] == 1 for c in configs) else None
    ration = best_rate(max_threads) / np_rate
    lines.append(
        f"NumPy baseline (benchmarks/numpy_baseline.py, one core, {_paths(numpy_['paths'])} "
        f"paths in chunks of up to 8192): {_rate(np_rate)} node-days/s. The engine's best "
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
    lines.append("")
    lines.append(f"Command: `{command}`.")
    return "\n".join(lines)


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", default="100000,1000000", help="comma-separated path counts")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--quick", action="store_true", help="small smoke version (2k/20k paths)")
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

    paths = [int(p) for p in args.paths.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    if args.quick:
        paths = [2000, 20000]
    numpy_paths = args.numpy_paths or min(paths)
    strategies = args.strategies.split(",") if args.strategies else None
    block_size = args.block_size or DEFAULT_BLOCK_SIZE
    scenario = load_scenario(args.scenario)
    chosen = strategies or scenario.strategy_names
    n_nodes = len(scenario.nodes)
    scenario_desc = (
        f"`{Path(args.scenario).relative_to(REPO) if Path(args.scenario).is_relative_to(REPO) else args.scenario}` "
        f"({n_nodes} nodes, {scenario.horizon_days} days, {len(chosen)} strategies)"
    )
    common = {"scenario": args.scenario, "strategies": strategies, "block_size": block_size}

    m = machine()
    loads = [os.getloadavg()[0]]
    print(
        f"# {m['cpu']}, {m['usable_cpus']} usable CPUs, {_gib(m['ram_bytes'])}; "
        f"load {loads[0]:.2f}",
        file=sys.stderr,
    )
    if loads[0] > 0.5:
        print("warning: the machine is busy; timings will be pessimistic", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        cold = spawn("compile", common, env={"NUMBA_CACHE_DIR": cache})
        cached = spawn("compile", common, env={"NUMBA_CACHE_DIR": cache})
    print(
        f"compile: cold {cold['first_call_s']:.1f} s, cached {cached['first_call_s']:.2f} s",
        file=sys.stderr,
    )
    # make sure the default cache is warm for the engine children (untimed anyway)
    spawn("compile", common)

    configs = []
    for n in sorted(paths):
        for t in sorted(threads):
            c = spawn("engine", {**common, "paths": n, "threads": t})
            configs.append(c)
            print(
                f"{n:>9} paths x {t} threads: {c['seconds']:.1f} s, "
                f"{c['node_days'] / c['seconds']:.3g} node-days/s, peak "
                f"{_mib(c['peak_rss_bytes'])}, load {c['load_1min']:.2f}",
                file=sys.stderr,
            )
    overhead = None
    if args.rounds > 0:
        overhead = spawn(
            "overhead",
            {**common, "paths": max(paths), "threads": max(threads), "rounds": args.rounds},
        )
        print(
            f"overhead: engine {sum(overhead['engine_seconds']):.1f} s, plain loop "
            f"{sum(overhead['plain_seconds']):.1f} s",
            file=sys.stderr,
        )
    numpy_ = spawn("numpy", {**common, "paths": numpy_paths})
    print(
        f"numpy: {numpy_['seconds']:.1f} s, "
        f"{numpy_['node_days'] / numpy_['seconds']:.3g} node-days/s",
        file=sys.stderr,
    )
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
    )
    print(text)
    if args.write_readme:
        write_readme(text)
        print(f"\n(written to {README})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
