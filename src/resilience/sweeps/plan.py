"""Plan a sweep: validate every grid point and find the distinct networks to simulate.

Each piece of work is one **job**: one compiled network (a strategy of a point). Points that
leave a strategy unchanged (a sweep of the JIC buffer leaves JIT as it is) share its
network; it is simulated once and its result used at every such point, which is exact
because a network, the seed and the path indices determine every bit of the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import yaml

from resilience.compiler import CompiledStrategy, compile_strategy
from resilience.engine import PreparedRun, prepare, resolve_node_detail, resolve_strategies
from resilience.errors import SweepError
from resilience.results import run_attributes
from resilience.scenario import Scenario, load_scenario
from resilience.shards import run_identity
from resilience.sweeps.spec import SweepSpec

__all__ = ["SweepPlan", "network_key", "plan_sweep"]


def network_key(network) -> str:
    """A hash of everything the kernel reads: equal keys give bit-identical results."""
    h = hashlib.sha256()
    for name, value in zip(network._fields, network, strict=True):
        h.update(name.encode())
        if isinstance(value, np.ndarray):
            h.update(f"{value.dtype}{value.shape}".encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()[:24]


@dataclass
class SweepPlan:
    """A validated sweep: one scenario per point, the distinct networks (jobs) to simulate."""

    spec: SweepSpec
    base: Scenario
    scenarios: list[Scenario]
    strategies: list[str]
    paths: int
    seed: int
    summary_only: bool
    jobs: list[PreparedRun]  # one single-strategy run per distinct network
    keys: list[str]  # network key of each job
    job_of: np.ndarray  # [points, strategies] -> job index
    node_detail: str = "paths"  # what every job keeps of each node (engine.resolve_node_detail)

    @property
    def points(self) -> int:
        return self.spec.size

    @property
    def identity(self) -> dict:
        text = self.base.source_text or ""
        return run_identity(
            hashlib.sha256(text.encode()).hexdigest(),
            self.seed,
            self.paths,
            self.strategies,
            sweep=self.spec.to_json(),
            summary_only=bool(self.summary_only),
            node_detail=self.node_detail,
        )

    def jobs_for(self, points: Iterable[int]) -> list[int]:
        """Distinct jobs the given points need, in order of first use."""
        return list(dict.fromkeys(int(j) for p in points for j in self.job_of[p]))

    def point_jobs(self, point: int) -> list[int]:
        """The job of each strategy of ``point``, in strategy order."""
        return [int(j) for j in self.job_of[point]]

    def point_compiled(self, point: int) -> list[CompiledStrategy]:
        """The compiled strategies of ``point`` (its jobs' networks, under the strategy
        names), in strategy order."""
        return [
            replace(self.jobs[j].compiled[0], name=name)
            for j, name in zip(self.point_jobs(point), self.strategies, strict=True)
        ]

    def attributes(self) -> dict:
        compiled = [compile_strategy(self.base, s) for s in self.strategies]
        extra = {
            "sweep_json": self.spec.to_json(),
            "sweep_axes": json.dumps(self.spec.names),
            "sweep_points": self.points,
            "sweep_summary_only": int(self.summary_only),
            "sweep_description": self.spec.description,
            "sweep_distinct_networks": len(self.jobs),
            "node_detail": self.node_detail,
        }
        attrs = run_attributes(self.base, compiled, self.seed, self.paths, extra)
        attrs["title"] = f"resilience sweep: {self.base.name}"
        return attrs


def plan_sweep(
    scenario,
    spec: SweepSpec,
    paths: int,
    seed: int = 0,
    strategies: Iterable[str] | None = None,
    *,
    block_size: int | None = None,
    summary_only: bool = False,
    node_detail: str | None = None,
) -> SweepPlan:
    """Validate every point of ``spec`` on ``scenario`` and compile its strategies.

    Raises ``SweepError`` (every bad path or value, with its axis and point) or
    ``ScenarioError`` (the base scenario) before anything is simulated. ``node_detail``
    as for ``resilience.simulate`` (``auto`` decided on the base scenario's nodes: every
    point has the same nodes).
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    base_doc = yaml.safe_load(base.source_text)
    scenarios = spec.scenarios(base_doc, source=str(base.source_path or ""))
    names = resolve_strategies(base, strategies)
    detail = resolve_node_detail(node_detail, len(base.nodes))
    jobs: list[PreparedRun] = []
    keys: list[str] = []
    index: dict[str, int] = {}
    job_of = np.empty((spec.size, len(names)), dtype=np.int64)
    shape = None  # (names, kinds, regions) of the first point: the dataset's node coordinates
    for p, sc in enumerate(scenarios):
        missing = [s for s in names if s not in sc.strategy_names]
        if missing:
            raise SweepError(f"point {p} ({spec.label(p)}): has no strategy {missing[0]!r}")
        for s, name in enumerate(names):
            run = prepare(sc, paths, seed, [name], block_size, node_detail=detail)
            compiled = run.compiled[0]
            here = (compiled.node_names, compiled.node_kinds, compiled.node_regions)
            if shape is None:
                shape = here
            elif here[0] != shape[0]:
                raise SweepError(
                    f"point {p} ({spec.label(p)}): changes the network's nodes; a sweep may "
                    f"change parameters, not which nodes exist"
                )
            elif here != shape:
                node, what, old, new = _changed_node(shape, here)
                raise SweepError(
                    f"point {p} ({spec.label(p)}): changes the {what} of node {node!r} "
                    f"({old} -> {new}); a sweep may change parameters, not a node's kind or "
                    "region (they label the result's node coordinate)"
                )
            key = network_key(compiled.network)
            if key not in index:
                index[key] = len(jobs)
                jobs.append(run)
                keys.append(key)
            job_of[p, s] = index[key]
    return SweepPlan(
        spec,
        base,
        scenarios,
        names,
        int(paths),
        int(seed),
        bool(summary_only),
        jobs,
        keys,
        job_of,
        detail,
    )


def _changed_node(first, here) -> tuple[str, str, str, str]:
    """(node, "kind" or "region", first value, this point's value) of the first change."""
    for what, a, b in (("kind", first[1], here[1]), ("region", first[2], here[2])):
        for node, x, y in zip(first[0], a, b, strict=True):
            if x != y:
                return node, what, x, y
    raise AssertionError("no node changed")  # pragma: no cover - called only on a change
