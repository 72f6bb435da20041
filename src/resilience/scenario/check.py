"""Pass 2: check the network as a whole, over the drafts the read pass produced.

Items carried by lanes, cycles (lanes and bills of materials), components and demand
that need a source, sourcing and stock entries, and surges per dc. The checks only judge
what pass 1 read cleanly, so a single typo gives a single error rather than a cascade.
Stock points and candidate lanes are those of :mod:`resilience.scenario.queries`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from resilience.scenario.drafts import Drafts, EntryDraft, LaneDraft
from resilience.scenario.model import Sourcing
from resilience.scenario.queries import lanes_by_item, stocked_items
from resilience.scenario.read_events import check_events
from resilience.scenario.values import MAX_SURGES_PER_DC, Errors, _at, _listing


@dataclass(frozen=True)
class _Net:
    """What the checks look at: the drafts, the lanes into each node, and every item known
    (given, defaulted or inferred; a node whose item is unknown is absent)."""

    drafts: Drafts
    incoming: Mapping[str, tuple[LaneDraft, ...]]
    items: Mapping[str, str]
    # answers computed once (asked per entry or per item, they were quadratic in a plant
    # with thousands of components)
    _stocked: dict[str, tuple[list[str], frozenset[str]] | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    _candidates: dict[tuple[str, str], list[LaneDraft]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._candidates.update(lanes_by_item(self.drafts.lanes.lanes, self.items))

    def into(self, node: str) -> tuple[LaneDraft, ...]:
        return self.incoming.get(node, ())

    def stocked(self, node: str) -> list[str] | None:
        """Items stocked at ``node`` (None when unknown because of an earlier error)."""
        hit = self._stocked_at(node)
        return None if hit is None else hit[0]

    def stocks(self, node: str, item: str) -> bool:
        hit = self._stocked_at(node)
        return hit is not None and item in hit[1]

    def _stocked_at(self, node: str) -> tuple[list[str], frozenset[str]] | None:
        if node not in self._stocked:
            nodes = self.drafts.nodes
            kind = nodes.kinds.get(node)
            known = {"dc": node in self.items, "plant": node in nodes.boms, "supplier": True}
            if kind is None or not known[kind]:
                self._stocked[node] = None
            else:
                listed = stocked_items(kind, self.items.get(node, ""), nodes.boms.get(node, ()))
                self._stocked[node] = (listed, frozenset(listed))
        return self._stocked[node]

    def candidates(self, at: str, item: str) -> list[LaneDraft]:
        """:func:`~resilience.scenario.queries.candidate_lanes` into ``at`` for ``item``."""
        return self._candidates.get((at, item), [])


def check_drafts(drafts: Drafts, errors: Errors) -> dict[str, str]:
    """Run every whole-network check; returns the item of every node whose item is known."""
    incoming: dict[str, list[LaneDraft]] = {}
    for d in drafts.lanes.lanes:
        incoming.setdefault(d.destination, []).append(d)
    lanes_into = {node: tuple(lanes) for node, lanes in incoming.items()}
    items = infer_dc_items(drafts, lanes_into, errors)
    net = _Net(drafts, lanes_into, items)
    check_lanes(net, errors)
    check_network_cycles(drafts, errors)
    check_bom_cycles(net, errors)
    check_components(net, errors)
    check_demand(net, errors)
    base_ok = check_entries(net, drafts.sourcing, drafts.stock, errors)
    check_default_sourcing(net, drafts.sourcing, base_ok, errors)
    check_surges(drafts, errors)
    check_events(drafts, errors)
    for strategy in drafts.strategies:
        check_entries(net, strategy.sourcing, strategy.stock, errors)
    return items


def _dcs_with_demand_downstream(
    drafts: Drafts, incoming: Mapping[str, tuple[LaneDraft, ...]]
) -> list[str]:
    """DCs that have demand or feed, directly or not, a dc that has: they need a source."""
    nodes = drafts.nodes
    needs = [dc for dc, state in nodes.demand.items() if state in ("ok", "bad")]
    downstream = set(needs)
    while needs:
        node = needs.pop()
        for d in incoming.get(node, ()):
            if nodes.kinds.get(d.source) == "dc" and d.source not in downstream:
                downstream.add(d.source)
                needs.append(d.source)
    return [dc for dc in nodes.declared if dc in downstream]


def infer_dc_items(
    drafts: Drafts, incoming: Mapping[str, tuple[LaneDraft, ...]], errors: Errors
) -> dict[str, str]:
    """Every known item, each dc without ``item`` given the one its incoming lanes carry."""
    nodes = drafts.nodes
    items = dict(nodes.items)
    pending = [
        n
        for n, k in nodes.kinds.items()
        if k == "dc" and n not in items and n not in nodes.bad_items
    ]
    # DCs may feed DCs, so resolve to a fixed point (any order of declaration works). As
    # passes over the pending dcs in declaration order, each seeing what the pass before
    # it resolved; but a pass looks only at the dcs one of whose sources has just become
    # known (a full pass per change was quadratic in a chain of dcs): (pass, position)
    # keys a heap, so every dc is judged, and every error found, in the same order.
    order = {dc: i for i, dc in enumerate(pending)}
    feeds: dict[str, list[str]] = {}  # source -> the pending dcs it has a lane into
    for dc in pending:
        for d in incoming.get(dc, ()):
            feeds.setdefault(d.source, []).append(dc)
    waiting = set(pending)
    heap = [(0, i, dc) for i, dc in enumerate(pending)]
    while heap:
        round_, i, dc = heapq.heappop(heap)
        if dc not in waiting:
            continue
        sources = [d.source for d in incoming.get(dc, ())]
        if not sources or any(s not in items for s in sources):
            continue
        waiting.discard(dc)
        carried = {s: items[s] for s in sources}
        if len(set(carried.values())) == 1:
            items[dc] = next(iter(carried.values()))
            for buyer in feeds.get(dc, ()):
                j = order[buyer]
                heapq.heappush(heap, (round_ if j > i else round_ + 1, j, buyer))
        else:
            listing = ", ".join(f"{item!r} from {s}" for s, item in carried.items())
            errors.add(
                _at(_at("nodes", dc), "item"),
                f"not given and cannot be inferred: incoming lanes carry different "
                f"items ({listing}), a dc stocks one item",
            )
    pending = [dc for dc in pending if dc in waiting]
    # Those with demand downstream are reported by check_demand ("no lane brings it").
    needing = set(_dcs_with_demand_downstream(drafts, incoming))
    for dc in pending:
        if drafts.lanes.complete and dc not in incoming and dc not in needing:
            errors.add(
                _at(_at("nodes", dc), "item"),
                "required for a dc with no incoming lanes (nothing to infer it from), "
                "must be a non-empty string",
            )
    return items


def check_lanes(net: _Net, errors: Errors) -> None:
    """What each lane carries suits its destination."""
    nodes = net.drafts.nodes
    for d in net.drafts.lanes.lanes:
        kind = nodes.kinds.get(d.destination)
        carried = net.items.get(d.source)
        if kind == "supplier":
            errors.add(
                _at(d.place, "to"),
                f"suppliers have no incoming lanes, got {d.destination!r} (a supplier)",
            )
        elif kind == "dc" and carried is not None and d.destination in net.items:
            stocked = net.items[d.destination]
            if carried != stocked:
                errors.add(
                    d.place,
                    f"a lane into a dc must carry the dc's item {stocked!r}, "
                    f"got {carried!r} (what {d.source} supplies)",
                )
        elif kind == "plant" and carried is not None and d.destination in nodes.boms:
            bom = nodes.boms[d.destination]
            if carried not in bom:
                errors.add(
                    d.place,
                    f"a lane into a plant must carry one of its components "
                    f"({_listing(bom)}), got {carried!r} (what {d.source} supplies)",
                )


def check_network_cycles(drafts: Drafts, errors: Errors) -> None:
    edges: dict[str, list[str]] = {}
    places: dict[tuple[str, str], str] = {}
    for d in drafts.lanes.lanes:
        edges.setdefault(d.source, []).append(d.destination)
        places[(d.source, d.destination)] = d.place
    for cycle in _find_cycles(drafts.nodes.declared, edges):
        via = ", ".join(places[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False))
        errors.add(
            "lanes",
            f"the network has a cycle {' -> '.join(cycle)} ({via}), "
            "goods must flow one way from suppliers to dcs",
        )


def check_bom_cycles(net: _Net, errors: Errors) -> None:
    edges: dict[str, list[str]] = {}
    makers: dict[tuple[str, str], str] = {}
    for plant, bom in net.drafts.nodes.boms.items():
        product = net.items.get(plant)
        if product is None:
            continue
        for comp in bom:
            edges.setdefault(product, []).append(comp)
            makers.setdefault((product, comp), plant)
    items = list(dict.fromkeys([*edges, *(c for cs in edges.values() for c in cs)]))
    for cycle in _find_cycles(items, edges):
        plants = list(dict.fromkeys(makers[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False)))
        errors.add(
            _at(_at("nodes", plants[0]), "bom"),
            f"bill-of-materials cycle {' -> '.join(cycle)} (plants {', '.join(plants)}), "
            "an item cannot be its own component",
        )


def check_components(net: _Net, errors: Errors) -> None:
    """Each plant component has a lane bringing it (unless an unknown item might)."""
    if not net.drafts.lanes.complete:
        return
    for plant, bom in net.drafts.nodes.boms.items():
        into = net.into(plant)
        carried = {net.items.get(d.source) for d in into}
        unknown_source = any(d.source not in net.items for d in into)
        for comp in bom:
            if comp not in carried and not unknown_source:
                errors.add(
                    _at(_at(_at("nodes", plant), "bom"), comp),
                    f"no lane into {plant} carries {comp!r}, "
                    "each component needs a lane from a node that makes or stocks it",
                )


def check_demand(net: _Net, errors: Errors) -> None:
    """Some dc has demand, and every dc with demand downstream has a lane into it."""
    nodes = net.drafts.nodes
    dcs = [n for n, k in nodes.kinds.items() if k == "dc"]
    complete = bool(nodes.declared) and len(nodes.kinds) == len(nodes.declared)
    states = [nodes.demand.get(dc) for dc in dcs]
    if complete and "ok" not in states and "bad" not in states:
        errors.add(
            "nodes",
            "no dc has demand (mean_per_day > 0), at least one is needed, "
            f"got dcs: {_listing(dcs)}",
        )
    if not net.drafts.lanes.complete:
        return
    for dc in _dcs_with_demand_downstream(net.drafts, net.incoming):
        if not net.into(dc):
            errors.add(
                _at("nodes", dc),
                "has demand (or feeds a dc that has) but no lane brings it anything, "
                f"add a lane into {dc}",
            )


def _is_stock_point(net: _Net, entry: EntryDraft, need_item: bool, errors: Errors) -> bool:
    """Report an entry whose ``at``/``item`` is not a stock point; True when it is one."""
    if entry.at is None or not entry.item_ok:
        return False
    kind = net.drafts.nodes.kinds.get(entry.at)
    stocked = net.stocked(entry.at)
    if kind == "supplier":
        errors.add(
            _at(entry.place, "at"),
            f"must be a stock point (a plant or a dc), got {entry.at!r} (a supplier holds no stock)",
        )
        return False
    if stocked is None:
        return False
    if entry.item is None:
        return not need_item
    if not net.stocks(entry.at, entry.item):
        errors.add(
            _at(entry.place, "item"),
            f"must be an item stocked at {entry.at} ({_listing(stocked)}), got {entry.item!r}",
        )
        return False
    return True


def check_entries(
    net: _Net, sourcing: Iterable[EntryDraft], stock: Iterable[EntryDraft], errors: Errors
) -> bool:
    """Check sourcing and stock entries; True when every sourcing entry was sound."""
    all_ok = True
    seen: dict[tuple[str, str | None], str] = {}
    for entry in sourcing:
        if not _is_stock_point(net, entry, True, errors):
            all_ok = False
            continue
        assert entry.at is not None and entry.item is not None
        key = (entry.at, entry.item)
        if key in seen:
            errors.add(
                entry.place,
                f"duplicate sourcing for {entry.item!r} at {entry.at} (also {seen[key]})",
            )
        seen.setdefault(key, entry.place)
        if entry.value is None:
            all_ok = False
            continue
        assert isinstance(entry.value, Sourcing)
        if not _check_shares(net, entry, entry.value, errors):
            all_ok = False
    seen = {}
    for entry in stock:
        if not _is_stock_point(net, entry, False, errors):
            continue
        assert entry.at is not None
        key = (entry.at, entry.item)
        if key in seen:
            what = "every item" if entry.item is None else repr(entry.item)
            errors.add(
                entry.place,
                f"duplicate stock entry for {what} at {entry.at} (also {seen[key]})",
            )
        seen.setdefault(key, entry.place)
    return all_ok


def _check_shares(net: _Net, entry: EntryDraft, sourcing: Sourcing, errors: Errors) -> bool:
    """Each source named in the shares has a lane into ``at`` carrying the item."""
    ok = True
    lanes = net.drafts.lanes
    for source in sourcing.shares:
        lane = lanes.keys.get(f"{source}->{sourcing.at}")
        carried = net.items.get(source)
        if lane is None and not lanes.complete:
            continue  # it may be the lane whose endpoints could not be read
        if lane is None:
            problem = f"no lane {source}->{sourcing.at}"
        elif carried is not None and carried != sourcing.item:
            problem = f"{lane} ({source}->{sourcing.at}) carries {carried!r}"
        else:
            continue
        ok = False
        errors.add(
            _at(_at(entry.place, "shares"), source),
            f"{problem}, shares may only name sources with a lane into "
            f"{sourcing.at} carrying {sourcing.item!r}",
        )
    return ok


def check_default_sourcing(
    net: _Net, sourcing: Iterable[EntryDraft], entries_ok: bool, errors: Errors
) -> None:
    """Several candidate lanes with no sourcing entry: which to use is a decision."""
    # A broken entry may be the one meant for a stock point: judge only clean files.
    if not net.drafts.lanes.complete or not entries_ok:
        return
    decided = {(e.at, e.item) for e in sourcing}
    for node in net.drafts.nodes.declared:
        for item in net.stocked(node) or []:
            lanes = net.candidates(node, item)
            if len(lanes) > 1 and (node, item) not in decided:
                via = ", ".join(f"{d.source}->{node}" for d in lanes)
                errors.add(
                    "sourcing",
                    f"{node} has {len(lanes)} candidate lanes for {item!r} ({via}) "
                    "but no sourcing entry, add one (at, item, mode, shares) to choose",
                )


def check_surges(drafts: Drafts, errors: Errors) -> None:
    covering: dict[str, list[str]] = {}
    for surge in drafts.surges:
        for dc in surge.dcs:
            covering.setdefault(dc, []).append(surge.name)
    for dc, names in covering.items():
        if len(names) > MAX_SURGES_PER_DC:
            errors.add(
                "demand_surges",
                f"at most {MAX_SURGES_PER_DC} surges may cover one dc, "
                f"got {len(names)} covering {dc} ({_listing(names)})",
            )


def _find_cycles(order: Iterable[str], edges: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle (as ``[a, b, ..., a]``) per tangle of a directed graph, by depth-first search.

    Cycles sharing a vertex with one already found are skipped, so a knot of lanes is
    reported once rather than once per loop through it.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: list[list[str]] = []
    reported: set[str] = set()
    for start in order:
        if start in state:
            continue
        path = [start]
        stack = [iter(edges.get(start, ()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
            elif state[nxt] == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                if reported.isdisjoint(cycle):
                    cycles.append(cycle)
                    reported.update(cycle)
    return cycles
