"""One block of paths through the kernel: the only place that calls it."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from resilience.compiler import ON_HAND_BINS, Network
from resilience.kernels.simulate import FILL_BINS, N_NODE_METRICS, N_PATH_METRICS, simulate_paths


class BlockResult(NamedTuple):
    """What the kernel returns for one block of paths of one strategy."""

    path_out: np.ndarray  # [paths, N_PATH_METRICS]
    node_out: np.ndarray  # [paths, nodes, N_NODE_METRICS]
    fill_hist: np.ndarray  # [T, FILL_BINS] int64
    on_hand_hist: np.ndarray  # [T, ON_HAND_BINS] int64
    fill_sum: np.ndarray  # [T] int64 fixed point
    on_hand_sum: np.ndarray  # [T] int64 fixed point


def run_block(network: Network, seed: int, start: int, size: int) -> BlockResult:
    """Run paths [start, start + size) of ``network`` (releases the GIL while it runs)."""
    T = network.horizon
    result = BlockResult(
        np.empty((size, N_PATH_METRICS)),
        np.empty((size, network.node_kind.shape[0], N_NODE_METRICS)),
        np.zeros((T, FILL_BINS), np.int64),
        np.zeros((T, ON_HAND_BINS), np.int64),
        np.zeros(T, np.int64),
        np.zeros(T, np.int64),
    )
    simulate_paths(network, np.uint64(seed), start, size, *result)
    return result


def kernel_ready() -> bool:
    """Whether the kernel is compiled in this process or in numba's on-disk cache (so the
    first block will not spend ~20 s compiling)."""
    if simulate_paths.signatures:
        return True
    try:
        return os.path.exists(simulate_paths._cache._cache_file._index_path)
    except AttributeError:  # another numba's cache layout: say nothing rather than guess
        return True
