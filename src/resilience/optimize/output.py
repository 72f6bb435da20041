"""What a person reads of an optimisation: the text report (search, frontier, fresh-path
verification, the recommendation) and the JSON records of the same figures.

Works only from an :class:`~resilience.optimize.verify.OptimizationResult`; the types of
:mod:`resilience.optimize.verify` are imported for annotations alone, since that module
re-exports these names.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resilience.optimize.spec import Constraint, OptimizationSpec

if TYPE_CHECKING:
    from resilience.optimize.verify import Interval, OptimizationResult, Verified


# ----------------------------------------------------------------------------- text


def currency_symbol(currency: str | None) -> str:
    """``$`` for US dollars (or no currency named, as the shipped scenarios), else none."""
    code = str(currency or "").strip().upper()
    return "$" if code in ("", "USD", "$", "CURRENCY") else ""


def fmt_value(x: float | None, units: str, currency: str = "") -> str:
    """A figure as a person reads it: money with k/M/bn (bn to 4 decimals, so candidates a
    few $100k apart differ), shares in %, other figures with thousands separators."""
    if x is None or not math.isfinite(x):
        return "n/a"
    x = float(x) + 0.0
    if units == "1":
        return f"{100 * x:.2f}%"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if units == "currency":
        prefix = currency_symbol(currency)
        if a >= 1e9:
            return f"{sign}{prefix}{a / 1e9:.4f}bn"
        if a >= 1e6:
            return f"{sign}{prefix}{a / 1e6:.2f}M"
        if a >= 1e4:
            return f"{sign}{prefix}{a / 1e3:.1f}k"
        return f"{sign}{prefix}{a:,.0f}" if a >= 100 else f"{sign}{prefix}{a:.4g}"
    if a >= 1e6:
        return f"{sign}{a / 1e6:,.3f}M"
    if a >= 100:
        return f"{sign}{a:,.0f}"
    return f"{sign}{a:.4g}"


def _cell(iv: Interval, units: str, currency: str) -> str:
    return f"{fmt_value(iv.estimate, units, currency)} [{fmt_value(iv.lower, units, currency)}, {fmt_value(iv.upper, units, currency)}]"


def _table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right if right is not None else set(range(1, len(header)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _value_text(v, x: Any) -> str:
    if x is None:
        return "-"
    if v.type == "shares":
        return f"{100 * float(x):.4g}%"
    if v.type == "binary":
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def frontier(evaluations: list, spec: OptimizationSpec) -> list:
    """Evaluated candidates no other beats on both the objective and the first
    constraint's statistic (oriented so that better is smaller), by objective."""
    if not spec.constraints:
        return []
    c = spec.constraints[0]
    sign = 1.0 if c.op == "<=" else -1.0
    pts = [
        e
        for e in evaluations
        if e.status == "ok"
        and e.objective is not None
        and e.constraints
        and math.isfinite(e.constraints[0])
    ]
    pts.sort(key=lambda e: (e.objective, sign * e.constraints[0], e.number))
    front, best_risk = [], math.inf
    for e in pts:
        r = sign * e.constraints[0]
        if r < best_risk:
            front.append(e)
            best_risk = r
    return front


def ranked(evaluations: list, spec: OptimizationSpec) -> list:
    """Simulated evaluations, feasible ones first by objective, then the others by how
    far they miss their constraints."""
    ok = [e for e in evaluations if e.status == "ok"]

    def key(e):
        if e.feasible:
            return (0, e.objective, e.number)
        miss = sum(
            max(0.0, c.violation(x)) for c, x in zip(spec.constraints, e.constraints, strict=True)
        )
        return (1, miss, e.number)

    return sorted(ok, key=key)


def _evaluation_rows(
    evals: list, spec: OptimizationSpec, currency: str
) -> tuple[list[str], list[list[str]]]:
    header = [
        "#",
        *[v.name for v in spec.variables],
        spec.objective.text,
        *[c.statistic.text for c in spec.constraints],
        "feasible",
    ]
    rows = []
    for e in evals:
        rows.append(
            [
                str(e.number),
                *[_value_text(v, e.values.get(v.name)) for v in spec.variables],
                fmt_value(e.objective, spec.objective.units, currency),
                *[
                    fmt_value(x, c.statistic.units, currency)
                    for c, x in zip(spec.constraints, e.constraints, strict=True)
                ],
                "yes" if e.feasible else "no",
            ]
        )
    return header, rows


_STATUS_TEXT = {
    "met": "met",
    "within noise": "met only within noise",
    "violated": "NOT met",
    "unknown": "unknown (too few paths for an interval)",
}


def _status_text(c: Constraint, iv: Interval, status: str) -> str:
    if status == "within noise":
        side = "estimate meets the bound" if c.met(iv.estimate) else "estimate misses the bound"
        return f"within noise: the interval straddles {_num_plain(c.bound)} ({side})"
    if status == "violated":
        return "NOT met"
    if status == "unknown":
        return _STATUS_TEXT[status]
    return "met"


