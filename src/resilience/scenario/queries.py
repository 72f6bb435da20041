"""Questions about a validated scenario's network, answered in one place.

Which (node, item) pairs hold stock, which lanes can bring an item to one of them, the
sourcing and stock policy in force under a strategy, and the order the kernel processes
nodes in. :mod:`resilience.compiler` compiles from these answers and the scenario checks
(:mod:`resilience.scenario.check`) judge a file with the same rules, so the two can never
disagree on what a stock point or a candidate lane is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from resilience.scenario.model import Lane, Scenario, Sourcing, StockPolicy, Strategy

__all__ = [
    "candidate_lanes",
    "candidate_sources",
    "processing_order",
    "resolve_sourcing",
    "stock_policy",
    "stock_points",
    "stocked_items",
]


class _Ends(Protocol):
    @property
    def source(self) -> str: ...

    @property
    def destination(self) -> str: ...


_L = TypeVar("_L", bound=_Ends)


def stocked_items(kind: str, item: str, bom: Iterable[str]) -> list[str]:
    """Items a node of ``kind`` stocks: a dc its item, a plant its BOM components (plants
    make to order, so they stock components, never their product), a supplier none."""
    if kind == "dc":
        return [item]
    if kind == "plant":
        return list(bom)
    return []


def stock_points(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (node, item) that holds inventory, in a stable order.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    list of (str, str)
        ``(node name, item)`` per :func:`stocked_items`: ordered by node declaration,
        then BOM order within a plant. These are the compiled network's positions.
    """
    return [
        (node.name, item)
        for node in scenario.nodes
        for item in stocked_items(node.kind, node.item, node.bom)
    ]


def candidate_lanes(lanes: Iterable[_L], items: Mapping[str, str], at: str, item: str) -> list[_L]:
    """The ``lanes`` into ``at`` whose source's item (per ``items``) is ``item``, in order.

    Works on anything with ``source`` and ``destination``: a scenario's lanes, or the
    lane drafts of a file being checked (whose ``items`` may still lack some nodes).
    """
    return [lane for lane in lanes if lane.destination == at and items.get(lane.source) == item]


def candidate_sources(scenario: Scenario, at: str, item: str) -> list[Lane]:
    """Lanes that can bring ``item`` to ``at``: into ``at``, from a node whose item it is.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    at : str
        Name of the receiving stock point.
    item : str
        Item wanted there.

    Returns
    -------
    list of Lane
        In lane declaration order; empty when none (or when ``at`` is unknown).
    """
    items = {node.name: node.item for node in scenario.nodes}
    return candidate_lanes(scenario.lanes, items, at, item)


def resolve_sourcing(
    scenario: Scenario, strategy: Strategy | str | None = None
) -> dict[tuple[str, str], Sourcing]:
    """The sourcing in force at every stock point.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    strategy : Strategy, str or None
        The strategy (or its name) whose ``sourcing`` entries replace the base entries of
        the same (at, item). None: the base network as written.

    Returns
    -------
    dict
        ``(at, item) -> Sourcing`` for every stock point, in :func:`stock_points` order:
        the strategy's entry, else the base entry, else ``Sourcing(at, item, "split",
        shares)`` over its :func:`candidate_sources` in equal shares. So a single
        candidate lane gets ``{source: 1.0}``. Several candidate lanes with no entry
        are split evenly; validation rejects that in a file (which to use is a
        decision), so only a hand-built scenario gets there.

        A stock point with no candidate lane is valid and gets empty ``shares``: it
        never receives anything, and starts with (then only draws down) its order-up-to
        level. Validation lets this through only where it is harmless: a dc with its
        ``item`` given, no demand and no dc with demand downstream (a dc with demand
        downstream, or a plant component, with no lane bringing it is an error).
    """
    if isinstance(strategy, str):
        strategy = scenario.strategy(strategy)
    entries = {(s.at, s.item): s for s in scenario.sourcing}
    if strategy is not None:
        entries.update({(s.at, s.item): s for s in strategy.sourcing})
    items = {n.name: n.item for n in scenario.nodes}
    resolved = {}
    for at, item in stock_points(scenario):
        if (at, item) in entries:
            resolved[(at, item)] = entries[(at, item)]
            continue
        lanes = candidate_lanes(scenario.lanes, items, at, item)
        shares = {lane.source: 1.0 / len(lanes) for lane in lanes}
        resolved[(at, item)] = Sourcing(at=at, item=item, mode="split", shares=shares)
    return resolved


def stock_policy(scenario: Scenario, strategy: Strategy, at: str, item: str) -> StockPolicy:
    """The stock policy of (``at``, ``item``) under ``strategy``, by the precedence of
    :class:`~resilience.scenario.model.Strategy`: the strategy's ``stock`` entries, its
    ``buffer_days``, the base ``stock`` entries, then the base ``buffer_days``."""

    def match(entries: Iterable[StockPolicy]) -> StockPolicy | None:
        for e in entries:
            if e.at == at and e.item in (None, item):
                return e
        return None

    hit = match(strategy.stock)
    if hit is not None:
        return hit
    if strategy.buffer_days is not None:
        return StockPolicy(at=at, item=item, buffer_days=strategy.buffer_days)
    hit = match(scenario.stock)
    if hit is not None:
        return hit
    return StockPolicy(at=at, item=item, buffer_days=scenario.buffer_days)


def processing_order(scenario: Scenario) -> list[int]:
    """Reverse topological order of nodes (a buyer before its sources), ties by declaration.

    Raises
    ------
    ValueError
        If the lanes have a cycle (validation rejects those; this guards direct API use).
    """
    index = {n.name: i for i, n in enumerate(scenario.nodes)}
    buyers_left = [0] * len(scenario.nodes)  # how many buyers of node i are not yet placed
    sources_of: list[list[int]] = [[] for _ in scenario.nodes]
    for lane in scenario.lanes:
        buyers_left[index[lane.source]] += 1
        sources_of[index[lane.destination]].append(index[lane.source])
    order: list[int] = []
    placed = [False] * len(scenario.nodes)
    while len(order) < len(scenario.nodes):
        ready = [i for i in range(len(scenario.nodes)) if not placed[i] and buyers_left[i] == 0]
        if not ready:
            raise ValueError("the lane network has a cycle")
        i = ready[0]
        placed[i] = True
        order.append(i)
        for s in sources_of[i]:
            buyers_left[s] -= 1
    return order
