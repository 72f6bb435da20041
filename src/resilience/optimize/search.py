"""The search: Optuna's TPE sampler over the decision variables, on common random numbers.

Every candidate is simulated with the same seed and the same number of paths, so two
candidates see exactly the same outages, shocks and demand and their difference is the
difference of their decisions (common random numbers): the search compares candidates
far more precisely than independent runs of the same size would.

Why Optuna: its TPE sampler handles mixed integer / continuous / categorical spaces
natively, makes good use of few evaluations (each one is a Monte Carlo run), takes
constraints through ``constraints_func`` (a feasible candidate always ranks above an
infeasible one, and infeasible ones by how far they miss), is seeded for a reproducible
sequence of proposals, and its ask-and-tell interface lets the engine simulate a batch
of candidates together.

Resume. Each evaluated batch is appended to a JSON-lines journal written to a temporary
sibling, fsynced and renamed into place, so the journal on disk always holds whole
batches. A rerun with the same command replays the search: the seeded sampler proposes
the same candidates in the same order, and each one found in the journal is told its
recorded figures instead of being simulated again. The rerun therefore ends exactly as an
uninterrupted run would. The journal is keyed by everything that decides the proposals
and figures (scenario text, the search part of the optimisation file, seed, paths); not
by the budget, so a finished search rerun with a larger budget continues where it ended.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from resilience._version import __version__
from resilience.errors import ScenarioError
from resilience.optimize.spec import OptimizationError, OptimizationSpec
from resilience.optimize.verify import candidate_figures
from resilience.scenario import load_scenario

log = logging.getLogger(__name__)

__all__ = [
    "Evaluation",
    "Journal",
    "SearchOutcome",
    "candidate_documents",
    "journal_path",
    "run_search",
]

#: consecutive proposals of already evaluated (or invalid) candidates after which the
#: search is taken to have converged
STALL_LIMIT = 60
JOURNAL_KIND = "resilience-optimize-journal"

Evaluate = Callable[[dict, Sequence[str]], xr.Dataset]


@dataclass
class Evaluation:
    """One proposal of the search (an Optuna trial) and what it scored."""

    number: int
    values: dict[str, Any]
    status: str  # "ok" (simulated), "duplicate" (an evaluated strategy again), "invalid"
    objective: float | None = None
    constraints: tuple[float, ...] = ()
    feasible: bool = False
    block: dict | None = None
    duplicate_of: int | None = None
    message: str = ""

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "values": self.values,
            "status": self.status,
            "objective": self.objective,
            "constraints": list(self.constraints),
            "feasible": self.feasible,
            "block": self.block,
            "duplicate_of": self.duplicate_of,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        return cls(
            int(data["number"]),
            dict(data["values"]),
            str(data["status"]),
            None if data.get("objective") is None else float(data["objective"]),
            tuple(float(x) if x is not None else math.nan for x in data.get("constraints", [])),
            bool(data.get("feasible", False)),
            data.get("block"),
            data.get("duplicate_of"),
            str(data.get("message", "")),
        )


@dataclass
class SearchOutcome:
    evaluations: list[Evaluation]
    stopped: str
    replayed: int = 0
    simulated: int = 0  # simulated by this run (not read back)
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- journal


def journal_path(out: str | os.PathLike) -> Path:
    """``.OUT.optimize.jsonl`` beside ``OUT``."""
    out = Path(out)
    return out.parent / f".{out.name}.optimize.jsonl"


class Journal:
    """The evaluated candidates of one search, on disk (``path`` None: in memory only)."""

    def __init__(self, path: Path | None, identity: dict, overwrite: bool = False):
        self.path = None if path is None else Path(path)
        self.identity = {**identity, "resilience_version": __version__}
        self.overwrite = overwrite
        self.entries: dict[int, dict] = {}
        self._lock = None

    def __enter__(self) -> Journal:
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        self._lock = open(lock, "w")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise OptimizationError(
                f"another optimisation is writing to {self.path}; wait for it to finish"
            ) from None
        if self.path.exists():
            header, entries = self._read()
            if header != self.identity:
                if not self.overwrite:
                    diff = [k for k in self.identity if (header or {}).get(k) != self.identity[k]]
                    self.__exit__()
                    raise OptimizationError(
                        f"{self.path} holds the evaluations of a different optimisation (its "
                        f"{', '.join(diff) or 'format'} differ); pass --overwrite to discard "
                        f"them, or rerun that optimisation's command to finish it"
                    )
                entries = {}
            self.entries = entries
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _read(self) -> tuple[dict | None, dict[int, dict]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise OptimizationError(f"cannot read the journal {self.path}: {exc}") from exc
        header, entries = None, {}
        for i, line in enumerate(lines):
            try:
                data = json.loads(line)
            except ValueError:
                break  # written whole by rename, so only a foreign file can end badly
            if i == 0:
                header = data.get("identity") if data.get("kind") == JOURNAL_KIND else None
                continue
            entries[int(data["number"])] = data
        return header, entries

    def record(self, evaluations: Sequence[Evaluation]) -> None:
        """Add ``evaluations`` and rewrite the journal atomically (temporary + fsync + rename)."""
        for e in evaluations:
            self.entries[e.number] = e.to_json()
        if self.path is None:
            return
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(
                json.dumps({"kind": JOURNAL_KIND, "identity": self.identity}, sort_keys=True) + "\n"
            )
            for n in sorted(self.entries):
                f.write(json.dumps(self.entries[n], sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def remove(self) -> None:
        if self.path is None:
            return
        for p in (self.path, self.path.with_name(self.path.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


# ----------------------------------------------------------------------------- candidates


def candidate_documents(base_doc: Mapping[str, Any], blocks: Mapping[str, dict]) -> dict:
    """A scenario document whose strategies are exactly ``blocks`` (name -> block): the
    network is the scenario's, so every strategy keeps the same random numbers."""
    doc = copy.deepcopy(dict(base_doc))
    doc.pop("baseline", None)
    doc["strategies"] = {name: copy.deepcopy(block) for name, block in blocks.items()}
    return doc


