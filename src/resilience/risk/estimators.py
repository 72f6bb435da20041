"""Estimators along the path dimension and their intervals.

Quantiles / VaR (order-statistic intervals), CVaR (influence function or bootstrap),
means, ratios of sums (fill rate, delta method), proportions, breach probabilities and
exceedance curves (Wilson score intervals: :func:`wilson_interval` is the one Wilson
implementation of the package). Private by convention: import the public names from
:mod:`resilience.risk`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.base import (
    IntervalMethod,
    QuantileMethod,
    Side,
    SideChoice,
    TailChoice,
    _apply_along,
    _check_dim,
    _check_fraction,
    _finish,
    _levels,
    _units,
    _z,
    bad_tail,
    get_variable,
)
from resilience.risk.kernels import _cvar_kernel, _quantile_kernel

# --------------------------------------------------------------------------------------
# Wilson score interval (the one copy: proportions, exceedance, paired P(better))


def wilson_interval(k: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a binomial proportion k / n.

    With p = k / n and z = Phi^{-1}((1 + confidence)/2)::

        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))

    Works on numbers, numpy arrays and (lazily) DataArrays; NaN where n = 0.

    Returns
    -------
    lower, upper
    """
    z = _z(confidence)
    n_safe = np.maximum(n, 1)
    p = k / n_safe
    den = 1.0 + z * z / n_safe
    centre = (p + z * z / (2.0 * n_safe)) / den
    half = z / den * np.sqrt(p * (1.0 - p) / n_safe + z * z / (4.0 * n_safe * n_safe))
    lower, upper = centre - half, centre + half
    # clipped: at k = 0 or k = n the bounds are 0 and 1 exactly, up to rounding
    if isinstance(lower, xr.DataArray):
        return lower.clip(0.0, 1.0).where(n > 0), upper.clip(0.0, 1.0).where(n > 0)
    lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    return np.where(n > 0, lower, np.nan)[()], np.where(n > 0, upper, np.nan)[()]


def _exceedance_kernel(
    x: np.ndarray, thresholds: np.ndarray, side: Side, confidence: float
) -> np.ndarray:
    n = x.size
    if side == "above":
        k = n - np.searchsorted(x, thresholds, side="right")
    else:
        k = np.searchsorted(x, thresholds, side="left")
    k = k.astype(np.float64)
    out = np.full((thresholds.size, 4), np.nan)
    if n == 0:
        return out
    p = k / n
    lo, hi = wilson_interval(k, np.full_like(k, n), confidence)
    out[:, 0], out[:, 1], out[:, 2] = p, lo, hi
    out[:, 3] = np.sqrt(p * (1.0 - p) / n)
    return out


# --------------------------------------------------------------------------------------
# public estimators


def quantile(
    da: xr.DataArray,
    q: float | Sequence[float],
    *,
    dim: Hashable = "path",
    confidence: float = 0.95,
    method: QuantileMethod = "inverted_cdf",
) -> xr.Dataset:
    """Quantiles along ``dim`` with distribution-free confidence intervals.

    Estimate: ``numpy.quantile(x, q, method=method)``; with the default
    ``"inverted_cdf"``, Q(q) = X_(ceil(n q)) (the VaR convention).

    Interval: [X_(l), X_(u)] with the binomial ranks of :func:`order_statistic_ranks`,
    P(X_(l) <= xi_q <= X_(u)) = F_B(u-1) - F_B(l-1) >= confidence, B ~ Bin(n, q); exact
    for continuous data, no density estimate needed. A bound is NaN when n is too small
    to reach the confidence.

    SE: (X_(u) - X_(l)) / (2 z), z = Phi^{-1}((1 + confidence)/2); asymptotically equal
    to sqrt(q (1 - q) / n) / f(xi_q) without estimating the density f.

    Parameters
    ----------
    da
        Values, e.g. ``ds["lost_units"]`` with dims (strategy, path). NaNs are skipped.
    q
        Level(s) in [0, 1]; a scalar drops the ``quantile`` dimension.
    dim
        Dimension to reduce.
    confidence
        Two-sided confidence level of the interval.
    method
        Point-estimate method of :func:`numpy.quantile`.

    Returns
    -------
    xarray.Dataset
        ``estimate``, ``lower``, ``upper``, ``se`` with a ``quantile`` dimension, and ``n``.
    """
    qs, scalar = _levels(q, "q", closed=True)
    z = _z(confidence)

    def kernel(x: np.ndarray) -> np.ndarray:
        return _quantile_kernel(x, qs, method, confidence, z)

    ds = _apply_along(da, dim, kernel, "quantile", qs)
    return _finish(
        ds,
        da,
        "quantile" if scalar else None,
        None,
        statistic="quantile",
        confidence=confidence,
        interval="order statistics (binomial ranks)",
        method=method,
    )


