"""Plan a run: load and compile the scenario's strategies, cut the paths into blocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from resilience.compiler import CompiledStrategy, Network, compile_strategy
from resilience.errors import ExecutionError
from resilience.scenario import Scenario, load_scenario

DEFAULT_BLOCK_SIZE = 4096


@dataclass(frozen=True)
class Task:
    """One kernel call: paths [start, start + size) of the network at ``index``."""

    # position of the network in the job, e.g. (strategy,) or (unit,) of a sweep
    index: tuple[int, ...]
    start: int
    size: int


@dataclass
class PreparedRun:
    """A scenario compiled for its strategies, with its tasks planned."""

    scenario: Scenario
    compiled: list[CompiledStrategy]
    paths: int
    seed: int
    tasks: list[Task]
    path_start: int = 0

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
) -> PreparedRun:
    """Load, compile and plan a run without executing it."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**64:
        raise ExecutionError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    names = resolve_strategies(scenario, strategies)
    compiled = [compile_strategy(scenario, name) for name in names]
    blocks = plan_blocks(paths, block_size, path_start)
    # strategies interleaved per block, so partial progress covers every strategy evenly
    tasks = [Task((i,), start, size) for start, size in blocks for i in range(len(compiled))]
    return PreparedRun(scenario, compiled, int(paths), int(seed), tasks, path_start)
