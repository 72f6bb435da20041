"""The optimisation file: decision variables, objective, constraints, budget, verification.

An optimisation file (docs/optimize.md, src/resilience/examples/automotive-optimize.yaml)
says which strategy the candidates start from (``base_strategy``: a strategy of the
scenario, or a strategy block written in the file), which settings of it the search may
change (``variables``: paths into the scenario document, the way ``resilience validate``
and sweeps name places), what is minimised (``objective``), which risk limits a
candidate must meet (``constraints``), and how much search and verification to spend.

Reading the file alone (:func:`load_optimization`) checks its keys, types, ranges and the
constraint expressions; :meth:`OptimizationSpec.prepare` then checks the paths against the
scenario and loads the scenario with each variable at each end of its range, so a bad
path or value is one placed line (``FILE: variables[1].path: ...``) before anything runs.

Constraint grammar (whitespace is free)::

    P<q>(METRIC)   <= | >= NUMBER     the q-th percentile (P95, P5, P99.5)
    CVaR<a>(METRIC) <= | >= NUMBER    mean of the bad (1 - a) tail (upper for losses,
                                      lower for higher-is-better metrics like fill_rate)
    mean(METRIC)   <= | >= NUMBER     the expected value per path
    P(METRIC CMP NUMBER) <= | >= NUMBER   a probability, CMP one of > >= < <=

NUMBER may end in ``%`` (``95%`` is 0.95). METRIC is a per-path variable of the results
(docs/results-format.md). Objective terms are ``mean_METRIC`` and ``cvar<a>_METRIC``,
alone or as a weighted sum ``{mean_total_cost: 1, cvar95_total_cost: 0.5}``; the objective
is minimised.
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from resilience.errors import ResilienceError, ScenarioError, SweepError
from resilience.results.catalogue import DERIVED_METRICS, PATH_METRICS
from resilience.risk import HIGHER_IS_BETTER
from resilience.scenario import load_scenario
from resilience.scenario.values import (
    _BAD,
    Errors,
    Reader,
    _Choice,
    _close,
    _Number,
    _show,
    _String,
    unknown,
)
from resilience.sweeps.paths import IDENTIFIER, Param, format_path, parse_path

__all__ = [
    "METRICS",
    "Constraint",
    "Objective",
    "OptimizationError",
    "OptimizationSpec",
    "Statistic",
    "Variable",
    "load_optimization",
    "parse_constraint",
    "parse_objective",
]


class OptimizationError(ResilienceError, ValueError):
    """An optimisation file is invalid, or does not fit its scenario."""


#: Per-path variables of a results dataset that objectives and constraints may name.
METRICS: tuple[str, ...] = tuple(e[0] for e in PATH_METRICS) + tuple(e[0] for e in DERIVED_METRICS)
UNITS: dict[str, str] = {e[0]: e[1] for e in (*PATH_METRICS, *DERIVED_METRICS)}

TOP_KEYS = (
    "description",
    "name",
    "base_strategy",
    "variables",
    "objective",
    "constraints",
    "budget",
    "paths",
    "verify",
    "search",
)
VARIABLE_KEYS = ("name", "type", "path", "bounds", "step", "log", "choices")
VARIABLE_TYPES = ("integer", "continuous", "binary", "choice", "shares")
BUDGET_KEYS = ("evaluations", "wall_seconds")
VERIFY_KEYS = ("top", "paths", "seed_offset", "benchmarks")
SEARCH_KEYS = ("startup_trials", "batch")
CONSTRAINT_KEYS = ("constraint", "confidence")

#: Names the evaluation dataset uses itself; a variable may not take them.
RESERVED = frozenset(
    {
        "evaluation",
        "objective",
        "feasible",
        "constraint",
        "constraint_value",
        "constraint_violation",
        "status",
        "duplicate_of",
        "strategy_block",
        "candidate",
        "interval",
        "fresh_objective",
        "fresh_constraint",
        "fresh_status",
        "candidate_evaluation",
        "paired_objective_difference",
    }
)

DEFAULT_PATHS = 10_000
DEFAULT_EVALUATIONS = 50
DEFAULT_TOP = 3
DEFAULT_STARTUP = 8
DEFAULT_CONFIDENCE = 0.95

_POSITIVE_INT = _Number(lo=1, integer=True)
_POSITIVE = _Number(lo=0.0, lo_open=True)
_CONFIDENCE = _Number(lo=0.0, hi=1.0, lo_open=True, hi_open=True, noun="a confidence level")
_SEED_OFFSET = _Number(lo=1, hi=2**64 - 1, integer=True)


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


# ----------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Variable:
    """One decision variable: the same value set at each of its paths."""

    name: str
    type: str
    params: tuple[Param, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    place: str = field(default="", compare=False)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.params]

    def corners(self) -> list[Any]:
        """The values checked against the scenario before the search: both ends of the
        range, every choice."""
        if self.type == "binary":
            return [0, 1]
        if self.type == "choice":
            return list(self.choices)
        return [self.low] if self.low == self.high else [self.low, self.high]

    def suggest(self, trial) -> Any:
        """The value Optuna's ``trial`` proposes."""
        if self.type == "integer":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1)
            )
        if self.type in ("continuous", "shares"):
            value = trial.suggest_float(
                self.name, float(self.low), float(self.high), step=self.step, log=self.log
            )
            return round(value, 12) if self.step else value
        if self.type == "binary":
            return trial.suggest_categorical(self.name, [0, 1])
        return trial.suggest_categorical(self.name, list(self.choices))

    def size(self) -> float:
        """How many values it can take (inf for a continuous range without a step)."""
        if self.type == "binary":
            return 2
        if self.type == "choice":
            return len(self.choices)
        if self.low == self.high:
            return 1
        if self.type == "integer":
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        if self.step:
            return math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return math.inf

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "paths": self.paths,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
            "choices": list(self.choices),
        }


