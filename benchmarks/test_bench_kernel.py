"""Kernel benchmark: one block of paths of the automotive scenario through ``run_block``.

In the normal test run (``--benchmark-disable``) each case runs once on a small block as
a smoke test; ``make bench`` (``--benchmark-enable``) times a full default-size block.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resilience.engine import DEFAULT_BLOCK_SIZE, prepare, run_block
from resilience.kernels.simulate import DEMAND, FILLED, N_PATH_METRICS

SCENARIO = (
    Path(__file__).resolve().parent.parent / "src" / "resilience" / "examples" / "automotive.yaml"
)
SMOKE_PATHS = 64
SEED = 2026


@pytest.fixture(scope="module")
def compiled():
    return {c.name: c for c in prepare(SCENARIO, 1, SEED).compiled}


@pytest.mark.parametrize("strategy", ["jit", "jic", "regionalized", "hybrid"])
def test_kernel_block(benchmark, compiled, strategy):
    network = compiled[strategy].network
    size = SMOKE_PATHS if benchmark.disabled else DEFAULT_BLOCK_SIZE
    run_block(network, SEED, 0, 2)  # compile or load the kernel outside the timing
    result = benchmark(run_block, network, SEED, 0, size)

    node_days = size * network.horizon * len(network.node_kind)
    benchmark.extra_info.update(paths=size, node_days=node_days)
    assert result.path_out.shape == (size, N_PATH_METRICS)
    demand = result.path_out[:, DEMAND]
    filled = result.path_out[:, FILLED]
    assert np.all(demand > 0)
    assert np.all((filled >= 0) & (filled <= demand + 1e-6))
    # every day of every path lands in exactly one bin of the daily histograms
    assert np.all(result.fill_hist.sum(axis=1) == size)