def _key(block: dict) -> str:
    return json.dumps(block, sort_keys=True, default=str)


def _import_optuna():
    try:
        import optuna  # heavy (SQLAlchemy, alembic): imported when a search starts
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise OptimizationError("the optimiser needs Optuna: pip install 'optuna>=3.6,<5'") from exc
    return optuna


def _sampler(optuna, spec: OptimizationSpec, seed: int):
    def constraints(trial) -> list[float]:
        return list(trial.user_attrs.get("violations", [0.0] * len(spec.constraints)))

    return optuna.samplers.TPESampler(
        seed=int(seed) % 2**32,
        n_startup_trials=spec.startup_trials,
        multivariate=True,
        constant_liar=spec.batch > 1,
        constraints_func=constraints if spec.constraints else None,
    )


def _describe(spec: OptimizationSpec, e: Evaluation, currency: str = "") -> str:
    from resilience.optimize.output import _value_text, fmt_value

    values = ", ".join(f"{v.name}={_value_text(v, e.values.get(v.name))}" for v in spec.variables)
    if e.status == "invalid":
        return f"{values}: invalid ({e.message})"
    figs = [f"{spec.objective.text} {fmt_value(e.objective, spec.objective.units, currency)}"]
    figs += [
        f"{c.statistic.text} {fmt_value(x, c.statistic.units, currency)}"
        for c, x in zip(spec.constraints, e.constraints, strict=True)
    ]
    tail = "feasible" if e.feasible else "infeasible"
    if e.status == "duplicate":
        tail += f", as evaluation {e.duplicate_of}"
    return f"{values}: {', '.join(figs)} ({tail})"


def _triage(
    proposals: list, journal: Journal, spec: OptimizationSpec, base_doc, by_key: dict
) -> tuple[list[Evaluation], list[Evaluation], int]:
    """Each proposal of one batch as an evaluation: read back from the journal, a duplicate
    of a candidate already seen, invalid for the scenario, or one to simulate (``todo``);
    with how many were read back."""
    replayed = 0
    batch: list[Evaluation] = []
    todo: list[Evaluation] = []
    for trial, values in proposals:
        recorded = journal.entries.get(trial.number)
        if recorded is not None:
            e = Evaluation.from_json(recorded)
            if json.dumps(e.values, sort_keys=True) != json.dumps(values, sort_keys=True):
                raise OptimizationError(
                    f"the journal {journal.path} does not match this search at "
                    f"evaluation {trial.number} (it recorded {e.values}, the search "
                    f"proposes {values}); pass --overwrite to start afresh"
                )
            batch.append(e)
            replayed += 1
            if e.status == "ok":
                by_key.setdefault(_key(e.block), e)
            continue
        doc = spec.apply(base_doc, values)
        block = spec.block(doc)
        e = Evaluation(trial.number, values, "ok", block=block)
        earlier = by_key.get(_key(block))
        if earlier is None:
            earlier = next((o for o in todo if _key(o.block) == _key(block)), None)
        if earlier is not None:
            e.status, e.duplicate_of = "duplicate", earlier.number
        else:
            try:
                load_scenario(candidate_documents(base_doc, {"candidate": block}))
            except ScenarioError as exc:
                e.status, e.message = "invalid", "; ".join(exc.errors)[:500]
                e.block = None
            else:
                todo.append(e)
        batch.append(e)
    return batch, todo, replayed