def _num_plain(x: float) -> str:
    return f"{x:.10g}"


def format_text(result: OptimizationResult, top: int = 10, frontier_rows: int = 15) -> str:
    """The optimisation's report as plain text."""
    evals = result.evaluations
    ok = [e for e in evals if e.status == "ok"]
    feasible = [e for e in ok if e.feasible]
    lines = _search_lines(result, ok, feasible, top, frontier_rows)
    lines += _verification_lines(result)
    lines += _recommendation_lines(result, feasible)
    lines.append("")
    sec = result.seconds
    lines.append(
        f"Runtime: search {sec.get('search', 0):.1f} s, verification {sec.get('verify', 0):.1f} s, "
        f"total {sec.get('total', 0):.1f} s"
    )
    if result.out:
        lines.append(f"Evaluations written to {result.out}")
    if result.report:
        lines.append(f"Report written to {result.report}")
    return "\n".join(lines) + "\n"


def _search_lines(
    result: OptimizationResult, ok: list, feasible: list, top: int, frontier_rows: int
) -> list[str]:
    """The heading, the search's count and stop, the best candidates and the frontier."""
    spec = result.spec
    cur = result.currency
    evals = result.evaluations
    lines = []
    cons = " and ".join(c.text for c in spec.constraints)
    lines.append(
        f"Optimisation of {result.scenario_name!r}: minimise {spec.objective.text}"
        + (f" subject to {cons}" if cons else " (no constraints)")
    )
    lines.append(
        f"Search: {len(ok)} candidates simulated on {spec.paths:,} common paths (seed {result.seed}), "
        f"{len(feasible)} feasible; {len(evals)} proposals in all"
        + (f", {result.replayed} read back from the journal" if result.replayed else "")
        + f"; stopped: {result.stopped}"
    )
    lines.append("")
    best = ranked(evals, spec)[:top]
    lines.append(f"Best candidates (search paths; feasible first, by {spec.objective.text})")
    header, rows = _evaluation_rows(best, spec, cur)
    lines.extend("  " + x for x in _table(header, rows))
    front = frontier(evals, spec)
    if front:
        lines.append("")
        lines.append(
            f"Cost-risk frontier of the evaluated candidates ({spec.objective.text} vs {spec.constraints[0].statistic.text}; none of the others is better on both)"
        )
        header, rows = _evaluation_rows(front[:frontier_rows], spec, cur)
        lines.extend("  " + x for x in _table(header, rows))
        if len(front) > frontier_rows:
            lines.append(
                f"  ... {len(front) - frontier_rows} more on the frontier (in the dataset)"
            )
    lines.append("")
    return lines


def _verification_lines(result: OptimizationResult) -> list[str]:
    """Every verified candidate and benchmark on the fresh paths, with its intervals."""
    spec = result.spec
    cur = result.currency
    lines = []
    fresh_seed = (result.seed + spec.seed_offset) % 2**64
    if result.verified:
        lines.append(
            f"Verification on {spec.fresh_paths:,} fresh paths (seed {fresh_seed}, independent of the "
            f"search); intervals at each constraint's confidence level, the objective's at 95%"
        )
        header = ["strategy", spec.objective.text, *[f"{c.text}" for c in spec.constraints]]
        rows = []
        for v in result.verified:
            label = v.label + (" (benchmark)" if v.evaluation is None else "")
            rows.append(
                [
                    label,
                    _cell(v.objective, spec.objective.units, cur),
                    *[
                        f"{_cell(iv, c.statistic.units, cur)} {_short_status(c, iv, s)}"
                        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True)
                    ],
                ]
            )
        lines.extend("  " + x for x in _table(header, rows, right=set()))
        lines.append("")
    return lines


def _recommendation_lines(result: OptimizationResult, feasible: list) -> list[str]:
    """The recommendation (or why there is none), its strategy block and how it compares
    with the scenario's own strategies."""
    spec = result.spec
    cur = result.currency
    lines = []
    rec = result.recommended
    if rec is None:
        lines.append(
            "No recommendation: no verified candidate meets every constraint on the fresh paths"
            + (" (no feasible candidate was found in the search)" if not feasible else "")
            + ". Loosen the constraints, widen the variables' ranges or raise the budget."
        )
    else:
        e = result.recommended_evaluation
        lines.append(
            f"Recommended: evaluation {rec.evaluation} "
            f"({', '.join(f'{v.name} = {_value_text(v, e.values.get(v.name))}' for v in spec.variables)}); "
            f"{spec.objective.text} {_cell(rec.objective, spec.objective.units, cur)} on the fresh paths"
        )
        for c, iv, s in zip(spec.constraints, rec.constraints, rec.status, strict=True):
            lines.append(
                f"  {c.text}: {_cell(iv, c.statistic.units, cur)} at {100 * c.confidence:g}% confidence: {_status_text(c, iv, s)}"
            )
        if any(s != "met" for s in rec.status):
            lines.append(
                "  A constraint met only within noise may be missed in truth; verify with more "
                "paths (verify.paths) before relying on it."
            )
        lines.append("")
        lines.append("Strategy block to paste under `strategies:` in the scenario:")
        lines.append("")
        lines.append(result.strategy_yaml().rstrip("\n"))
        lines.append("")
        bench = [v for v in result.verified if v.evaluation is None]
        if bench:
            lines.append(
                f"Against the scenario's strategies on the same fresh paths (paired difference of "
                f"{spec.objective.text}, recommended minus benchmark, 95% interval):"
            )
            lines += _benchmark_lines(rec, bench, spec, cur)
    return lines


