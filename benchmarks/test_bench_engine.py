"""End-to-end benchmark: ``resilience.simulate`` on the automotive scenario.

Covers loading, compiling the strategies, the Dask threaded engine and building the
xarray Dataset. A smoke test (a few hundred paths) in the normal test run; timed on a
larger run with ``--benchmark-enable``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import resilience

SCENARIO = (
    Path(__file__).resolve().parent.parent / "src" / "resilience" / "examples" / "automotive.yaml"
)
STRATEGIES = ["jit", "jic", "regionalized", "hybrid"]


def test_engine_simulate(benchmark):
    paths, block = (256, 128) if benchmark.disabled else (16384, 4096)
    ds = benchmark(
        resilience.simulate, str(SCENARIO), paths=paths, seed=2026, block_size=block, threads=2
    )

    benchmark.extra_info.update(paths=paths, strategies=len(STRATEGIES))
    assert list(ds["strategy"].values) == STRATEGIES
    assert ds.sizes["path"] == paths
    fill = ds["filled_units"].sum("path") / ds["demand_units"].sum("path")
    assert np.all((fill > 0.5) & (fill <= 1.0))
