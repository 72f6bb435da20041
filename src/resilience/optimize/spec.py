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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from resilience.errors import ScenarioError
from resilience.optimize.constraints import (
    DEFAULT_CONFIDENCE,
    METRICS,
    Constraint,
    Objective,
    OptimizationError,
    Statistic,
    parse_constraint,
    parse_objective,
)
from resilience.optimize.variables import (
    Variable,
    _get,
    _is_number,
    _read_variable,
    _share_entry,
    drop_source,
    set_share,
)
from resilience.scenario import load_scenario
from resilience.scenario.values import (
    _BAD,
    Errors,
    Reader,
    _Number,
    _show,
    _String,
    unknown,
)
from resilience.sweeps.paths import IDENTIFIER, format_path

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
BUDGET_KEYS = ("evaluations", "wall_seconds")
VERIFY_KEYS = ("top", "paths", "seed_offset", "benchmarks")
SEARCH_KEYS = ("startup_trials", "batch")
CONSTRAINT_KEYS = ("constraint", "confidence")


DEFAULT_PATHS = 10_000
DEFAULT_EVALUATIONS = 50
DEFAULT_TOP = 3
DEFAULT_STARTUP = 8

_POSITIVE_INT = _Number(lo=1, integer=True)
_POSITIVE = _Number(lo=0.0, lo_open=True)
_CONFIDENCE = _Number(lo=0.0, hi=1.0, lo_open=True, hi_open=True, noun="a confidence level")
_SEED_OFFSET = _Number(lo=1, hi=2**64 - 1, integer=True)


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