def _share_entry(param: Param) -> tuple[tuple[str | int, ...], str] | None:
    """``(path of the shares mapping, source)`` when ``param`` names one source's share in
    a sourcing entry (``...sourcing[i].shares.SOURCE``), else None."""
    keys = param.keys
    if (
        len(keys) >= 4
        and keys[-2] == "shares"
        and isinstance(keys[-3], int)
        and keys[-4] == "sourcing"
    ) and isinstance(keys[-1], str):
        return keys[:-1], keys[-1]
    return None


def _get(doc: Any, keys: Sequence[str | int]) -> Any:
    node = doc
    for key in keys:
        node = node[key]
    return node


def set_share(doc: dict, param: Param, share: float) -> None:
    """Give one source ``share`` and the entry's other sources the rest, in proportion to
    their shares as they stand (evenly when those are all 0), so the entry sums to 1."""
    mapping_keys, source = _share_entry(param)
    shares = _get(doc, mapping_keys)
    others = [s for s in shares if s != source]
    rest = sum(float(shares[s]) for s in others if _is_number(shares[s]))
    remaining = 1.0 - share
    for s in others:
        w = float(shares[s]) if _is_number(shares[s]) else 0.0
        shares[s] = round(remaining * (w / rest if rest > 0 else 1.0 / len(others)), 12)
    shares[source] = round(share, 12)


def drop_source(doc: dict, param: Param) -> None:
    """Share 0 for one source (unused: no purchases, no qualification cost, not a failover
    option); the entry's other sources are scaled back up to sum to 1."""
    mapping_keys, source = _share_entry(param)
    shares = _get(doc, mapping_keys)
    shares[source] = 0.0
    rest = sum(float(w) for s, w in shares.items() if s != source and _is_number(w))
    if rest > 0:
        for s in shares:
            if s != source and _is_number(shares[s]):
                shares[s] = round(float(shares[s]) / rest, 12)


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


