"""Pass 1: the ordering-policy keys of a ``stock`` entry (issue-14 policy).

``policy`` (``base_stock``, or a mapping with ``type`` and its levels), and
``min_order_qty``, ``lot_multiple`` and ``order_cost``, which go with any policy.
docs/scenario-format.md lists the keys, docs/model.md what they do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resilience.scenario.model import OrderPolicy
from resilience.scenario.values import (
    _BAD,
    COST,
    DAYS,
    MAX_ON_HAND_UNITS,
    NON_NEGATIVE,
    Reader,
    _at,
    _Choice,
    _Number,
    _show,
)

POLICY_KEYS = ("policy", "min_order_qty", "lot_multiple", "order_cost")
POLICY_TYPES = ("base_stock", "s_S", "r_Q", "R_S")
# per type: (unit key, days-of-cover key) of each level, then the other keys it takes
_LEVELS = {
    "base_stock": (),
    "s_S": (("s", "s_days"), ("S", "S_days")),
    "r_Q": (("r", "r_days"),),
    "R_S": (("S", "S_days"),),
}
_OTHER = {"base_stock": (), "s_S": (), "r_Q": ("Q",), "R_S": ("review_days", "offset_days")}
# levels stay below what on hand may reach (values.MAX_ON_HAND_UNITS), so no sum of
# them overflows before the bounds pass judges it
LEVEL = _Number(lo=0.0, cap=MAX_ON_HAND_UNITS, cap_reason="the most units on hand")
LOT = _Number(lo=0.0, lo_open=True, cap=MAX_ON_HAND_UNITS, cap_reason="the most units on hand")
QUANTITY = _Number(lo=0.0, cap=MAX_ON_HAND_UNITS, cap_reason="the most units on hand")
REVIEW = _Number(lo=1, integer=True, cap=DAYS.cap)


def read_policy_keys(r: Reader, entry: Mapping[Any, Any], place: str) -> dict[str, Any] | Any:
    """The StockPolicy fields of ``entry``'s policy keys (only those present), or _BAD."""
    out: dict[str, Any] = {}
    for key, spec in (("min_order_qty", QUANTITY), ("lot_multiple", LOT), ("order_cost", COST)):
        if key in entry:
            out[key] = r.value(entry, key, place, spec)
    if "policy" in entry:
        out["policy"] = _read_policy(r, entry["policy"], _at(place, "policy"))
    return _BAD if _BAD in out.values() else out


def _read_policy(r: Reader, raw: Any, place: str) -> OrderPolicy | None | Any:
    """None for base stock (the level is the entry's buffer_days or order_up_to)."""
    if isinstance(raw, str):
        if raw == "base_stock":
            return None
        hint = "" if raw not in POLICY_TYPES else f" ({raw} needs its levels: {{type: {raw}, ...}})"
        r.error(place, f"must be base_stock or a mapping with a type, got {_show(raw)}{hint}")
        return _BAD
    body = r.mapping(raw, place, "base_stock or a mapping (type, levels)")
    if body is None:
        return _BAD
    kind = r.value(body, "type", place, _Choice(POLICY_TYPES), required=True)
    if kind is _BAD:
        return _BAD
    allowed = ("type", *(k for pair in _LEVELS[kind] for k in pair), *_OTHER[kind])
    r.keys(body, place, allowed)
    if any(k not in allowed for k in body):
        return _BAD
    if kind == "base_stock":
        return None
    fields: dict[str, Any] = {}
    ok = True
    for units, days in _LEVELS[kind]:
        if units in body and days in body:
            r.error(place, f"give {units} or {days}, not both")
            ok = False
        elif units not in body and days not in body:
            r.error(place, f"missing {units} or {days}, one is required (units or days of cover)")
            ok = False
        else:
            key = units if units in body else days
            fields[key] = r.value(body, key, place, LEVEL if key == units else NON_NEGATIVE)
    if kind == "r_Q":
        fields["Q"] = r.value(body, "Q", place, LOT, required=True)
    if kind == "R_S":
        review = r.value(body, "review_days", place, REVIEW, required=True)
        offset = r.value(body, "offset_days", place, DAYS, default=0)
        if review is not _BAD and offset is not _BAD and offset >= review:
            r.error(
                _at(place, "offset_days"),
                f"must be below review_days ({review}): the first review day, 0 .. "
                f"{review - 1}, got {offset}",
            )
            offset = _BAD
        fields.update(review_days=review, offset_days=offset)
    both = kind == "s_S" and "s" in fields and "S" in fields
    if both and _BAD not in (fields["s"], fields["S"]) and fields["S"] < fields["s"]:
        r.error(_at(place, "S"), f"must be at least s ({fields['s']:g}), got {fields['S']:g}")
        ok = False
    if not ok or _BAD in fields.values():
        return _BAD
    return OrderPolicy(kind, **fields)
