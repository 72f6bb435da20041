"""Parameter paths into a scenario document, and the ``shock_scale`` pseudo-parameter.

A path names a place in the scenario's YAML document the way ``resilience validate`` names
places (``strategies.jic.buffer_days``, ``regions.east_asia.shocks[0].mean_duration_days``,
``nodes['odd.name'].capacity_per_day``); ``shock_scale`` (no path) multiplies the per-day
start probability of every supply disruption. :mod:`resilience.sweeps.spec` builds its axes
from these and re-exports the public names.
"""

from __future__ import annotations

import copy
import difflib
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resilience.errors import SweepError

__all__ = [
    "IDENTIFIER",
    "RATE_PAIRS",
    "SHOCK_SCALE",
    "Param",
    "apply_shock_scale",
    "format_path",
    "parse_path",
]

SHOCK_SCALE = "shock_scale"
#: Setting one key of a pair removes the other (both given is a scenario error).
RATE_PAIRS = {
    "mean_days_between": "start_probability",
    "mean_duration_days": "end_probability",
    "mean_days_between_failures": "failure_probability",
    "mean_outage_days": "recovery_probability",
}
RATE_PAIRS.update({v: k for k, v in list(RATE_PAIRS.items())})

#: What an axis name (and a generated short name) must match.
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_PLAIN_KEY = re.compile(r"[\w\-]+")
_SIMPLE_KEY = re.compile(r"^[\w\-]+$")


# ----------------------------------------------------------------------------- paths


def parse_path(text: str) -> tuple[str | int, ...]:
    """``a.b[0]['odd.key']`` -> ``('a', 'b', 0, 'odd.key')``; ``shock_scale`` -> ``()``.

    Raises ``SweepError`` on a malformed path.
    """
    text = text.strip()
    if text == SHOCK_SCALE:
        return ()
    keys: list[str | int] = []
    i = 0
    n = len(text)
    expect_key = True  # at the start or after '.'
    while i < n:
        ch = text[i]
        if ch == "[" and expect_key:
            raise SweepError(f"bad path {text!r}: a key must come before [ at column {i + 1}")
        if ch == "[":
            close = text.find("]", i)
            inner = text[i + 1 : close] if close > 0 else ""
            if close < 0 or not inner:
                raise SweepError(f"bad path {text!r}: unclosed or empty [...] at column {i + 1}")
            if inner.isdigit():
                keys.append(int(inner))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                keys.append(inner[1:-1])
            else:
                raise SweepError(
                    f"bad path {text!r}: [{inner}] must be a list index >= 0 or a quoted key"
                )
            i = close + 1
            expect_key = False
        elif ch == "." and not expect_key:
            i += 1
            expect_key = True
        else:
            m = _PLAIN_KEY.match(text, i)
            if m is None or not expect_key:
                raise SweepError(f"bad path {text!r}: unexpected {ch!r} at column {i + 1}")
            keys.append(m.group())
            i = m.end()
            expect_key = False
    if not keys or expect_key:
        raise SweepError(
            f"bad path {text!r}: must be keys joined by '.', e.g. nodes.fab.capacity_per_day"
        )
    return tuple(keys)


def format_path(keys: Sequence[str | int]) -> str:
    """Inverse of :func:`parse_path`, in the form scenario errors use for places."""
    if not keys:
        return SHOCK_SCALE
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _SIMPLE_KEY.match(key):
            out += f".{key}" if out else key
        else:
            out += f"[{key!r}]"
    return out


