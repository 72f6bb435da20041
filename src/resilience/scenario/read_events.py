"""Scripted events and the random-disruptions switch: the read pass, and their checks.

``events:`` (top level, and per strategy under ``strategies.NAME.events``, appended to
the scenario's) is a list of scripted events, each a mapping with a ``type``
(docs/scenario-format.md, "Scripted events"); ``random_disruptions: false`` (top level,
or per strategy) switches every random process's effect off. The read pass
(:func:`read_events`, :func:`read_random`, :func:`read_strategy_events`) reads every field
and resolves every name (nodes, regions, lanes by key or index, dcs), each problem
placed (``events[2].node: unknown node 'x' (did you mean 'fab'?)``); the check pass
(:func:`check_events`, called by :mod:`resilience.scenario.check`) judges what needs the
whole file: days inside the horizon, and the bounds the compiler relies on (pipeline
days, demand tables).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from resilience.scenario.drafts import (
    Drafts,
    EventDraft,
    LaneDrafts,
    NodeDrafts,
    StrategyDraft,
)
from resilience.scenario.model import Event
from resilience.scenario.values import (
    _BAD,
    DAYS,
    FRACTION,
    MAX_HORIZON_DAYS,
    MAX_PIPELINE_DAYS,
    MAX_POISSON_TABLE,
    MAX_UNITS_PER_DAY,
    NAME,
    NON_NEGATIVE,
    Errors,
    Reader,
    _at,
    _Choice,
    _Number,
    _show,
    unknown,
)

EVENT_TYPES = ("node_outage", "regional_shock", "lane_disruption", "demand_surge")
_COMMON_KEYS = ("type", "name", "start_day", "duration_days")
EVENT_KEYS = {
    "node_outage": (*_COMMON_KEYS, "node", "capacity_fraction"),
    "regional_shock": (*_COMMON_KEYS, "region", "capacity_fraction"),
    "lane_disruption": (*_COMMON_KEYS, "lanes", "extra_lead_time_days", "closed"),
    "demand_surge": (*_COMMON_KEYS, "dcs", "multiplier"),
}
_ANY_EVENT_KEYS = sorted({k for keys in EVENT_KEYS.values() for k in keys})
_NOT_FOR_TYPE = {
    kind: {
        key: f"not a {kind} key (only for "
        + ", ".join(k for k in EVENT_TYPES if key in EVENT_KEYS[k])
        + ")"
        for other in EVENT_TYPES
        for key in EVENT_KEYS[other]
        if key not in EVENT_KEYS[kind]
    }
    for kind in EVENT_TYPES
}
DURATION = _Number(lo=1, integer=True, cap=MAX_HORIZON_DAYS)
#: Cells of one per-day array of scripted events: the compiler writes node caps [days,
#: nodes], lane delays [days, lanes] and dc tables [days, dcs] for a strategy with such
#: events, 8 bytes a cell: 256 MiB at this limit.
MAX_EVENT_CELLS = 2**25
#: A scripted demand multiplier: with the random surges on top, a dc's demand must
#: still fit the compiler's tables (check_events).
_MULTIPLIER = NON_NEGATIVE


# ----------------------------------------------------------------------------- read pass


def read_random(r: Reader, data: Mapping[Any, Any], place: str) -> Any:
    """``random_disruptions`` of ``data`` (the document, or a strategy at ``place``):
    True/False, None when absent, _BAD when not a boolean (reported)."""
    if "random_disruptions" not in data:
        return None
    value = data["random_disruptions"]
    if not isinstance(value, bool):
        r.error(_at(place, "random_disruptions"), f"must be true or false, got {_show(value)}")
        return _BAD
    return value


def read_events(
    r: Reader,
    data: Mapping[Any, Any],
    place: str,
    nodes: NodeDrafts,
    lanes: LaneDrafts,
    region_names: Collection[str] | None,
) -> tuple[EventDraft, ...]:
    """The ``events`` list of ``data`` (the document, or a strategy at ``place``)."""
    where = _at(place, "events")
    if "events" not in data:
        return ()
    listed = r.sequence(data["events"], where, "a list of scripted events (type, ...)")
    if listed is None:
        return ()
    by_index = _lane_keys_by_index(lanes)
    drafts = []
    for i, raw in enumerate(listed):
        at = f"{where}[{i}]"
        body = r.mapping(raw, at, "a mapping (type, start_day, duration_days, ...)")
        if body is not None:
            drafts.append(_read_event(r, body, at, nodes, lanes, by_index, region_names))
    return tuple(drafts)


def read_strategy_events(
    r: Reader,
    data: Mapping[Any, Any],
    strategies: Sequence[StrategyDraft],
    nodes: NodeDrafts,
    lanes: LaneDrafts,
    region_names: Collection[str] | None,
) -> tuple[StrategyDraft, ...]:
    """``strategies`` with each one's own ``events`` and ``random_disruptions`` read."""
    section = data.get("strategies")
    if not isinstance(section, Mapping):
        return tuple(strategies)
    out = []
    for draft in strategies:
        body = section.get(draft.strategy.name)
        if not isinstance(body, Mapping):
            out.append(draft)
            continue
        place = _at("strategies", draft.strategy.name)
        events = read_events(r, body, place, nodes, lanes, region_names)
        random = read_random(r, body, place)
        strategy = replace(
            draft.strategy,
            events=tuple(e.event for e in events if e.event is not None),
            random_disruptions=None if random is _BAD else random,
        )
        out.append(replace(draft, strategy=strategy, events=events))
    return tuple(out)


