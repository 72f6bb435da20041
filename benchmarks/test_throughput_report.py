"""The README's performance section: benchmarks/throughput.py's report and its writing
between the README markers (synthetic measurements; the real run is `make throughput`)."""

from __future__ import annotations

import pytest

from benchmarks.throughput import END, START, TARGETS, report, scale_plan, write_readme
from resilience.kernels.simulate import LANES

MACHINE = {
    "cpu": "Test CPU",
    "logical_cpus": 2,
    "usable_cpus": 2,
    "ram_bytes": 24 * 2**30,
    "python": "3.11",
    "numpy": "2",
    "numba": "0.6",
}
COMPILE = {"first_call_s": 12.0, "import_s": 0.3}
NODE_DAYS = 100_000 * 4 * 365 * 16


def _config(paths: int, threads: int, seconds: float, peak_mib: int) -> dict:
    return {
        "paths": paths,
        "threads": threads,
        "seconds": seconds,
        "node_days": NODE_DAYS * paths // 100_000,
        "cpu_seconds": seconds * threads,
        "peak_rss_bytes": peak_mib * 2**20,
        "load_1min": 0.1,
        "strategies": ["jit", "jic"],
        "fill_rate": [0.98, 0.99],
    }


def _report(two_thread_seconds: float, overhead_seconds: float, **sections) -> str:
    configs = [
        _config(100_000, 1, 20.0, 220),
        _config(100_000, 2, two_thread_seconds, 250),
        _config(1_000_000, 2, 10 * two_thread_seconds, 260),
    ]
    overhead = {
        "paths": 1_000_000,
        "threads": 2,
        "blocks": 980,
        "rounds": 2,
        "engine_seconds": [overhead_seconds, overhead_seconds],
        "plain_seconds": [10.0, 10.0],
        "identical": True,
    }
    numpy_ = {"paths": 100_000, "node_days": NODE_DAYS, "seconds": 80.0, "fill_rate": [0.98, 0.99]}
    return report(
        MACHINE,
        COMPILE,
        COMPILE,
        configs,
        overhead,
        numpy_,
        "scenario",
        (0.1, 0.2),
        "2026-01-01",
        4096,
        "python benchmarks/throughput.py --write-readme",
        **sections,
    )


def _verdict(text: str, target: str) -> str:
    (row,) = [line for line in text.splitlines() if line.startswith(f"| {target}")]
    return row.rsplit("|", 2)[1].strip()


def test_report_marks_each_target_met_or_missed():
    # 2.34e9 node-days in 15 s on 2 threads: 1.56e8/s, 5.3x the baseline's 2.92e7/s
    text = _report(two_thread_seconds=15.0, overhead_seconds=10.5)
    assert _verdict(text, "throughput, 2 threads") == "met"
    assert _verdict(text, "vs NumPy baseline, engine on 2 threads") == "met"
    assert _verdict(text, "peak memory 1M / 100k") == "met"  # 260 / 250 MiB
    assert _verdict(text, "Dask overhead") == "met"  # +5%
    assert _verdict(text, "cold compile") == "met"
    assert "Command: `python benchmarks/throughput.py --write-readme`." in text

    slow = _report(two_thread_seconds=30.0, overhead_seconds=12.0)  # 7.8e7/s, 2.7x, +20%
    assert _verdict(slow, "throughput, 2 threads") == "**missed**"
    assert _verdict(slow, "vs NumPy baseline, engine on 2 threads") == "**missed**"
    assert _verdict(slow, "Dask overhead") == "**missed**"


def test_write_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{START}\nold numbers\n{END}\n\n## After\n")
    write_readme("new numbers", readme)
    assert readme.read_text() == f"# Title\n\n{START}\nnew numbers\n{END}\n\n## After\n"


def test_write_readme_refuses_a_readme_without_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    with pytest.raises(SystemExit, match="markers"):
        write_readme("new numbers", readme)
    assert readme.read_text() == "# Title\n"


# --------------------------------------------------------------- the sections at every scale
TWO_NODE_DAYS = 1_000_000 * 365 * 2


def _two_node(one_thread_seconds: float) -> dict:
    def engine(threads, seconds):
        return {
            "paths": 1_000_000,
            "threads": threads,
            "seconds": seconds,
            "node_days": TWO_NODE_DAYS,
            "peak_rss_bytes": 200 * 2**20,
            "load_1min": 0.1,
            "fill_rate": [0.9545],
        }

    numpy_ = {
        "paths": 100_000,
        "seconds": 7.3,  # 1e7 node-days/s
        "node_days": TWO_NODE_DAYS // 10,
        "fill_rate": 0.9546,
        "fill_se": 0.0001,
        "peak_rss_bytes": 100 * 2**20,
        "load_1min": 0.2,
        "chunk": 8192,
    }
    return {
        "scenario": "benchmarks/two-node.yaml",
        "engine": [engine(1, one_thread_seconds), engine(2, one_thread_seconds / 1.9)],
        "numpy": numpy_,
    }


def _cli(seconds: float) -> dict:
    sink = _config(100_000, 2, 10.0, 250)
    return {
        "paths": 100_000,
        "threads": 2,
        "strategies": 4,
        "node_days": sink["node_days"],
        "seconds": seconds,
        "inner_seconds": seconds - 1.0,
        "bytes_written": 300 * 2**20,
        "peak_rss_bytes": 400 * 2**20,
        "load_1min": 0.3,
        "sink": sink,
        "scenario": "src/resilience/examples/automotive.yaml",
    }