@dataclass(frozen=True)
class Param:
    """One scenario parameter: a path into the document, or ``shock_scale`` (keys ())."""

    keys: tuple[str | int, ...]

    @property
    def path(self) -> str:
        return format_path(self.keys)

    @property
    def is_shock_scale(self) -> bool:
        return not self.keys

    def short_names(self) -> list[str]:
        """Candidate axis names, shortest first: last key, then with its parents."""
        if self.is_shock_scale:
            return [SHOCK_SCALE]
        words = [re.sub(r"\W+", "_", str(k)).strip("_") for k in self.keys]
        words = [w for w in words if w]
        names = []
        for n in range(1, len(words) + 1):
            name = "_".join(words[-n:])
            if not IDENTIFIER.match(name):
                name = "p_" + name
            names.append(name)
        return names

    def check(self, doc: Any) -> str | None:
        """Why this path cannot be set in ``doc`` (None when it can)."""
        node = doc
        for depth, key in enumerate(self.keys):
            last = depth == len(self.keys) - 1
            here = format_path(self.keys[:depth]) or "the scenario"
            if isinstance(key, int):
                if not isinstance(node, list):
                    return f"{here} is {_kind(node)}, not a list: cannot take [{key}]"
                if key >= len(node):
                    return f"{here} has {len(node)} item(s): no index [{key}]"
                node = node[key]
            else:
                if not isinstance(node, Mapping):
                    if isinstance(node, list):
                        return f"{here} is a list: use an index, e.g. {format_path((*self.keys[:depth], 0))}"
                    return f"{here} is {_kind(node)}: it has no key {key!r}"
                if key not in node:
                    if last:
                        return None  # a new key; the scenario schema says whether it is allowed
                    guess = difflib.get_close_matches(key, [str(k) for k in node], n=1)
                    hint = f"did you mean {guess[0]!r}?" if guess else "keys: " + _listing(node)
                    return f"{here} has no key {key!r} ({hint})"
                node = node[key]
        return None

    def set(self, doc: Any, value: Any) -> None:
        """Set the value in ``doc`` (checked with :meth:`check` first)."""
        node = doc
        for key in self.keys[:-1]:
            node = node[key]
        key = self.keys[-1]
        if isinstance(node, dict) and isinstance(key, str) and key in RATE_PAIRS:
            node.pop(RATE_PAIRS[key], None)
        node[key] = copy.deepcopy(value)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    return f"a {type(value).__name__} ({value!r})"


def _listing(names: Iterable[Any], limit: int = 8) -> str:
    names = [str(n) for n in names]
    if not names:
        return "(none)"
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ----------------------------------------------------------------------------- shock scale


def _scale_rate(body: Any, mean_key: str, prob_key: str, scale: float, place: str) -> str | None:
    """Multiply the start probability of one disruption chain; an error message or None."""
    if not isinstance(body, dict):
        return None  # malformed: the schema reports it
    if mean_key in body and prob_key not in body:
        mean = body[mean_key]
        if isinstance(mean, bool) or not isinstance(mean, numbers.Real) or mean < 1:
            return None  # invalid as written: the schema reports it
        p = 1.0 / float(mean)
        del body[mean_key]
    elif prob_key in body and mean_key not in body:
        p = body[prob_key]
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            return None
        p = float(p)
    else:
        return None  # neither (or both): the schema reports it
    scaled = scale * p
    if scaled > 1.0:
        return (
            f"{place}: scaled start probability {scale:g} x {p:.6g} = {scaled:.6g} per day "
            f"is above 1"
        )
    body[prob_key] = scaled
    return None


def apply_shock_scale(doc: dict, scale: float) -> list[str]:
    """Scale the start probability of every regional shock, lane shock and node outage."""
    errors: list[str] = []

    def scale_one(body, mean_key, prob_key, place):
        msg = _scale_rate(body, mean_key, prob_key, scale, place)
        if msg:
            errors.append(msg)

    regions = doc.get("regions")
    if isinstance(regions, dict):
        for name, region in regions.items():
            shocks = region.get("shocks") if isinstance(region, dict) else None
            for i, shock in enumerate(shocks if isinstance(shocks, list) else []):
                place = format_path(("regions", str(name), "shocks", i))
                scale_one(shock, "mean_days_between", "start_probability", place)
    lane_shocks = doc.get("lane_shocks")
    if isinstance(lane_shocks, dict):
        for name, shock in lane_shocks.items():
            scale_one(
                shock,
                "mean_days_between",
                "start_probability",
                format_path(("lane_shocks", str(name))),
            )
    nodes = doc.get("nodes")
    if isinstance(nodes, dict):
        for name, node in nodes.items():
            outage = node.get("outage") if isinstance(node, dict) else None
            if outage is not None:
                scale_one(
                    outage,
                    "mean_days_between_failures",
                    "failure_probability",
                    format_path(("nodes", str(name), "outage")),
                )
    return errors
