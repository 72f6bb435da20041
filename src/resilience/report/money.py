"""Money and thousands formatting shared by the memo's tables and the figures' axes: the
currency symbol, k / M / bn scales, and one number style per row so a row's cells compare
at a glance.

Split from :mod:`resilience.report.common`, which re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# ----------------------------------------------------------------------------- numbers

_SUFFIX_WORDS = {"k": "thousands", "M": "millions", "bn": "billions", "": ""}


def currency_symbol(attrs: Mapping) -> str:
    """``"$"`` for a ``currency: USD`` attribute, another code as written, else the word
    ``"currency"`` (the scenario does not say which)."""
    code = str(attrs.get("currency", "") or "").strip()
    if code.upper() == "USD":
        return "$"
    return code or "currency"


def _text_scale(magnitude: float) -> tuple[float, str]:
    for div, suffix in ((1e9, "bn"), (1e6, "M"), (1e4, "k")):
        if magnitude >= div:
            return div, suffix
    return 1.0, ""


def _digits(v: float) -> int:
    a = abs(v)
    return 0 if a >= 100 or a == 0 else 1 if a >= 10 else 2


def format_money(
    x: float,
    symbol: str,
    *,
    signed: bool = False,
    scale: tuple[float, str] | None = None,
    digits: int | None = None,
) -> str:
    """``$3.18bn``, ``+$91.2M``, ``$2,869``; without a symbol ``91.2M currency``."""
    if x is None or not np.isfinite(x):
        return "n/a"
    x = float(x) + 0.0
    div, suffix = _text_scale(abs(x)) if scale is None else scale
    v = abs(x) / div
    d = _digits(v) if digits is None else digits
    sign = ("+" if x > 0 else "-" if x < 0 else "") if signed else ("-" if x < 0 else "")
    if round(v, d) == 0:
        sign = ""
    number = f"{v:,.{d}f}{suffix}"
    if symbol == "$":
        return f"{sign}${number}"
    return f"{sign}{number} {symbol}" if symbol else f"{sign}{number}"


def money_parts(
    est: float, lo: float, hi: float, symbol: str, *, signed: bool = False
) -> tuple[str, str | None]:
    """Estimate text and ``[lower, upper]`` text in the estimate's scale (None without
    finite bounds)."""
    if est is None or not np.isfinite(est):
        return "n/a", None
    scale = _text_scale(max(abs(est), abs(lo) if np.isfinite(lo) else 0.0))
    d = _digits(abs(est) / scale[0]) if est != 0 else 1
    text = format_money(est, symbol, signed=signed, scale=scale, digits=d)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return text, None
    bounds = (format_money(v, symbol, signed=signed, scale=scale, digits=d) for v in (lo, hi))
    return text, "[{}, {}]".format(*bounds)


def _width_decimals(width: float, cap: int) -> int | None:
    """Decimals that resolve an interval of ``width`` (in display units): about one
    digit beyond its first significant one; None without a usable width."""
    if not np.isfinite(width) or width <= 0:
        return None
    return int(min(max(np.ceil(-np.log10(width)) + 1, 0), cap))


_MONEY_SCALES = ((1e9, "bn"), (1e6, "M"), (1e3, "k"), (1.0, ""))

#: how a number is shown: (scale index into the money scales, or -1; decimals)
Style = tuple[int, int]


def value_style(est: float, lo: float, hi: float, kind: str) -> Style:
    """The scale and decimals :func:`value_parts` uses for one estimate and interval."""
    bounded = bool(np.isfinite(lo) and np.isfinite(hi))
    width = float(hi) - float(lo) if bounded else np.nan
    est = float(est) if np.isfinite(est) else 0.0
    if kind == "money":
        k = next(i for i, (div, _) in enumerate(_MONEY_SCALES) if abs(est) >= div or div == 1.0)
        if abs(est) < 1e4 and k == 2:
            k = 3  # $2,871 rather than $2.87k
        while bounded and k < 3 and width / _MONEY_SCALES[k][0] < 0.1:
            k += 1
        v = abs(est) / _MONEY_SCALES[k][0]
        d = _width_decimals(width / _MONEY_SCALES[k][0], 2)
        return k, _digits(v) if d is None else max(d, _digits(v))
    factor = 100.0 if kind in ("percent", "points") else 1.0
    d = _width_decimals(width * factor, 2 if factor == 100.0 else 3)
    if kind == "count" and d is not None:
        d = max(d - 1, 0)  # counts: whole numbers unless the interval is narrower
    return -1, _digits(abs(est) * factor) if d is None else d


def row_style(cells: Sequence[tuple[float, float, float]], kind: str) -> Style:
    """One style for a row of cells, so its numbers line up: the finest scale any cell
    needs and the most decimals at that scale."""
    styles = [value_style(*c, kind) for c in cells if np.isfinite(c[0])]
    if not styles:
        return (3 if kind == "money" else -1), 0
    k = max(st[0] for st in styles)
    if kind != "money":
        return k, max(st[1] for st in styles)
    decimals = []
    for est, lo, hi in (c for c in cells if np.isfinite(c[0])):
        div = _MONEY_SCALES[k][0]
        width = (hi - lo) / div if np.isfinite(lo) and np.isfinite(hi) else np.nan
        d = _width_decimals(width, 2)
        v = abs(est) / div
        decimals.append(_digits(v) if d is None else max(d, _digits(v)))
    return k, min(max(decimals), 2)


def value_parts(
    est: float,
    lo: float,
    hi: float,
    kind: str,
    symbol: str = "currency",
    *,
    signed: bool = False,
    style: Style | None = None,
) -> tuple[str, str | None]:
    """An estimate and its ``[lower, upper]`` text, both in one scale and with as many
    decimals as the interval needs (or ``style``, e.g. a :func:`row_style`). ``kind``:
    ``"money"`` ($M etc., the scale stepped down until the interval is resolved:
    ``$3,184.5M [$3,183.6M, $3,185.4M]``), ``"percent"`` (a fraction: ``97.89% [97.85%,
    97.93%]``), ``"points"`` (a fraction shown in percentage points) or ``"count"``
    (thousands separators: ``107,258``)."""
    if est is None or not np.isfinite(est):
        return "n/a", None
    est, lo, hi = float(est), float(lo), float(hi)
    bounded = bool(np.isfinite(lo) and np.isfinite(hi))
    k, d = value_style(est, lo, hi, kind) if style is None else style
    if kind == "money":
        scale = _MONEY_SCALES[k]

        def text(v: float) -> str:
            return format_money(v, symbol, signed=signed, scale=scale, digits=d)

    else:
        factor = 100.0 if kind in ("percent", "points") else 1.0
        suffix = "%" if kind == "percent" else ""

        def text(v: float) -> str:
            v = v * factor + 0.0
            sign = "+" if signed and v > 0 and round(v, d) != 0 else ""
            return f"{sign}{v:,.{d}f}{suffix}"

    return text(est), (f"[{text(lo)}, {text(hi)}]" if bounded else None)


def axis_scale(values: np.ndarray) -> tuple[float, str]:
    """Scale of a money axis: the largest of k / M / bn that keeps ticks at 10 or more
    (so $M for a few billion: ticks read 3,000 / 3,200 with thousands separators)."""
    a = np.abs(np.asarray(values, dtype=np.float64))
    a = a[np.isfinite(a)]
    top = float(a.max()) if a.size else 0.0
    for bound, div, suffix in ((1e10, 1e9, "bn"), (1e7, 1e6, "M"), (1e4, 1e3, "k")):
        if top >= bound:
            return div, suffix
    return 1.0, ""
