"""An optimisation's output as markdown and csv (``resilience optimize --format``).

The same sections as the text report — the best candidates and the frontier of the
search, the verification on fresh paths, the recommendation with its strategy block and
the paired comparison with the scenario's strategies — as :class:`resilience.risk.format`
sections, so markdown is rendered by the tables ``resilience run`` uses and csv holds
their records: one per evaluation and figure (``table`` = ``evaluations``, the decision
variables as leading columns), per verified strategy and figure (``verification``, with
interval, confidence, bound and status), per benchmark (``paired_difference``) and one
for the recommendation (``recommended``, its strategy block as JSON). Numbers in csv are
unformatted (NaN: empty).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from resilience.optimize.output import (
    _cell,
    _evaluation_rows,
    _status_text,
    _summary_line,
    _value_text,
    _verdict,
    frontier,
    ranked,
    result_records,
)
from resilience.risk.format import Row, Section, Table, render

if TYPE_CHECKING:
    from resilience.optimize.spec import Statistic
    from resilience.optimize.verify import Interval, OptimizationResult

__all__ = ["format_result", "optimization_sections"]


def _units(units: str, currency: str) -> str:
    return (currency or "currency") if units == "currency" else units


def _evaluations_table(result: OptimizationResult, evals: list, title: str) -> Table:
    header, rows = _evaluation_rows(evals, result.spec, result.currency)
    return Table(
        title,
        header[0],
        header[1:],
        [Row(r[0], [(c, None) for c in r[1:]]) for r in rows],
    )


def _figure_records(result: OptimizationResult) -> list[dict[str, Any]]:
    """One record per simulated evaluation and figure, on the search paths."""
    spec = result.spec
    on_frontier = {f.number for f in frontier(result.evaluations, spec)}
    out = []
    for e in result.evaluations:
        point = {v.name: e.values.get(v.name) for v in spec.variables}
        figures = [(None, e.objective, spec.objective.text, spec.objective.units)]
        figures += [
            (c.statistic, x, c.statistic.text, c.statistic.units)
            for c, x in zip(spec.constraints, e.constraints, strict=True)
        ]
        for stat, value, text, units in figures:
            out.append(
                {
                    "point": point,
                    "table": "evaluations",
                    "metric": _metric(stat, spec),
                    "statistic": text,
                    "strategy": f"evaluation_{e.number}",
                    "estimate": value,
                    "units": _units(units, result.currency),
                    "evaluation": e.number,
                    "status": e.status,
                    "duplicate_of": e.duplicate_of,
                    "feasible": e.feasible,
                    "frontier": e.number in on_frontier,
                }
            )
    return out


def _metric(stat: Statistic | None, spec) -> str:
    if stat is not None:
        return stat.metric
    metrics = {s.metric for _, s in spec.objective.terms}
    return metrics.pop() if len(metrics) == 1 else "objective"


def _interval(iv: Interval) -> dict[str, Any]:
    return {"estimate": iv.estimate, "lower": iv.lower, "upper": iv.upper}


def _verification_records(result: OptimizationResult) -> list[dict[str, Any]]:
    spec = result.spec
    out = []
    for v in result.verified:
        base = {"table": "verification", "strategy": v.name, "evaluation": v.evaluation}
        out.append(
            {
                **base,
                "metric": _metric(None, spec),
                "statistic": spec.objective.text,
                **_interval(v.objective),
                "units": _units(spec.objective.units, result.currency),
                "confidence": 0.95,
                "feasible": v.feasible,
                "recommended": v is result.recommended,
            }
        )
        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True):
            out.append(
                {
                    **base,
                    "metric": c.statistic.metric,
                    "statistic": c.statistic.text,
                    **_interval(iv),
                    "units": _units(c.statistic.units, result.currency),
                    "confidence": c.confidence,
                    "constraint": c.text,
                    "bound": c.bound,
                    "status": s,
                    "feasible": v.feasible,
                    "recommended": v is result.recommended,
                }
            )
    return out


def _search_sections(result: OptimizationResult, top: int, frontier_rows: int) -> list[Section]:
    spec = result.spec
    ok = [e for e in result.evaluations if e.status == "ok"]
    feasible = [e for e in ok if e.feasible]
    cons = " and ".join(c.text for c in spec.constraints)
    heading = f"Optimisation of {result.scenario_name!r}: minimise {spec.objective.text}" + (
        f" subject to {cons}" if cons else " (no constraints)"
    )
    summary = (
        f"Search: {len(ok)} candidates simulated on {spec.paths:,} common paths (seed "
        f"{result.seed}), {len(feasible)} feasible; {len(result.evaluations)} proposals in all"
        + (f", {result.replayed} read back from the journal" if result.replayed else "")
        + f"; stopped: {result.stopped}."
    )
    best = _evaluations_table(result, ranked(result.evaluations, spec)[:top], heading)
    best.preamble = [
        summary,
        f"Best candidates (search paths; feasible first, by {spec.objective.text}):",
    ]
    sections = [
        Section(
            "evaluations",
            lambda width: best.text(width),
            best.markdown,
            tuple(_figure_records(result)),
        )
    ]
    front = frontier(result.evaluations, spec)
    if front:
        table = _evaluations_table(
            result,
            front[:frontier_rows],
            f"Cost-risk frontier of the evaluated candidates ({spec.objective.text} vs "
            f"{spec.constraints[0].statistic.text}; none of the others is better on both)",
        )
        if len(front) > frontier_rows:
            table.notes.append(f"{len(front) - frontier_rows} more on the frontier (in the csv).")
        sections.append(Section("frontier", table.text, table.markdown, ()))
    return sections


def _verification_section(result: OptimizationResult) -> Section:
    spec = result.spec
    cur = result.currency
    fresh_seed = (result.seed + spec.seed_offset) % 2**64
    rows = []
    for v in result.verified:
        label = v.label + (" (benchmark)" if v.evaluation is None else "")
        if v is result.recommended:
            label += " (recommended)"
        est, ci = _cell(v.objective, spec.objective.units, cur).split(" ", 1)
        cells: list[tuple[str, str | None]] = [(est, ci)]
        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True):
            est, ci = _cell(iv, c.statistic.units, cur).split(" ", 1)
            cells.append((est, f"{ci} {_status_word(s)}"))
        rows.append(Row(label, cells))
    table = Table(
        f"Verification on {spec.fresh_paths:,} fresh paths (seed {fresh_seed}, independent "
        "of the search)",
        "strategy",
        [spec.objective.text, *[c.text for c in spec.constraints]],
        rows,
        [
            "Intervals at each constraint's confidence level, the objective's at 95%. met: the "
            "whole interval meets the bound; within noise: it straddles the bound; NOT met: "
            "the whole interval misses it."
        ],
    )
    return Section("verification", table.text, table.markdown, tuple(_verification_records(result)))


def _status_word(status: str) -> str:
    return {"violated": "NOT met", "unknown": "?"}.get(status, status)


def _recommendation_section(result: OptimizationResult) -> Section:
    spec = result.spec
    cur = result.currency
    rec = result.recommended
    if rec is None:
        text = (
            "No recommendation: no verified candidate meets every constraint on the fresh "
            "paths. Loosen the constraints, widen the variables' ranges or raise the budget."
        )
        return Section(
            "recommended",
            lambda width: text + "\n",
            lambda: f"### Recommendation\n\n{text}\n",
            ({"table": "recommended", "strategy": None},),
        )
    e = result.recommended_evaluation
    values = ", ".join(f"{v.name} = {_value_text(v, e.values.get(v.name))}" for v in spec.variables)
    lines = [
        f"Recommended: evaluation {rec.evaluation} ({values}); {spec.objective.text} "
        f"{_cell(rec.objective, spec.objective.units, cur)} on the fresh paths."
    ]
    for c, iv, s in zip(spec.constraints, rec.constraints, rec.status, strict=True):
        lines.append(
            f"- {c.text}: {_cell(iv, c.statistic.units, cur)} at {100 * c.confidence:g}% "
            f"confidence: {_status_text(c, iv, s)}"
        )
    bench = [v for v in result.verified if v.evaluation is None]
    rows = []
    records: list[dict[str, Any]] = [
        {
            "point": {v.name: e.values.get(v.name) for v in spec.variables},
            "table": "recommended",
            "metric": _metric(None, spec),
            "statistic": spec.objective.text,
            "strategy": spec.recommended_name,
            **_interval(rec.objective),
            "units": _units(spec.objective.units, cur),
            "evaluation": rec.evaluation,
            "strategy_json": json.dumps(result.block, sort_keys=True),
        }
    ]
    for b in bench:
        d = rec.difference.get(b.name)
        est, ci = _cell(d, spec.objective.units, cur).split(" ", 1) if d else ("n/a", None)
        rows.append(Row(b.name, [(est, ci), (_verdict(d), None), (_meets(result, b), None)]))
        if d is not None:
            records.append(
                {
                    "table": "paired_difference",
                    "metric": _metric(None, spec),
                    "statistic": spec.objective.text,
                    "strategy": b.name,
                    **_interval(d),
                    "units": _units(spec.objective.units, cur),
                    "baseline": b.name,
                    "difference": "recommended minus benchmark",
                    "verdict": _verdict(d),
                }
            )
    table = Table(
        f"Against the scenario's strategies on the same fresh paths (paired difference of "
        f"{spec.objective.text}, recommended minus benchmark, 95% interval)",
        "benchmark",
        ["difference", "verdict", "benchmark vs constraints"],
        rows,
        [_summary_line(rec, bench, spec, cur)] if bench else [],
    )
    block = result.strategy_yaml().rstrip("\n")

    def text(width):
        out = "\n".join(lines) + "\n\nStrategy block to paste under `strategies:`:\n\n"
        out += block + "\n"
        return out + ("\n" + table.text(width) if bench else "")

    def markdown():
        out = "### Recommendation\n\n" + "\n".join(lines) + "\n\n"
        out += "Strategy block to paste under `strategies:` in the scenario:\n\n"
        out += f"```yaml\n{block}\n```\n"
        return out + ("\n" + table.markdown() if bench else "")

    return Section("recommended", text, markdown, tuple(records))


def _meets(result: OptimizationResult, b) -> str:
    if not result.spec.constraints:
        return ""
    if not b.feasible:
        return "misses a constraint"
    if any(s != "met" for s in b.status):
        return "meets the constraints (within noise)"
    return "meets the constraints"


def optimization_sections(
    result: OptimizationResult, top: int = 10, frontier_rows: int = 15
) -> list[Section]:
    """The result as output sections (search, frontier, verification, recommendation)."""
    sections = _search_sections(result, top, frontier_rows)
    if result.verified:
        sections.append(_verification_section(result))
    sections.append(_recommendation_section(result))
    return sections


def format_result(result: OptimizationResult, fmt: str = "text") -> str:
    """``--format``: text (the report a person reads), markdown (pipe tables and the
    strategy block as a YAML code block), csv (records) or json (the whole result)."""
    from resilience.optimize.output import format_text

    if fmt == "text":
        return format_text(result)
    if fmt == "json":
        return json.dumps(result_records(result), indent=2, default=str) + "\n"
    sec = result.seconds
    footer = (
        f"Runtime: search {sec.get('search', 0):.1f} s, verification "
        f"{sec.get('verify', 0):.1f} s, total {sec.get('total', 0):.1f} s"
    )
    body = render(optimization_sections(result), fmt)
    if fmt == "markdown":
        written = [
            f"{what} written to {where}"
            for what, where in (("Evaluations", result.out), ("Report", result.report))
            if where
        ]
        return body + "\n" + "\n\n".join([footer, *written]) + "\n"
    return body