def _scaling(rate_1024: float) -> dict:
    rows = []
    for nodes, rate in ((16, 1.5e8), (64, 1.45e8), (256, 1.4e8), (1024, rate_1024)):
        paths = 1_600_000 // nodes
        node_days = paths * nodes * 365 * 2
        engine = {
            "paths": paths,
            "threads": 2,
            "seconds": node_days / rate,
            "node_days": node_days,
            "peak_rss_bytes": 300 * 2**20,
            "load_1min": 0.1,
        }
        cli = {**engine, "seconds": 1.1 * node_days / rate, "bytes_written": 10 * nodes * 2**20}
        rows.append({"nodes": nodes, "block_size": 96, "engine": engine, "cli": cli})
    return {"threads": 2, "seed": 0, "rows": rows}


RNG = [
    {
        "name": "`automotive.yaml`",
        "keys_per_path": 61,
        "draws_per_day": 27,
        "nodes": 16,
        "horizon": 365,
        "paths": 100_000,
        "draws": 100_000 * 365 * 27,
        "seconds": 2.0,
        "load_1min": 0.1,
        "kernel_rate": 9.4e7,
    }
]


def test_report_marks_the_targets_at_every_scale():
    good = _report(
        15.0,
        10.5,
        two_node=_two_node(one_thread_seconds=10.0),  # 7.3e7/s per core: 7.3x NumPy
        cli=_cli(seconds=11.0),  # +10%
        scaling=_scaling(rate_1024=1.3e8),  # 13% below the 16-node rate
        rng=RNG,
    )
    assert _verdict(good, "small network (2 nodes) vs NumPy, core for core") == "met"
    assert _verdict(good, "CLI end to end vs the sink, 100k paths, 2 threads") == "met"
    assert _verdict(good, "node-days/s flat from 16 to 1,024 nodes") == "met"
    # the earlier targets are still there
    assert _verdict(good, "throughput, 2 threads") == "met"
    assert "| small network (2 nodes) vs NumPy, core for core | >= 5x | 7.30x | met |" in good
    assert "+10.0% | met |" in good
    assert "lowest (1,024 nodes) 13.3% below highest (16 nodes)" in good

    bad = _report(
        15.0,
        10.5,
        two_node=_two_node(one_thread_seconds=20.0),  # 3.65x
        cli=_cli(seconds=12.0),  # +20%
        scaling=_scaling(rate_1024=1.0e8),  # 33% below
        rng=RNG,
    )
    assert _verdict(bad, "small network (2 nodes) vs NumPy, core for core") == "**missed**"
    assert _verdict(bad, "CLI end to end vs the sink, 100k paths, 2 threads") == "**missed**"
    assert _verdict(bad, "node-days/s flat from 16 to 1,024 nodes") == "**missed**"
    assert TARGETS["small_numpy_ratio"] == 5 and TARGETS["cli_overhead"] == 0.15
    assert TARGETS["scaling_spread"] == 0.20


def test_report_tables_at_every_scale():
    text = _report(
        15.0,
        10.5,
        two_node=_two_node(10.0),
        cli=_cli(11.0),
        scaling=_scaling(1.3e8),
        rng=RNG,
    )
    lines = text.splitlines()
    # the 2-node table: one row per engine thread count and the NumPy row, each with its load
    assert "| engine | 1M | 1 | 10.0 | 7.3e+07 | 7.30x | 95.450% | 200 MiB | 0.10 |" in lines
    assert "| NumPy | 100k | 1 | 7.3 | 1e+07 | 1x | 95.460% +- 0.010% | 100 MiB | 0.20 |" in lines
    # the CLI line: end to end, bytes written, peak RSS, and the sink beside it
    (cli_line,) = [line for line in lines if line.startswith("Through the CLI")]
    assert (
        "11.0 s" in cli_line
        and "300 MiB written" in cli_line
        and "11.0 s" in cli_line
        and "peak RSS 400 MiB" in cli_line
    )
    assert "the CLI's own timer: 10.0 s" in cli_line and "load 0.30" in cli_line
    # the scaling table: a row per size with sink and CLI figures
    rows = [line for line in lines if line.startswith("| 1,024 |")]
    assert rows == [
        "| 1,024 | 1,562 | 96 | 1.3e+08 | 300 MiB | 0.10 | 1.18e+08 | 300 MiB | 10 GiB | 0.10 |"
    ]
    # the RNG ceiling: draws/s, the ceiling in node-days/s and the kernel's share of it
    (rng_row,) = [line for line in lines if line.startswith("| `automotive.yaml`")]
    assert (
        rng_row == "| `automotive.yaml` | 61 | 27 | 4.93e+08 | 2.92e+08 | 9.4e+07 | 32.2% | 0.10 |"
    )
    # sections not measured are left out, and the old report is unchanged by them
    plain = _report(15.0, 10.5)
    assert "Small network" not in plain and "Scaling" not in plain and "RNG" not in plain
    assert plain.splitlines()[0] == lines[0]


@pytest.mark.parametrize("quick", [False, True])
def test_scale_plan_keeps_node_days_and_whole_blocks_per_thread(quick):
    per_thread = 1 if quick else 4
    at_16 = 2048 if quick else 100_000
    work = {}
    for nodes in (16, 64, 256, 1024):
        paths, size = scale_plan(nodes, at_16, threads=2, blocks_per_thread=per_thread)
        assert size % LANES == 0 and LANES <= size <= 4096
        blocks, rest = divmod(paths, size)
        assert rest == 0 and blocks % 2 == 0 and blocks >= 2 * per_thread
        work[nodes] = paths * nodes
    if not quick:  # the same node-days at every size, within a few percent
        assert max(work.values()) / min(work.values()) < 1.1
