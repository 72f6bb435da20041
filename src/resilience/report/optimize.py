"""A self-contained HTML page of an optimisation result (``resilience optimize``).

Works from the evaluation dataset alone (docs/optimize.md, "Output"), so the page can be
written by ``resilience optimize ... --report FILE.html`` as the search ends, or later by
``resilience report OPT.zarr`` from the stored result. The page reads top-down:

1. the recommendation in words (or why there is none), its fresh-path figures with
   their intervals and how it compares with the scenario's own strategies;
2. the strategy block to paste under ``strategies:``;
3. the cost-risk frontier of the search: every evaluation (objective against the first
   constraint's statistic on the search paths), feasible and infeasible marked, the
   Pareto frontier drawn, the constraint's bound, and the verified candidates and the
   benchmark strategies at their fresh-path figures with intervals on both axes;
4. the convergence of the search: the best feasible objective so far against the
   evaluation number;
5. the verification table, the best candidates of the search, and provenance.

Every figure is drawn and the whole page assembled in memory before anything is
written, and the page is then written to a temporary sibling and renamed into place, so
a failure leaves no file behind. Never imports the engine.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.report.common import (
    StagedFolder,
    esc,
    figure_html,
    num_cell,
    page,
    png,
    table_html,
    value_parts,
)
from resilience.report.optimize_figures import (
    _cell_symbol,
    _kind,
    _ok,
    _Problem,
    _problem,
    _recommended,
    _text,
    _verified,
    is_optimization,
    plot_convergence,
    plot_optimization_frontier,
)

__all__ = [
    "REPORT_FILE",
    "check_report_target",
    "is_optimization",
    "optimize_page",
    "plot_convergence",
    "plot_optimization_frontier",
    "write_optimize_page",
    "write_optimize_report",
]

#: the page's name in a report folder (``resilience report OPT.zarr --out DIR``)
REPORT_FILE = "optimize_report.html"


# ----------------------------------------------------------------------------- page


def _value_text(ds: xr.Dataset, name: str, i: int) -> str:
    da = ds[name]
    x = da.values[i]
    kind = str(da.attrs.get("variable_type", ""))
    if kind == "shares":
        return f"{100 * float(x):.4g}%"
    if kind == "binary":
        return "yes" if int(x) else "no"
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}"
    return str(x)


def _index(ds: xr.Dataset, number: int) -> int:
    return int(np.flatnonzero(np.asarray(ds["evaluation"].values) == number)[0])


_STATUS = {
    "met": "met",
    "within noise": "met only within noise",
    "violated": "NOT met",
    "unknown": "unknown",
}


def _recommendation_html(ds: xr.Dataset, prob: _Problem, verified: list[dict]) -> list[str]:
    rec = _recommended(ds)
    sym = prob.symbol
    if rec is None:
        return [
            '<p class="memo"><b>No recommendation.</b> No verified candidate meets every '
            "constraint on the fresh paths. Loosen the constraints, widen the variables' "
            "ranges or raise the budget.</p>"
        ]
    i = _index(ds, rec)
    values = ", ".join(f"{v} = {_value_text(ds, v, i)}" for v in prob.variables)
    mine = next(v for v in verified if v["evaluation"] == rec)
    ob = mine["objective"]
    parts = [
        f"<b>Recommended: evaluation {rec}</b> ({esc(values)}). On "
        f"{int(ds.attrs.get('fresh_paths', 0)):,} fresh paths, independent of the search, "
        f"its {esc(prob.objective)} is {esc(_text(*ob, prob.objective_units, sym))}."
    ]
    items = []
    for c, iv, s in zip(prob.constraints, mine["constraints"], mine["status"], strict=False):
        items.append(
            f"<li>{esc(c.text)}: {esc(_text(*iv, c.statistic.units, sym))} at "
            f"{100 * c.confidence:g}% confidence: <b>{esc(_STATUS.get(s, s))}</b></li>"
        )
    body = [f'<p class="memo">{" ".join(parts)}</p>']
    if items:
        body.append(f"<ul>{''.join(items)}</ul>")
    if any(s != "met" for s in mine["status"]):
        body.append(
            '<p class="memo">A constraint met only within noise may be missed in truth: '
            "its interval straddles the bound. Verify with more fresh paths "
            "(verify.paths) before relying on it.</p>"
        )
    bench = [v for v in verified if v["evaluation"] is None]
    if bench:
        rows = []
        for b in bench:
            d = b["difference"]
            if d is None:
                diff, verdict = "n/a", ""
            else:
                diff = _text(*d, prob.objective_units, sym, signed=True)
                verdict = "cheaper" if d[2] < 0 else "dearer" if d[1] > 0 else "no clear difference"
            meets = _meets(prob, b)
            rows.append(
                f"<tr><td>{esc(b['name'])}</td>"
                f"{num_cell(_text(*b['objective'], prob.objective_units, sym))}"
                f"{num_cell(diff)}<td>{esc(verdict)}</td><td>{esc(meets)}</td></tr>"
            )
        body.append(
            f'<p class="note">Against the scenario\'s strategies on the same fresh paths: '
            f"the paired difference of {esc(prob.objective)}, recommended minus benchmark, "
            "with its 95% interval (negative: the recommendation is cheaper).</p>"
        )
        body.append(f'<p class="memo">{esc(_verdict_text(prob, bench))}</p>')
        body.append(
            table_html(
                [
                    "benchmark",
                    f"{prob.objective} (fresh)",
                    "recommended minus benchmark",
                    "verdict",
                    "benchmark vs constraints",
                ],
                rows,
            )
        )
    return body


def _verdict_text(prob: _Problem, bench: list[dict]) -> str:
    """Whether the recommendation beats the cheapest benchmark that meets the constraints."""
    meeting = [b for b in bench if _meets(prob, b) != "misses a constraint"]
    if not meeting:
        return (
            "None of the scenario's strategies meets the constraints on the fresh paths; "
            "the recommendation does."
        )
    cheapest = min(meeting, key=lambda b: b["objective"][0])
    d = cheapest["difference"]
    if d is None:
        return f"Of the scenario's strategies that meet the constraints, {cheapest['name']} is the cheapest."
    saving = _text(-d[0], -d[2], -d[1], prob.objective_units, prob.symbol)
    if d[2] < 0:
        how = f"the recommendation beats it on {prob.objective} by {saving} (paired saving)"
    elif d[1] > 0:
        how = f"the recommendation costs more than it ({saving} saving, paired)"
    elif d[0] == d[1] == d[2] == 0:
        how = "the recommendation does exactly the same on every fresh path"
    else:
        how = f"the recommendation is not distinguishable from it ({saving} saving, paired)"
    return (
        f"Of the scenario's strategies that meet the constraints, the cheapest is "
        f"{cheapest['name']}; {how}."
    )


def _meets(prob: _Problem, v: dict) -> str:
    if not prob.constraints:
        return ""
    if not all(c.met(iv[0]) for c, iv in zip(prob.constraints, v["constraints"], strict=False)):
        return "misses a constraint"
    if any(s != "met" for s in v["status"]):
        return "meets the constraints (within noise)"
    return "meets the constraints"


def _verification_html(ds: xr.Dataset, prob: _Problem, verified: list[dict]) -> str:
    rec = _recommended(ds)
    header = ["strategy", f"{prob.objective} (95% CI)"] + [
        f"{c.text} ({100 * c.confidence:g}% CI)" for c in prob.constraints
    ]
    rows = []
    for v in verified:
        if v["evaluation"] is None:
            label = f"{v['name']} (benchmark)"
        else:
            label = f"evaluation {v['evaluation']}" + (
                " (recommended)" if v["evaluation"] == rec else ""
            )
        cells = num_cell(
            *value_parts(*v["objective"], _kind(prob.objective_units), _cell_symbol(prob.symbol))
        )
        for c, iv, s in zip(prob.constraints, v["constraints"], v["status"], strict=False):
            value, ci = value_parts(*iv, _kind(c.statistic.units), _cell_symbol(prob.symbol))
            cells += num_cell(value, f"{ci or ''} {_STATUS.get(s, s)}".strip())
        rows.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
    return table_html(header, rows)


def _ranked(ds: xr.Dataset, prob: _Problem, top: int) -> list[int]:
    """Indices of the simulated evaluations, feasible first by objective, then the others
    by how far they miss (relative to each bound)."""
    ok = np.flatnonzero(_ok(ds))
    feasible = np.asarray(ds["feasible"].values, dtype=bool)
    obj = np.asarray(ds["objective"].values, dtype=np.float64)
    values = (
        np.asarray(ds["constraint_value"].values, dtype=np.float64)
        if "constraint_value" in ds
        else np.zeros((ds.sizes["evaluation"], 0))
    )

    def key(i):
        if feasible[i]:
            return (0, obj[i], i)
        miss = sum(max(0.0, c.violation(values[i, j])) for j, c in enumerate(prob.constraints))
        return (1, miss, i)

    return sorted(ok.tolist(), key=key)[:top]


def _candidates_html(ds: xr.Dataset, prob: _Problem, top: int = 10) -> str:
    header = [
        "#",
        *prob.variables,
        prob.objective,
        *[c.statistic.text for c in prob.constraints],
        "feasible",
    ]
    rows = []
    for i in _ranked(ds, prob, top):
        cells = "".join(f"<td>{esc(_value_text(ds, v, i))}</td>" for v in prob.variables)
        cells += num_cell(
            _text(
                float(ds["objective"].values[i]),
                math.nan,
                math.nan,
                prob.objective_units,
                prob.symbol,
            )
        )
        for j, c in enumerate(prob.constraints):
            x = float(ds["constraint_value"].values[i, j])
            cells += num_cell(_text(x, math.nan, math.nan, c.statistic.units, prob.symbol))
        feasible = "yes" if bool(ds["feasible"].values[i]) else "no"
        rows.append(
            f"<tr><td>{int(ds['evaluation'].values[i])}</td>{cells}<td>{feasible}</td></tr>"
        )
    return table_html(header, rows)


_PROVENANCE = (
    ("scenario", "scenario"),
    ("objective", "objective (minimised)"),
    ("constraints", "constraints"),
    ("seed", "search seed"),
    ("paths", "paths per evaluation"),
    ("fresh_seed", "fresh seed"),
    ("fresh_paths", "fresh paths"),
    ("stopped", "the search stopped"),
    ("currency", "currency"),
)


def _provenance_html(ds: xr.Dataset) -> str:
    rows = [
        f"<tr><th>{esc(label)}</th><td>{esc(ds.attrs[key])}</td></tr>"
        for key, label in _PROVENANCE
        if key in ds.attrs and str(ds.attrs[key]) != ""
    ]
    try:
        seconds = json.loads(str(ds.attrs.get("seconds", "{}")))
    except ValueError:
        seconds = {}
    if seconds:
        text = ", ".join(f"{k} {float(v):.1f} s" for k, v in seconds.items())
        rows.append(f"<tr><th>runtime</th><td>{esc(text)}</td></tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


#: (file name, title, caption, draw, needs a constraint)
FIGURES = (
    (
        "optimize_frontier.png",
        "Cost-risk frontier of the search",
        "Every simulated candidate on the search paths (common random numbers): the "
        "objective against the first constraint's statistic, feasible ones filled, "
        "infeasible ones grey crosses, the Pareto frontier (no other candidate better on "
        "both) as a step line and the bound dashed, its feasible side shaded. The verified "
        "candidates and the scenario's own strategies are drawn at their figures on the "
        "fresh paths, with intervals on both axes: the fresh figures are the honest ones, "
        "the search-path figures of the best candidates are flattered by the selection.",
        plot_optimization_frontier,
        True,
    ),
    (
        "optimize_convergence.png",
        "Convergence of the search",
        "Each simulated candidate's objective on the search paths against its evaluation "
        "number, and the best feasible objective found so far (step line); the recommended "
        "evaluation is ringed. A line that stopped falling long before the end says more "
        "evaluations would not have found a cheaper feasible candidate on these paths.",
        plot_convergence,
        False,
    ),
)


def optimize_page(ds: xr.Dataset) -> tuple[str, list[tuple[str, bytes]]]:
    """The page's HTML and its figures (file name, PNG bytes), built in memory."""
    if not is_optimization(ds):
        raise ResultsError(
            "not an optimisation result (no 'evaluation' dimension and 'optimization' "
            "attribute); `resilience report` reads it from `resilience optimize --out`"
        )
    ds = ds.load()
    prob = _problem(ds)
    verified = _verified(ds)
    images: list[tuple[str, str, str, bytes]] = []
    for filename, title, caption, draw, needs in FIGURES:
        if needs and not prob.constraints:
            continue
        images.append((filename, title, caption, png(draw(ds))))
    name = str(ds.attrs.get("scenario", ""))
    ok = int(_ok(ds).sum())
    n_feasible = int((np.asarray(ds["feasible"].values, dtype=bool) & _ok(ds)).sum())
    cons = "; ".join(c.text for c in prob.constraints) or "no constraints"
    body = [
        f"<h1>Optimisation of {esc(name)}</h1>",
        f'<p class="note">Minimise {esc(prob.objective)} subject to {esc(cons)}. '
        f"{ok} candidates simulated on {int(ds.attrs.get('paths', 0)):,} common paths (seed "
        f"{esc(ds.attrs.get('seed', '?'))}), {n_feasible} feasible; "
        f"{ds.sizes['evaluation']} proposals in all; the search stopped: "
        f"{esc(ds.attrs.get('stopped', '?'))}. The best were verified on "
        f"{int(ds.attrs.get('fresh_paths', 0)):,} fresh paths (seed "
        f"{esc(ds.attrs.get('fresh_seed', '?'))})"
        + ("" if prob.symbol == "$" else f"; money in {esc(prob.symbol)}")
        + ".</p>",
        "<h2>Recommendation</h2>",
        *_recommendation_html(ds, prob, verified),
    ]
    block = str(ds.attrs.get("recommended_strategy_yaml", ""))
    if block:
        body += [
            "<h3>Strategy block to paste under <code>strategies:</code></h3>",
            f"<pre>{esc(block)}</pre>",
        ]
    body.append("<h2>Figures</h2>")
    body += [
        figure_html(filename[:-4], k, title, caption, image)
        for k, (filename, title, caption, image) in enumerate(images, start=1)
    ]
    if not prob.constraints:
        body.append(
            '<p class="note">The optimisation has no constraint, so there is no cost-risk '
            "frontier to draw.</p>"
        )
    if verified:
        body += [
            "<h2>Verification on fresh paths</h2>",
            _verification_html(ds, prob, verified),
            '<p class="note">Met: the whole interval meets the bound; met only within noise: '
            "the interval straddles it; NOT met: the whole interval misses it.</p>",
        ]
    body += [
        "<h2>Best candidates of the search</h2>",
        '<p class="note">On the search paths; feasible first, by objective. Point '
        "estimates: the search compares candidates on common paths, the intervals above "
        "are the ones to report.</p>",
        _candidates_html(ds, prob),
        "<h2>Provenance</h2>",
        _provenance_html(ds),
    ]
    html = page(f"{name} - resilience optimize", body)
    return html, [(filename, image) for filename, _, _, image in images]


