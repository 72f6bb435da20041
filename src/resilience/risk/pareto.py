"""Cost-risk frontier across strategies and Pareto dominance.

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import xarray as xr

from resilience.risk.base import RiskMeasure, TailChoice, _pct, _units, bad_tail, get_variable
from resilience.risk.estimators import cvar, mean, value_at_risk


def pareto_dominated(cost: Sequence[float], risk: Sequence[float]) -> np.ndarray:
    """Which points are dominated when both cost and risk are to be minimised.

    Point i is dominated when some j has c_j <= c_i and r_j <= r_i with at least one
    strict inequality. Identical points do not dominate each other; NaN points are
    neither dominated nor dominating.

    Returns
    -------
    numpy.ndarray of bool
    """
    c = np.asarray(cost, dtype=np.float64)
    r = np.asarray(risk, dtype=np.float64)
    if c.shape != r.shape or c.ndim != 1:
        raise ValueError("cost and risk must be 1-D arrays of the same length")
    ok = ~(np.isnan(c) | np.isnan(r))
    le = (c[None, :] <= c[:, None]) & (r[None, :] <= r[:, None])
    lt = (c[None, :] < c[:, None]) | (r[None, :] < r[:, None])
    dom = le & lt & ok[None, :] & ok[:, None]
    return dom.any(axis=1)


def frontier(
    ds: xr.Dataset,
    *,
    cost: str = "total_cost",
    risk: str = "lost_units",
    measure: RiskMeasure = "cvar",
    level: float = 0.95,
    tail: TailChoice = "auto",
    dim: Hashable = "path",
    confidence: float = 0.95,
) -> xr.Dataset:
    """Cost-risk frontier across strategies.

    x = E[cost] (mean with normal interval), y = a risk figure of ``risk``: its mean,
    VaR_a or CVaR_a (bad tail per :func:`bad_tail`). A strategy is dominated when another
    is at least as cheap and at least as safe and strictly better in one (see
    :func:`pareto_dominated`); for higher-is-better risk metrics "safer" means higher.
    Computes (dominance needs the numbers).

    Returns
    -------
    xarray.Dataset
        Over ``strategy``: ``expected_cost`` and ``risk_value`` with ``_lower`` / ``_upper``
        interval bounds, ``dominated`` (bool) and ``dominated_by`` (names of the dominating
        strategies, comma-separated). (Not ``risk``: that name is the accessor.)
    """
    if measure not in ("mean", "var", "cvar"):
        raise ValueError(f"measure must be 'mean', 'var' or 'cvar', got {measure!r}")
    c = mean(get_variable(ds, cost), dim=dim, confidence=confidence)
    rda = get_variable(ds, risk)
    side = bad_tail(rda, tail)
    if measure == "mean":
        r = mean(rda, dim=dim, confidence=confidence)
    elif measure == "var":
        r = value_at_risk(rda, level, tail=side, dim=dim, confidence=confidence)
    else:
        r = cvar(rda, level, tail=side, dim=dim, confidence=confidence)
    out = xr.Dataset(
        {
            "expected_cost": c["estimate"],
            "expected_cost_lower": c["lower"],
            "expected_cost_upper": c["upper"],
            "risk_value": r["estimate"],
            "risk_value_lower": r["lower"],
            "risk_value_upper": r["upper"],
        }
    ).compute()
    out = out.reset_coords(drop=True)
    sign = 1.0 if side == "upper" else -1.0
    cv, rv = out["expected_cost"].values, sign * out["risk_value"].values
    dom = pareto_dominated(cv, rv)
    names = [str(s) for s in out["strategy"].values]
    by = []
    for i in range(len(names)):
        who = [
            names[j]
            for j in range(len(names))
            if j != i and cv[j] <= cv[i] and rv[j] <= rv[i] and (cv[j] < cv[i] or rv[j] < rv[i])
        ]
        by.append(", ".join(who))
    out["dominated"] = ("strategy", dom)
    out["dominated_by"] = ("strategy", np.array(by, dtype=object))
    label = {"mean": "mean", "var": f"VaR{_pct(level)}", "cvar": f"CVaR{_pct(level)}"}[measure]
    out["expected_cost"].attrs["units"] = _units(ds[cost])
    out["risk_value"].attrs["units"] = _units(rda)
    out.attrs.update(
        cost=cost,
        risk=risk,
        measure=measure,
        level=level,
        tail=side,
        risk_label=label,
        confidence=confidence,
    )
    return out
