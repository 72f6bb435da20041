"""Optimisation: the least-cost strategy that meets a risk target.

``spec`` reads the optimisation file (decision variables as paths into the scenario,
objective, constraints, budget, verification) and checks it against the scenario;
``search`` runs Optuna's seeded TPE sampler over the variables with every candidate
simulated on the same paths (common random numbers), resumable from a journal; ``verify``
re-simulates the best candidates on fresh paths with the scenario's strategies as
benchmarks, reports every figure with its confidence interval, builds the evaluation
dataset and the text a person reads. :func:`resilience.api.optimize` wires them to the
engine; ``resilience optimize`` is the command (docs/optimize.md).
"""

from resilience.optimize.output import format_text, ranked, result_records
from resilience.optimize.search import (
    Evaluation,
    Journal,
    SearchOutcome,
    candidate_documents,
    journal_path,
    run_search,
)
from resilience.optimize.spec import (
    Constraint,
    Objective,
    OptimizationError,
    OptimizationSpec,
    Statistic,
    Variable,
    load_optimization,
    parse_constraint,
    parse_objective,
)
from resilience.optimize.verify import (
    Interval,
    OptimizationResult,
    Verified,
    evaluation_dataset,
    strategy_yaml,
    verify_candidates,
)

__all__ = [
    "Constraint",
    "Evaluation",
    "Interval",
    "Journal",
    "Objective",
    "OptimizationError",
    "OptimizationResult",
    "OptimizationSpec",
    "SearchOutcome",
    "Statistic",
    "Variable",
    "Verified",
    "candidate_documents",
    "evaluation_dataset",
    "format_text",
    "journal_path",
    "load_optimization",
    "parse_constraint",
    "parse_objective",
    "ranked",
    "result_records",
    "run_search",
    "strategy_yaml",
    "verify_candidates",
]