def _benchmark_lines(
    rec: Verified, bench: list[Verified], spec: OptimizationSpec, cur: str
) -> list[str]:
    lines = []
    rows = []
    for b in bench:
        d = rec.difference.get(b.name)
        if not spec.constraints:
            meets = ""
        elif not b.feasible:
            meets = "misses a constraint"
        elif any(s != "met" for s in b.status):
            meets = "meets the constraints (within noise)"
        else:
            meets = "meets the constraints"
        rows.append(
            [
                b.name,
                _cell(d, spec.objective.units, cur) if d else "n/a",
                _verdict(d),
                meets,
            ]
        )
    lines.extend(
        "  " + x
        for x in _table(
            ["benchmark", "difference", "verdict", "benchmark vs constraints"],
            rows,
            right=set(),
        )
    )
    lines.append("  " + _summary_line(rec, bench, spec, cur))
    return lines


def _short_status(c: Constraint, iv: Interval, status: str) -> str:
    if status == "met":
        return "met"
    if status == "within noise":
        return "within noise" + (
            " (estimate meets)" if c.met(iv.estimate) else " (estimate misses)"
        )
    if status == "violated":
        return "NOT met"
    return "?"


def _verdict(d: Interval | None) -> str:
    if d is None or not (math.isfinite(d.lower) and math.isfinite(d.upper)):
        return ""
    if d.upper < 0:
        return "cheaper"
    if d.lower > 0:
        return "dearer"
    return "no clear difference"


def _summary_line(rec: Verified, bench: list[Verified], spec: OptimizationSpec, cur: str) -> str:
    meeting = [b for b in bench if b.feasible]
    if not meeting:
        return (
            "No benchmark strategy meets the constraints on the fresh paths; the recommendation does "
            f"{'(within noise)' if any(s != 'met' for s in rec.status) else ''}".rstrip()
            + "."
        )
    cheapest = min(meeting, key=lambda b: b.objective.estimate)
    d = rec.difference[cheapest.name]
    verdict = _verdict(d)
    what = {
        "cheaper": "beats",
        "dearer": "costs more than",
        "no clear difference": "is not distinguishable from",
        "": "compares with",
    }[verdict]
    if d.estimate == 0 and d.lower == 0 and d.upper == 0:
        return (
            f"Of the benchmarks that meet the constraints, the cheapest is {cheapest.name}; the "
            f"recommendation does the same on every fresh path (it is the same strategy)."
        )
    return (
        f"Of the benchmarks that meet the constraints, the cheapest is {cheapest.name}; the "
        f"recommendation {what} it on {spec.objective.text} by {fmt_value(-d.estimate, spec.objective.units, cur)} "
        f"[{fmt_value(-d.upper, spec.objective.units, cur)}, {fmt_value(-d.lower, spec.objective.units, cur)}] "
        f"(saving, paired)."
    )


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null (JSON has no such numbers), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def result_records(result: OptimizationResult) -> dict:
    """The result as plain JSON-ready data (``--format json``)."""
    return _json_safe(_records(result))


def _records(result: OptimizationResult) -> dict:
    spec = result.spec
    rec = result.recommended
    return {
        "scenario": result.scenario_name,
        "objective": spec.objective.text,
        "constraints": [c.text for c in spec.constraints],
        "seed": result.seed,
        "paths": spec.paths,
        "stopped": result.stopped,
        "replayed": result.replayed,
        "evaluations": [e.to_json() for e in result.evaluations],
        "frontier": [e.number for e in frontier(result.evaluations, spec)],
        "verification": {
            "seed": (result.seed + spec.seed_offset) % 2**64,
            "paths": spec.fresh_paths,
            "strategies": [
                {
                    "name": v.name,
                    "evaluation": v.evaluation,
                    "objective": v.objective.to_json(),
                    "constraints": [
                        {
                            "constraint": c.text,
                            "confidence": c.confidence,
                            **iv.to_json(),
                            "status": s,
                        }
                        for c, iv, s in zip(spec.constraints, v.constraints, v.status, strict=True)
                    ],
                    "feasible": v.feasible,
                    "difference": {k: d.to_json() for k, d in v.difference.items()},
                }
                for v in result.verified
            ],
        },
        "recommended": None
        if rec is None
        else {
            "evaluation": rec.evaluation,
            "name": spec.recommended_name,
            "strategy": result.block,
            "yaml": result.strategy_yaml(),
        },
        "seconds": result.seconds,
        "out": result.out,
        "report": result.report,
    }
