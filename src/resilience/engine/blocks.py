"""One block of paths through the kernel: the only place that calls it."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from resilience.compiler import ON_HAND_BINS, Network, node_metric_bounds
from resilience.kernels.simulate import (
    FILL_BINS,
    N_NODE_METRICS,
    N_PATH_METRICS,
    NODE_BINS,
    simulate_paths,
)

#: What a run keeps of each node (docs/results-format.md, "Per node"): ``paths`` the
#: per-path per-node variables, ``summary`` per-node summaries computed in the kernel
#: (exact means, histograms and their quantiles, shortage counts), ``none`` neither.
NODE_DETAILS = ("paths", "summary", "none")


class BlockResult(NamedTuple):
    """What the kernel returns for one block of paths of one strategy.

    The node arrays not asked for by the node detail have a first dimension of 0: memory
    grows with the block and the nodes, never with paths x nodes unless ``paths``.
    """

    path_out: np.ndarray  # [paths, N_PATH_METRICS]
    node_out: np.ndarray  # [paths, nodes, N_NODE_METRICS] (detail "paths"; else 0 rows)
    fill_hist: np.ndarray  # [T, FILL_BINS] int64
    on_hand_hist: np.ndarray  # [T, ON_HAND_BINS] int64
    fill_sum: np.ndarray  # [T] int64 fixed point
    on_hand_sum: np.ndarray  # [T] int64 fixed point
    node_hist: np.ndarray  # [nodes, N_NODE_METRICS, NODE_BINS] int64 (detail "summary")
    node_sum: np.ndarray  # [nodes, N_NODE_METRICS] int64 fixed point (detail "summary")
    node_shortage: np.ndarray  # [nodes] int64 paths with a stockout day (detail "summary")


def run_block(
    network: Network, seed: int, start: int, size: int, node_detail: str = "paths"
) -> BlockResult:
    """Run paths [start, start + size) of ``network`` (releases the GIL while it runs)."""
    if node_detail not in NODE_DETAILS:
        raise ValueError(f"node_detail must be one of {', '.join(NODE_DETAILS)}: {node_detail!r}")
    T = network.horizon
    N = network.node_kind.shape[0]
    summary = N if node_detail == "summary" else 0
    result = BlockResult(
        np.empty((size, N_PATH_METRICS)),
        np.empty((size if node_detail == "paths" else 0, N, N_NODE_METRICS)),
        np.zeros((T, FILL_BINS), np.int64),
        np.zeros((T, ON_HAND_BINS), np.int64),
        np.zeros(T, np.int64),
        np.zeros(T, np.int64),
        np.zeros((summary, N_NODE_METRICS, NODE_BINS), np.int64),
        np.zeros((summary, N_NODE_METRICS), np.int64),
        np.zeros(summary, np.int64),
    )
    hi = node_metric_bounds(network) if summary else np.zeros((N, N_NODE_METRICS))
    simulate_paths(network, np.uint64(seed), start, size, *result[:6], hi, *result[6:])
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