def run_search(
    spec: OptimizationSpec,
    base_doc: Mapping[str, Any],
    evaluate: Evaluate,
    *,
    seed: int,
    journal: Journal | None = None,
    currency: str = "",
) -> SearchOutcome:
    """Run the seeded TPE search until the budget (distinct simulated candidates), the
    wall-clock limit, or convergence; ``evaluate(doc, strategy_names)`` simulates the
    named strategies of ``doc`` on the search paths and seed."""
    optuna = _import_optuna()
    from optuna.exceptions import ExperimentalWarning
    from optuna.trial import TrialState

    journal = journal or Journal(None, {})
    started = time.perf_counter()
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            study = optuna.create_study(direction="minimize", sampler=_sampler(optuna, spec, seed))
        evaluations: list[Evaluation] = []
        by_key: dict[str, Evaluation] = {}
        seen_values: set[str] = set()
        simulated = replayed = fresh = stall = 0
        size = spec.finite_size()
        stopped = ""
        while True:
            if simulated >= spec.evaluations:
                stopped = f"budget of {spec.evaluations} evaluations"
                break
            if spec.wall_seconds is not None and time.perf_counter() - started > spec.wall_seconds:
                stopped = f"wall-clock limit of {spec.wall_seconds:g} s"
                break
            if len(seen_values) >= size:
                stopped = f"every one of the {int(size)} possible candidates was proposed"
                break
            if stall >= STALL_LIMIT:
                stopped = (
                    f"converged: the last {STALL_LIMIT} proposals were candidates already evaluated"
                )
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                trials = [study.ask() for _ in range(spec.batch)]
                proposals = [(t, {v.name: v.suggest(t) for v in spec.variables}) for t in trials]
            batch, todo, n_replayed = _triage(proposals, journal, spec, base_doc, by_key)
            replayed += n_replayed
            if todo:
                names = {f"candidate_{e.number}": e for e in todo}
                ds = evaluate(
                    candidate_documents(base_doc, {n: e.block for n, e in names.items()}),
                    list(names),
                )
                for name, e in names.items():
                    e.objective, e.constraints = candidate_figures(spec, ds, name)
                    e.feasible = all(
                        c.met(x) for c, x in zip(spec.constraints, e.constraints, strict=True)
                    )
                    by_key[_key(e.block)] = e
                fresh += len(todo)
            for e in batch:
                if e.status == "duplicate" and e.objective is None:
                    src = by_key.get(_key(e.block))
                    e.objective, e.constraints, e.feasible = (
                        src.objective,
                        src.constraints,
                        src.feasible,
                    )
            new = [e for e in batch if e.number not in journal.entries]
            if new:
                journal.record(new)
            for (trial, _), e in zip(proposals, batch, strict=True):
                if e in todo:
                    log.info("evaluation %d: %s", e.number, _describe(spec, e, currency))
                evaluations.append(e)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ExperimentalWarning)
                    if e.status == "invalid":
                        study.tell(trial, state=TrialState.FAIL)
                    else:
                        trial.set_user_attr(
                            "violations",
                            [
                                c.violation(x)
                                for c, x in zip(spec.constraints, e.constraints, strict=True)
                            ],
                        )
                        study.tell(trial, e.objective)
                seen_values.add(json.dumps(e.values, sort_keys=True))
            n_sim = sum(1 for e in batch if e.status == "ok")
            simulated += n_sim
            stall = 0 if n_sim else stall + len(batch)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return SearchOutcome(
        evaluations,
        stopped,
        replayed=replayed,
        simulated=fresh,
        seconds=time.perf_counter() - started,
    )