def value_at_risk(
    da: xr.DataArray,
    level: float | Sequence[float] = 0.95,
    *,
    tail: TailChoice = "auto",
    dim: Hashable = "path",
    confidence: float = 0.95,
    method: QuantileMethod = "inverted_cdf",
) -> xr.Dataset:
    """Value at risk: the quantile that bounds the bad ``1 - level`` tail.

    VaR_a = Q(a) for losses (upper tail) and Q(1 - a) for higher-is-better metrics
    (lower tail), with the intervals and SE of :func:`quantile`.

    Parameters
    ----------
    da
        Values along ``dim``.
    level
        Level(s) a in (0, 1), e.g. 0.95; a scalar drops the ``level`` dimension.
    tail
        Bad tail; ``"auto"`` uses :func:`bad_tail`.
    dim, confidence, method
        As in :func:`quantile`.

    Returns
    -------
    xarray.Dataset
        Estimate dataset with a ``level`` dimension.
    """
    levels, scalar = _levels(level, "level", closed=False)
    side = bad_tail(da, tail)
    # Rounded so 1 - 0.95 is 0.05 and ceil(n q) does not jump one order statistic.
    qs = levels if side == "upper" else np.round(1.0 - levels, 12)
    ds = quantile(da, qs, dim=dim, confidence=confidence, method=method)
    ds = ds.rename({"quantile": "level"}).assign_coords(level=levels)
    if scalar:
        ds = ds.squeeze("level")
    ds.attrs.update(statistic="value_at_risk", tail=side)
    return ds


