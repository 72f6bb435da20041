"""An optimisation run: search, verify on fresh paths, recommend, write.

The wiring of :func:`resilience.api.optimize`; the simulation itself is the ``simulate``
callable it is given, so this package never imports the API.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from resilience.engine.execution import Execution, log_once, shared_cluster
from resilience.optimize.output import ranked
from resilience.optimize.search import Journal, candidate_documents, journal_path, run_search
from resilience.optimize.spec import OptimizationSpec, load_optimization
from resilience.optimize.verify import OptimizationResult, evaluation_dataset, verify_candidates
from resilience.results import write_dataset
from resilience.results.store import check_output
from resilience.scenario import Scenario


def run_optimization(
    base: Scenario,
    optimization,
    simulate: Callable,
    *,
    seed: int = 0,
    out: str | Path | None = None,
    overwrite: bool = False,
    evaluations: int | None = None,
    paths: int | None = None,
    verify_paths: int | None = None,
    execution: Execution | None = None,
) -> OptimizationResult:
    """See :func:`resilience.api.optimize`; ``simulate`` runs one set of candidates."""
    started = time.perf_counter()
    execution = execution or Execution()
    scenario_doc = yaml.safe_load(base.source_text)
    spec = (
        optimization
        if isinstance(optimization, OptimizationSpec)
        else load_optimization(optimization)
    )
    spec = spec.with_budget(evaluations, paths, verify_paths)
    base_doc = spec.prepare(scenario_doc)
    benchmarks = spec.benchmark_names(scenario_doc)
    if out is not None:
        out = Path(out)
        check_output(out, overwrite)  # before the search, not after it
    identity = {
        "scenario_sha256": hashlib.sha256((base.source_text or "").encode()).hexdigest(),
        "seed": int(seed),
        "search": spec.search_identity(),
    }
    journal = Journal(journal_path(out) if out is not None else None, identity, overwrite)
    fresh_seed = (int(seed) + spec.seed_offset) % 2**64
    seconds: dict[str, float] = {}
    # one cluster for every evaluation, not one started and stopped per candidate
    with shared_cluster(execution) as execution:
        search_execution = dataclasses.replace(execution, progress=False)
        quiet = log_once()  # one "running on ..." line for the run, not one per candidate

        def evaluate(doc, names):
            with quiet():
                return simulate(doc, spec.paths, seed, strategies=names, execution=search_execution)

        with journal:
            outcome = run_search(
                spec, base_doc, evaluate, seed=seed, journal=journal, currency=base.currency
            )
            seconds["search"] = outcome.seconds
            order = ranked(outcome.evaluations, spec)
            pool = [e for e in order if e.feasible][: spec.verify_top]
            searched_feasible = bool(pool)
            if not pool:  # none feasible: verify the nearest misses, recommend nothing
                pool = order[: spec.verify_top]
            taken = set(benchmarks)
            names, blocks = [], {}
            for e in pool:
                name = f"evaluation_{e.number}"
                while name in taken:
                    name += "_"
                taken.add(name)
                names.append((name, e.number))
                blocks[name] = e.block
            for b in benchmarks:
                names.append((b, None))
                blocks[b] = scenario_doc["strategies"][b]
            verify_started = time.perf_counter()
            fresh = simulate(
                candidate_documents(base_doc, blocks),
                spec.fresh_paths,
                fresh_seed,
                strategies=[n for n, _ in names],
                execution=execution,
            )
            verified, recommended = verify_candidates(spec, fresh, names)
            if not searched_feasible:
                recommended = None
            seconds["verify"] = time.perf_counter() - verify_started
            block = None
            if recommended is not None:
                e = next(x for x in outcome.evaluations if x.number == recommended.evaluation)
                block = copy.deepcopy(e.block)
                written = str(block.get("description") or "").strip()
                found = (
                    f"Minimises {spec.objective.text}"
                    + (
                        f" subject to {'; '.join(c.text for c in spec.constraints)}"
                        if spec.constraints
                        else ""
                    )
                    + f": resilience optimize evaluation {e.number} (seed {seed}, "
                    f"{spec.paths:,} paths), verified on {spec.fresh_paths:,} fresh paths "
                    f"(seed {fresh_seed})."
                )
                block = {
                    "description": f"{written} {found}".strip(),
                    **{k: v for k, v in block.items() if k != "description"},
                }
            result = OptimizationResult(
                spec=spec,
                scenario_name=base.name,
                seed=int(seed),
                evaluations=outcome.evaluations,
                stopped=outcome.stopped,
                verified=verified,
                recommended=recommended,
                block=block,
                seconds=seconds,
                replayed=outcome.replayed,
                currency=base.currency,
                out=None if out is None else str(out),
            )
            seconds["total"] = time.perf_counter() - started
            result.dataset = evaluation_dataset(result)
            if out is not None:
                write_dataset(result.dataset, out, overwrite=overwrite)
                journal.remove()
    return result