def _lane_keys_by_index(lanes: LaneDrafts) -> dict[int, str]:
    """Lane index in the file's ``lanes`` list -> its key (for lanes whose ends read)."""
    keys = {}
    for d in lanes.lanes:
        index = int(d.place[len("lanes[") : -1])
        keys[index] = f"{d.source}->{d.destination}"
    return keys


def _read_event(
    r: Reader,
    body: Mapping[Any, Any],
    place: str,
    nodes: NodeDrafts,
    lanes: LaneDrafts,
    by_index: Mapping[int, str],
    region_names: Collection[str] | None,
) -> EventDraft:
    kind = r.value(body, "type", place, _Choice(EVENT_TYPES), required=True)
    if kind is _BAD:
        r.keys(body, place, _ANY_EVENT_KEYS)
        return EventDraft(place, None)
    r.keys(body, place, EVENT_KEYS[kind], _NOT_FOR_TYPE[kind])
    fields: dict[str, Any] = {
        "name": r.value(body, "name", place, NAME, default=""),
        "start_day": r.value(body, "start_day", place, DAYS, required=True),
        "duration_days": r.value(body, "duration_days", place, DURATION, required=True),
    }
    ok = True
    if kind == "node_outage":
        fields["node"] = nodes.names.ref(r, body, "node", place)
        ok = fields["node"] is not None
        fields["capacity_fraction"] = r.value(
            body, "capacity_fraction", place, FRACTION, default=0.0
        )
    elif kind == "regional_shock":
        fields["region"] = _region(r, body, place, region_names)
        ok = fields["region"] is not None
        fields["capacity_fraction"] = r.value(
            body, "capacity_fraction", place, FRACTION, default=0.0
        )
    elif kind == "lane_disruption":
        fields["lanes"] = _lanes(r, body, place, lanes, by_index)
        ok = fields["lanes"] is not None
        ok &= _lane_effect(r, body, place, fields)
    else:
        fields["dcs"] = _dcs(r, body, place, nodes)
        ok = fields["dcs"] is not None
        fields["multiplier"] = r.value(body, "multiplier", place, _MULTIPLIER, required=True)
    if not ok or _BAD in fields.values():
        return EventDraft(place, None)
    return EventDraft(place, Event(kind=kind, **fields))


def _region(
    r: Reader, body: Mapping[Any, Any], place: str, region_names: Collection[str] | None
) -> str | None:
    name = r.value(body, "region", place, NAME, required=True)
    if name is _BAD:
        return None
    if region_names is not None and name not in region_names:
        r.error(_at(place, "region"), unknown("region", name, region_names))
        return None
    return name