def check_report_target(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse, before any work, a page target that cannot or should not be written."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ResultsError(f"{path}: the report is one HTML page; name it FILE.html")
    if path.is_dir():
        raise ResultsError(f"{path} is a folder; the report is one HTML file")
    if path.exists() and not overwrite:
        raise ResultsError(f"{path} already exists; pass --overwrite to replace it")
    if not path.absolute().parent.is_dir():
        raise ResultsError(f"{path}: the folder {path.absolute().parent} does not exist")
    return path


def write_optimize_page(ds: xr.Dataset, path: str | Path, *, overwrite: bool = True) -> Path:
    """Write the page as one self-contained HTML file (figures embedded) at ``path``.

    Built entirely in memory first, then written to a temporary sibling and renamed into
    place: a failure (a figure that cannot be drawn, a full disk) leaves no file.
    """
    path = check_report_target(path, overwrite)
    html, _ = optimize_page(ds)
    tmp = path.absolute().parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_optimize_report(ds: xr.Dataset, out_dir: str | Path) -> Path:
    """Write ``optimize_report.html`` and its figures as PNGs into the folder ``out_dir``
    (as ``resilience report`` writes every report); the folder appears only once complete."""
    folder = StagedFolder(out_dir, REPORT_FILE)
    html, images = optimize_page(ds)
    with folder:
        for filename, image in images:
            folder.write(filename, image)
        return folder.write(REPORT_FILE, html)
