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
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from matplotlib.figure import Figure

from resilience.errors import ResultsError
from resilience.report.axes import (
    ThousandsFormatter,
    declutter_ticks,
    money_axis,
    number_axis,
    percent_axis,
    place_labels,
)
from resilience.report.money import (
    axis_scale,
    currency_symbol,
    format_money,
    money_parts,
    row_style,
    value_parts,
    value_style,
)

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
