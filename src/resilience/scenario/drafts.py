"""The drafts record: what the read pass took from a scenario document, for the check pass.

Every record is frozen and built once by :mod:`resilience.scenario.read`; the check pass
(:mod:`resilience.scenario.check`) only looks at it. A field that could not be read is
absent (or ``None``), and was reported when it was read, so the checks skip it rather
than report it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from resilience.scenario.model import (
    DemandSurge,
    Event,
    Expedite,
    Lane,
    LaneShock,
    Region,
    Sourcing,
    StockPolicy,
    Strategy,
)
from resilience.scenario.values import Reader, _at, _show, unknown

DemandState = str  # "none" (no demand, or mean 0) | "ok" | "bad" (given but invalid)


@dataclass(frozen=True)
class NodeNames:
    """The node names a reference may use: every well-formed name under ``nodes``."""

    declared: tuple[str, ...] = ()
    readable: bool = False  # False: no readable `nodes` mapping, so no reference is judged
    _known: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def of(cls, declared: tuple[str, ...], readable: bool) -> NodeNames:
        return cls(declared, readable, frozenset(declared))

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def ref(self, r: Reader, data: Mapping[Any, Any], key: str, place: str) -> str | None:
        """``data[key]`` as a declared node, or None (reported) when missing or unknown."""
        where = _at(place, key)
        if key not in data:
            r.error(where, "required key missing, must be a node name")
            return None
        return self.check(r, data[key], where)

    def check(self, r: Reader, name: Any, where: str) -> str | None:
        if not isinstance(name, str):
            r.error(where, f"must be a node name, got {_show(name)}")
            return None
        if name not in self._known:
            # With no readable `nodes` section every reference would be "unknown".
            if self.readable:
                r.error(where, unknown("node", name, self.declared))
            return None
        return name


@dataclass(frozen=True)
class NodeDraft:
    """One node whose ``kind`` was read; ``item`` None: a dc's item, left to inference."""

    kind: str
    item: str | None
    item_ok: bool  # False: `item` was given but invalid (reported)
    bom: Mapping[str, float] | None  # plant: None when missing or invalid (reported)
    demand: DemandState | None  # dc only
    fields: Mapping[str, Any]  # every Node field but name and item


@dataclass(frozen=True)
class NodeDrafts:
    """The ``nodes`` section, with the per-node views the checks look things up in."""

    names: NodeNames
    kinds: Mapping[str, str]
    items: Mapping[str, str]  # given, or a supplier's or plant's default (its name)
    bad_items: frozenset[str]  # nodes whose `item` was given but invalid
    boms: Mapping[str, Mapping[str, float]]  # plants whose bom read cleanly
    demand: Mapping[str, DemandState]  # per dc
    fields: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, names: NodeNames, nodes: Mapping[str, NodeDraft]) -> NodeDrafts:
        return cls(
            names=names,
            kinds={n: d.kind for n, d in nodes.items()},
            items={n: d.item for n, d in nodes.items() if d.item_ok and d.item is not None},
            bad_items=frozenset(n for n, d in nodes.items() if not d.item_ok),
            boms={n: d.bom for n, d in nodes.items() if d.bom is not None},
            demand={n: d.demand for n, d in nodes.items() if d.demand is not None},
            fields={n: d.fields for n, d in nodes.items()},
        )

    @property
    def declared(self) -> tuple[str, ...]:
        return self.names.declared


@dataclass(frozen=True)
class LaneDraft:
    place: str
    source: str
    destination: str
    lane: Lane | None  # None when a field other than from/to was invalid


@dataclass(frozen=True)
class LaneDrafts:
    lanes: tuple[LaneDraft, ...] = ()
    keys: Mapping[str, str] = field(default_factory=dict)  # "a->b" -> place first declared
    complete: bool = False  # False: some lane's endpoints could not be read


@dataclass(frozen=True)
class EntryDraft:
    """A sourcing or stock entry read from the file, awaiting network checks."""

    place: str
    at: str | None  # None: missing, unknown or not a string (already reported)
    item: str | None  # None: not given (stock) or invalid (already reported)
    item_ok: bool
    value: Sourcing | StockPolicy | None


@dataclass(frozen=True)
class EventDraft:
    """A scripted event read from the file (``events[i]``), awaiting the check pass."""

    place: str
    event: Event | None  # None: some field could not be read (already reported)


@dataclass(frozen=True)
class StrategyDraft:
    strategy: Strategy  # with the entries (and events) that read cleanly
    sourcing: tuple[EntryDraft, ...]
    stock: tuple[EntryDraft, ...]
    events: tuple[EventDraft, ...] = ()


@dataclass(frozen=True)
class Drafts:
    """Everything the read pass took from one scenario document."""

    name: Any  # _BAD when invalid, like every scalar below
    description: Any
    horizon: Any
    demand_mode: Any
    buffer_days: Any
    baseline: Any
    currency: Any
    regions: tuple[Region, ...]
    nodes: NodeDrafts
    lanes: LaneDrafts
    sourcing: tuple[EntryDraft, ...]
    stock: tuple[EntryDraft, ...]
    lane_shocks: tuple[LaneShock, ...]
    surges: tuple[DemandSurge, ...]
    strategies: tuple[StrategyDraft, ...]
    events: tuple[EventDraft, ...] = ()
    random_disruptions: Any = True
    expedite: tuple[Expedite, ...] = ()  # issue-14 quality
