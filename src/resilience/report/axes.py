"""Axis formatting of the report figures: thousands and percent ticks, money axes scaled to
k / M / bn, tick labels thinned where they would overlap, and point labels placed clear of
one another.

Split from :mod:`resilience.report.common`, which re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from resilience.report.money import (
    _SUFFIX_WORDS,
    axis_scale,
)


class ThousandsFormatter(Formatter):
    """Tick labels ``x / div`` with thousands separators and as few decimals as the tick
    positions need (``3,200``, ``0.25``)."""

    def __init__(self, div: float = 1.0) -> None:
        self.div = div
        self.ticks: Sequence[float] = ()

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        self.ticks = list(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        locs = np.asarray(self.ticks, dtype=np.float64) / self.div
        decimals = 0
        for d in range(7):
            decimals = d
            if np.all(np.abs(np.round(locs, d) - locs) <= 1e-9 * np.maximum(1.0, np.abs(locs))):
                break
        v = x / self.div
        if abs(v) < 0.5 * 10.0**-decimals:
            v = 0.0
        return f"{v:,.{decimals}f}"


class PercentTicks(Formatter):
    """Fractions as percent tick labels: on a linear axis with the fewest decimals the
    tick positions need (``2.5%``, ``100%``); on a log axis each label with its own
    (``100%``, ``1%``, ``0.01%``)."""

    def __init__(self, log: bool = False) -> None:
        self.log = log
        self.ticks: Sequence[float] = ()

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        self.ticks = list(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        v = 100.0 * x
        if self.log:
            if v <= 0:
                return ""
            d = max(0, int(np.ceil(-np.log10(v) - 1e-9)))
            return f"{v:,.{d}f}%"
        locs = 100.0 * np.asarray(self.ticks, dtype=np.float64)
        decimals = 0
        for d in range(7):
            decimals = d
            if np.all(np.abs(np.round(locs, d) - locs) <= 1e-9 * np.maximum(1.0, np.abs(locs))):
                break
        if abs(v) < 0.5 * 10.0**-decimals:
            v = 0.0
        return f"{v:,.{decimals}f}%"


def percent_axis(axis: Axis, *, log: bool = False) -> None:
    """Percent tick labels on an axis of fractions (call after setting its scale)."""
    axis.set_major_formatter(PercentTicks(log=log))
    if log:
        axis.set_minor_formatter(NullFormatter())


def money_axis(axis: Axis, values: np.ndarray, symbol: str) -> str:
    """Format a linear money axis in k / M / bn with thousands separators; returns the
    unit text for its label (``$M``, ``millions of currency``)."""
    div, suffix = axis_scale(values)
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(ThousandsFormatter(div))
    if symbol == "$":
        return f"${suffix}"
    return f"{_SUFFIX_WORDS[suffix]} of {symbol}" if suffix else symbol


def number_axis(axis: Axis) -> None:
    """Thousands separators on a linear, non-money axis (``350,000``)."""
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(ThousandsFormatter(1.0))


def _overlap(boxes: list, horizontal: bool) -> bool:
    if horizontal:
        boxes = sorted(boxes, key=lambda b: b.x0)
        return any(a.x1 + 2 > b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    boxes = sorted(boxes, key=lambda b: b.y0)
    return any(a.y1 > b.y0 for a, b in zip(boxes, boxes[1:], strict=False))


def declutter_ticks(fig: Figure) -> None:
    """Rotate the x tick labels of any axes whose labels overlap, and thin them if they
    still do; thin overlapping y tick labels (constrained layout makes room)."""
    if fig.canvas is None:
        return
    fig.canvas.draw()  # runs the constrained layout and places the tick labels
    renderer = fig.canvas.get_renderer()

    def boxes(labels):
        return [t.get_window_extent(renderer) for t in labels if t.get_visible() and t.get_text()]

    changed = False
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if _overlap(boxes(ax.get_xticklabels()), True):
            for t in ax.get_xticklabels():
                t.set_rotation(30)
                t.set_horizontalalignment("right")
                t.set_rotation_mode("anchor")
            changed = True
        if _overlap(boxes(ax.get_yticklabels()), False) and ax.get_yscale() == "linear":
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            changed = True
    if changed:
        fig.canvas.draw()
        for ax in fig.axes:
            if (
                ax.get_visible()
                and ax.get_xscale() == "linear"
                and _overlap(boxes(ax.get_xticklabels()), True)
            ):
                ax.xaxis.set_major_locator(MaxNLocator(nbins=4))


_OFFSETS = (
    (7, 5, "left", "bottom"),
    (7, -5, "left", "top"),
    (-7, 5, "right", "bottom"),
    (-7, -5, "right", "top"),
    (0, 10, "center", "bottom"),
    (0, -10, "center", "top"),
    (14, 16, "left", "bottom"),
    (14, -16, "left", "top"),
    (-14, 16, "right", "bottom"),
    (-14, -16, "right", "top"),
    (0, 24, "center", "bottom"),
    (0, -24, "center", "top"),
)


def place_labels(
    ax,
    points: np.ndarray,
    texts: Sequence[str],
    *,
    colours: Sequence[str] | None = None,
    fontsize: str | float = "small",
    drop_overlapping: bool = False,
) -> list:
    """Annotate ``points`` (data coordinates, one row per text) so no two labels overlap
    each other, a marker or the axes' edge: each label takes the first of a few offsets
    around its point that is free. With ``drop_overlapping`` a label that has no free
    place is left out; otherwise it goes where it overlaps least."""
    fig = ax.figure
    fig.canvas.draw()  # the constrained layout fixes the axes before labels are placed
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    frame = ax.get_window_extent(renderer)
    taken = [Bbox.from_bounds(px - 9, py - 9, 18, 18) for px, py in pts if np.isfinite(px)]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))

    def cost(box: Bbox) -> float:
        inside = Bbox.intersection(box, frame)
        area = box.width * box.height
        out = area - (inside.width * inside.height if inside is not None else 0.0)
        hit = 0.0
        for other in taken:
            both = Bbox.intersection(box, other)
            if both is not None:
                hit += both.width * both.height
        return hit + 2.0 * out

    placed = []
    for k, ((px, py), text) in enumerate(zip(pts, texts, strict=True)):
        if not text or not (np.isfinite(px) and np.isfinite(py)):
            continue
        xy = ax.transData.inverted().transform((px, py))
        best = None
        for dx, dy, ha, va in _OFFSETS:
            ann = ax.annotate(
                text,
                xy,
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                color=None if colours is None else colours[k],
                zorder=5,
            )
            ann.set_in_layout(False)
            box = ann.get_window_extent(renderer)
            c = cost(box)
            if best is None or c < best[0]:
                if best is not None:
                    best[1].remove()
                best = (c, ann, box)
            else:
                ann.remove()
            if c == 0:
                break
        assert best is not None
        if best[0] > 0 and drop_overlapping:
            best[1].remove()
            continue
        taken.append(best[2])
        placed.append(best[1])
    return placed