def cvar(
    da: xr.DataArray,
    level: float | Sequence[float] = 0.95,
    *,
    tail: TailChoice = "auto",
    dim: Hashable = "path",
    confidence: float = 0.95,
    interval: IntervalMethod = "asymptotic",
    n_boot: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """Conditional value at risk (expected shortfall): mean of the bad ``1 - level`` tail.

    Upper tail (losses), with m = n (1 - a) and X_(1) <= ... <= X_(n)::

        CVaR_a = [ sum_{i > n - floor(m)} X_(i) + (m - floor(m)) X_(n - floor(m)) ] / m

    which equals the Rockafellar-Uryasev form VaR_a + E[(X - VaR_a)^+] / (1 - a) on the
    empirical distribution. Lower tail (higher-is-better): CVaR_a(X) = -CVaR_a(-X), the
    mean of the worst (lowest) 1 - a share.

    Asymptotic SE (influence function, Hong & Liu style):
    SE^2 = Var[(X - VaR_a)^+] / (n (1 - a)^2) (with -X for the lower tail); the interval
    is estimate +- z SE.

    Bootstrap (``interval="bootstrap"``): percentile interval of ``n_boot`` bootstrap
    replicates (paths drawn with replacement); SE = their standard deviation. Each 1-D series is resampled with
    ``numpy.random.default_rng(seed)``, so results do not depend on chunking and all
    strategies get the same resampled paths.

    Parameters
    ----------
    da
        Values along ``dim``. NaNs are skipped.
    level
        Level(s) a in (0, 1); a scalar drops the ``level`` dimension.
    tail
        Bad tail; ``"auto"`` uses :func:`bad_tail`.
    dim, confidence
        Reduced dimension and two-sided confidence level.
    interval
        ``"asymptotic"`` or ``"bootstrap"``.
    n_boot, seed
        Bootstrap replicates and seed (used only with ``interval="bootstrap"``).

    Returns
    -------
    xarray.Dataset
        Estimate dataset with a ``level`` dimension.
    """
    levels, scalar = _levels(level, "level", closed=False)
    if interval not in ("asymptotic", "bootstrap"):
        raise ValueError(f"interval must be 'asymptotic' or 'bootstrap', got {interval!r}")
    if interval == "bootstrap" and n_boot < 2:
        raise ValueError("n_boot must be at least 2 for a bootstrap interval")
    side = bad_tail(da, tail)
    z = _z(confidence)

    def kernel(x: np.ndarray) -> np.ndarray:
        return _cvar_kernel(x, levels, side, confidence, z, interval, n_boot, seed)

    ds = _apply_along(da, dim, kernel, "level", levels)
    return _finish(
        ds,
        da,
        "level" if scalar else None,
        None,
        statistic="cvar",
        tail=side,
        confidence=confidence,
        interval="influence function (asymptotic)"
        if interval == "asymptotic"
        else f"bootstrap percentile ({n_boot} resamples, seed {seed})",
    )


def mean(da: xr.DataArray, *, dim: Hashable = "path", confidence: float = 0.95) -> xr.Dataset:
    """Sample mean with a normal confidence interval (lazy on dask input).

    mean = sum x_i / n, SE = s / sqrt(n) with s the sample standard deviation (ddof 1),
    interval mean +- z SE.

    Returns
    -------
    xarray.Dataset
        Estimate dataset.
    """
    _check_dim(da, dim)
    z = _z(confidence)
    n = da.count(dim)
    est = da.mean(dim)
    centred = (da - est) ** 2
    var = centred.sum(dim) / np.maximum(n - 1, 1)
    se = (np.sqrt(var) / np.sqrt(np.maximum(n, 1))).where(n >= 2)
    ds = xr.Dataset(
        {"estimate": est, "lower": est - z * se, "upper": est + z * se, "se": se, "n": n}
    )
    return _finish(
        ds, da, None, None, statistic="mean", confidence=confidence, interval="normal (CLT)"
    )


def ratio_of_sums(
    numerator: xr.DataArray,
    denominator: xr.DataArray,
    *,
    dim: Hashable = "path",
    confidence: float = 0.95,
) -> xr.Dataset:
    """Ratio of sums R = sum y_i / sum x_i with a delta-method interval (lazy on dask).

    Linearising R = g(ybar, xbar) = ybar / xbar gives
    SE^2 = sum (y_i - R x_i)^2 / (n (n - 1) xbar^2), interval R +- z SE. Paths where
    either value is NaN are left out of both sums.

    Returns
    -------
    xarray.Dataset
        Estimate dataset (units "1").
    """
    _check_dim(numerator, dim)
    _check_dim(denominator, dim)
    z = _z(confidence)
    both = numerator.notnull() & denominator.notnull()
    y, x = numerator.where(both), denominator.where(both)
    n = both.sum(dim)
    sy, sx = y.sum(dim), x.sum(dim)
    r = sy / sx
    resid = ((y - r * x) ** 2).sum(dim)
    n_safe = np.maximum(n, 2)
    se = (np.sqrt(resid / (n_safe * (n_safe - 1))) / (sx / n_safe)).where(n >= 2)
    ds = xr.Dataset({"estimate": r, "lower": r - z * se, "upper": r + z * se, "se": se, "n": n})
    ds = _finish(
        ds,
        numerator,
        None,
        "1",
        statistic="ratio_of_sums",
        confidence=confidence,
        interval="delta method",
    )
    ds.attrs["variable"] = f"{numerator.name}/{denominator.name}"
    return ds


def fill_rate(ds: xr.Dataset, *, dim: Hashable = "path", confidence: float = 0.95) -> xr.Dataset:
    """Run-level fill rate: sum(filled_units) / sum(demand_units) per strategy.

    Not the mean of per-path fill rates (paths with more demand weigh more). Interval by
    the delta method, see :func:`ratio_of_sums`.
    """
    out = ratio_of_sums(
        get_variable(ds, "filled_units"),
        get_variable(ds, "demand_units"),
        dim=dim,
        confidence=confidence,
    )
    out.attrs["variable"] = "fill_rate"
    return out


def proportion(
    mask: xr.DataArray, *, dim: Hashable = "path", confidence: float = 0.95
) -> xr.Dataset:
    """Proportion of True along ``dim`` with a Wilson interval (lazy on dask).

    p = k / n; SE = sqrt(p (1 - p) / n); interval from :func:`wilson_interval`. NaN
    entries of a float mask are left out of n.
    """
    _check_dim(mask, dim)
    valid = mask.notnull()
    k = (mask.where(valid, False).astype(bool) & valid).sum(dim)
    n = valid.sum(dim)
    p = k / np.maximum(n, 1)
    lo, hi = wilson_interval(k, n, confidence)
    se = np.sqrt(p * (1.0 - p) / np.maximum(n, 1))
    ds = xr.Dataset(
        {"estimate": p.where(n > 0), "lower": lo, "upper": hi, "se": se.where(n > 0), "n": n}
    )
    return _finish(
        ds, mask, None, "1", statistic="proportion", confidence=confidence, interval="Wilson score"
    )


def breach_probability(
    da: xr.DataArray,
    threshold: float,
    *,
    side: SideChoice = "auto",
    dim: Hashable = "path",
    confidence: float = 0.95,
) -> xr.Dataset:
    """Probability of breaching a threshold, with a Wilson interval (lazy on dask).

    P(X > t) for losses (``side="above"``) and P(X < t) for higher-is-better metrics
    (``side="below"``), e.g. ``breach_probability(ds.fill_rate, 0.95)`` is
    P(fill rate < 95 %). Strict inequalities; NaNs are left out of n.
    """
    _check_dim(da, dim)
    if side not in ("auto", "above", "below"):
        raise ValueError(f"side must be 'auto', 'above' or 'below', got {side!r}")
    chosen: Side = side if side != "auto" else ("below" if bad_tail(da) == "lower" else "above")
    breach = (da > threshold) if chosen == "above" else (da < threshold)
    ds = proportion(breach.where(da.notnull()), dim=dim, confidence=confidence)
    ds.attrs.update(
        statistic="breach_probability",
        variable="" if da.name is None else str(da.name),
        threshold=float(threshold),
        side=chosen,
    )
    return ds.assign_coords(threshold=float(threshold))


def exceedance(
    da: xr.DataArray,
    thresholds: Sequence[float] | np.ndarray | None = None,
    *,
    side: Side = "above",
    dim: Hashable = "path",
    confidence: float = 0.95,
    n_points: int = 200,
) -> xr.Dataset:
    """Exceedance curve P(X > x) (or P(X < x) with ``side="below"``) with Wilson intervals.

    P(X > x) = #{i: x_i > x} / n, computed from the sorted sample, so memory stays O(n)
    for any number of thresholds. SE = sqrt(p (1 - p) / n).

    Parameters
    ----------
    da
        Values along ``dim``.
    thresholds
        Where to evaluate. Default: ``n_points`` quantiles of all values pooled over the
        other dimensions (this computes dask input once; pass thresholds to stay lazy).
    side
        ``"above"`` for P(X > x), ``"below"`` for P(X < x).

    Returns
    -------
    xarray.Dataset
        Estimate dataset with a ``threshold`` dimension.
    """
    if side not in ("above", "below"):
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    if thresholds is None:
        values = np.asarray(da.values, dtype=np.float64).ravel()
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise ResultsError(f"variable {da.name!r} has no finite values")
        grid = np.quantile(values, np.linspace(0.0, 1.0, n_points))
        thr = np.unique(grid)
    else:
        thr = np.asarray(thresholds, dtype=np.float64).ravel()
    _check_fraction("confidence", confidence)  # fail here, not inside a dask task

    def kernel(x: np.ndarray) -> np.ndarray:
        return _exceedance_kernel(x, thr, side, confidence)

    ds = _apply_along(da, dim, kernel, "threshold", thr)
    ds = _finish(
        ds,
        da,
        None,
        "1",
        statistic="exceedance",
        side=side,
        confidence=confidence,
        interval="Wilson score",
    )
    ds["threshold"].attrs["units"] = _units(da)
    return ds