def _lanes(
    r: Reader,
    body: Mapping[Any, Any],
    place: str,
    lanes: LaneDrafts,
    by_index: Mapping[int, str],
) -> tuple[str, ...] | None:
    """Lane keys ("source->destination") or indices into ``lanes``, as lane keys."""
    where = _at(place, "lanes")
    what = "a list of lanes ('source->destination' or an index into lanes)"
    if "lanes" not in body:
        r.error(where, f"required key missing, must be {what}")
        return None
    listed = r.sequence(body["lanes"], where, what)
    if listed is None:
        return None
    if not listed:
        r.error(where, f"must name at least one lane, got an empty list ({what})")
        return None
    keys: list[str] = []
    ok = True
    for i, raw in enumerate(listed):
        at = f"{where}[{i}]"
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw in by_index:
                key = by_index[raw]
            else:
                if lanes.complete:
                    r.error(at, f"no lane {raw}: lanes are numbered 0 .. {len(by_index) - 1}")
                ok = False
                continue
        elif isinstance(raw, str) and "->" in raw:
            key = "->".join(part.strip() for part in raw.split("->", 1))
            if key not in lanes.keys:
                if lanes.complete:
                    r.error(at, unknown("lane", key, lanes.keys))
                ok = False
                continue
        else:
            r.error(at, f"must be a lane 'source->destination' or an index, got {_show(raw)}")
            ok = False
            continue
        if key in keys:
            r.error(at, f"lane {key} listed twice")
            ok = False
            continue
        keys.append(key)
    return tuple(keys) if ok else None


def _lane_effect(r: Reader, body: Mapping[Any, Any], place: str, fields: dict) -> bool:
    """``extra_lead_time_days`` or ``closed: true``, exactly one."""
    closed = body.get("closed")
    if "closed" in body and not isinstance(closed, bool):
        r.error(_at(place, "closed"), f"must be true or false, got {_show(closed)}")
        return False
    if closed and "extra_lead_time_days" in body:
        r.error(place, "give extra_lead_time_days or closed: true, not both")
        return False
    if not closed and "extra_lead_time_days" not in body:
        r.error(
            place,
            "missing extra_lead_time_days or closed: true, one is required (extra days "
            "for shipments dispatched during the event, or no shipment at all)",
        )
        return False
    fields["closed"] = bool(closed)
    if not closed:
        fields["extra_lead_time_days"] = r.value(body, "extra_lead_time_days", place, DAYS)
    return True


def _dcs(
    r: Reader, body: Mapping[Any, Any], place: str, nodes: NodeDrafts
) -> tuple[str, ...] | None:
    where = _at(place, "dcs")
    if "dcs" not in body:
        r.error(where, "required key missing, must be a list of dcs")
        return None
    listed = r.sequence(body["dcs"], where, "a list of dcs")
    if listed is None:
        return None
    if not listed:
        r.error(where, "must name at least one dc, got an empty list")
        return None
    dcs: list[str] = []
    ok = True
    for i, raw in enumerate(listed):
        at = f"{where}[{i}]"
        dc = nodes.names.check(r, raw, at)
        if dc is None:
            ok = False
            continue
        kind = nodes.kinds.get(dc)
        if dc in dcs:
            r.error(at, f"dc {dc!r} listed twice")
            ok = False
        elif kind is not None and kind != "dc":
            r.error(at, f"demand surges cover dcs only, got {dc!r} (a {kind})")
            ok = False
        elif nodes.demand.get(dc) == "none":
            r.error(at, f"{dc} has no demand to surge (no demand, or mean_per_day 0)")
            ok = False
        dcs.append(dc)
    return tuple(dcs) if ok else None


# ----------------------------------------------------------------------------- check pass


def check_events(drafts: Drafts, errors: Errors) -> None:
    """Days inside the horizon; with the random processes on top, every lane's longest
    lead time and every dc's largest daily demand within the compiler's bounds."""
    lists = [drafts.events, *(s.events for s in drafts.strategies)]
    horizon = drafts.horizon
    for events in lists:
        for d in events:
            if d.event is None or horizon is _BAD or not isinstance(horizon, int):
                continue
            if d.event.start_day >= horizon:
                errors.add(
                    _at(d.place, "start_day"),
                    f"must be a day of the horizon (0 .. {horizon - 1}), got {d.event.start_day}",
                )
    for events in lists:
        both = [*drafts.events, *events] if events is not drafts.events else list(events)
        _check_pipelines(drafts, both, errors)
        _check_demand(drafts, both, errors)
        _check_cells(drafts, both, errors)


