"""Push production at plants (issue 14, part 2): the ``production`` key, read.

A plant's ``production`` (docs/scenario-format.md, "Production") is ``pull`` (make to
order, the default) or a mapping ``{mode: push, plan: level | forecast | campaign, ...}``;
a strategy overrides it per plant under ``strategies.NAME.production: {plant: ...}``.
Every field is read and checked here, each problem placed (``nodes.fab.production.plan:
must be one of level, forecast, campaign``). Bounds: quantities at most
MAX_UNITS_PER_DAY a day and MAX_ON_HAND_UNITS on hand, so that the finished goods a plant
can hold (the compiler's on-hand bound) stay within the exact int64 daily on-hand sums.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from resilience.scenario.drafts import NodeDrafts, StrategyDraft
from resilience.scenario.model import Production
from resilience.scenario.values import (
    _BAD,
    MAX_HORIZON_DAYS,
    MAX_ON_HAND_UNITS,
    MAX_UNITS_PER_DAY,
    Reader,
    _at,
    _Choice,
    _Number,
    _show,
)

PRODUCTION_MODES = ("pull", "push")
PRODUCTION_PLANS = ("level", "forecast", "campaign")
_COMMON_KEYS = ("mode", "plan", "storage_cap", "initial_stock")
PLAN_KEYS = {
    "level": (*_COMMON_KEYS, "rate_per_day"),
    "forecast": _COMMON_KEYS,
    "campaign": (*_COMMON_KEYS, "batch", "every_days", "offset_days"),
}
_NOT_FOR_PLAN = {
    plan: {
        key: f"not a {plan} plan key (only for "
        + ", ".join(p for p in PRODUCTION_PLANS if key in PLAN_KEYS[p])
        + ")"
        for other in PRODUCTION_PLANS
        for key in PLAN_KEYS[other]
        if key not in PLAN_KEYS[plan]
    }
    for plan in PRODUCTION_PLANS
}
_ANY_KEYS = sorted({k for keys in PLAN_KEYS.values() for k in keys})
_UNITS_LIMIT = "larger daily quantities leave the exact on-hand sums too few paths"
RATE = _Number(lo=0.0, cap=MAX_UNITS_PER_DAY, cap_reason=_UNITS_LIMIT)
BATCH = _Number(lo=0.0, lo_open=True, cap=MAX_ON_HAND_UNITS, cap_reason=_UNITS_LIMIT)
STOCK = _Number(lo=0.0, cap=MAX_ON_HAND_UNITS, cap_reason=_UNITS_LIMIT)
STORAGE = _Number(lo=0.0, allow_inf=True)
EVERY = _Number(lo=1, integer=True, cap=MAX_HORIZON_DAYS)
OFFSET = _Number(lo=0, integer=True, cap=MAX_HORIZON_DAYS)


def read_production(r: Reader, raw: Any, place: str) -> Production | None | Any:
    """A plant's ``production`` at ``place``: a Production, None for ``pull``, _BAD
    when invalid (reported)."""
    if raw == "pull":
        return None
    if isinstance(raw, str):
        r.error(
            place,
            f"must be pull or a mapping (mode: push, plan: level | forecast | campaign), "
            f"got {_show(raw)}",
        )
        return _BAD
    body = r.mapping(raw, place, "pull or a mapping (mode, plan, ...)")
    if body is None:
        return _BAD
    mode = r.value(body, "mode", place, _Choice(PRODUCTION_MODES), required=True)
    if mode == "pull":
        r.keys(
            body, place, ("mode",), {k: "not a pull key (pull takes no plan)" for k in _ANY_KEYS}
        )
        return None
    plan = r.value(body, "plan", place, _Choice(PRODUCTION_PLANS), required=mode is not _BAD)
    if mode is _BAD or plan is _BAD:
        r.keys(body, place, _ANY_KEYS)
        return _BAD
    r.keys(body, place, PLAN_KEYS[plan], _NOT_FOR_PLAN[plan])
    fields: dict[str, Any] = {
        "storage_cap": r.value(body, "storage_cap", place, STORAGE, default=math.inf),
        "initial_stock": r.value(body, "initial_stock", place, STOCK, default=0.0),
    }
    if plan == "level":
        fields["rate_per_day"] = r.value(body, "rate_per_day", place, RATE, required=True)
    elif plan == "campaign":
        fields["batch"] = r.value(body, "batch", place, BATCH, required=True)
        fields["every_days"] = r.value(body, "every_days", place, EVERY, required=True)
        fields["offset_days"] = r.value(body, "offset_days", place, OFFSET, default=0)
        every, offset = fields["every_days"], fields["offset_days"]
        if _BAD not in (every, offset) and offset >= every:
            r.error(
                _at(place, "offset_days"),
                f"must be below every_days ({every}): the first campaign is on day "
                f"offset_days, got {offset}",
            )
            fields["offset_days"] = _BAD
    cap, start = fields["storage_cap"], fields["initial_stock"]
    if _BAD not in (cap, start) and start > cap:
        r.error(
            _at(place, "initial_stock"),
            f"must be at most storage_cap ({cap:g}), got {_show(start)}",
        )
        return _BAD
    if _BAD in fields.values():
        return _BAD
    return Production("push", plan, **fields)


def read_node_production(r: Reader, node: Mapping[Any, Any], place: str) -> Production | None:
    """The ``production`` of a plant's body (None: pull, or invalid and reported)."""
    if "production" not in node:
        return None
    value = read_production(r, node["production"], _at(place, "production"))
    return None if value is _BAD else value


def read_strategy_production(
    r: Reader,
    data: Mapping[Any, Any],
    strategies: Sequence[StrategyDraft],
    nodes: NodeDrafts,
) -> tuple[StrategyDraft, ...]:
    """``strategies`` with each one's ``production`` overrides read: a mapping plant ->
    pull | push plan."""
    section = data.get("strategies")
    if not isinstance(section, Mapping):
        return tuple(strategies)
    out = []
    for draft in strategies:
        body = section.get(draft.strategy.name)
        if not isinstance(body, Mapping) or "production" not in body:
            out.append(draft)
            continue
        place = _at(_at("strategies", draft.strategy.name), "production")
        entries = r.mapping(body["production"], place, "a mapping plant -> production")
        chosen: dict[str, Production] = {}
        for name, raw in (entries or {}).items():
            where = _at(place, name)
            plant = nodes.names.check(r, name, where)
            if plant is None:
                continue
            kind = nodes.kinds.get(plant)
            if kind is not None and kind != "plant":
                r.error(where, f"production is set for plants only, got {plant!r} (a {kind})")
                continue
            value = read_production(r, raw, where)
            if value is not _BAD:
                chosen[plant] = Production() if value is None else value
        out.append(replace(draft, strategy=replace(draft.strategy, production=chosen)))
    return tuple(out)
