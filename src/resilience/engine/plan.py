"""Plan a run: load and compile the scenario's strategies, cut the paths into blocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from resilience.compiler import (
    FILL_FIXED_POINT,
    ON_HAND_FIXED_POINT,
    CompiledStrategy,
    Network,
    compile_strategy,
    node_metric_bounds,
    on_hand_bound,
)
from resilience.engine.blocks import NODE_DETAILS
from resilience.errors import ExecutionError
from resilience.kernels.simulate import NODE_FIXED_POINT
from resilience.scenario import Scenario, load_scenario

DEFAULT_BLOCK_SIZE = 4096

# The per-day means are exact integer sums over a run's paths, kept as int64 (so any
# split into blocks, threads or shards gives the same bits, and `merge` adds the shards'
# sums as int64 too: the limits are on a run's total paths, shards or not).
_INT64_MAX = 2**63 - 1
#: Most paths of one run: each adds round(fill x 2**32) <= 2**32 to a day's fill-rate sum.
MAX_PATHS = _INT64_MAX // int(FILL_FIXED_POINT)  # 2**31 - 1


def max_paths_for(network: Network) -> int:
    """Most paths a run of ``network`` may have: each path adds round(on hand x 2**8) to
    a day's on-hand sum, and on hand can reach :func:`~resilience.compiler.on_hand_bound`
    (with a margin for float round-off in the kernel, and 1 for the rounding)."""
    per_path = on_hand_bound(network) * ON_HAND_FIXED_POINT * (1.0 + 1e-6) + 1.0
    return min(MAX_PATHS, int(_INT64_MAX // per_path))


def check_paths(paths: int, total_paths: int) -> None:
    """Refuse a path count a run cannot hold, before anything is compiled or planned."""
    if paths < 1:
        raise ExecutionError(f"paths must be >= 1, got {paths}")
    if total_paths > MAX_PATHS:
        raise ExecutionError(
            f"at most {MAX_PATHS} paths a run, got {total_paths}: each path adds up to "
            "2**32 to the exact int64 daily fill-rate sums (shards too: merge adds their "
            "sums); for more, make separate runs with different seeds"
        )


def check_on_hand(compiled: list[CompiledStrategy], total_paths: int) -> None:
    """Refuse a run whose exact int64 daily on-hand sums could overflow (they would wrap
    silently, turning the daily on-hand mean into garbage)."""
    for c in compiled:
        limit = max_paths_for(c.network)
        if total_paths > limit:
            raise ExecutionError(
                f"at most {limit} paths for this scenario, got {total_paths}: on hand can "
                f"reach {on_hand_bound(c.network):.3g} units a day (strategy {c.name}), and "
                f"the daily on-hand mean is an exact int64 sum over paths of on hand x "
                f"{ON_HAND_FIXED_POINT:g}; count in larger units (kg instead of g) or run "
                f"at most {limit} paths (shards do not help: merge adds the same sums)"
            )


#: Networks of at most this many nodes keep per-path per-node variables by default
#: (``node_detail="auto"``): 6 float32 per node and path-strategy is at most 768 bytes, as
#: much as the per-path variables; larger networks keep per-node summaries, whose size
#: does not grow with paths (1,024 nodes x 1M paths per-path would be ~25 GB a strategy).
AUTO_PATHS_MAX_NODES = 32


def resolve_node_detail(node_detail: str | None, nodes: int) -> str:
    """The node detail a run keeps: ``paths``, ``summary`` or ``none``; ``auto`` (or None)
    is ``paths`` up to :data:`AUTO_PATHS_MAX_NODES` nodes, else ``summary``."""
    if node_detail is None or node_detail == "auto":
        return "paths" if nodes <= AUTO_PATHS_MAX_NODES else "summary"
    if node_detail not in NODE_DETAILS:
        raise ExecutionError(
            f"node_detail must be one of auto, {', '.join(NODE_DETAILS)}; got {node_detail!r}"
        )
    return node_detail


def check_node_sums(compiled: list[CompiledStrategy], total_paths: int) -> None:
    """Refuse a per-node summary whose exact int64 fixed-point sums could overflow."""
    for c in compiled:
        most = float(node_metric_bounds(c.network).max(initial=0.0))
        per_path = most * NODE_FIXED_POINT * (1.0 + 1e-6) + 1.0
        limit = min(MAX_PATHS, int(_INT64_MAX // per_path))
        if total_paths > limit:
            raise ExecutionError(
                f"at most {limit} paths for per-node summaries of this scenario, got "
                f"{total_paths}: a node metric can reach {most:.3g} (strategy {c.name}) and "
                f"its mean is an exact int64 sum of value x {NODE_FIXED_POINT:g} over paths; "
                "count in larger units or use node_detail paths or none"
            )


@dataclass(frozen=True)
class Task:
    """One kernel call: paths [start, start + size) of the network at ``index``, keeping
    ``node_detail`` of its nodes (``paths``, ``summary`` or ``none``)."""

    # position of the network in the job, e.g. (strategy,) or (unit,) of a sweep
    index: tuple[int, ...]
    start: int
    size: int
    node_detail: str = "paths"


@dataclass
class PreparedRun:
    """A scenario compiled for its strategies, with its tasks planned."""

    scenario: Scenario
    compiled: list[CompiledStrategy]
    paths: int
    seed: int
    tasks: list[Task]
    path_start: int = 0
    node_detail: str = "paths"

    @property
    def networks(self) -> dict[tuple[int, ...], Network]:
        return {(i,): c.network for i, c in enumerate(self.compiled)}

    @property
    def block_size(self) -> int:
        return max(t.size for t in self.tasks)


def plan_blocks(paths: int, block_size: int | None, start: int = 0) -> list[tuple[int, int]]:
    """(start, size) of each block covering paths [start, start + paths)."""
    if paths < 1:
        raise ExecutionError(f"paths must be >= 1, got {paths}")
    size = block_size or DEFAULT_BLOCK_SIZE
    if size < 1:
        raise ExecutionError(f"block_size must be >= 1, got {size}")
    return [(start + lo, min(size, paths - lo)) for lo in range(0, paths, size)]


def resolve_strategies(scenario: Scenario, strategies: Iterable[str] | None) -> list[str]:
    """The strategies to run, in the order asked (default: all, in scenario order)."""
    names = scenario.strategy_names
    if not strategies:
        return names
    chosen = list(dict.fromkeys(strategies))
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise ExecutionError(
            f"unknown strategy {unknown[0]!r}; the scenario defines: {', '.join(names)}"
        )
    return chosen


def prepare(
    scenario,
    paths: int,
    seed: int,
    strategies: Iterable[str] | None = None,
    block_size: int | None = None,
    path_start: int = 0,
    total_paths: int | None = None,
    node_detail: str | None = None,
) -> PreparedRun:
    """Load, compile and plan a run without executing it.

    ``total_paths``: the paths of the whole run when this is one shard of it (paths
    [path_start, path_start + paths)); by default path_start + paths. Runs whose exact
    integer daily sums could overflow are refused (:data:`MAX_PATHS`, and the on-hand
    limit of each scenario). ``node_detail``: what the run keeps of each node
    (:func:`resolve_node_detail`; default ``auto``).
    """
    total = path_start + paths if total_paths is None else max(total_paths, path_start + paths)
    check_paths(paths, total)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**64:
        raise ExecutionError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    names = resolve_strategies(scenario, strategies)
    compiled = [compile_strategy(scenario, name) for name in names]
    check_on_hand(compiled, total)
    detail = resolve_node_detail(node_detail, len(compiled[0].node_names))
    if detail == "summary":
        check_node_sums(compiled, total)
    blocks = plan_blocks(paths, block_size, path_start)
    # strategies interleaved per block, so partial progress covers every strategy evenly
    tasks = [
        Task((i,), start, size, detail) for start, size in blocks for i in range(len(compiled))
    ]
    return PreparedRun(scenario, compiled, int(paths), int(seed), tasks, path_start, detail)
