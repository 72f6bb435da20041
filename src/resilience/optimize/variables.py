"""Decision variables of an optimisation file: what each may take, how Optuna proposes a
value, how a share of one source is set in the scenario document, and how a
``variables:`` entry is read.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from resilience.errors import SweepError
from resilience.scenario.values import (
    _BAD,
    Reader,
    _Choice,
    _Number,
    _show,
    _String,
)
from resilience.sweeps.paths import IDENTIFIER, Param, parse_path

VARIABLE_KEYS = ("name", "type", "path", "bounds", "step", "log", "choices")
VARIABLE_TYPES = ("integer", "continuous", "binary", "choice", "shares")
#: Names the evaluation dataset uses itself; a variable may not take them.
RESERVED = frozenset(
    {
        "evaluation",
        "objective",
        "feasible",
        "constraint",
        "constraint_value",
        "constraint_violation",
        "status",
        "duplicate_of",
        "strategy_block",
        "candidate",
        "interval",
        "fresh_objective",
        "fresh_constraint",
        "fresh_status",
        "candidate_evaluation",
        "paired_objective_difference",
    }
)
# ----------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Variable:
    """One decision variable: the same value set at each of its paths."""

    name: str
    type: str
    params: tuple[Param, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    place: str = field(default="", compare=False)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.params]

    def corners(self) -> list[Any]:
        """The values checked against the scenario before the search: both ends of the
        range, every choice."""
        if self.type == "binary":
            return [0, 1]
        if self.type == "choice":
            return list(self.choices)
        return [self.low] if self.low == self.high else [self.low, self.high]

    def suggest(self, trial) -> Any:
        """The value Optuna's ``trial`` proposes."""
        if self.type == "integer":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1)
            )
        if self.type in ("continuous", "shares"):
            value = trial.suggest_float(
                self.name, float(self.low), float(self.high), step=self.step, log=self.log
            )
            return round(value, 12) if self.step else value
        if self.type == "binary":
            return trial.suggest_categorical(self.name, [0, 1])
        return trial.suggest_categorical(self.name, list(self.choices))

    def size(self) -> float:
        """How many values it can take (inf for a continuous range without a step)."""
        if self.type == "binary":
            return 2
        if self.type == "choice":
            return len(self.choices)
        if self.low == self.high:
            return 1
        if self.type == "integer":
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        if self.step:
            return math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return math.inf

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "paths": self.paths,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
            "choices": list(self.choices),
        }


def _share_entry(param: Param) -> tuple[tuple[str | int, ...], str] | None:
    """``(path of the shares mapping, source)`` when ``param`` names one source's share in
    a sourcing entry (``...sourcing[i].shares.SOURCE``), else None."""
    keys = param.keys
    if (
        len(keys) >= 4
        and keys[-2] == "shares"
        and isinstance(keys[-3], int)
        and keys[-4] == "sourcing"
    ) and isinstance(keys[-1], str):
        return keys[:-1], keys[-1]
    return None


def _get(doc: Any, keys: Sequence[str | int]) -> Any:
    node = doc
    for key in keys:
        node = node[key]
    return node


def set_share(doc: dict, param: Param, share: float) -> None:
    """Give one source ``share`` and the entry's other sources the rest, in proportion to
    their shares as they stand (evenly when those are all 0), so the entry sums to 1."""
    mapping_keys, source = _share_entry(param)
    shares = _get(doc, mapping_keys)
    others = [s for s in shares if s != source]
    rest = sum(float(shares[s]) for s in others if _is_number(shares[s]))
    remaining = 1.0 - share
    for s in others:
        w = float(shares[s]) if _is_number(shares[s]) else 0.0
        shares[s] = round(remaining * (w / rest if rest > 0 else 1.0 / len(others)), 12)
    shares[source] = round(share, 12)


def drop_source(doc: dict, param: Param) -> None:
    """Share 0 for one source (unused: no purchases, no qualification cost, not a failover
    option); the entry's other sources are scaled back up to sum to 1."""
    mapping_keys, source = _share_entry(param)
    shares = _get(doc, mapping_keys)
    shares[source] = 0.0
    rest = sum(float(w) for s, w in shares.items() if s != source and _is_number(w))
    if rest > 0:
        for s in shares:
            if s != source and _is_number(shares[s]):
                shares[s] = round(float(shares[s]) / rest, 12)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _read_variable(r: Reader, raw: Any, place: str, taken: dict) -> Variable | None:
    body = r.mapping(raw, place, "a mapping with path and type")
    if body is None:
        return None
    r.keys(body, place, VARIABLE_KEYS)
    kind = r.value(body, "type", place, _Choice(VARIABLE_TYPES), required=True)
    raw_paths = body.get("path")
    if raw_paths is None:
        r.error(
            f"{place}.path",
            "required key missing, must be a path into the scenario or a list of them",
        )
        return None
    listed = isinstance(raw_paths, list)
    texts = raw_paths if listed else [raw_paths]
    if not texts:
        r.error(f"{place}.path", "must name at least one path")
        return None
    params = _read_params(r, body, place, texts, listed, taken)
    default_name = params[0].short_names()[0] if params else "variable"
    name = r.value(
        body,
        "name",
        place,
        _String(IDENTIFIER, "a name of letters, digits and '_'"),
        default=default_name,
    )
    if name is not _BAD and name in RESERVED:
        r.error(f"{place}.name", f"{name!r} is used by the evaluation dataset; choose another name")
    if kind is _BAD or name is _BAD or len(params) != len(texts):
        return None
    low = high = step = None
    log = False
    choices: tuple[Any, ...] = ()
    if kind in ("integer", "continuous", "shares"):
        read = _read_range(r, body, place, kind)
        if read is None:
            return None
        low, high, step, log = read
    elif kind == "choice":
        read_choices = _read_choices(r, body, place)
        if read_choices is None:
            return None
        choices = read_choices
    else:  # binary
        for key in ("bounds", "step", "log", "choices"):
            if key in body:
                r.error(f"{place}.{key}", "a binary variable takes no " + key + " (it is 0 or 1)")
    return Variable(name, kind, tuple(params), low, high, step, bool(log), choices, place)