def _check_cells(drafts: Drafts, events: list[EventDraft], errors: Errors) -> None:
    """The per-day arrays of the events (days x nodes, lanes or dcs) within MAX_EVENT_CELLS."""
    horizon = drafts.horizon
    if not isinstance(horizon, int) or horizon is _BAD:
        return
    counts = {
        "nodes": len(drafts.nodes.declared),
        "lanes": len(drafts.lanes.lanes),
        "dcs": sum(1 for k in drafts.nodes.kinds.values() if k == "dc"),
    }
    # node caps [days, nodes]; lane delays [days, lanes]; dc tables and onsets [days, dcs]
    arrays = {
        "node_outage": ("nodes",),
        "regional_shock": ("nodes",),
        "lane_disruption": ("lanes", "dcs"),
        "demand_surge": ("dcs",),
    }
    for d in events:
        if d.event is None:
            continue
        for what in arrays[d.event.kind]:
            cells = horizon * counts[what]
            if cells > MAX_EVENT_CELLS:
                errors.add(
                    d.place,
                    f"a scripted {d.event.kind} makes the simulation keep {horizon} days x "
                    f"{counts[what]} {what} = {cells} cells a day-by-day array; the limit is "
                    f"{MAX_EVENT_CELLS}: shorten the horizon or split the network",
                )


def _check_pipelines(drafts: Drafts, events: list[EventDraft], errors: Errors) -> None:
    extra: dict[str, int] = {}
    for shock in drafts.lane_shocks:
        for key in shock.lanes:
            extra[key] = extra.get(key, 0) + shock.extra_lead_time_days
    scripted: dict[str, tuple[int, str]] = {}
    for d in events:
        e = d.event
        if e is None or e.kind != "lane_disruption":
            continue
        for key in e.lanes:
            days, _ = scripted.get(key, (0, d.place))
            scripted[key] = (days + e.extra_lead_time_days, d.place)
    for d in drafts.lanes.lanes:
        key = f"{d.source}->{d.destination}"
        if d.lane is None or key not in scripted:
            continue
        added, place = scripted[key]
        days = d.lane.lead_time_days + extra.get(key, 0) + added
        if days > MAX_PIPELINE_DAYS:
            errors.add(
                _at(place, "extra_lead_time_days"),
                f"lane {key}: lead time {d.lane.lead_time_days} days plus "
                f"{extra.get(key, 0)} extra days of lane shocks and {added} of scripted "
                f"events is {days} days; the limit is {MAX_PIPELINE_DAYS}",
            )


def _check_demand(drafts: Drafts, events: list[EventDraft], errors: Errors) -> None:
    """A dc's largest daily demand mean (every random surge above 1 and every scripted
    surge above 1 at once) must fit a Poisson table / the unit bound."""
    for d in events:
        e = d.event
        if e is None or e.kind != "demand_surge" or e.multiplier <= 1.0:
            continue
        for dc in e.dcs:
            demand = drafts.nodes.fields.get(dc, {}).get("demand")
            if demand is None or demand is _BAD:
                continue
            most = demand.mean_per_day
            for surge in drafts.surges:
                if dc in surge.dcs and surge.multiplier > 1.0:
                    most *= surge.multiplier
            for other in events:
                o = other.event
                if o is not None and o.kind == "demand_surge" and dc in o.dcs:
                    most *= max(o.multiplier, 1.0)
            if demand.distribution == "poisson":
                size = most + 12.0 * math.sqrt(most) + 21.0 if math.isfinite(most) else most
                bad = not size <= MAX_POISSON_TABLE
                limit = f"a Poisson table of at most {MAX_POISSON_TABLE:g} entries"
            else:
                bad = not most <= MAX_UNITS_PER_DAY
                limit = f"at most {MAX_UNITS_PER_DAY:g} units a day"
            if bad:
                errors.add(
                    _at(d.place, "multiplier"),
                    f"makes the demand of {dc} up to {most:.3g} a day (random surges "
                    f"included); it must fit {limit}",
                )
