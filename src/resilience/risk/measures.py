"""The risk measures a decision summary can rank on, and the names of its figures and
verdicts.

Kept apart from :mod:`resilience.risk.decision` so the statistics and the words and tables
(:mod:`resilience.risk.decision_format`) share one copy without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A risk measure the summary can rank on.

    variable : the per-path variable it reads; kind : "cvar", "quantile", "mean" or
    "probability" (of variable > 0); level : the CVaR level or quantile; higher_is_better :
    whether a larger value is safer (fill rate); label : how the paragraph names it;
    per : the unit "cost per ..." divides by; avoided : the paragraph's words for an
    amount of it avoided ({x}: the amount).
    """

    variable: str
    kind: str
    level: float
    higher_is_better: bool
    label: str
    per: str
    avoided: str = "{x} less risk"


#: name -> Measure; the names are what ``--risk-measure`` accepts
RISK_MEASURES: dict[str, Measure] = {
    "cvar95_lost_units": Measure(
        "lost_units",
        "cvar",
        0.95,
        False,
        "lost units in the worst 5% of years (CVaR95)",
        "unit",
        "{x} fewer units lost in the worst 5% of years",
    ),
    "p95_lost_units": Measure(
        "lost_units",
        "quantile",
        0.95,
        False,
        "P95 lost units (a 1-in-20 year)",
        "unit",
        "{x} fewer units lost in a 1-in-20 year",
    ),
    "p99_lost_units": Measure(
        "lost_units",
        "quantile",
        0.99,
        False,
        "P99 lost units (a 1-in-100 year)",
        "unit",
        "{x} fewer units lost in a 1-in-100 year",
    ),
    "p5_fill_rate": Measure(
        "fill_rate",
        "quantile",
        0.05,
        True,
        "P5 fill rate (a 1-in-20 year)",
        "point of fill rate",
        "{x} more fill rate in a 1-in-20 year",
    ),
    "p_stockout": Measure(
        "stockout_days",
        "probability",
        0.0,
        False,
        "probability of any stockout in a year",
        "point of probability",
        "{x} lower probability of any stockout",
    ),
    "expected_lost_margin": Measure(
        "lost_sales_cost",
        "mean",
        0.0,
        False,
        "expected lost margin",
        "unit of margin",
        "{x} less expected lost margin",
    ),
}

#: the level of the tail-cost figure
TAIL_COST_LEVEL = 0.95

# figures of the summary, in table order
FIGURES = ("extra_cost", "tail_cost_change", "risk_avoided", "cost_per_risk_avoided")
VERDICTS = (
    "baseline",
    "cheaper and safer",
    "efficient",
    "dominated",
    "costlier, no safer",
    "not distinguishable",
)