# ----------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class OptimizationSpec:
    """A validated optimisation file (not yet checked against a scenario)."""

    base_strategy: str
    variables: tuple[Variable, ...]
    objective: Objective
    constraints: tuple[Constraint, ...] = ()
    base_block: dict | None = None  # a strategy written in the file (None: the scenario's)
    name: str = ""  # of the recommended strategy
    description: str = ""
    evaluations: int = DEFAULT_EVALUATIONS
    wall_seconds: float | None = None
    paths: int = DEFAULT_PATHS
    verify_top: int = DEFAULT_TOP
    verify_paths: int | None = None
    seed_offset: int = 1
    benchmarks: tuple[str, ...] | None = None
    startup_trials: int = DEFAULT_STARTUP
    batch: int = 1
    source: str = field(default="", compare=False)

    @property
    def recommended_name(self) -> str:
        if self.name:
            return self.name
        return (
            self.base_strategy if self.base_block is not None else f"{self.base_strategy}_optimized"
        )

    @property
    def fresh_paths(self) -> int:
        return self.verify_paths or 10 * self.paths

    def with_budget(
        self,
        evaluations: int | None = None,
        paths: int | None = None,
        verify_paths: int | None = None,
    ) -> OptimizationSpec:
        """The same search with another budget, paths per evaluation or fresh paths."""
        changes: dict[str, Any] = {}
        if evaluations is not None:
            changes["evaluations"] = int(evaluations)
        if paths is not None:
            changes["paths"] = int(paths)
        if verify_paths is not None:
            changes["verify_paths"] = int(verify_paths)
        return replace(self, **changes) if changes else self

    def search_identity(self) -> dict:
        """What decides the sequence of candidates and their figures (the journal's key):
        not the budget, the verification or the benchmarks, so a larger budget extends a
        finished search."""
        return {
            "base_strategy": self.base_strategy,
            "base_block": self.base_block,
            "variables": [v.to_json() for v in self.variables],
            "objective": self.objective.to_json(),
            "constraints": [c.to_json() for c in self.constraints],
            "paths": self.paths,
            "startup_trials": self.startup_trials,
            "batch": self.batch,
        }

    def to_json(self) -> str:
        data = self.search_identity()
        data.update(
            name=self.recommended_name,
            description=self.description,
            evaluations=self.evaluations,
            wall_seconds=self.wall_seconds,
            verify={
                "top": self.verify_top,
                "paths": self.fresh_paths,
                "seed_offset": self.seed_offset,
                "benchmarks": None if self.benchmarks is None else list(self.benchmarks),
            },
        )
        return json.dumps(data, sort_keys=True, default=str)

    def finite_size(self) -> float:
        size = 1.0
        for v in self.variables:
            size *= v.size()
        return size

    # -- against a scenario

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def base_document(self, scenario_doc: Mapping[str, Any]) -> dict:
        """The scenario document with the base strategy in place (written in the file, or
        the scenario's own), ``baseline`` left out (only chosen strategies are simulated)."""
        doc = copy.deepcopy(dict(scenario_doc))
        strategies = doc.get("strategies")
        if not isinstance(strategies, dict):
            strategies = {}
        if self.base_block is not None:
            if self.base_strategy in strategies:
                raise OptimizationError(
                    f"{self._where()}base_strategy.{self.base_strategy}: the scenario already has "
                    f"a strategy of that name; name the new one otherwise, or write "
                    f"base_strategy: {self.base_strategy} to start from the scenario's"
                )
            strategies = {**strategies, self.base_strategy: copy.deepcopy(self.base_block)}
        elif self.base_strategy not in strategies:
            known = list(strategies) or ["(none: the scenario defines no strategies)"]
            raise OptimizationError(
                f"{self._where()}base_strategy: {unknown('strategy', self.base_strategy, known)}"
            )
        doc["strategies"] = strategies
        return doc

    def benchmark_names(self, scenario_doc: Mapping[str, Any]) -> list[str]:
        strategies = scenario_doc.get("strategies")
        names = list(strategies) if isinstance(strategies, dict) else []
        if self.benchmarks is None:
            return names
        for i, b in enumerate(self.benchmarks):
            if b not in names:
                raise OptimizationError(
                    f"{self._where()}verify.benchmarks[{i}]: {unknown('strategy', b, names)}"
                )
        return list(self.benchmarks)

    def apply(self, base_doc: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
        """``base_doc`` with every variable's value set, in file order, then the binaries
        (a source dropped after its share was set stays dropped)."""
        doc = copy.deepcopy(dict(base_doc))
        for v in self.variables:
            if v.type == "binary" or v.name not in values:
                continue
            for p in v.params:
                if v.type == "shares":
                    set_share(doc, p, float(values[v.name]))
                else:
                    p.set(doc, values[v.name])
        for v in self.variables:
            if v.type == "binary" and v.name in values and not values[v.name]:
                for p in v.params:
                    drop_source(doc, p)
        return doc

    def block(self, doc: Mapping[str, Any]) -> dict:
        """The base strategy's block in a candidate document."""
        return copy.deepcopy(doc["strategies"][self.base_strategy])

    def prepare(self, scenario_doc: Mapping[str, Any]) -> dict:
        """Check the file against the scenario; return the base document.

        Every path must lie under ``strategies.<base_strategy>`` and exist there (its last
        key may be new); a ``shares`` or ``binary`` variable must name a source's share
        in a sourcing entry; every variable is tried at each end of its range (the others
        as written) and the scenario must load. Raises :class:`OptimizationError` listing
        every problem with its place.
        """
        base = self.base_document(scenario_doc)
        errors = Errors()
        for v in self.variables:
            for j, p in enumerate(v.params):
                place = f"{v.place}.path" + (f"[{j}]" if len(v.params) > 1 else "")
                head = ("strategies", self.base_strategy)
                if tuple(p.keys[:2]) != head or len(p.keys) < 3:
                    errors.add(
                        place,
                        f"{p.path}: an optimisation chooses a strategy, so paths lie under "
                        f"{format_path(head)} (e.g. {format_path((*head, 'buffer_days'))})",
                    )
                    continue
                why = p.check(base)
                if why:
                    errors.add(place, f"{p.path}: {why}")
                    continue
                if v.type in ("shares", "binary"):
                    entry = _share_entry(p)
                    if entry is None:
                        errors.add(
                            place,
                            f"{p.path}: a {v.type} variable names one source's share in a "
                            f"sourcing entry, e.g. {format_path((*head, 'sourcing', 0, 'shares', 'SOURCE'))}",
                        )
                        continue
                    shares = _get(base, entry[0])
                    if not isinstance(shares, dict):
                        errors.add(place, f"{format_path(entry[0])} must be a mapping of shares")
                        continue
                    if v.type == "shares" and len([s for s in shares if s != entry[1]]) < 1:
                        errors.add(
                            place,
                            f"{p.path}: the entry has no other source to take the rest of "
                            f"the share; add it to {format_path(entry[0])} (share 0 is fine)",
                        )
                    if v.type == "binary":
                        set_by = any(
                            w.type == "shares" and q.keys == p.keys
                            for w in self.variables
                            for q in w.params
                        )
                        written = shares.get(entry[1])
                        if not set_by and not (_is_number(written) and written > 0):
                            errors.add(
                                place,
                                f"{p.path}: the source's share is {_show(written)} in the base "
                                f"strategy, so qualifying it changes nothing; give it a share "
                                f"> 0 there or choose it with a shares variable",
                            )
        if errors:
            raise OptimizationError("\n".join(self._where() + e for e in errors.lines))
        try:
            load_scenario(base)
        except ScenarioError as exc:
            raise OptimizationError(
                "\n".join(f"{self._where()}base_strategy: {e}" for e in exc.errors)
            ) from None
        for v in self.variables:
            for value in v.corners():
                doc = self.apply(base, {v.name: value})
                try:
                    load_scenario(doc)
                except ScenarioError as exc:
                    for e in exc.errors:
                        errors.add(f"{v.place} ({v.name} = {_show(value)})", e)
        if errors:
            raise OptimizationError("\n".join(self._where() + e for e in errors.lines[:30]))
        return base


# ----------------------------------------------------------------------------- reading


def _read_variable(r: Reader, raw: Any, place: str, taken: dict) -> Variable | None:
    body = r.mapping(raw, place, "a mapping with path and type")
    if body is None:
        return None
    r.keys(body, place, VARIABLE_KEYS)
    kind = r.value(body, "type", place, _Choice(VARIABLE_TYPES), required=True)
    raw_paths = body.get("path")
    if raw_paths is None:
        r.error(
            f"{place}.path",
            "required key missing, must be a path into the scenario or a list of them",
        )
        return None
    listed = isinstance(raw_paths, list)
    texts = raw_paths if listed else [raw_paths]
    if not texts:
        r.error(f"{place}.path", "must name at least one path")
        return None
    params = []
    for j, text in enumerate(texts):
        where = f"{place}.path" + (f"[{j}]" if listed else "")
        if not isinstance(text, str):
            r.error(where, f"must be a path such as strategies.jic.buffer_days, got {_show(text)}")
            continue
        try:
            keys = parse_path(text)
        except SweepError as exc:
            r.error(where, str(exc))
            continue
        if not keys:
            r.error(where, "shock_scale is a sweep parameter, not a strategy setting")
            continue
        param = Param(keys)
        kind_here = body.get("type")
        earlier = taken.get(param.keys)
        # a binary (qualify or not) and a shares variable may name the same source's share
        if earlier is not None and {earlier[1], kind_here} != {"shares", "binary"}:
            r.error(where, f"{param.path} is already set by {earlier[0]}")
            continue
        taken[param.keys] = (place, kind_here)
        params.append(param)
    default_name = params[0].short_names()[0] if params else "variable"
    name = r.value(
        body,
        "name",
        place,
        _String(IDENTIFIER, "a name of letters, digits and '_'"),
        default=default_name,
    )
    if name is not _BAD and name in RESERVED:
        r.error(f"{place}.name", f"{name!r} is used by the evaluation dataset; choose another name")
    if kind is _BAD or name is _BAD or len(params) != len(texts):
        return None
    low = high = step = None
    log = False
    choices: tuple[Any, ...] = ()
    if kind in ("integer", "continuous", "shares"):
        for key in ("choices",):
            if key in body:
                r.error(f"{place}.{key}", f"a {kind} variable takes bounds, not choices")
        bounds = body.get("bounds")
        number = _Number(integer=kind == "integer")
        if kind == "shares":
            number = _Number(lo=0.0, hi=1.0, noun="a share")
        if not (isinstance(bounds, list) and len(bounds) == 2):
            r.error(
                f"{place}.bounds",
                f"must be [low, high], two {number.describe()}s, got {_show(bounds)}",
            )
            return None
        converted = [number.convert(b) for b in bounds]
        for i, (b, c) in enumerate(zip(bounds, converted, strict=True)):
            if c is _BAD:
                r.error(f"{place}.bounds[{i}]", f"must be {number.describe()}, got {_show(b)}")
        if _BAD in converted:
            return None
        low, high = converted
        if low > high:
            r.error(f"{place}.bounds", f"low {_show(bounds[0])} is above high {_show(bounds[1])}")
            return None
        step = r.value(
            body,
            "step",
            place,
            _Number(lo=0, lo_open=True, integer=kind == "integer"),
            default=None,
        )
        log = r.value(body, "log", place, _Flag(), default=False)
        if step is _BAD or log is _BAD:
            return None
        if log and (kind != "continuous" or low <= 0 or step):
            r.error(
                f"{place}.log",
                "a log scale needs a continuous variable with bounds > 0 and no step",
            )
            return None
        if step and kind != "integer" and high > low:
            count = (high - low) / step
            if abs(count - round(count)) > 1e-9:
                r.error(
                    f"{place}.step",
                    f"{_show(step)} does not divide the range {_show(low)}..{_show(high)} into whole steps",
                )
                return None
    elif kind == "choice":
        for key in ("bounds", "step", "log"):
            if key in body:
                r.error(f"{place}.{key}", "a choice variable takes choices, not bounds")
        raw_choices = body.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            r.error(
                f"{place}.choices", f"must be a non-empty list of values, got {_show(raw_choices)}"
            )
            return None
        for i, c in enumerate(raw_choices):
            if not (c is None or isinstance(c, (str, numbers.Real))):
                r.error(f"{place}.choices[{i}]", f"must be a string or a number, got {_show(c)}")
                return None
        if len({json.dumps(c) for c in raw_choices}) != len(raw_choices):
            r.error(f"{place}.choices", "choices repeat")
            return None
        choices = tuple(raw_choices)
    else:  # binary
        for key in ("bounds", "step", "log", "choices"):
            if key in body:
                r.error(f"{place}.{key}", "a binary variable takes no " + key + " (it is 0 or 1)")
    return Variable(name, kind, tuple(params), low, high, step, bool(log), choices, place)


@dataclass(frozen=True)
class _Flag:
    def describe(self) -> str:
        return "true or false"

    def convert(self, value: Any) -> Any:
        return value if isinstance(value, bool) else _BAD


def _read_constraints(r: Reader, raw: Any) -> list[Constraint]:
    if raw is None:
        return []
    items = r.sequence(
        raw, "constraints", "a list of constraints such as 'P95(lost_units) <= 20000'"
    )
    out: list[Constraint] = []
    for i, item in enumerate(items or []):
        place = f"constraints[{i}]"
        confidence = DEFAULT_CONFIDENCE
        text = item
        if isinstance(item, Mapping):
            r.keys(item, place, CONSTRAINT_KEYS)
            text = item.get("constraint")
            if text is None:
                r.error(
                    f"{place}.constraint", "required key missing, e.g. 'P95(lost_units) <= 20000'"
                )
                continue
            confidence = r.value(item, "confidence", place, _CONFIDENCE, default=DEFAULT_CONFIDENCE)
            if confidence is _BAD:
                continue
            place = f"{place}.constraint"
        try:
            c = parse_constraint(text, confidence)
        except OptimizationError as exc:
            r.error(place, str(exc))
            continue
        if any(c.statistic == o.statistic and c.op == o.op for o in out):
            r.error(place, f"{c.statistic.text} {c.op} is constrained twice")
            continue
        out.append(c)
    return out


def _read_strategy_ref(r: Reader, raw: Any) -> tuple[str | None, dict | None]:
    if isinstance(raw, str) and raw.strip():
        return raw, None
    if isinstance(raw, Mapping) and len(raw) == 1:
        name, block = next(iter(raw.items()))
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            r.error(
                "base_strategy",
                f"the new strategy's name must be letters, digits and '_', got {_show(name)}",
            )
            return None, None
        if block is None:
            block = {}
        if not isinstance(block, Mapping):
            r.error(
                f"base_strategy.{name}",
                f"must be a strategy block (description, buffer_days, stock, sourcing), got {_show(block)}",
            )
            return None, None
        return name, copy.deepcopy(dict(block))
    r.error(
        "base_strategy",
        "must name a strategy of the scenario, or be one new strategy written here "
        f"({{NAME: {{stock: [...], sourcing: [...]}}}}), got {_show(raw)}",
    )
    return None, None


def read_optimization(data: Any, source: str = "") -> OptimizationSpec:
    """An :class:`OptimizationSpec` from a parsed document; every problem is reported at
    once as an :class:`OptimizationError` (``FILE: place: problem`` lines)."""
    where = f"{source}: " if source else ""
    if not isinstance(data, Mapping):
        raise OptimizationError(
            f"{where}an optimisation file is a mapping with base_strategy, variables, "
            f"objective, constraints, budget, paths and verify, got {_show(data)}"
        )
    errors = Errors()
    r = Reader(errors)
    r.keys(data, "", TOP_KEYS)
    description = r.value(
        data, "description", "", _String(noun="a string", allow_empty=True), default=""
    )
    name = r.value(
        data,
        "name",
        "",
        _String(IDENTIFIER, "a strategy name of letters, digits and '_'"),
        default="",
    )
    base_name, base_block = (None, None)
    if "base_strategy" not in data:
        r.error("base_strategy", "required key missing: the strategy the candidates start from")
    else:
        base_name, base_block = _read_strategy_ref(r, data["base_strategy"])
    variables: list[Variable] = []
    raw_vars = data.get("variables")
    if raw_vars is None:
        r.error("variables", "required key missing: a list of {path, type, bounds or choices}")
    else:
        items = r.sequence(raw_vars, "variables", "a list of {path, type, bounds or choices}")
        taken: dict = {}
        for i, item in enumerate(items or []):
            v = _read_variable(r, item, f"variables[{i}]", taken)
            if v is not None:
                variables.append(v)
        if items == []:
            r.error("variables", "must list at least one variable")
        names = [v.name for v in variables]
        for v in variables:
            if names.count(v.name) > 1:
                r.error(
                    f"{v.place}.name", f"{v.name!r} names two variables; give each its own name"
                )
    objective = None
    if "objective" not in data:
        r.error("objective", "required key missing, e.g. mean_total_cost")
    else:
        try:
            objective = parse_objective(data["objective"])
        except OptimizationError as exc:
            r.error("objective", str(exc))
    constraints = _read_constraints(r, data.get("constraints"))
    budget = data.get("budget", {})
    evaluations, wall = DEFAULT_EVALUATIONS, None
    if r.mapping(budget, "budget", "a mapping {evaluations, wall_seconds}") is not None:
        r.keys(budget, "budget", BUDGET_KEYS)
        evaluations = r.value(
            budget, "evaluations", "budget", _POSITIVE_INT, default=DEFAULT_EVALUATIONS
        )
        wall = r.value(budget, "wall_seconds", "budget", _POSITIVE, default=None)
    paths = r.value(data, "paths", "", _POSITIVE_INT, default=DEFAULT_PATHS)
    verify = data.get("verify", {})
    top, fresh, offset, benchmarks = DEFAULT_TOP, None, 1, None
    if r.mapping(verify, "verify", "a mapping {top, paths, seed_offset, benchmarks}") is not None:
        r.keys(verify, "verify", VERIFY_KEYS)
        top = r.value(verify, "top", "verify", _POSITIVE_INT, default=DEFAULT_TOP)
        fresh = r.value(verify, "paths", "verify", _POSITIVE_INT, default=None)
        offset = r.value(verify, "seed_offset", "verify", _SEED_OFFSET, default=1)
        raw_b = verify.get("benchmarks")
        if raw_b is not None:
            if isinstance(raw_b, list) and all(isinstance(b, str) for b in raw_b):
                benchmarks = tuple(raw_b)
            else:
                r.error(
                    "verify.benchmarks", f"must be a list of strategy names, got {_show(raw_b)}"
                )
    search = data.get("search", {})
    startup, batch = DEFAULT_STARTUP, 1
    if r.mapping(search, "search", "a mapping {startup_trials, batch}") is not None:
        r.keys(search, "search", SEARCH_KEYS)
        startup = r.value(
            search, "startup_trials", "search", _Number(lo=0, integer=True), default=DEFAULT_STARTUP
        )
        batch = r.value(search, "batch", "search", _POSITIVE_INT, default=1)
    if errors:
        raise OptimizationError("\n".join(where + e for e in errors.lines))
    return OptimizationSpec(
        base_strategy=base_name,
        variables=tuple(variables),
        objective=objective,
        constraints=tuple(constraints),
        base_block=base_block,
        name=name,
        description=description,
        evaluations=evaluations,
        wall_seconds=wall,
        paths=paths,
        verify_top=top,
        verify_paths=fresh,
        seed_offset=offset,
        benchmarks=benchmarks,
        startup_trials=startup,
        batch=batch,
        source=source,
    )


def load_optimization(source: str | Path | Mapping[str, Any]) -> OptimizationSpec:
    """Read and check an optimisation file (or an already parsed mapping)."""
    if isinstance(source, Mapping):
        return read_optimization(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OptimizationError(
            f"{path}: cannot read optimisation file ({exc.strerror or exc})"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise OptimizationError(
            f"{path}{at}: YAML syntax error: {getattr(exc, 'problem', exc)}"
        ) from exc
    return read_optimization(data, str(path))
