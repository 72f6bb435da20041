"""Objectives and constraints of an optimisation file: the statistics they name and the
expressions that name them.

Constraint grammar (whitespace is free)::

    P<q>(METRIC)   <= | >= NUMBER     the q-th percentile (P95, P5, P99.5)
    CVaR<a>(METRIC) <= | >= NUMBER    mean of the bad (1 - a) tail (upper for losses,
                                      lower for higher-is-better metrics like fill_rate)
    mean(METRIC)   <= | >= NUMBER     the expected value per path
    P(METRIC CMP NUMBER) <= | >= NUMBER   a probability, CMP one of > >= < <=

NUMBER may end in ``%`` (``95%`` is 0.95). Objective terms are ``mean_METRIC`` and
``cvar<a>_METRIC``, alone or as a weighted sum; the objective is minimised. Kept apart from
:mod:`resilience.optimize.spec` so verification can read a constraint without the file
reader.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from resilience.errors import ResilienceError
from resilience.results.catalogue import DERIVED_METRICS, PATH_METRICS
from resilience.risk import HIGHER_IS_BETTER
from resilience.scenario.values import (
    _close,
    _show,
    unknown,
)


class OptimizationError(ResilienceError, ValueError):
    """An optimisation file is invalid, or does not fit its scenario."""


#: Per-path variables of a results dataset that objectives and constraints may name.
METRICS: tuple[str, ...] = tuple(e[0] for e in PATH_METRICS) + tuple(e[0] for e in DERIVED_METRICS)
UNITS: dict[str, str] = {e[0]: e[1] for e in (*PATH_METRICS, *DERIVED_METRICS)}
DEFAULT_CONFIDENCE = 0.95
# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Statistic:
    """One figure of a strategy's per-path results.

    kind: ``mean``; ``quantile`` (``level`` q in (0, 1)); ``cvar`` (``level`` a in (0, 1),
    the bad tail of the metric); ``probability`` (P(metric ``cmp`` ``threshold``)).
    """

    kind: str
    metric: str
    level: float | None = None
    cmp: str | None = None
    threshold: float | None = None

    @property
    def text(self) -> str:
        if self.kind == "mean":
            return f"mean({self.metric})"
        if self.kind == "quantile":
            return f"P{_pct(self.level)}({self.metric})"
        if self.kind == "cvar":
            return f"CVaR{_pct(self.level)}({self.metric})"
        return f"P({self.metric} {self.cmp} {_num(self.threshold)})"

    @property
    def units(self) -> str:
        return "1" if self.kind == "probability" else UNITS.get(self.metric, "")

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "metric": self.metric,
            "level": self.level,
            "cmp": self.cmp,
            "threshold": self.threshold,
        }


def _pct(level: float | None) -> str:
    return f"{100.0 * float(level or 0.0):.10g}"


def _num(x: float | None) -> str:
    return f"{float(x or 0.0):.10g}"


@dataclass(frozen=True)
class Constraint:
    """``statistic op bound``, verified at ``confidence``."""

    statistic: Statistic
    op: str  # "<=" or ">="
    bound: float
    confidence: float = DEFAULT_CONFIDENCE
    source: str = field(default="", compare=False)  # as written

    @property
    def text(self) -> str:
        return f"{self.statistic.text} {self.op} {_num(self.bound)}"

    def met(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def violation(self, value: float) -> float:
        """<= 0 when met, else how far off, relative to the bound (Optuna's convention)."""
        if value is None or not math.isfinite(value):
            return 1e12
        gap = value - self.bound if self.op == "<=" else self.bound - value
        return gap / max(abs(self.bound), 1e-12) if self.bound != 0 else gap

    def classify(self, lower: float, upper: float) -> str:
        """``met`` (the whole interval meets the bound), ``within noise`` (the interval
        straddles it), ``violated`` (the whole interval misses it), or ``unknown``."""
        if not (math.isfinite(lower) and math.isfinite(upper)):
            return "unknown"
        if self.op == "<=":
            good, bad = upper <= self.bound, lower > self.bound
        else:
            good, bad = lower >= self.bound, upper < self.bound
        return "met" if good else "violated" if bad else "within noise"

    def to_json(self) -> dict:
        return {
            "statistic": self.statistic.to_json(),
            "op": self.op,
            "bound": self.bound,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Objective:
    """A weighted sum of ``mean`` and ``cvar`` statistics, minimised."""

    terms: tuple[tuple[float, Statistic], ...]
    source: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        if len(self.terms) == 1 and self.terms[0][0] == 1.0:
            return _term_name(self.terms[0][1])
        return " + ".join(f"{_num(w)} x {_term_name(s)}" for w, s in self.terms)

    @property
    def units(self) -> str:
        units = {s.units for _, s in self.terms}
        return units.pop() if len(units) == 1 else ""

    def to_json(self) -> list:
        return [[w, s.to_json()] for w, s in self.terms]


def _term_name(s: Statistic) -> str:
    return f"mean_{s.metric}" if s.kind == "mean" else f"cvar{_pct(s.level)}_{s.metric}"


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?"
_CONSTRAINT = re.compile(
    r"^\s*(?P<func>[A-Za-z]+)(?P<level>\d+(?:\.\d+)?)?\s*\((?P<inner>[^()]*)\)\s*"
    r"(?P<op><=|>=|=<|=>|==|<|>|=)?\s*(?P<bound>\S*)\s*$"
)
_INNER_EVENT = re.compile(
    r"^\s*(?P<metric>[A-Za-z_]\w*)\s*(?P<cmp>>=|<=|>|<|==|=)\s*(?P<value>\S+)\s*$"
)


def _parse_number(text: str) -> float | None:
    if not re.fullmatch(_NUMBER, text or ""):
        return None
    if text.endswith("%"):
        return float(text[:-1]) / 100.0
    return float(text)


def _metric(name: str) -> str | None:
    """Why ``name`` is not a metric (None when it is)."""
    if name in METRICS:
        return None
    return unknown("metric", name, METRICS).replace("declared:", "per-path metrics:")


def parse_constraint(text: Any, confidence: float = DEFAULT_CONFIDENCE) -> Constraint:
    """``"P95(lost_units) <= 20000"`` -> :class:`Constraint`; :class:`OptimizationError`
    (one message, without a place) when it does not read."""
    if not isinstance(text, str) or not text.strip():
        raise OptimizationError(
            f"must be a constraint such as 'P95(lost_units) <= 20000', got {_show(text)}"
        )
    quoted = repr(text.strip())
    m = _CONSTRAINT.match(text)
    if m is None:
        raise OptimizationError(
            f"{quoted}: expected STATISTIC(METRIC) <= NUMBER or >= NUMBER, e.g. "
            f"'P95(lost_units) <= 20000', 'P5(fill_rate) >= 0.95', 'CVaR95(lost_units) <= "
            f"30000', 'mean(fill_rate) >= 0.99', 'P(stockout_days > 0) <= 0.1'"
        )
    func, level_text, inner = m.group("func"), m.group("level"), m.group("inner").strip()
    op, bound_text = m.group("op"), m.group("bound")
    col = m.start("op") + 1 if op else m.end("inner") + 2
    if op is None:
        raise OptimizationError(f"{quoted}: missing '<=' or '>=' and a bound after column {col}")
    if op in ("<", ">"):
        raise OptimizationError(
            f"{quoted}: use {op}= at column {col}: an estimate from paths cannot tell "
            f"{op} from {op}="
        )
    if op in ("=", "==", "=<", "=>"):
        hint = {"=<": "<=", "=>": ">="}.get(op, "<= or >=")
        raise OptimizationError(f"{quoted}: {op!r} at column {col}: use {hint}")
    bound = _parse_number(bound_text)
    if bound is None:
        where = m.start("bound") + 1
        got = repr(bound_text) if bound_text else "nothing"
        raise OptimizationError(
            f"{quoted}: the bound at column {where} must be a number, got {got}"
        )
    lower = func.lower()
    if lower == "p" and level_text is None:
        event = _INNER_EVENT.match(inner)
        if event is None:
            raise OptimizationError(
                f"{quoted}: P(...) without a level is a probability and takes an event "
                f"such as P(stockout_days > 0); for a percentile write P95(METRIC)"
            )
        why = _metric(event.group("metric"))
        if why:
            raise OptimizationError(f"{quoted}: {why}")
        cmp = event.group("cmp")
        if cmp in ("=", "=="):
            raise OptimizationError(
                f"{quoted}: the event compares with >, >=, < or <=, not {cmp!r}"
            )
        threshold = _parse_number(event.group("value"))
        if threshold is None:
            raise OptimizationError(
                f"{quoted}: the event's threshold must be a number, got {event.group('value')!r}"
            )
        if not 0.0 <= bound <= 1.0:
            raise OptimizationError(
                f"{quoted}: a probability's bound must be in [0, 1], got {_num(bound)}"
            )
        stat = Statistic("probability", event.group("metric"), cmp=cmp, threshold=threshold)
    else:
        kinds = {"p": "quantile", "cvar": "cvar", "mean": "mean", "e": "mean"}
        kind = kinds.get(lower)
        if kind is None:
            guess = _close(func, ["P", "CVaR", "mean"])
            hint = f"did you mean {guess!r}?" if guess else "use P<q>, CVaR<a>, mean or P(...)"
            if lower == "var":
                hint = "write the percentile instead: P95(lost_units), P5(fill_rate)"
            raise OptimizationError(f"{quoted}: unknown statistic {func!r} at column 1 ({hint})")
        if kind == "mean" and level_text is not None:
            raise OptimizationError(f"{quoted}: mean takes no level, write mean(METRIC)")
        if kind != "mean":
            if level_text is None:
                raise OptimizationError(
                    f"{quoted}: {func} needs a level in percent, e.g. {func}95(METRIC)"
                )
            level = float(level_text) / 100.0
            if not 0.0 < level < 1.0:
                raise OptimizationError(
                    f"{quoted}: the level {level_text} must be between 0 and 100 (exclusive)"
                )
        else:
            level = None
        if not re.fullmatch(r"[A-Za-z_]\w*", inner):
            raise OptimizationError(
                f"{quoted}: {func}{level_text or ''}(...) takes one metric name, got {inner!r}"
            )
        why = _metric(inner)
        if why:
            raise OptimizationError(f"{quoted}: {why}")
        stat = Statistic(kind, inner, level=level)
    return Constraint(stat, "<=" if op == "<=" else ">=", bound, confidence, text.strip())


_TERM = re.compile(r"^(?:(?P<mean>mean)|cvar(?P<level>\d+(?:\.\d+)?))_(?P<metric>\w+)$")


def _parse_term(name: Any) -> Statistic:
    if not isinstance(name, str):
        raise OptimizationError(
            f"objective terms are names such as mean_total_cost, got {_show(name)}"
        )
    m = _TERM.match(name)
    if m is None:
        raise OptimizationError(
            f"{name!r}: objective terms are mean_METRIC or cvar<a>_METRIC, e.g. "
            f"mean_total_cost, cvar95_total_cost"
        )
    metric = m.group("metric")
    why = _metric(metric)
    if why:
        raise OptimizationError(f"{name!r}: {why}")
    if metric in HIGHER_IS_BETTER:
        raise OptimizationError(
            f"{name!r}: {metric} is better when higher and the objective is minimised; "
            f"minimise a cost or a loss and constrain {metric} instead"
        )
    if m.group("mean"):
        return Statistic("mean", metric)
    level = float(m.group("level")) / 100.0
    if not 0.0 < level < 1.0:
        raise OptimizationError(f"{name!r}: the CVaR level must be between 0 and 100 (exclusive)")
    return Statistic("cvar", metric, level=level)


def parse_objective(raw: Any) -> Objective:
    """``mean_total_cost`` or ``{mean_total_cost: w1, cvar95_total_cost: w2}``."""
    if isinstance(raw, str):
        return Objective(((1.0, _parse_term(raw.strip())),), raw)
    if isinstance(raw, Mapping) and raw:
        terms = []
        for name, weight in raw.items():
            stat = _parse_term(name)
            if (
                isinstance(weight, bool)
                or not isinstance(weight, numbers.Real)
                or not (math.isfinite(weight) and weight > 0)
            ):
                raise OptimizationError(
                    f"{name}: the weight must be a number > 0, got {_show(weight)}"
                )
            terms.append((float(weight), stat))
        return Objective(tuple(terms), json.dumps(dict(raw), default=str))
    raise OptimizationError(
        "must be mean_total_cost, cvar95_total_cost or a weighted mix "
        f"{{mean_total_cost: 1, cvar95_total_cost: 0.5}}, got {_show(raw)}"
    )
