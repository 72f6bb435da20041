"""Scenario files -> validated :class:`resilience.scenario.Scenario`.

This is the only module that validates scenarios (docs/scenario-format.md is the format).
Every problem found is collected and raised together as one
:class:`~resilience.errors.ScenarioError`; each of its ``errors`` is one line
``place: problem, what is allowed, got X`` where ``place`` reads like a path into the file
(``lanes[2].lead_time_days``, ``nodes.chip_fab.outage.failure_probability``).

Validation runs in two passes. The first reads every field on its own (types, ranges,
unknown and missing keys, references to declared names); the second checks the network
as a whole (items carried by lanes, cycles, sources, sourcing shares, strategies). The
second pass only judges what the first one read cleanly, so a single typo gives a single
error rather than a cascade.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from resilience.errors import ScenarioError
from resilience.scenario.model import (
    Demand,
    DemandSurge,
    Lane,
    LaneShock,
    Node,
    Outage,
    OutageDuration,
    Region,
    RegionShock,
    Scenario,
    Sourcing,
    StockPolicy,
    Strategy,
)

__all__ = [
    "MAX_HORIZON_DAYS",
    "MAX_SURGES_PER_DC",
    "SHARE_TOLERANCE",
    "candidate_sources",
    "load_scenario",
    "resolve_sourcing",
    "stock_points",
]

#: Longest horizon accepted (100 years); also caps lead times, which size pipeline arrays.
MAX_HORIZON_DAYS = 36500
#: The kernel tabulates every combination of surges covering a DC (2**n multipliers).
MAX_SURGES_PER_DC = 8
#: How far sourcing shares may sum from 1.
SHARE_TOLERANCE = 1e-9

NODE_KINDS = ("supplier", "plant", "dc")
SOURCING_MODES = ("split", "failover")
DEMAND_MODES = ("lost_sales", "backorder")
DEMAND_DISTRIBUTIONS = ("poisson", "deterministic")
DURATION_PARAMS = {
    "geometric": (),
    "lognormal": ("median_days", "sigma"),
    "pareto": ("min_days", "alpha"),
}

TOP_KEYS = (
    "name",
    "description",
    "horizon_days",
    "demand_mode",
    "buffer_days",
    "regions",
    "nodes",
    "lanes",
    "sourcing",
    "stock",
    "lane_shocks",
    "demand_surges",
    "strategies",
)
_COMMON_NODE_KEYS = ("kind", "region", "item", "capacity_per_day", "outage")
NODE_KEYS = {
    "supplier": _COMMON_NODE_KEYS,
    "plant": (*_COMMON_NODE_KEYS, "bom", "holding_cost_per_unit_day"),
    "dc": (
        *_COMMON_NODE_KEYS,
        "demand",
        "holding_cost_per_unit_day",
        "lost_sale_margin",
        "backlog_penalty_per_unit_day",
    ),
}
OUTAGE_KEYS = (
    "mean_days_between_failures",
    "failure_probability",
    "mean_outage_days",
    "recovery_probability",
    "duration",
)
LANE_KEYS = (
    "from",
    "to",
    "lead_time_days",
    "unit_cost",
    "capacity_per_day",
    "qualification_cost_per_day",
)
_SHOCK_RATE_KEYS = (
    "mean_days_between",
    "start_probability",
    "mean_duration_days",
    "end_probability",
)
REGION_SHOCK_KEYS = ("name", *_SHOCK_RATE_KEYS, "capacity_fraction")
LANE_SHOCK_KEYS = ("lanes", *_SHOCK_RATE_KEYS, "extra_lead_time_days")
SURGE_KEYS = ("dcs", *_SHOCK_RATE_KEYS, "multiplier")
SOURCING_KEYS = ("at", "item", "mode", "shares")
STOCK_KEYS = ("at", "item", "buffer_days", "order_up_to")
STRATEGY_KEYS = ("description", "buffer_days", "stock", "sourcing")

# Node names end up in lane keys "a->b" and in places, so keep them plain.
_NODE_NAME = re.compile(r"^[\w.\-]+$")
_SIMPLE_KEY = re.compile(r"^[\w\-]+$")


# ----------------------------------------------------------------------------- value specs


class _Bad:
    """A value that failed its check and was reported; later checks skip it."""

    def __repr__(self) -> str:
        return "<invalid>"


_BAD: Any = _Bad()


def _fmt(x: float) -> str:
    return f"{x:g}"


def _show(value: Any) -> str:
    """How a bad value is quoted in a message: as the YAML author wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:56] + "...'"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class _Number:
    """A real (or integer) in a range; ``cap`` is a sanity limit reported separately."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    allow_inf: bool = False
    cap: int | None = None
    noun: str = ""

    def describe(self) -> str:
        noun = self.noun or ("an integer" if self.integer else "a number")
        if self.lo is not None and self.hi is not None:
            left = "(" if self.lo_open else "["
            right = ")" if self.hi_open else "]"
            return f"{noun} in {left}{_fmt(self.lo)}, {_fmt(self.hi)}{right}"
        if self.lo is not None:
            return f"{noun} {'>' if self.lo_open else '>='} {_fmt(self.lo)}"
        return noun

    def convert(self, value: Any) -> Any:
        # bool is an int subclass in Python, but `true` is never a sensible quantity.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return _BAD
        if self.integer:
            if isinstance(value, numbers.Integral):
                number: float = int(value)
            elif float(value).is_integer():
                number = int(value)
            else:
                return _BAD
        else:
            number = float(value)
            if math.isnan(number) or (math.isinf(number) and not (self.allow_inf and number > 0)):
                return _BAD
        if self.lo is not None and (number <= self.lo if self.lo_open else number < self.lo):
            return _BAD
        if self.hi is not None and (number >= self.hi if self.hi_open else number > self.hi):
            return _BAD
        return number


@dataclass(frozen=True)
class _String:
    pattern: re.Pattern[str] | None = None
    noun: str = "a non-empty string"
    allow_empty: bool = False

    def describe(self) -> str:
        return self.noun

    def convert(self, value: Any) -> Any:
        if not isinstance(value, str) or not (value.strip() or self.allow_empty):
            return _BAD
        if self.pattern is not None and not self.pattern.match(value):
            return _BAD
        return str(value)


@dataclass(frozen=True)
class _Choice:
    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def convert(self, value: Any) -> Any:
        return value if isinstance(value, str) and value in self.options else _BAD


_Spec = _Number | _String | _Choice

PROBABILITY = _Number(lo=0.0, hi=1.0, noun="a probability")
# A shock or outage must be able to end, else it would last for the rest of the horizon.
END_PROBABILITY = _Number(lo=0.0, hi=1.0, lo_open=True, noun="a probability")
MEAN_DAYS = _Number(lo=1.0)
NON_NEGATIVE = _Number(lo=0.0)
POSITIVE = _Number(lo=0.0, lo_open=True)
CAPACITY = _Number(lo=0.0, allow_inf=True)
DAYS = _Number(lo=0, integer=True, cap=MAX_HORIZON_DAYS)
HORIZON = _Number(lo=1, integer=True, cap=MAX_HORIZON_DAYS)
FRACTION = _Number(lo=0.0, hi=1.0, hi_open=True)
TEXT = _String()
FREE_TEXT = _String(noun="a string", allow_empty=True)
NAME = _String()
NODE_NAME = _String(_NODE_NAME, "letters, digits, '_', '.', '-' only")


def _at(place: str, key: Any) -> str:
    """Place of ``key`` inside ``place``: ``a.b`` for plain keys, ``a['odd key']`` otherwise."""
    if isinstance(key, str) and _SIMPLE_KEY.match(key):
        return f"{place}.{key}" if place else key
    return f"{place}[{key!r}]"


def _close(word: Any, candidates: Iterable[str]) -> str | None:
    if not isinstance(word, str):
        return None
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _listing(names: Iterable[str], limit: int = 8) -> str:
    names = list(names)
    if not names:
        return "(none)"
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ----------------------------------------------------------------------------- validator


@dataclass
class _LaneDraft:
    place: str
    source: str
    destination: str
    lane: Lane | None  # None when a field other than from/to was invalid


@dataclass
class _EntryDraft:
    """A sourcing or stock entry read from the file, awaiting network checks."""

    place: str
    at: str | None  # None: missing, unknown or not a string (already reported)
    item: str | None  # None: not given (stock) or invalid (already reported)
    item_ok: bool
    value: Sourcing | StockPolicy | None
    valid: bool = False  # set by the network checks when nothing was wrong with it


class _Validator:
    """Reads one parsed scenario document, collecting every error."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.region_names: list[str] | None = None
        self.declared: list[str] = []  # every well-formed node name, whatever its body
        self.kinds: dict[str, str] = {}
        self.items: dict[str, str] = {}  # item made (supplier/plant) or stocked (dc)
        self.boms: dict[str, dict[str, float]] = {}
        self.node_fields: dict[str, dict[str, Any]] = {}
        self.demand_state: dict[str, str] = {}  # dc -> "none" | "ok" | "bad"
        self.lanes: list[_LaneDraft] = []
        self.lane_keys: dict[str, str] = {}  # "a->b" -> place of its first declaration
        self.lanes_complete = True  # False: some lane's endpoints could not be read
        self.bad_items: set[str] = set()  # nodes whose `item` was given but invalid
        self.nodes_readable = False
        self._incoming: dict[str, list[_LaneDraft]] | None = None

    # -- reporting and generic readers

    def error(self, place: str, message: str) -> None:
        line = f"{place}: {message}" if place else message
        if line not in self.errors:
            self.errors.append(line)

    def mapping(self, value: Any, place: str, what: str) -> Mapping[Any, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.error(place, f"must be {what}, got {_show(value)}")
        return None

    def sequence(self, value: Any, place: str, what: str) -> list[Any] | None:
        if isinstance(value, (list, tuple)):
            return list(value)
        self.error(place, f"must be {what}, got {_show(value)}")
        return None

    def keys(
        self,
        data: Mapping[Any, Any],
        place: str,
        allowed: Iterable[str],
        elsewhere: Mapping[str, str] | None = None,
    ) -> None:
        """Report keys not in ``allowed``; ``elsewhere`` explains keys valid in other contexts."""
        allowed = tuple(allowed)
        for key in data:
            if key in allowed:
                continue
            if not isinstance(key, str):
                self.error(_at(place, key), f"keys must be strings, got {_show(key)}")
            elif elsewhere and key in elsewhere:
                self.error(_at(place, key), elsewhere[key])
            else:
                guess = _close(key, allowed)
                hint = f"did you mean '{guess}'?" if guess else "allowed: " + ", ".join(allowed)
                self.error(_at(place, key), f"unknown key ({hint})")

    def value(
        self,
        data: Mapping[Any, Any],
        key: str,
        place: str,
        spec: _Spec,
        *,
        required: bool = False,
        default: Any = None,
    ) -> Any:
        """``data[key]`` checked against ``spec``; ``default`` when absent, ``_BAD`` when invalid."""
        where = _at(place, key)
        if key not in data:
            if required:
                self.error(where, f"required key missing, must be {spec.describe()}")
                return _BAD
            return default
        raw = data[key]
        converted = spec.convert(raw)
        if converted is _BAD:
            self.error(where, f"must be {spec.describe()}, got {_show(raw)}")
        elif isinstance(spec, _Number) and spec.cap is not None and converted > spec.cap:
            self.error(where, f"must be at most {spec.cap} (sanity limit), got {_show(raw)}")
            return _BAD
        return converted

    def rate(
        self,
        data: Mapping[Any, Any],
        place: str,
        mean_key: str,
        prob_key: str,
        prob_spec: _Number,
        *,
        required: bool = True,
    ) -> Any:
        """A per-day probability given either directly or as a mean number of days (p = 1/mean)."""
        if mean_key in data and prob_key in data:
            self.error(place, f"give {mean_key} or {prob_key}, not both")
            return _BAD
        if mean_key in data:
            mean = self.value(data, mean_key, place, MEAN_DAYS)
            return _BAD if mean is _BAD else 1.0 / mean
        if prob_key in data:
            return self.value(data, prob_key, place, prob_spec)
        if required:
            self.error(
                place,
                f"missing {mean_key} or {prob_key}, one is required "
                f"({mean_key}: {MEAN_DAYS.describe()}; {prob_key}: {prob_spec.describe()})",
            )
            return _BAD
        return None

    def node_ref(self, data: Mapping[Any, Any], key: str, place: str) -> str | None:
        """A reference to a declared node, or None (reported) when it is missing or unknown."""
        where = _at(place, key)
        if key not in data:
            self.error(where, "required key missing, must be a node name")
            return None
        return self.check_node_name(data[key], where)

    def check_node_name(self, name: Any, where: str) -> str | None:
        if not isinstance(name, str):
            self.error(where, f"must be a node name, got {_show(name)}")
            return None
        if name not in self.declared:
            # With no readable `nodes` section every reference would be "unknown".
            if self.nodes_readable:
                self.error(where, self.unknown("node", name, self.declared))
            return None
        return name

    @staticmethod
    def unknown(what: str, name: str, known: Iterable[str]) -> str:
        known = list(known)
        guess = _close(name, known)
        hint = f"did you mean '{guess}'?" if guess else f"declared: {_listing(known)}"
        return f"unknown {what} {name!r} ({hint})"

    # -- top level

    def run(self, data: Any) -> Scenario | None:
        if not isinstance(data, Mapping):
            self.error(
                "scenario",
                f"must be a mapping of scenario keys (name, nodes, ...), got {_show(data)}",
            )
            return None
        self.keys(data, "", TOP_KEYS)
        name = self.value(data, "name", "", TEXT, required=True)
        description = self.value(data, "description", "", FREE_TEXT, default="")
        horizon = self.value(data, "horizon_days", "", HORIZON, required=True)
        demand_mode = self.value(
            data, "demand_mode", "", _Choice(DEMAND_MODES), default="lost_sales"
        )
        buffer_days = self.value(data, "buffer_days", "", NON_NEGATIVE, default=0.0)

        regions = self.read_regions(data)
        self.read_nodes(data)
        self.read_lanes(data)
        sourcing = self.read_entries(data, "sourcing", "", self.read_sourcing)
        stock = self.read_entries(data, "stock", "", self.read_stock)
        lane_shocks = self.read_lane_shocks(data)
        surges = self.read_surges(data)
        strategies = self.read_strategies(data)

        self.infer_dc_items()
        self.check_lanes()
        self.check_network_cycles()
        self.check_bom_cycles()
        self.check_components()
        self.check_demand()
        self.check_entries(sourcing, stock)
        self.check_default_sourcing(sourcing)
        self.check_surges(surges)
        for _, strat_sourcing, strat_stock in strategies:
            self.check_entries(strat_sourcing, strat_stock)

        if self.errors:
            return None
        nodes = tuple(
            Node(name=n, item=self.items[n], **self.node_fields[n]) for n in self.declared
        )
        return Scenario(
            name=name,
            horizon_days=horizon,
            nodes=nodes,
            lanes=tuple(d.lane for d in self.lanes if d.lane is not None),
            regions=regions,
            description=description,
            demand_mode=demand_mode,
            buffer_days=buffer_days,
            sourcing=tuple(e.value for e in sourcing),  # type: ignore[misc]
            stock=tuple(e.value for e in stock),  # type: ignore[misc]
            lane_shocks=lane_shocks,
            demand_surges=tuple(surges),
            strategies=tuple(s for s, _, _ in strategies) if strategies else (Strategy("base"),),
        )

    # -- regions

    def read_shock_rates(self, data: Mapping[Any, Any], place: str) -> tuple[Any, Any]:
        start = self.rate(data, place, "mean_days_between", "start_probability", PROBABILITY)
        end = self.rate(data, place, "mean_duration_days", "end_probability", END_PROBABILITY)
        return start, end

    def read_regions(self, data: Mapping[Any, Any]) -> tuple[Region, ...]:
        if "regions" not in data:
            self.error(
                "regions", "required key missing, must be a mapping of region name -> region"
            )
            return ()
        body = self.mapping(data["regions"], "regions", "a mapping of region name -> region")
        if body is None:
            return ()
        self.region_names = []
        regions = []
        shock_places: dict[str, str] = {}
        for rname, rbody in body.items():
            place = _at("regions", rname)
            if NAME.convert(rname) is _BAD:
                self.error(place, f"region name must be {NAME.describe()}, got {_show(rname)}")
                continue
            self.region_names.append(rname)
            # `europe:` with nothing after it is a region without shocks.
            rbody = {} if rbody is None else self.mapping(rbody, place, "a mapping (shocks)")
            if rbody is None:
                continue
            self.keys(rbody, place, ("shocks",))
            shocks = []
            raw_shocks = rbody.get("shocks")
            listed = (
                []
                if raw_shocks is None
                else self.sequence(raw_shocks, _at(place, "shocks"), "a list of shocks")
            )
            for i, raw in enumerate(listed or []):
                splace = f"{place}.shocks[{i}]"
                shock = self.mapping(raw, splace, "a mapping (one shock)")
                if shock is None:
                    continue
                self.keys(shock, splace, REGION_SHOCK_KEYS)
                sname = self.value(shock, "name", splace, NAME, default=f"{rname}_shock{i}")
                start, end = self.read_shock_rates(shock, splace)
                fraction = self.value(shock, "capacity_fraction", splace, FRACTION, default=0.0)
                if sname is not _BAD:
                    if sname in shock_places:
                        self.error(
                            _at(splace, "name"),
                            f"duplicate shock name {sname!r} (also {shock_places[sname]}), "
                            "region shock names must be unique",
                        )
                    shock_places.setdefault(sname, splace)
                if _BAD not in (sname, start, end, fraction):
                    shocks.append(RegionShock(sname, start, end, fraction))
            regions.append(Region(rname, tuple(shocks)))
        return tuple(regions)

    # -- nodes

    def read_nodes(self, data: Mapping[Any, Any]) -> None:
        if "nodes" not in data:
            self.error("nodes", "required key missing, must be a mapping of node name -> node")
            return
        body = self.mapping(data["nodes"], "nodes", "a mapping of node name -> node")
        if body is None:
            return
        self.nodes_readable = True
        if not body:
            self.error("nodes", "must declare at least one node, got an empty mapping")
        names = [n for n in body if NODE_NAME.convert(n) is not _BAD]
        self.declared = names  # declared up front so lanes may name nodes in any order
        for name, node in body.items():
            if name not in names:
                self.error(
                    _at("nodes", name),
                    f"node name must be {NODE_NAME.describe()}, got {_show(name)}",
                )
                continue
            self.read_node(name, node, _at("nodes", name))

    def read_node(self, name: str, raw: Any, place: str) -> None:
        node = self.mapping(raw, place, "a mapping (kind, region, ...)")
        if node is None:
            return
        kind = self.value(node, "kind", place, _Choice(NODE_KINDS), required=True)
        if kind is _BAD:
            self.keys(node, place, sorted({k for keys in NODE_KEYS.values() for k in keys}))
            return
        elsewhere = {}
        for other in NODE_KINDS:
            for key in NODE_KEYS[other]:
                if key not in NODE_KEYS[kind]:
                    owners = ", ".join(k for k in NODE_KINDS if key in NODE_KEYS[k])
                    elsewhere[key] = f"not allowed for a {kind} (only for {owners})"
        self.keys(node, place, NODE_KEYS[kind], elsewhere)
        self.kinds[name] = kind

        region = self.value(node, "region", place, NAME, required=True)
        if region is not _BAD and self.region_names is not None and region not in self.region_names:
            self.error(_at(place, "region"), self.unknown("region", region, self.region_names))
        item = self.value(node, "item", place, TEXT, default=None if kind == "dc" else name)
        if item is _BAD:
            self.bad_items.add(name)
        elif item is not None:
            self.items[name] = item
        fields: dict[str, Any] = {
            "kind": kind,
            "region": region,
            "capacity_per_day": self.value(
                node, "capacity_per_day", place, CAPACITY, default=math.inf
            ),
            "outage": self.read_outage(node["outage"], _at(place, "outage"))
            if "outage" in node
            else None,
        }
        if kind == "plant":
            bom = self.read_bom(node, place, item)
            if bom is not None:
                self.boms[name] = bom
            fields["bom"] = bom or {}
        if kind == "dc":
            fields["demand"] = self.read_demand(node, name, place)
            for key in ("lost_sale_margin", "backlog_penalty_per_unit_day"):
                fields[key] = self.value(node, key, place, NON_NEGATIVE, default=0.0)
        if kind != "supplier":
            fields["holding_cost_per_unit_day"] = self.value(
                node, "holding_cost_per_unit_day", place, NON_NEGATIVE, default=0.0
            )
        self.node_fields[name] = fields

    def read_bom(self, node: Mapping[Any, Any], place: str, item: Any) -> dict[str, float] | None:
        where = _at(place, "bom")
        if "bom" not in node:
            self.error(
                where, "required key missing, must be a mapping component item -> units per unit"
            )
            return None
        bom = self.mapping(node["bom"], where, "a mapping component item -> units per unit")
        if bom is None:
            return None
        if not bom:
            self.error(where, "must list at least one component, got an empty mapping")
            return None
        result: dict[str, float] = {}
        ok = True
        for comp in bom:
            if TEXT.convert(comp) is _BAD:
                self.error(
                    _at(where, comp), f"component must be {TEXT.describe()}, got {_show(comp)}"
                )
                ok = False
                continue
            if comp == item:
                self.error(
                    _at(where, comp),
                    f"a plant cannot consume the item it makes, got component {comp!r}",
                )
                ok = False
            units = self.value(bom, comp, where, POSITIVE)
            if units is _BAD:
                ok = False
            else:
                result[comp] = units
        return result if ok else None

    def read_demand(self, node: Mapping[Any, Any], name: str, place: str) -> Demand | None:
        if "demand" not in node:
            self.demand_state[name] = "none"
            return None
        where = _at(place, "demand")
        demand = self.mapping(node["demand"], where, "a mapping (distribution, mean_per_day)")
        if demand is None:
            self.demand_state[name] = "bad"
            return None
        self.keys(demand, where, ("distribution", "mean_per_day"))
        dist = self.value(
            demand, "distribution", where, _Choice(DEMAND_DISTRIBUTIONS), required=True
        )
        mean = self.value(demand, "mean_per_day", where, NON_NEGATIVE, required=True)
        if _BAD in (dist, mean):
            self.demand_state[name] = "bad"
            return None
        self.demand_state[name] = "ok" if mean > 0 else "none"
        return Demand(dist, mean)

    def read_outage(self, raw: Any, place: str) -> Outage | None:
        outage = self.mapping(raw, place, "a mapping (failure and recovery rates)")
        if outage is None:
            return None
        self.keys(outage, place, OUTAGE_KEYS)
        failure = self.rate(
            outage, place, "mean_days_between_failures", "failure_probability", PROBABILITY
        )
        duration = self.read_duration(outage, place)
        # With a drawn (lognormal/Pareto) duration the recovery rate is not used by the
        # kernel, so it may be left out; when given it is still checked.
        geometric = duration is _BAD or duration.distribution == "geometric"
        recovery = self.rate(
            outage,
            place,
            "mean_outage_days",
            "recovery_probability",
            END_PROBABILITY,
            required=geometric,
        )
        if _BAD in (failure, recovery, duration):
            return None
        return Outage(failure, 1.0 if recovery is None else recovery, duration)

    def read_duration(self, outage: Mapping[Any, Any], place: str) -> Any:
        if "duration" not in outage:
            return OutageDuration()
        where = _at(place, "duration")
        duration = self.mapping(outage["duration"], where, "a mapping (distribution, parameters)")
        if duration is None:
            return _BAD
        dist = self.value(
            duration, "distribution", where, _Choice(tuple(DURATION_PARAMS)), required=True
        )
        if dist is _BAD:
            all_params = [p for params in DURATION_PARAMS.values() for p in params]
            self.keys(duration, where, ("distribution", *all_params))
            return _BAD
        params = DURATION_PARAMS[dist]
        takes = ", ".join(params) if params else "no parameters"
        elsewhere = {
            p: f"not a {dist} parameter ({dist} takes {takes})"
            for other in DURATION_PARAMS.values()
            for p in other
            if p not in params
        }
        self.keys(duration, where, ("distribution", *params), elsewhere)
        values = {p: self.value(duration, p, where, POSITIVE, required=True) for p in params}
        if _BAD in values.values():
            return _BAD
        return OutageDuration(distribution=dist, **values)

    # -- lanes

    def read_lanes(self, data: Mapping[Any, Any]) -> None:
        if "lanes" not in data:
            self.error("lanes", "required key missing, must be a list of lanes (from, to, ...)")
            self.lanes_complete = False
            return
        lanes = self.sequence(data["lanes"], "lanes", "a list of lanes (from, to, ...)")
        if lanes is None:
            self.lanes_complete = False
            return
        for i, raw in enumerate(lanes):
            place = f"lanes[{i}]"
            lane = self.mapping(raw, place, "a mapping (from, to, lead_time_days, ...)")
            if lane is None:
                self.lanes_complete = False
                continue
            self.keys(lane, place, LANE_KEYS)
            source = self.node_ref(lane, "from", place)
            destination = self.node_ref(lane, "to", place)
            fields = {
                "lead_time_days": self.value(lane, "lead_time_days", place, DAYS, required=True),
                "unit_cost": self.value(lane, "unit_cost", place, NON_NEGATIVE, default=0.0),
                "capacity_per_day": self.value(
                    lane, "capacity_per_day", place, CAPACITY, default=math.inf
                ),
                "qualification_cost_per_day": self.value(
                    lane, "qualification_cost_per_day", place, NON_NEGATIVE, default=0.0
                ),
            }
            if source is None or destination is None:
                self.lanes_complete = False
                continue
            key = f"{source}->{destination}"
            if source == destination:
                self.error(place, f"a lane cannot connect a node to itself, got {key}")
                continue
            if key in self.lane_keys:
                self.error(
                    place,
                    f"duplicate lane {key} (also {self.lane_keys[key]}), "
                    "one lane per source and destination",
                )
                continue
            self.lane_keys[key] = place
            ok = _BAD not in fields.values()
            self.lanes.append(
                _LaneDraft(
                    place, source, destination, Lane(source, destination, **fields) if ok else None
                )
            )

    # -- sourcing and stock entries

    def read_entries(
        self, data: Mapping[Any, Any], key: str, place: str, reader: Any
    ) -> list[_EntryDraft]:
        where = _at(place, key)
        if key not in data:
            return []
        entries = self.sequence(data[key], where, f"a list of {key} entries")
        if entries is None:
            return []
        drafts = []
        for i, raw in enumerate(entries):
            entry = self.mapping(raw, f"{where}[{i}]", "a mapping (at, item, ...)")
            if entry is not None:
                drafts.append(reader(entry, f"{where}[{i}]"))
        return drafts

    def read_sourcing(self, entry: Mapping[Any, Any], place: str) -> _EntryDraft:
        self.keys(entry, place, SOURCING_KEYS)
        at = self.node_ref(entry, "at", place)
        item = self.value(entry, "item", place, TEXT, required=True)
        mode = self.value(entry, "mode", place, _Choice(SOURCING_MODES), required=True)
        shares = self.read_shares(entry, place)
        ok = None not in (at, shares) and _BAD not in (item, mode)
        value = Sourcing(at, item, mode, shares) if ok else None  # type: ignore[arg-type]
        return _EntryDraft(place, at, None if item is _BAD else item, item is not _BAD, value)

    def read_shares(self, entry: Mapping[Any, Any], place: str) -> dict[str, float] | None:
        where = _at(place, "shares")
        what = "a mapping source node -> share"
        if "shares" not in entry:
            self.error(where, f"required key missing, must be {what}")
            return None
        shares = self.mapping(entry["shares"], where, what)
        if shares is None:
            return None
        if not shares:
            self.error(where, "must name at least one source, got an empty mapping")
            return None
        result: dict[str, float] = {}
        ok = True
        for source in shares:
            if self.check_node_name(source, _at(where, source)) is None:
                ok = False
            value = self.value(shares, source, where, _Number(lo=0.0, noun="a share"))
            if value is _BAD:
                ok = False
            elif isinstance(source, str):
                result[source] = value
        if not ok:
            return None
        total = math.fsum(result.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            self.error(where, f"shares must sum to 1, got a sum of {total:.10g}")
            return None
        return result

    def read_stock(self, entry: Mapping[Any, Any], place: str) -> _EntryDraft:
        self.keys(entry, place, STOCK_KEYS)
        at = self.node_ref(entry, "at", place)
        item = self.value(entry, "item", place, TEXT, default=None)
        if "buffer_days" in entry and "order_up_to" in entry:
            self.error(place, "give buffer_days or order_up_to, not both")
            level = _BAD
        elif "buffer_days" not in entry and "order_up_to" not in entry:
            self.error(
                place,
                "missing buffer_days or order_up_to, one is required (days of cover or units)",
            )
            level = _BAD
        else:
            key = "buffer_days" if "buffer_days" in entry else "order_up_to"
            level = {key: self.value(entry, key, place, NON_NEGATIVE)}
            if _BAD in level.values():
                level = _BAD
        ok = at is not None and _BAD not in (item, level)
        value = StockPolicy(at, item, **level) if ok else None  # type: ignore[arg-type]
        return _EntryDraft(place, at, None if item is _BAD else item, item is not _BAD, value)

    # -- lane shocks, surges, strategies

    def named_bodies(
        self, data: Mapping[Any, Any], key: str, what: str
    ) -> list[tuple[str, str, Mapping[Any, Any]]]:
        """(name, place, body) of each entry of a name -> mapping section."""
        if key not in data:
            return []
        section = self.mapping(data[key], key, f"a mapping of {what} name -> {what}")
        if section is None:
            return []
        bodies = []
        for name, raw in section.items():
            place = _at(key, name)
            if NAME.convert(name) is _BAD:
                self.error(place, f"{what} name must be {NAME.describe()}, got {_show(name)}")
                continue
            body = {} if raw is None and key == "strategies" else raw
            body = self.mapping(body, place, f"a mapping (one {what})")
            if body is not None:
                bodies.append((name, place, body))
        return bodies

    def name_list(
        self, body: Mapping[Any, Any], key: str, place: str, what: str
    ) -> list[Any] | None:
        where = _at(place, key)
        if key not in body:
            self.error(where, f"required key missing, must be a list of {what}")
            return None
        names = self.sequence(body[key], where, f"a list of {what}")
        if names is not None and not names:
            self.error(where, f"must name at least one of {what}, got an empty list")
            return None
        return names

    def read_lane_shocks(self, data: Mapping[Any, Any]) -> tuple[LaneShock, ...]:
        shocks = []
        for name, place, body in self.named_bodies(data, "lane_shocks", "lane shock"):
            self.keys(body, place, LANE_SHOCK_KEYS)
            lanes = self.name_list(body, "lanes", place, "lanes 'source->destination'")
            keys: list[str] = []
            for i, raw in enumerate(lanes or []):
                where = f"{place}.lanes[{i}]"
                if not isinstance(raw, str) or "->" not in raw:
                    self.error(where, f"must be a lane 'source->destination', got {_show(raw)}")
                    continue
                key = "->".join(part.strip() for part in raw.split("->", 1))
                if key in keys:
                    self.error(where, f"lane {key} listed twice")
                elif key not in self.lane_keys and self.lanes_complete:
                    self.error(where, self.unknown("lane", key, self.lane_keys))
                keys.append(key)
            start, end = self.read_shock_rates(body, place)
            extra = self.value(body, "extra_lead_time_days", place, DAYS, required=True)
            if lanes and len(keys) == len(lanes) and _BAD not in (start, end, extra):
                shocks.append(LaneShock(name, start, end, tuple(keys), extra))
        return tuple(shocks)

    def read_surges(self, data: Mapping[Any, Any]) -> list[DemandSurge]:
        surges = []
        for name, place, body in self.named_bodies(data, "demand_surges", "demand surge"):
            self.keys(body, place, SURGE_KEYS)
            raw_dcs = self.name_list(body, "dcs", place, "dcs")
            dcs: list[str] = []
            for i, raw in enumerate(raw_dcs or []):
                where = f"{place}.dcs[{i}]"
                dc = self.check_node_name(raw, where)
                if dc is None:
                    continue
                if dc in dcs:
                    self.error(where, f"dc {dc!r} listed twice")
                    continue
                kind = self.kinds.get(dc)
                if kind is not None and kind != "dc":
                    self.error(where, f"surges cover dcs only, got {dc!r} (a {kind})")
                elif self.demand_state.get(dc) == "none":
                    self.error(where, f"{dc} has no demand to surge (no demand, or mean_per_day 0)")
                dcs.append(dc)
            start, end = self.read_shock_rates(body, place)
            multiplier = self.value(body, "multiplier", place, NON_NEGATIVE, required=True)
            if raw_dcs and len(dcs) == len(raw_dcs) and _BAD not in (start, end, multiplier):
                surges.append(DemandSurge(name, start, end, tuple(dcs), multiplier))
        return surges

    def read_strategies(
        self, data: Mapping[Any, Any]
    ) -> list[tuple[Strategy, list[_EntryDraft], list[_EntryDraft]]]:
        raw = data.get("strategies")
        if isinstance(raw, Mapping) and not raw:
            self.error(
                "strategies",
                "must name at least one strategy, got an empty mapping "
                "(leave the key out to simulate the network as written)",
            )
        strategies = []
        for name, place, body in self.named_bodies(data, "strategies", "strategy"):
            self.keys(body, place, STRATEGY_KEYS)
            description = self.value(body, "description", place, FREE_TEXT, default="")
            buffer_days = self.value(body, "buffer_days", place, NON_NEGATIVE, default=None)
            sourcing = self.read_entries(body, "sourcing", place, self.read_sourcing)
            stock = self.read_entries(body, "stock", place, self.read_stock)
            strategy = Strategy(
                name,
                description if description is not _BAD else "",
                buffer_days if buffer_days is not _BAD else None,
                tuple(e.value for e in stock if e.value is not None),
                tuple(e.value for e in sourcing if e.value is not None),
            )
            strategies.append((strategy, sourcing, stock))
        return strategies

    # -- whole-network checks

    def incoming(self, node: str) -> list[_LaneDraft]:
        if self._incoming is None:  # lanes are all read before the first call
            self._incoming = {}
            for d in self.lanes:
                self._incoming.setdefault(d.destination, []).append(d)
        return self._incoming.get(node, [])

    def infer_dc_items(self) -> None:
        """Give each dc without ``item`` the one item its incoming lanes carry."""
        pending = [
            n
            for n, k in self.kinds.items()
            if k == "dc" and n not in self.items and n not in self.bad_items
        ]
        # DCs may feed DCs, so resolve to a fixed point (any order of declaration works).
        changed = True
        while changed:
            changed = False
            for dc in list(pending):
                sources = [d.source for d in self.incoming(dc)]
                if not sources or any(s not in self.items for s in sources):
                    continue
                pending.remove(dc)
                carried = {s: self.items[s] for s in sources}
                if len(set(carried.values())) == 1:
                    self.items[dc] = next(iter(carried.values()))
                    changed = True
                else:
                    listing = ", ".join(f"{item!r} from {s}" for s, item in carried.items())
                    self.error(
                        _at(_at("nodes", dc), "item"),
                        f"not given and cannot be inferred: incoming lanes carry different "
                        f"items ({listing}), a dc stocks one item",
                    )
        # Those with demand downstream are reported by check_demand ("no lane brings it").
        needing = set(self.dcs_with_demand_downstream())
        for dc in pending:
            if self.lanes_complete and not self.incoming(dc) and dc not in needing:
                self.error(
                    _at(_at("nodes", dc), "item"),
                    "required for a dc with no incoming lanes (nothing to infer it from), "
                    "must be a non-empty string",
                )

    def check_lanes(self) -> None:
        for d in self.lanes:
            kind = self.kinds.get(d.destination)
            carried = self.items.get(d.source)
            if kind == "supplier":
                self.error(
                    _at(d.place, "to"),
                    f"suppliers have no incoming lanes, got {d.destination!r} (a supplier)",
                )
            elif kind == "dc" and carried is not None and d.destination in self.items:
                stocked = self.items[d.destination]
                if carried != stocked:
                    self.error(
                        d.place,
                        f"a lane into a dc must carry the dc's item {stocked!r}, "
                        f"got {carried!r} (what {d.source} supplies)",
                    )
            elif kind == "plant" and carried is not None and d.destination in self.boms:
                bom = self.boms[d.destination]
                if carried not in bom:
                    self.error(
                        d.place,
                        f"a lane into a plant must carry one of its components "
                        f"({_listing(bom)}), got {carried!r} (what {d.source} supplies)",
                    )

    def check_network_cycles(self) -> None:
        edges: dict[str, list[str]] = {}
        places: dict[tuple[str, str], str] = {}
        for d in self.lanes:
            edges.setdefault(d.source, []).append(d.destination)
            places[(d.source, d.destination)] = d.place
        for cycle in _find_cycles(self.declared, edges):
            via = ", ".join(places[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False))
            self.error(
                "lanes",
                f"the network has a cycle {' -> '.join(cycle)} ({via}), "
                "goods must flow one way from suppliers to dcs",
            )

    def check_bom_cycles(self) -> None:
        edges: dict[str, list[str]] = {}
        makers: dict[tuple[str, str], str] = {}
        for plant, bom in self.boms.items():
            product = self.items.get(plant)
            if product is None:
                continue
            for comp in bom:
                edges.setdefault(product, []).append(comp)
                makers.setdefault((product, comp), plant)
        items = list(dict.fromkeys([*edges, *(c for cs in edges.values() for c in cs)]))
        for cycle in _find_cycles(items, edges):
            plants = list(
                dict.fromkeys(makers[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False))
            )
            self.error(
                _at(_at("nodes", plants[0]), "bom"),
                f"bill-of-materials cycle {' -> '.join(cycle)} (plants {', '.join(plants)}), "
                "an item cannot be its own component",
            )

    def check_components(self) -> None:
        if not self.lanes_complete:
            return
        for plant, bom in self.boms.items():
            carried = {self.items.get(d.source) for d in self.incoming(plant)}
            for comp in bom:
                if comp not in carried and not any(
                    d.source not in self.items for d in self.incoming(plant)
                ):
                    self.error(
                        _at(_at(_at("nodes", plant), "bom"), comp),
                        f"no lane into {plant} carries {comp!r}, "
                        "each component needs a lane from a node that makes or stocks it",
                    )

    def check_demand(self) -> None:
        dcs = [n for n, k in self.kinds.items() if k == "dc"]
        complete = bool(self.declared) and len(self.kinds) == len(self.declared)
        states = [self.demand_state.get(dc) for dc in dcs]
        if complete and "ok" not in states and "bad" not in states:
            self.error(
                "nodes",
                "no dc has demand (mean_per_day > 0), at least one is needed, "
                f"got dcs: {_listing(dcs)}",
            )
        if not self.lanes_complete:
            return
        for dc in self.dcs_with_demand_downstream():
            if not self.incoming(dc):
                self.error(
                    _at("nodes", dc),
                    "has demand (or feeds a dc that has) but no lane brings it anything, "
                    f"add a lane into {dc}",
                )

    def dcs_with_demand_downstream(self) -> list[str]:
        """DCs that have demand or feed, directly or not, a dc that has: they need a source."""
        needs = [dc for dc, state in self.demand_state.items() if state in ("ok", "bad")]
        downstream = set(needs)
        while needs:
            node = needs.pop()
            for d in self.incoming(node):
                if self.kinds.get(d.source) == "dc" and d.source not in downstream:
                    downstream.add(d.source)
                    needs.append(d.source)
        return [dc for dc in self.declared if dc in downstream]

    def stocked(self, node: str) -> list[str] | None:
        """Items stocked at ``node`` (None when unknown because of an earlier error)."""
        kind = self.kinds.get(node)
        if kind == "dc":
            return [self.items[node]] if node in self.items else None
        if kind == "plant":
            return list(self.boms[node]) if node in self.boms else None
        return [] if kind == "supplier" else None

    def check_stock_point(self, entry: _EntryDraft, need_item: bool) -> bool:
        """Report an entry whose ``at``/``item`` is not a stock point; True when it is one."""
        if entry.at is None or not entry.item_ok:
            return False
        kind = self.kinds.get(entry.at)
        stocked = self.stocked(entry.at)
        if kind == "supplier":
            self.error(
                _at(entry.place, "at"),
                f"must be a stock point (a plant or a dc), got {entry.at!r} (a supplier holds no stock)",
            )
            return False
        if stocked is None:
            return False
        if entry.item is None:
            return not need_item
        if entry.item not in stocked:
            self.error(
                _at(entry.place, "item"),
                f"must be an item stocked at {entry.at} ({_listing(stocked)}), got {entry.item!r}",
            )
            return False
        return True

    def candidates(self, at: str, item: str) -> list[_LaneDraft]:
        return [d for d in self.incoming(at) if self.items.get(d.source) == item]

    def check_entries(self, sourcing: list[_EntryDraft], stock: list[_EntryDraft]) -> None:
        seen: dict[tuple[str, str | None], str] = {}
        for entry in sourcing:
            if not self.check_stock_point(entry, need_item=True):
                continue
            entry.valid = entry.value is not None
            assert entry.at is not None and entry.item is not None
            key = (entry.at, entry.item)
            if key in seen:
                self.error(
                    entry.place,
                    f"duplicate sourcing for {entry.item!r} at {entry.at} (also {seen[key]})",
                )
            seen.setdefault(key, entry.place)
            if entry.value is None:
                continue
            assert isinstance(entry.value, Sourcing)
            for source in entry.value.shares:
                lane = self.lane_keys.get(f"{source}->{entry.at}")
                carried = self.items.get(source)
                if lane is None and not self.lanes_complete:
                    continue  # it may be the lane whose endpoints could not be read
                if lane is None:
                    entry.valid = False
                    problem = f"no lane {source}->{entry.at}"
                elif carried is not None and carried != entry.item:
                    entry.valid = False
                    problem = f"{lane} ({source}->{entry.at}) carries {carried!r}"
                else:
                    continue
                self.error(
                    _at(_at(entry.place, "shares"), source),
                    f"{problem}, shares may only name sources with a lane into "
                    f"{entry.at} carrying {entry.item!r}",
                )
        seen = {}
        for entry in stock:
            if not self.check_stock_point(entry, need_item=False):
                continue
            assert entry.at is not None
            key = (entry.at, entry.item)
            if key in seen:
                what = "every item" if entry.item is None else repr(entry.item)
                self.error(
                    entry.place,
                    f"duplicate stock entry for {what} at {entry.at} (also {seen[key]})",
                )
            seen.setdefault(key, entry.place)

    def check_default_sourcing(self, sourcing: list[_EntryDraft]) -> None:
        """Several candidate lanes with no sourcing entry: which to use is a decision."""
        # A broken entry may be the one meant for a stock point: judge only clean files.
        if not self.lanes_complete or not all(e.valid for e in sourcing):
            return
        decided = {(e.at, e.item) for e in sourcing}
        for node in self.declared:
            for item in self.stocked(node) or []:
                lanes = self.candidates(node, item)
                if len(lanes) > 1 and (node, item) not in decided:
                    via = ", ".join(f"{d.source}->{node}" for d in lanes)
                    self.error(
                        "sourcing",
                        f"{node} has {len(lanes)} candidate lanes for {item!r} ({via}) "
                        "but no sourcing entry, add one (at, item, mode, shares) to choose",
                    )

    def check_surges(self, surges: list[DemandSurge]) -> None:
        covering: dict[str, list[str]] = {}
        for surge in surges:
            for dc in surge.dcs:
                covering.setdefault(dc, []).append(surge.name)
        for dc, names in covering.items():
            if len(names) > MAX_SURGES_PER_DC:
                self.error(
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


# ----------------------------------------------------------------------------- loading


def _duplicate_keys(root: yaml.Node) -> list[str]:
    """Keys given twice in one YAML mapping (PyYAML would silently keep the last)."""
    found: list[tuple[int, str]] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, place = stack.pop()
        if id(node) in seen:  # aliases share nodes, and may even be recursive
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults` is meant to be overridden
                key = key_node.value
                line = key_node.start_mark.line + 1
                child = _at(place, key)
                if key in first:
                    found.append(
                        (
                            line,
                            f"{child}: duplicate key (lines {first[key]} and {line}), "
                            "each key may appear once",
                        )
                    )
                else:
                    first[key] = line
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{place}[{i}]") for i, item in enumerate(node.value))
    return [message for _, message in sorted(found)]


def _parse_yaml(text: str, path: str) -> tuple[Any, list[str]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, []
        return loader.construct_document(root), _duplicate_keys(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        error = ScenarioError([f"{where}: YAML syntax error: {problem}"])
        # The line already starts with the path (compiler style, so editors can jump to
        # it); `source` is set afterwards so the message does not repeat it.
        error.source = path
        raise error from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"YAML syntax error: {exc}"], source=path) from None
    finally:
        loader.dispose()


def _plain(obj: Any) -> Any:
    """Plain Python containers and numbers (e.g. from numpy) so ``yaml.safe_dump`` accepts them."""
    if isinstance(obj, Mapping):
        return {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return obj


def load_scenario(source: str | os.PathLike[str] | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    source : str, os.PathLike or Mapping
        Path of a YAML scenario file (docs/scenario-format.md), or the already-parsed
        document as a mapping. YAML text itself is not accepted: write it to a file.

    Returns
    -------
    Scenario
        The validated scenario with every default filled in: ``mean_*`` rates converted to
        per-day probabilities (1 / mean), absent capacities as ``math.inf``, dc items
        inferred from their incoming lanes, and one strategy ``"base"`` when the file
        names none. ``source_text`` holds the file's text (for a mapping, its
        ``yaml.safe_dump``); ``source_path`` the path given (None for a mapping).

    Raises
    ------
    ScenarioError
        With one entry in ``errors`` per problem found (all of them, not just the first),
        each ``place: problem``; ``source`` is the path. A missing or unreadable file,
        or YAML that does not parse (``path:line:column: YAML syntax error: ...``), is a
        single error.
    TypeError
        If ``source`` is neither a path nor a mapping.
    """
    if isinstance(source, Mapping):
        path = None
        duplicates: list[str] = []
        data: Any = source
        try:
            text = yaml.safe_dump(_plain(source), sort_keys=False, allow_unicode=True)
        except yaml.YAMLError:
            text = None  # some value is not plain data; validation says which
    elif isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and "\n" in source:
            raise TypeError("load_scenario takes a path or a mapping, not YAML text")
        path = os.fspath(source)
        text = _read_text(Path(path), path)
        data, duplicates = _parse_yaml(text, path)
    else:
        raise TypeError(f"load_scenario takes a path or a mapping, got {type(source).__name__}")

    validator = _Validator()
    validator.errors.extend(duplicates)
    if data is None:
        validator.error(
            "scenario", "file is empty, must be a mapping of scenario keys (name, nodes, ...)"
        )
        scenario = None
    else:
        scenario = validator.run(data)
    if text is None and scenario is not None:
        validator.error(
            "scenario", "cannot be written as YAML, use plain dicts, lists, strings and numbers"
        )
    if validator.errors or scenario is None:
        raise ScenarioError(validator.errors, source=path)
    return replace(scenario, source_text=text or "", source_path=path)


def _read_text(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "file not found"
    except IsADirectoryError:
        problem = "is a directory, expected a scenario file"
    except UnicodeDecodeError:
        problem = "cannot read: not UTF-8 text"
    except OSError as exc:
        problem = f"cannot read: {exc.strerror or exc}"
    raise ScenarioError([problem], source=shown)


# ----------------------------------------------------------------------------- helpers


def stock_points(scenario: Scenario) -> list[tuple[str, str]]:
    """Every (node, item) that holds inventory, in a stable order.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    list of (str, str)
        ``(node name, item)``: each dc with its item, each plant with each BOM component
        (plants make to order, so they stock components, never their product). Ordered
        by node declaration, then BOM order within a plant; suppliers hold no stock.
    """
    points: list[tuple[str, str]] = []
    for node in scenario.nodes:
        if node.kind == "dc":
            points.append((node.name, node.item))
        elif node.kind == "plant":
            points.extend((node.name, component) for component in node.bom)
    return points


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
    return [
        lane for lane in scenario.lanes if lane.destination == at and items.get(lane.source) == item
    ]


def resolve_sourcing(
    scenario: Scenario, strategy: Strategy | str | None = None
) -> dict[tuple[str, str], Sourcing]:
    """The sourcing in force for every stock point that has a source.

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
        ``(at, item) -> Sourcing`` in :func:`stock_points` order. A stock point with a
        single candidate lane and no entry gets ``Sourcing(at, item, "split",
        {source: 1.0})``; stock points with no candidate lane are left out.
    """
    if isinstance(strategy, str):
        strategy = scenario.strategy(strategy)
    entries = {(s.at, s.item): s for s in scenario.sourcing}
    if strategy is not None:
        entries.update({(s.at, s.item): s for s in strategy.sourcing})
    resolved: dict[tuple[str, str], Sourcing] = {}
    for at, item in stock_points(scenario):
        if (at, item) in entries:
            resolved[(at, item)] = entries[(at, item)]
            continue
        lanes = candidate_sources(scenario, at, item)
        if len(lanes) == 1:
            resolved[(at, item)] = Sourcing(at, item, "split", {lanes[0].source: 1.0})
    return resolved
