"""Value specs and message helpers shared by the read and check passes.

A spec (:class:`_Number`, :class:`_String`, :class:`_Choice`) converts one raw YAML value
or returns :data:`_BAD`; :class:`Errors` collects the placed lines; :class:`Reader` reads
one field of a mapping against a spec and reports what is wrong with it. Places read like
paths into the file (``lanes[2].lead_time_days``), see :func:`_at`.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Longest horizon accepted (100 years); also caps lead times, which size pipeline arrays.
MAX_HORIZON_DAYS = 36500
#: The kernel tabulates every combination of surges covering a DC (2**n multipliers).
MAX_SURGES_PER_DC = 8
#: How far sourcing shares may sum from 1.
SHARE_TOLERANCE = 1e-9

# Bounds on what a scenario makes the compiler and the kernel compute. Each keeps a
# derived quantity finite and its memory bounded, so a file that validates also runs;
# scenario/bounds.py checks them, each error placed where the value comes from.
#: Cost per unit (unit_cost, holding_cost_per_unit_day, lost_sale_margin,
#: backlog_penalty_per_unit_day) or per day (qualification_cost_per_day): a run's costs
#: are sums of units x cost over up to 36,500 days, and costs of 1e308 give total_cost =
#: inf; at 1e15 per unit every total stays finite.
MAX_COST = 1e15
#: Units a day that one dc may be asked (demand mean x surge multipliers, deterministic
#: demand) or one stock point may ship on average (demand carried up through shares and
#: bills of materials): order-up-to levels are this x days of cover, and 1e308 x 2
#: overflows to inf in the compiler.
MAX_UNITS_PER_DAY = 1e12
#: Units a network may hold on hand at once, summed over its stock points: its
#: order-up-to levels, plus (backorder mode) the backlog an impaired dc may be
#: replenished for. The daily on-hand mean is an exact int64 sum over paths of
#: round(on hand x 2**8) (kernels/simulate.py ON_HAND_FIXED_POINT), so a network that
#: can hold X units runs at most 2**63 / (256 X) paths: 1,029 at this limit (the engine
#: refuses more paths than a network allows, engine/plan.py).
MAX_ON_HAND_UNITS = 3.5e13
#: Entries of one Poisson demand table: the compiler tabulates the inverse CDF of every
#: dc's demand (for each combination of its surges) on 0 .. mean + 12 sd + 20, with a
#: guide table 8 times as long: 72 bytes an entry, 72 MB at this limit (a mean up to
#: about 988,000 a day). The kernel reads a drawn demand as the table index plus the
#: table's first demand, which is 0 for a stationary Poisson dc (so a larger mean needs
#: distribution: deterministic or a larger unit); the tables of a time-varying or
#: negative-binomial dc (issue 14) start at mean - 12 sd - 20 and hold ~24 sd + 40 entries.
MAX_POISSON_TABLE = 10**6
#: Entries of every Poisson table of one network together (576 MB with the guide tables).
MAX_POISSON_ENTRIES = 8 * 10**6
#: Longest pipeline: a lane's lead time plus the extra days of every lane shock on it
#: (all may be active at once). The kernel keeps a ring of up to this many days per stock
#: point (each stock point's own longest lead time + 1).
MAX_PIPELINE_DAYS = 2 * MAX_HORIZON_DAYS
#: Pipeline days x stock points: at most that many float64 in the kernel's rings for
#: each of 64 paths in lockstep per thread, 1 GiB at this limit.
MAX_PIPELINE_CELLS = 2**21

# Node names end up in lane keys "a->b" and in places, so keep them plain.
_NODE_NAME = re.compile(r"^[\w.\-]+$")
_SIMPLE_KEY = re.compile(r"^[\w\-]+$")


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
        number = int(value)
        if number.bit_length() > 64:  # str() of a huge int is slow, then refused (4300 digits)
            digits = int(number.bit_length() * math.log10(2)) + 1
            return f"an integer of about {digits} digits"
        return str(number)
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:
            return f"a {type(value).__name__} too large for a float"
        # repr writes 2e15 as 2000000000000000.0: past 1e15 the exponent reads better
        return f"{number:g}" if math.isfinite(number) and abs(number) >= 1e15 else repr(number)
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
    cap: float | None = None
    cap_reason: str = "sanity limit"
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
        if self.integer and isinstance(value, numbers.Integral):
            number: float = int(value)
        else:
            try:
                as_float = float(value)
            except OverflowError:  # beyond a float's range (1.8e308), e.g. 10**400
                return _BAD
            if self.integer:
                if not as_float.is_integer():
                    return _BAD
                number = int(value)
            else:
                number = as_float
                infinite = math.isinf(number) and not (self.allow_inf and number > 0)
                if math.isnan(number) or infinite:
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
COST = _Number(lo=0.0, cap=MAX_COST, cap_reason="larger costs can make total_cost overflow")
DAYS = _Number(lo=0, integer=True, cap=MAX_HORIZON_DAYS)
HORIZON = _Number(lo=1, integer=True, cap=MAX_HORIZON_DAYS)
FRACTION = _Number(lo=0.0, hi=1.0, hi_open=True)
SHARE = _Number(lo=0.0, noun="a share")
TEXT = _String()
FREE_TEXT = _String(noun="a string", allow_empty=True)
NAME = _String()
NODE_NAME = _String(_NODE_NAME, "letters, digits, '_', '.', '-' only")


# ----------------------------------------------------------------------------- messages


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


def unknown(what: str, name: str, known: Iterable[str]) -> str:
    """``unknown node 'x' (did you mean 'y'?)``, or the declared names when none is close."""
    known = list(known)
    guess = _close(name, known)
    hint = f"did you mean '{guess}'?" if guess else f"declared: {_listing(known)}"
    return f"unknown {what} {name!r} ({hint})"


class Errors:
    """The placed error lines found so far, in order, each line once."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.lines: list[str] = list(lines)
        self._seen = set(self.lines)

    def add(self, place: str, message: str) -> None:
        line = f"{place}: {message}" if place else message
        if line not in self._seen:
            self._seen.add(line)
            self.lines.append(line)

    def __bool__(self) -> bool:
        return bool(self.lines)


# ----------------------------------------------------------------------------- field reader


class Reader:
    """Reads fields of parsed YAML against specs, reporting each problem to ``errors``.

    It holds nothing but the error list: what it reads is returned, never kept.
    """

    def __init__(self, errors: Errors) -> None:
        self.errors = errors
        self.error = errors.add

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
        if key not in data:
            if required:
                self.error(_at(place, key), f"required key missing, must be {spec.describe()}")
                return _BAD
            return default
        raw = data[key]
        converted = spec.convert(raw)
        if converted is _BAD:
            self.error(_at(place, key), f"must be {spec.describe()}, got {_show(raw)}")
        elif isinstance(spec, _Number) and spec.cap is not None and converted > spec.cap:
            cap = spec.cap if isinstance(spec.cap, int) else _fmt(spec.cap)
            self.error(
                _at(place, key), f"must be at most {cap} ({spec.cap_reason}), got {_show(raw)}"
            )
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

    def shock_rates(self, data: Mapping[Any, Any], place: str) -> tuple[Any, Any]:
        """(start, end) probabilities of a 2-state shock chain."""
        start = self.rate(data, place, "mean_days_between", "start_probability", PROBABILITY)
        end = self.rate(data, place, "mean_duration_days", "end_probability", END_PROBABILITY)
        return start, end
