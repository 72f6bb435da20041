"""Pass 1, second half: the sections that refer to nodes and lanes read before them.

Sourcing and stock entries (at the top level and in each strategy), lane shocks, demand
surges and strategies. Each reader takes what it refers to (the declared node names, the
lanes) and reports, placed, what it cannot read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from resilience.scenario.drafts import (
    EntryDraft,
    LaneDrafts,
    NodeDrafts,
    NodeNames,
    StrategyDraft,
)
from resilience.scenario.model import (
    DemandSurge,
    LaneShock,
    Sourcing,
    StockPolicy,
    Strategy,
)
from resilience.scenario.read_policy import POLICY_KEYS, read_policy_keys
from resilience.scenario.values import (
    _BAD,
    DAYS,
    FREE_TEXT,
    NAME,
    NON_NEGATIVE,
    SHARE,
    SHARE_TOLERANCE,
    TEXT,
    Reader,
    _at,
    _Choice,
    _show,
    unknown,
)

SOURCING_MODES = ("split", "failover")
SHOCK_RATE_KEYS = (  # every shock chain: its start and end rates
    "mean_days_between",
    "start_probability",
    "mean_duration_days",
    "end_probability",
)
LANE_SHOCK_KEYS = ("lanes", *SHOCK_RATE_KEYS, "extra_lead_time_days")
SURGE_KEYS = ("dcs", *SHOCK_RATE_KEYS, "multiplier")
SOURCING_KEYS = ("at", "item", "mode", "shares")
STOCK_KEYS = ("at", "item", "buffer_days", "order_up_to")
# events and random_disruptions are read by resilience.scenario.read_events
STRATEGY_KEYS = (
    "description",
    "buffer_days",
    "stock",
    "sourcing",
    "events",
    "random_disruptions",
    "production",  # issue-14 push: read by resilience.scenario.read_production
    "expedite",  # issue-14 quality: read by resilience.scenario.read_quality
)

_EntryReader = Callable[[Reader, NodeNames, Mapping[Any, Any], str], EntryDraft]


# ----------------------------------------------------------------------------- entries


def _read_entries(
    r: Reader,
    data: Mapping[Any, Any],
    key: str,
    place: str,
    names: NodeNames,
    reader: _EntryReader,
) -> tuple[EntryDraft, ...]:
    where = _at(place, key)
    if key not in data:
        return ()
    entries = r.sequence(data[key], where, f"a list of {key} entries")
    if entries is None:
        return ()
    drafts = []
    for i, raw in enumerate(entries):
        entry = r.mapping(raw, f"{where}[{i}]", "a mapping (at, item, ...)")
        if entry is not None:
            drafts.append(reader(r, names, entry, f"{where}[{i}]"))
    return tuple(drafts)


def read_sourcing_entries(
    r: Reader, data: Mapping[Any, Any], place: str, names: NodeNames
) -> tuple[EntryDraft, ...]:
    """The ``sourcing`` list of ``data`` (the document, or a strategy at ``place``)."""
    return _read_entries(r, data, "sourcing", place, names, read_sourcing)


def read_stock_entries(
    r: Reader, data: Mapping[Any, Any], place: str, names: NodeNames
) -> tuple[EntryDraft, ...]:
    """The ``stock`` list of ``data`` (the document, or a strategy at ``place``)."""
    return _read_entries(r, data, "stock", place, names, read_stock)


def read_sourcing(r: Reader, names: NodeNames, entry: Mapping[Any, Any], place: str) -> EntryDraft:
    r.keys(entry, place, SOURCING_KEYS)
    at = names.ref(r, entry, "at", place)
    item = r.value(entry, "item", place, TEXT, required=True)
    mode = r.value(entry, "mode", place, _Choice(SOURCING_MODES), required=True)
    shares = read_shares(r, names, entry, place)
    ok = None not in (at, shares) and _BAD not in (item, mode)
    value = Sourcing(at, item, mode, shares) if ok else None  # type: ignore[arg-type]
    return EntryDraft(place, at, None if item is _BAD else item, item is not _BAD, value)


def read_shares(
    r: Reader, names: NodeNames, entry: Mapping[Any, Any], place: str
) -> dict[str, float] | None:
    where = _at(place, "shares")
    what = "a mapping source node -> share"
    if "shares" not in entry:
        r.error(where, f"required key missing, must be {what}")
        return None
    shares = r.mapping(entry["shares"], where, what)
    if shares is None:
        return None
    if not shares:
        r.error(where, "must name at least one source, got an empty mapping")
        return None
    result: dict[str, float] = {}
    ok = True
    for source in shares:
        if names.check(r, source, _at(where, source)) is None:
            ok = False
        value = r.value(shares, source, where, SHARE)
        if value is _BAD:
            ok = False
        elif isinstance(source, str):
            result[source] = value
    if not ok:
        return None
    total = math.fsum(result.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        r.error(where, f"shares must sum to 1, got a sum of {total:.10g}")
        return None
    return result


def read_stock(r: Reader, names: NodeNames, entry: Mapping[Any, Any], place: str) -> EntryDraft:
    r.keys(entry, place, STOCK_KEYS + POLICY_KEYS)
    at = names.ref(r, entry, "at", place)
    item = r.value(entry, "item", place, TEXT, default=None)
    extra = read_policy_keys(r, entry, place)
    # a policy other than base stock carries its own levels (policy.s, .S, ...)
    own_levels = extra is not _BAD and extra.get("policy") is not None
    if own_levels and ("buffer_days" in entry or "order_up_to" in entry):
        key = "buffer_days" if "buffer_days" in entry else "order_up_to"
        r.error(
            _at(place, key),
            f"a {extra['policy'].kind} policy takes its levels in policy, not {key}",
        )
        level = _BAD
    elif own_levels:
        level = {}
    elif "buffer_days" in entry and "order_up_to" in entry:
        r.error(place, "give buffer_days or order_up_to, not both")
        level = _BAD
    elif "buffer_days" not in entry and "order_up_to" not in entry:
        r.error(
            place,
            "missing buffer_days or order_up_to, one is required (days of cover or units)",
        )
        level = _BAD
    else:
        key = "buffer_days" if "buffer_days" in entry else "order_up_to"
        level = {key: r.value(entry, key, place, NON_NEGATIVE)}
        if _BAD in level.values():
            level = _BAD
    ok = at is not None and _BAD not in (item, level, extra)
    value = StockPolicy(at, item, **level, **extra) if ok else None  # type: ignore[arg-type]
    return EntryDraft(place, at, None if item is _BAD else item, item is not _BAD, value)


# ----------------------------------------------------------------------------- named sections


def _named_bodies(
    r: Reader, data: Mapping[Any, Any], key: str, what: str
) -> list[tuple[str, str, Mapping[Any, Any]]]:
    """(name, place, body) of each entry of a name -> mapping section."""
    if key not in data:
        return []
    section = r.mapping(data[key], key, f"a mapping of {what} name -> {what}")
    if section is None:
        return []
    bodies = []
    for name, raw in section.items():
        place = _at(key, name)
        if NAME.convert(name) is _BAD:
            r.error(place, f"{what} name must be {NAME.describe()}, got {_show(name)}")
            continue
        body = {} if raw is None and key == "strategies" else raw
        body = r.mapping(body, place, f"a mapping (one {what})")
        if body is not None:
            bodies.append((name, place, body))
    return bodies


def _name_list(
    r: Reader, body: Mapping[Any, Any], key: str, place: str, what: str
) -> list[Any] | None:
    where = _at(place, key)
    if key not in body:
        r.error(where, f"required key missing, must be a list of {what}")
        return None
    names = r.sequence(body[key], where, f"a list of {what}")
    if names is not None and not names:
        r.error(where, f"must name at least one of {what}, got an empty list")
        return None
    return names


def read_lane_shocks(
    r: Reader, data: Mapping[Any, Any], lanes: LaneDrafts
) -> tuple[LaneShock, ...]:
    shocks = []
    for name, place, body in _named_bodies(r, data, "lane_shocks", "lane shock"):
        r.keys(body, place, LANE_SHOCK_KEYS)
        listed = _name_list(r, body, "lanes", place, "lanes 'source->destination'")
        keys: list[str] = []
        seen: set[str] = set()  # a set: `key in keys` made long lists quadratic
        for i, raw in enumerate(listed or []):
            where = f"{place}.lanes[{i}]"
            if not isinstance(raw, str) or "->" not in raw:
                r.error(where, f"must be a lane 'source->destination', got {_show(raw)}")
                continue
            key = "->".join(part.strip() for part in raw.split("->", 1))
            if key in seen:
                r.error(where, f"lane {key} listed twice")
            elif key not in lanes.keys and lanes.complete:
                r.error(where, unknown("lane", key, lanes.keys))
            keys.append(key)
            seen.add(key)
        start, end = r.shock_rates(body, place)
        extra = r.value(body, "extra_lead_time_days", place, DAYS, required=True)
        if listed and len(keys) == len(listed) and _BAD not in (start, end, extra):
            shocks.append(LaneShock(name, start, end, tuple(keys), extra))
    return tuple(shocks)


def read_surges(r: Reader, data: Mapping[Any, Any], nodes: NodeDrafts) -> tuple[DemandSurge, ...]:
    surges = []
    for name, place, body in _named_bodies(r, data, "demand_surges", "demand surge"):
        r.keys(body, place, SURGE_KEYS)
        listed = _name_list(r, body, "dcs", place, "dcs")
        dcs: list[str] = []
        seen: set[str] = set()
        for i, raw in enumerate(listed or []):
            where = f"{place}.dcs[{i}]"
            dc = nodes.names.check(r, raw, where)
            if dc is None:
                continue
            if dc in seen:
                r.error(where, f"dc {dc!r} listed twice")
                continue
            seen.add(dc)
            kind = nodes.kinds.get(dc)
            if kind is not None and kind != "dc":
                r.error(where, f"surges cover dcs only, got {dc!r} (a {kind})")
            elif nodes.demand.get(dc) == "none":
                r.error(where, f"{dc} has no demand to surge (no demand, or mean_per_day 0)")
            dcs.append(dc)
        start, end = r.shock_rates(body, place)
        multiplier = r.value(body, "multiplier", place, NON_NEGATIVE, required=True)
        if listed and len(dcs) == len(listed) and _BAD not in (start, end, multiplier):
            surges.append(DemandSurge(name, start, end, tuple(dcs), multiplier))
    return tuple(surges)


def read_strategies(
    r: Reader, data: Mapping[Any, Any], names: NodeNames
) -> tuple[StrategyDraft, ...]:
    raw = data.get("strategies")
    if isinstance(raw, Mapping) and not raw:
        r.error(
            "strategies",
            "must name at least one strategy, got an empty mapping "
            "(leave the key out to simulate the network as written)",
        )
    strategies = []
    for name, place, body in _named_bodies(r, data, "strategies", "strategy"):
        r.keys(body, place, STRATEGY_KEYS)
        description = r.value(body, "description", place, FREE_TEXT, default="")
        buffer_days = r.value(body, "buffer_days", place, NON_NEGATIVE, default=None)
        sourcing = read_sourcing_entries(r, body, place, names)
        stock = read_stock_entries(r, body, place, names)
        strategy = Strategy(
            name,
            description if description is not _BAD else "",
            buffer_days if buffer_days is not _BAD else None,
            tuple(e.value for e in stock if e.value is not None),  # type: ignore[misc]
            tuple(e.value for e in sourcing if e.value is not None),  # type: ignore[misc]
        )
        strategies.append(StrategyDraft(strategy, sourcing, stock))
    return tuple(strategies)
