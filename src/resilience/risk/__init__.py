"""Risk analysis on results datasets: quantiles (VaR), CVaR, exceedance, paired comparisons.

Everything here is a pure function of xarray objects. The statistics are computed along
one dimension (``dim``, by default ``"path"``) and broadcast over every other dimension
(``strategy``, ``node``, ...). Private ``_``-named kernels work on 1-D numpy arrays; the
public wrappers feed them through :func:`xarray.apply_ufunc` with
``dask="parallelized"``, so dask-backed input stays lazy (the reduced dimension is
rechunked into one chunk, which order statistics need). Means, ratios and proportions are
plain xarray reductions and are lazy without rechunking.

Estimates are returned as an *estimate dataset*: data variables ``estimate``, ``lower``,
``upper`` (confidence interval), ``se`` (standard error) and ``n`` (number of non-NaN
values used), plus attributes naming the statistic and the interval method. NaN values
(e.g. ``days_to_first_shortage`` where no shortage happened) are left out, so such
statistics are conditional on the event.

Orientation. Losses (cost, lost units, stockout days) are bad in their *upper* tail;
"higher is better" metrics (fill rate, ...) are bad in their *lower* tail. The registry
:data:`HIGHER_IS_BETTER` (or a ``higher_is_better`` attribute on the variable) decides,
and every tail-sensitive function takes ``tail="auto" | "upper" | "lower"``. VaR and CVaR
at level ``a`` always describe the bad ``1 - a`` tail: for a loss VaR95 is P95, for the
fill rate it is P5 and CVaR95 is the mean of the worst 5 % of fill rates.

Conventions shared by every estimator (pinned by ``tests/test_risk.py``):

- Quantiles default to the inverted empirical CDF, ``Q(q) = X_(ceil(n q))``, the usual
  VaR definition; the CVaR estimator and the bootstrap use the same order statistic (for
  lower tails, computed as upper tails of -X, up to one order statistic), so point
  estimates and intervals agree.
- CVaR is the Rockafellar-Uryasev tail mean of the empirical distribution, splitting the
  atom at the VaR so the tail holds exactly ``n (1 - a)`` paths.
- Confidence intervals are two-sided at ``confidence`` (default 0.95).

Layout (private-by-convention modules, everything public is re-exported here):
``base`` (orientation, checks, shared xarray plumbing), ``kernels`` (1-D numpy kernels),
``estimators`` (quantile, VaR, CVaR, means, fill rate, proportions and the Wilson
interval), ``paired`` (paired differences, compare), ``pareto`` (cost-risk frontier,
Pareto dominance), ``tables`` (risk table, convergence), ``format`` (plain-text
rendering) and ``accessor`` (the ``ds.risk`` accessor, registered by ``import
resilience``).
"""

from resilience.risk.accessor import RiskAccessor
from resilience.risk.base import HIGHER_IS_BETTER, bad_tail, check_strategy, get_variable
from resilience.risk.estimators import (
    breach_probability,
    cvar,
    exceedance,
    fill_rate,
    mean,
    proportion,
    quantile,
    ratio_of_sums,
    value_at_risk,
    wilson_interval,
)
from resilience.risk.format import (
    format_cell_parts,
    format_comparison,
    format_number,
    format_risk_table,
)
from resilience.risk.kernels import order_statistic_ranks
from resilience.risk.paired import compare, paired_differences
from resilience.risk.pareto import frontier, pareto_dominated
from resilience.risk.tables import DEFAULT_TABLE_COLUMNS, convergence, paths_needed, risk_table

# Internals that tests/test_risk.py pins under their old names; not API.
from resilience.risk.format import _cell  # noqa: F401  isort: skip
from resilience.risk.format import format_number as _fmt  # noqa: F401  isort: skip
from resilience.risk.kernels import _tail_size, _weighted_tail_stats  # noqa: F401  isort: skip

__all__ = [
    "HIGHER_IS_BETTER",
    "DEFAULT_TABLE_COLUMNS",
    "RiskAccessor",
    "bad_tail",
    "breach_probability",
    "check_strategy",
    "compare",
    "convergence",
    "cvar",
    "exceedance",
    "fill_rate",
    "format_cell_parts",
    "format_comparison",
    "format_number",
    "format_risk_table",
    "frontier",
    "get_variable",
    "mean",
    "order_statistic_ranks",
    "paired_differences",
    "pareto_dominated",
    "paths_needed",
    "proportion",
    "quantile",
    "ratio_of_sums",
    "risk_table",
    "value_at_risk",
    "wilson_interval",
]
