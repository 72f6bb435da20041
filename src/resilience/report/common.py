"""What both report writers share: the CSS, HTML escaping and tables, PNG encoding and
embedding, money and thousands formatting (text and axes), tick-label decluttering, and
the staged folder that puts a report in place only once it is complete.

Private to :mod:`resilience.report`; nothing here imports the engine.
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

from resilience.errors import ResultsError

__all__ = [
    "CSS",
    "StagedFolder",
    "ThousandsFormatter",
    "axis_scale",
    "currency_symbol",
    "data_uri",
    "declutter_ticks",
    "esc",
    "figure_html",
    "format_money",
    "money_axis",
    "money_parts",
    "number_axis",
    "page",
    "percent_axis",
    "place_labels",
    "png",
    "progress_bar",
    "table_html",
    "row_style",
    "value_parts",
    "value_style",
]

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
p.memo { font-size: 1.05em; max-width: 60em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
tr.group th { background: #e6ecf2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.dim { color: #888; }
.ci { color: #666; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


# ----------------------------------------------------------------------------- HTML


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes, tick labels decluttered first."""
    declutter_ticks(fig)
    buf = io.BytesIO()
    # no Software tag: the file should not name a web address, even inside a PNG chunk
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def data_uri(image: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def figure_html(anchor: str, number: int, title: str, caption: str, image: bytes) -> str:
    """One embedded figure with a numbered caption."""
    text = f"<b>Figure {number}. {esc(title)}.</b>"
    if caption:
        text += f" {esc(caption)}"
    return (
        f'<figure id="{esc(anchor)}"><img alt="{esc(title)}" src="{data_uri(image)}">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def num_cell(text: str, ci: str | None = None, *, dim: bool = False) -> str:
    """A right-aligned table cell (escaped), an interval in a smaller grey span."""
    body = esc(text) if ci is None else f'{esc(text)} <span class="ci">{esc(ci)}</span>'
    return f'<td class="num{" dim" if dim else ""}">{body}</td>'


def table_html(header: Sequence[str], rows: Sequence[str]) -> str:
    """A table from escaped-on-the-way header texts and ready ``<tr>`` rows."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, body: Sequence[str]) -> str:
    """A complete, self-contained HTML page: inline CSS, no scripts, fonts or links."""
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f"<title>{esc(title)}</title>",
                f"<style>{CSS}</style></head><body>",
                *body,
                "</body></html>",
            ]
        )
        + "\n"
    )


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


# ----------------------------------------------------------------------------- progress


def progress_bar(total: int, desc: str, progress: bool | None):
    """A tqdm bar over ``total`` steps on stderr: shown only on a terminal (``progress``
    None) or when asked (True), and only once the work has taken more than 2 s."""
    from tqdm.auto import tqdm  # only the writers that report progress need it

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(
        total=total,
        desc=desc,
        unit="step",
        disable=not show,
        delay=2.0,
        leave=False,
        file=sys.stderr,
    )


# ----------------------------------------------------------------------------- folder


def looks_like_report(folder: Path, report_file: str) -> bool:
    """An empty folder, or one holding ``report_file`` and nothing but PNG / HTML files
    (a report written before): the only folders a writer may replace."""
    entries = list(folder.iterdir())
    if not entries:
        return True
    names = {p.name for p in entries}
    return report_file in names and all(
        p.is_file() and p.suffix.lower() in (".png", ".html") for p in entries
    )


class StagedFolder:
    """Write a report into a hidden sibling folder and rename it into place on success.

    On any failure (an exception in the ``with`` block, Ctrl-C) the staging folder is
    removed and whatever was at ``out`` before is left untouched, so there is never a
    half-written report. An existing ``out`` is replaced only when it looks like a report
    (:func:`looks_like_report`); anything else raises :class:`ResultsError` at once,
    before any work is done.
    """

    def __init__(self, out: str | Path, report_file: str) -> None:
        self.out = Path(out)
        self.report_file = report_file
        if self.out.exists():
            if not self.out.is_dir():
                raise ResultsError(f"{self.out} exists and is not a folder")
            if not looks_like_report(self.out, report_file):
                raise ResultsError(
                    f"{self.out} exists and does not look like a report folder (it holds "
                    f"files other than {report_file} and its PNGs); choose another --out"
                )
        self.tmp: Path | None = None

    def __enter__(self) -> StagedFolder:
        parent = self.out.absolute().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = parent / f".{self.out.name}.partial-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir()
        return self

    def write(self, name: str, data: bytes | str) -> Path:
        assert self.tmp is not None, "use StagedFolder in a with block"
        path = self.tmp / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return self.out / name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        try:
            if self.out.exists():
                old = self.tmp.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:8]}"
                self.out.rename(old)
            self.tmp.rename(self.out)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if old is not None and not self.out.exists():
                old.rename(self.out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
