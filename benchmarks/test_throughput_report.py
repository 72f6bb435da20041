"""The README's performance section: benchmarks/throughput.py's report and its writing
between the README markers (synthetic measurements; the real run is `make throughput`)."""

from __future__ import annotations

import pytest

from benchmarks.throughput import END, START, report, write_readme

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


def _report(two_thread_seconds: float, overhead_seconds: float) -> str:
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
