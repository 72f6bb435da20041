"""Run the simulation kernel directly on a compiled strategy (no engine), for the tests
that compare it with tests/reference.py or with itself under other block splits."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from resilience.compiler import FILL_BINS, ON_HAND_BINS, Network, compile_strategy
from resilience.kernels.simulate import N_NODE_METRICS, N_PATH_METRICS, NODE_BINS, simulate_paths
from resilience.scenario.model import Scenario


class KernelOutput(NamedTuple):
    path_out: np.ndarray  # [paths, N_PATH_METRICS]
    node_out: np.ndarray  # [paths, nodes, N_NODE_METRICS]
    fill_hist: np.ndarray  # [T, FILL_BINS]
    on_hand_hist: np.ndarray  # [T, ON_HAND_BINS]
    fill_sum: np.ndarray  # [T]
    on_hand_sum: np.ndarray  # [T]


def empty_output(net: Network, n_paths: int) -> KernelOutput:
    T, N = net.horizon, net.node_kind.shape[0]
    return KernelOutput(
        np.full((n_paths, N_PATH_METRICS), -7.0),  # garbage: the kernel must write it all
        np.full((n_paths, N, N_NODE_METRICS), -7.0),
        np.zeros((T, FILL_BINS), np.int64),
        np.zeros((T, ON_HAND_BINS), np.int64),
        np.zeros(T, np.int64),
        np.zeros(T, np.int64),
    )


def network(scenario: Scenario, strategy: str) -> Network:
    return compile_strategy(scenario, strategy).network


def run_kernel(
    net: Network,
    seed: int,
    path_start: int,
    n_paths: int,
    out: KernelOutput | None = None,
) -> KernelOutput:
    """Paths ``path_start ..`` of ``net``; histograms and sums accumulate into ``out``."""
    if out is None:
        out = empty_output(net, n_paths)
    N = net.node_kind.shape[0]
    no_summary = (
        np.zeros((N, N_NODE_METRICS)),
        np.zeros((0, N_NODE_METRICS, NODE_BINS), np.int64),
        np.zeros((0, N_NODE_METRICS), np.int64),
        np.zeros(0, np.int64),
    )
    simulate_paths(net, np.uint64(seed), path_start, n_paths, *out, *no_summary)
    return out
