"""Pass 1 readers of issue 14's quality keys: ``defects`` (lanes and plants), ``jidoka``
(plants) and the ``expedite`` entries (top level and per strategy).

docs/scenario-format.md ("Quality, jidoka and expediting") describes the keys, and
docs/model.md where each acts in the day. Every reader reports its problems, placed,
and returns ``_BAD`` (or leaves the entry out) where it cannot read a value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from resilience.scenario.drafts import NodeDrafts, StrategyDraft
from resilience.scenario.model import Defects, Expedite, Incident, Jidoka
from resilience.scenario.values import (
    _BAD,
    CAPACITY,
    COST,
    DAYS,
    END_PROBABILITY,
    FRACTION,
    MAX_PIPELINE_CELLS,
    NON_NEGATIVE,
    PROBABILITY,
    TEXT,
    Reader,
    _at,
    _Number,
    _show,
)

DEFECT_KEYS = ("fraction", "binomial", "incident", "scrap_cost_per_unit")
INCIDENT_KEYS = (
    "mean_days_between",
    "start_probability",
    "mean_days",
    "end_probability",
    "fraction",
)
JIDOKA_KEYS = ("threshold", "mean_recovery_days", "recovery_probability")
EXPEDITE_KEYS = (
    "at",
    "item",
    "lead_time_days",
    "unit_premium",
    "capacity_per_day",
    "trigger",
    "when_sources_down",
)
TRIGGER_KEYS = ("below_days", "below_units")
# a defect fraction of 1 would scrap everything: allowed, it is a valid (if dire) input
DEFECT_FRACTION = _Number(lo=0.0, hi=1.0, noun="a fraction in [0, 1]")
# units below which the inventory position triggers expediting (a level, like S)
TRIGGER_UNITS = NON_NEGATIVE


def _flag(r: Reader, data: Mapping[Any, Any], key: str, place: str) -> Any:
    if key not in data:
        return False
    value = data[key]
    if not isinstance(value, bool):
        r.error(_at(place, key), f"must be true or false, got {_show(value)}")
        return _BAD
    return value


def read_defects(r: Reader, data: Mapping[Any, Any], place: str) -> Any:
    """``data['defects']`` of a lane or a plant at ``place``: None when absent, a
    Defects, or _BAD (reported)."""
    if "defects" not in data:
        return None
    where = _at(place, "defects")
    body = r.mapping(data["defects"], where, "a mapping (fraction, binomial, incident, ...)")
    if body is None:
        return _BAD
    r.keys(body, where, DEFECT_KEYS)
    fraction = r.value(body, "fraction", where, DEFECT_FRACTION, required=True)
    binomial = _flag(r, body, "binomial", where)
    scrap = r.value(body, "scrap_cost_per_unit", where, COST, default=0.0)
    incident = None
    if "incident" in body:
        incident = _read_incident(r, body["incident"], _at(where, "incident"))
    if _BAD in (fraction, binomial, scrap, incident):
        return _BAD
    return Defects(float(fraction), binomial, incident, float(scrap))


def _read_incident(r: Reader, raw: Any, place: str) -> Any:
    body = r.mapping(raw, place, "a mapping (mean_days_between, mean_days, fraction)")
    if body is None:
        return _BAD
    r.keys(body, place, INCIDENT_KEYS)
    start = r.rate(body, place, "mean_days_between", "start_probability", PROBABILITY)
    end = r.rate(body, place, "mean_days", "end_probability", END_PROBABILITY)
    fraction = r.value(body, "fraction", place, DEFECT_FRACTION, required=True)
    if _BAD in (start, end, fraction):
        return _BAD
    return Incident(start, end, float(fraction))


def read_jidoka(r: Reader, data: Mapping[Any, Any], place: str) -> Any:
    """``data['jidoka']`` of a plant: None when absent, a Jidoka, or _BAD (reported)."""
    if "jidoka" not in data:
        return None
    where = _at(place, "jidoka")
    body = r.mapping(data["jidoka"], where, "a mapping (threshold, mean_recovery_days)")
    if body is None:
        return _BAD
    r.keys(body, where, JIDOKA_KEYS)
    threshold = r.value(body, "threshold", where, FRACTION, required=True)
    recovery = r.rate(body, where, "mean_recovery_days", "recovery_probability", END_PROBABILITY)
    if _BAD in (threshold, recovery):
        return _BAD
    return Jidoka(float(threshold), recovery)


def read_node_quality(r: Reader, node: Mapping[Any, Any], place: str, kind: str) -> dict:
    """The quality fields of a node: a plant's ``defects`` and ``jidoka`` (the node's
    key check refuses them on other kinds)."""
    if kind != "plant":
        return {}
    return {"defects": read_defects(r, node, place), "jidoka": read_jidoka(r, node, place)}


def read_expedite(
    r: Reader, data: Mapping[Any, Any], place: str, nodes: NodeDrafts
) -> tuple[Expedite, ...]:
    """The ``expedite`` list of ``data`` (the document, or a strategy at ``place``)."""
    where = _at(place, "expedite")
    if "expedite" not in data:
        return ()
    listed = r.sequence(data["expedite"], where, "a list of expedite entries (at, item, ...)")
    out = []
    for i, raw in enumerate(listed or []):
        entry = _read_expedite_entry(r, raw, f"{where}[{i}]", nodes)
        if entry is not None:
            out.append(entry)
    return tuple(out)


def _read_expedite_entry(r: Reader, raw: Any, place: str, nodes: NodeDrafts) -> Expedite | None:
    body = r.mapping(raw, place, "a mapping (at, item, lead_time_days, unit_premium, ...)")
    if body is None:
        return None
    r.keys(body, place, EXPEDITE_KEYS)
    at = nodes.names.ref(r, body, "at", place)
    item = r.value(body, "item", place, TEXT, default=None)
    lead = r.value(body, "lead_time_days", place, DAYS, required=True)
    premium = r.value(body, "unit_premium", place, COST, required=True)
    capacity = r.value(body, "capacity_per_day", place, CAPACITY, default=math.inf)
    when_down = _flag(r, body, "when_sources_down", place)
    below_days = below_units = None
    ok = True
    if "trigger" in body:
        where = _at(place, "trigger")
        trigger = r.mapping(body["trigger"], where, "a mapping (below_days or below_units)")
        if trigger is None:
            ok = False
        else:
            r.keys(trigger, where, TRIGGER_KEYS)
            if len([k for k in TRIGGER_KEYS if k in trigger]) != 1:
                r.error(where, "give one of below_days or below_units")
                ok = False
            below_days = r.value(trigger, "below_days", where, NON_NEGATIVE, default=None)
            below_units = r.value(trigger, "below_units", where, TRIGGER_UNITS, default=None)
    elif when_down is False:
        r.error(
            place,
            "missing trigger (below_days or below_units) or when_sources_down: true, "
            "expediting needs one of them",
        )
        ok = False
    positions = sum(
        1 if kind == "dc" else len(nodes.boms.get(name, {})) for name, kind in nodes.kinds.items()
    )
    if isinstance(lead, int) and (lead + 1) * positions > MAX_PIPELINE_CELLS:
        r.error(
            _at(place, "lead_time_days"),
            f"{lead} days make the simulation's pipeline {lead + 1} days x {positions} stock "
            f"points = {(lead + 1) * positions} slots; the limit is {MAX_PIPELINE_CELLS}",
        )
        ok = False
    if at is not None and isinstance(item, str) and at in nodes.kinds:
        kind = nodes.kinds[at]
        stocked = (
            set(nodes.boms.get(at, {}))
            if kind == "plant"
            else {nodes.items[at]}
            if kind == "dc" and at in nodes.items
            else None
        )
        if kind == "supplier":
            r.error(_at(place, "at"), f"{at!r} is a supplier, which holds no stock to expedite")
            ok = False
        elif stocked is not None and item not in stocked:
            r.error(
                _at(place, "item"),
                f"{at!r} stocks no item {item!r} (it stocks {', '.join(sorted(stocked))})",
            )
            ok = False
    elif at is not None and at in nodes.kinds and nodes.kinds[at] == "supplier":
        r.error(_at(place, "at"), f"{at!r} is a supplier, which holds no stock to expedite")
        ok = False
    if not ok or at is None or _BAD in (item, lead, premium, capacity, when_down):
        return None
    if _BAD in (below_days, below_units):
        return None
    return Expedite(
        at,
        item,
        int(lead),
        float(premium),
        float(capacity),
        None if below_days is None else float(below_days),
        None if below_units is None else float(below_units),
        when_down,
    )


def read_strategy_expedite(
    r: Reader, data: Mapping[Any, Any], strategies: Sequence[StrategyDraft], nodes: NodeDrafts
) -> tuple[StrategyDraft, ...]:
    """``strategies`` with each one's own ``expedite`` entries read."""
    section = data.get("strategies")
    if not isinstance(section, Mapping):
        return tuple(strategies)
    out = []
    for draft in strategies:
        body = section.get(draft.strategy.name)
        if not isinstance(body, Mapping) or "expedite" not in body:
            out.append(draft)
            continue
        place = _at("strategies", draft.strategy.name)
        expedite = read_expedite(r, body, place, nodes)
        out.append(replace(draft, strategy=replace(draft.strategy, expedite=expedite)))
    return tuple(out)
