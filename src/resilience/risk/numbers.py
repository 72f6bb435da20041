"""Number formats of the text tables: one per quantity (shares in percent, money with the
result's currency and k / M / bn, days as integers), the compact forms the HTML report
and older callers use, and clipping an interval to what a quantity can be.

Split from :mod:`resilience.risk.format`, which re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from resilience.risk.base import IntervalStyle

# ----------------------------------------------------------------------------- old helpers
# (the HTML report and tests/test_risk.py use these compact forms; the tables below use
# the quantity formats)


def _scale(ax: float) -> tuple[float, str]:
    for bound, div, suffix in ((1e10, 1e9, "B"), (1e7, 1e6, "M"), (1e4, 1e3, "k")):
        if ax >= bound:
            return div, suffix
    return 1.0, ""


def format_number(x: float, units: str = "", scale: tuple[float, str] | None = None) -> str:
    """Compact number: percentages for unitless figures, k/M/B suffixes for big ones."""
    if x is None or not np.isfinite(x):
        return "n/a"
    x = float(x) + 0.0  # + 0.0 turns -0.0 into 0.0
    if units == "1":
        return f"{100.0 * x:.2f}%"
    div, suffix = _scale(abs(x)) if scale is None else scale
    if suffix and x != 0.0:
        return f"{x / div:.4g}{suffix}"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def format_cell_parts(est: float, lo: float, hi: float, units: str) -> tuple[str, str | None]:
    """Estimate text and "[lower, upper]" text (None without bounds), in one number scale.

    The scale (k/M/B) follows the estimate, so "9736 [9282, 10190]" never mixes "9736"
    with "10.19k"; an estimate of 0 borrows the scale of its bounds.
    """
    finite = [abs(v) for v in (est, lo, hi) if np.isfinite(v)]
    ref = abs(est) if np.isfinite(est) and est != 0 else max(finite, default=0.0)
    scale = _scale(ref)
    text = format_number(est, units, scale)
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return text, None
    return text, f"[{format_number(lo, units, scale)}, {format_number(hi, units, scale)}]"


def _cell(est: float, lo: float, hi: float, units: str, style: IntervalStyle) -> str:
    text, ci = format_cell_parts(est, lo, hi, units)
    return f"{text} {ci}" if style == "interval" and ci is not None else text


# ----------------------------------------------------------------------------- quantities


def currency_symbol(currency: str | None) -> str:
    """The prefix money cells carry: ``"$"`` for USD, none for other or unknown currencies
    (their code, or the word "currency", goes in the header instead)."""
    return "$" if str(currency or "").strip().upper() in ("USD", "$") else ""


def money_label(currency: str | None) -> str:
    """How a header names the money unit: ``$``, the currency code, or ``currency``."""
    code = str(currency or "").strip()
    if currency_symbol(code):
        return "$"
    return code if code and code != "currency" else "currency"


def quantity_kind(units: str) -> str:
    """``share`` (units "1"), ``money``, ``units``, ``days`` or ``number``."""
    if units == "1":
        return "share"
    if units == "currency":
        return "money"
    if units in ("days", "day"):
        return "days"
    if units == "units":
        return "units"
    return "number"


def unit_label(units: str, currency: str | None = None) -> str:
    """The bracketed unit of a metric's header: ``%``, ``$``/currency, ``units``, ``days``."""
    kind = quantity_kind(units)
    if kind == "share":
        return "%"
    if kind == "money":
        return money_label(currency)
    return units


@dataclass(frozen=True)
class NumberFormat:
    """One quantity's number format for a row of cells (see :func:`number_format`)."""

    kind: str
    div: float = 1.0
    suffix: str = ""
    decimals: int = 0
    symbol: str = ""
    signed: bool = False

    def __call__(self, x: float | None) -> str:
        if x is None or not math.isfinite(x):
            return "n/a"
        x = float(x)
        if self.kind == "share":
            v = 100.0 * x
            if round(v, 2) == 0:
                return "0.00 pp" if self.signed else "0.00%"
            return f"{v:+.2f} pp" if self.signed else f"{v:.2f}%"
        v = x / self.div
        text = f"{abs(v):,.{self.decimals}f}"
        if float(text.replace(",", "")) == 0:
            return "0"
        sign = "-" if v < 0 else ("+" if self.signed else "")
        return f"{sign}{self.symbol}{text}{self.suffix}"


def number_format(
    kind: str, values: Iterable[float], *, symbol: str = "", signed: bool = False
) -> NumberFormat:
    """The format of a row of ``kind`` (see :func:`quantity_kind`), from the row's largest
    finite magnitude: from 10,000 on k / M / bn with 4 significant digits (``12.29k``,
    ``3.185bn``); below, thousands separators and no decimals from 100 (``9,736``), else
    2 decimals (1 for units from 10). Days print as integers, shares as percent with 2
    decimals (signed percentage points when ``signed``). Never e-notation."""
    if kind == "share":
        return NumberFormat("share", signed=signed)
    symbol = symbol if kind == "money" else ""
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    if kind == "days":
        return NumberFormat("days", signed=signed)
    # (from, divisor, suffix): k from 10,000 (9,736 reads better than 9.736k)
    for start, div, suffix in ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if round(top / start, 3) >= 1.0:  # 999,999.7 prints as 1.000M, not 1,000k
            digits = int(math.floor(math.log10(round(top / div, 3)))) + 1
            return NumberFormat(kind, div, suffix, max(0, 4 - digits), symbol, signed)
    if kind == "money":
        decimals = 0 if top >= 100 else 2
    else:
        decimals = 0 if top >= 100 else 1 if top >= 10 else 2
    return NumberFormat(kind, 1.0, "", decimals, symbol, signed)


def clip_to_support(kind: str, lo: float, hi: float) -> tuple[float, float, bool]:
    """Bounds inside the support of a level (not a difference): shares in [0, 1],
    money, units and days at or above 0. Returns (lower, upper, clipped)."""
    new_lo, new_hi = lo, hi
    if kind in ("share", "money", "units", "days"):
        if math.isfinite(lo) and lo < 0:
            new_lo = 0.0
        if math.isfinite(hi) and hi < 0:
            new_hi = 0.0
    if kind == "share":
        if math.isfinite(lo) and lo > 1:
            new_lo = 1.0
        if math.isfinite(hi) and hi > 1:
            new_hi = 1.0
    return new_lo, new_hi, bool(new_lo is not lo or new_hi is not hi)


def _number(x: Any) -> float | int | None:
    """A plain JSON/CSV number: NaN -> None, integral counts -> int."""
    if x is None:
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    v = float(x)
    return v if math.isfinite(v) else None