def _read_params(
    r: Reader, body: dict, place: str, texts: list, listed: bool, taken: dict
) -> list[Param]:
    params = []
    for j, text in enumerate(texts):
        where = f"{place}.path" + (f"[{j}]" if listed else "")
        if not isinstance(text, str):
            r.error(where, f"must be a path such as strategies.jic.buffer_days, got {_show(text)}")
            continue
        try:
            keys = parse_path(text)
        except SweepError as exc:
            r.error(where, str(exc))
            continue
        if not keys:
            r.error(where, "shock_scale is a sweep parameter, not a strategy setting")
            continue
        param = Param(keys)
        kind_here = body.get("type")
        earlier = taken.get(param.keys)
        # a binary (qualify or not) and a shares variable may name the same source's share
        if earlier is not None and {earlier[1], kind_here} != {"shares", "binary"}:
            r.error(where, f"{param.path} is already set by {earlier[0]}")
            continue
        taken[param.keys] = (place, kind_here)
        params.append(param)
    return params


def _read_range(r: Reader, body: dict, place: str, kind: str) -> tuple[Any, Any, Any, Any] | None:
    """``(low, high, step, log)`` of a numeric variable, None once an error is recorded."""
    for key in ("choices",):
        if key in body:
            r.error(f"{place}.{key}", f"a {kind} variable takes bounds, not choices")
    bounds = body.get("bounds")
    number = _Number(integer=kind == "integer")
    if kind == "shares":
        number = _Number(lo=0.0, hi=1.0, noun="a share")
    if not (isinstance(bounds, list) and len(bounds) == 2):
        r.error(
            f"{place}.bounds",
            f"must be [low, high], two {number.describe()}s, got {_show(bounds)}",
        )
        return None
    converted = [number.convert(b) for b in bounds]
    for i, (b, c) in enumerate(zip(bounds, converted, strict=True)):
        if c is _BAD:
            r.error(f"{place}.bounds[{i}]", f"must be {number.describe()}, got {_show(b)}")
    if _BAD in converted:
        return None
    low, high = converted
    if low > high:
        r.error(f"{place}.bounds", f"low {_show(bounds[0])} is above high {_show(bounds[1])}")
        return None
    step = r.value(
        body,
        "step",
        place,
        _Number(lo=0, lo_open=True, integer=kind == "integer"),
        default=None,
    )
    log = r.value(body, "log", place, _Flag(), default=False)
    if step is _BAD or log is _BAD:
        return None
    if log and (kind != "continuous" or low <= 0 or step):
        r.error(
            f"{place}.log",
            "a log scale needs a continuous variable with bounds > 0 and no step",
        )
        return None
    if step and kind != "integer" and high > low:
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9:
            r.error(
                f"{place}.step",
                f"{_show(step)} does not divide the range {_show(low)}..{_show(high)} into whole steps",
            )
            return None
    return low, high, step, log


def _read_choices(r: Reader, body: dict, place: str) -> tuple[Any, ...] | None:
    for key in ("bounds", "step", "log"):
        if key in body:
            r.error(f"{place}.{key}", "a choice variable takes choices, not bounds")
    raw_choices = body.get("choices")
    if not isinstance(raw_choices, list) or not raw_choices:
        r.error(f"{place}.choices", f"must be a non-empty list of values, got {_show(raw_choices)}")
        return None
    for i, c in enumerate(raw_choices):
        if not (c is None or isinstance(c, (str, numbers.Real))):
            r.error(f"{place}.choices[{i}]", f"must be a string or a number, got {_show(c)}")
            return None
    if len({json.dumps(c) for c in raw_choices}) != len(raw_choices):
        r.error(f"{place}.choices", "choices repeat")
        return None
    return tuple(raw_choices)


@dataclass(frozen=True)
class _Flag:
    def describe(self) -> str:
        return "true or false"

    def convert(self, value: Any) -> Any:
        return value if isinstance(value, bool) else _BAD
