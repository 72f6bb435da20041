"""Paired comparisons of strategies on the same paths (common random numbers).

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.base import (
    Tail,
    TailChoice,
    _check_dim,
    _check_fraction,
    _is_dask,
    _units,
    _z,
    bad_tail,
    check_strategy,
    get_variable,
)
from resilience.risk.estimators import wilson_interval
from resilience.risk.kernels import _bootstrap_tail, _cvar_upper_sorted, _percentile_interval

_COMPARE_FIELDS = ("estimate", "lower", "upper", "se", "paired_width", "unpaired_width")
_COMPARE_STATS = ("mean_diff", "p_better", "p_worse", "var_diff", "cvar_diff")


def _compare_kernel(
    a: np.ndarray,
    b: np.ndarray,
    level: float,
    tail: Tail,
    confidence: float,
    z: float,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """Rows = _COMPARE_STATS, columns = _COMPARE_FIELDS, for one strategy vs baseline."""
    out = np.full((len(_COMPARE_STATS), len(_COMPARE_FIELDS)), np.nan)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    n = a.size
    if n == 0:
        return out
    sign = 1.0 if tail == "upper" else -1.0
    d = b - a
    out[0, 0] = d.mean()
    if n >= 2:
        se_p = d.std(ddof=1) / math.sqrt(n)
        se_u = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / n)
        out[0, 1:] = (out[0, 0] - z * se_p, out[0, 0] + z * se_p, se_p, 2 * z * se_p, 2 * z * se_u)
    better = float(np.count_nonzero(sign * d < 0))
    worse = float(np.count_nonzero(sign * d > 0))
    for row, k in ((1, better), (2, worse)):
        lo, hi = wilson_interval(np.array(k), np.array(float(n)), confidence)
        p = k / n
        out[row, :4] = p, float(lo), float(hi), math.sqrt(p * (1.0 - p) / n)
        out[row, 4] = float(hi) - float(lo)

    # The point estimate is the difference of the quantiles value_at_risk reports (P5 of a
    # fill rate); the bootstrap works on sign * X, whose weighted VaR can sit one order
    # statistic away for lower tails, which does not matter for an interval.
    q = level if tail == "upper" else round(1.0 - level, 12)
    out[3, 0] = float(np.diff(np.quantile(np.stack([a, b]), q, axis=1, method="inverted_cdf"))[0])
    oa, ob = np.sort(sign * a), np.sort(sign * b)
    levels = np.array([level])
    out[4, 0] = sign * (_cvar_upper_sorted(ob, level)[0] - _cvar_upper_sorted(oa, level)[0])
    if n_boot > 0 and n >= 2:
        paired_rng, rng_a, rng_b = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
        )
        (va, ca), (vb, cb) = _bootstrap_tail([sign * a, sign * b], levels, n_boot, paired_rng)
        ((ua_v, ua_c),) = _bootstrap_tail([sign * a], levels, n_boot, rng_a)
        ((ub_v, ub_c),) = _bootstrap_tail([sign * b], levels, n_boot, rng_b)
        for row, paired, unpaired in (
            (3, vb - va, ub_v - ua_v),
            (4, cb - ca, ub_c - ua_c),
        ):
            lo, hi, se = _percentile_interval(sign * paired[:, 0], confidence)
            ulo, uhi, _ = _percentile_interval(sign * unpaired[:, 0], confidence)
            out[row, 1:] = lo, hi, se, hi - lo, uhi - ulo
    return out


def paired_differences(
    ds: xr.Dataset, metric: str = "total_cost", baseline: str = "jit"
) -> xr.DataArray:
    """Per-path differences X_s - X_baseline for every other strategy (lazy on dask).

    Meaningful per path because all strategies see the same random events (common random
    numbers). Returns dims (strategy, path, ...) without the baseline.
    """
    da = get_variable(ds, metric)
    check_strategy(ds, baseline)
    names = [str(s) for s in ds["strategy"].values]
    others = [i for i, s in enumerate(names) if s != baseline]
    base = da.isel(strategy=names.index(baseline), drop=True)
    diff = da.isel(strategy=others) - base
    diff.name = f"{metric}_diff"
    diff.attrs = {
        "units": _units(da),
        "long_name": f"{da.attrs.get('long_name', metric)} minus baseline",
        "description": f"per-path {metric} of the strategy minus that of {baseline!r}",
        "baseline": baseline,
    }
    return diff


def compare(
    ds: xr.Dataset,
    baseline: str = "jit",
    metric: str = "total_cost",
    *,
    level: float = 0.95,
    tail: TailChoice = "auto",
    dim: Hashable = "path",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """Paired comparison of every strategy against ``baseline`` on the same paths.

    With d_i = X_s,i - X_base,i over the n paths where both are finite:

    - ``mean_diff``: dbar +- z s_d / sqrt(n). Its unpaired counterpart (what independent
      runs would give) has half-width z sqrt((s_base^2 + s_s^2) / n);
      ``width_ratio = paired_width / unpaired_width``.
    - ``p_better`` / ``p_worse``: share of paths where the strategy is strictly better /
      worse (lower loss, or higher for higher-is-better metrics), Wilson intervals.
    - ``var_diff``: VaR_a(s) - VaR_a(base) (P95 difference for losses at a = 0.95).
    - ``cvar_diff``: CVaR_a(s) - CVaR_a(base).

    VaR and CVaR differences get percentile intervals from a paired bootstrap (the same
    resampled paths for both strategies); the unpaired width comes from resampling each
    strategy independently. ``n_boot=0`` skips the bootstrap (NaN intervals). Each strategy's comparison
    uses ``numpy.random.SeedSequence(seed)``, independent of chunking and of which other
    strategies are present.

    Parameters
    ----------
    ds
        Results with a ``strategy`` dimension.
    baseline
        Reference strategy.
    metric
        Per-path variable to compare.
    level
        VaR / CVaR level a.
    tail
        Bad tail of the metric (``"auto"``: :func:`bad_tail`).
    dim, confidence, n_boot, seed
        Path dimension, two-sided confidence, bootstrap replicates and seed.

    Returns
    -------
    xarray.Dataset
        Dims (strategy, statistic) without the baseline: ``estimate``, ``lower``, ``upper``,
        ``se``, ``paired_width``, ``unpaired_width``, ``width_ratio``; and ``n`` (strategy).
    """
    level = _check_fraction("level", level)
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    diff = paired_differences(ds, metric, baseline)  # validates metric and baseline
    if diff.sizes["strategy"] == 0:
        raise ResultsError(f"nothing to compare: {baseline!r} is the only strategy")
    da = ds[metric]
    _check_dim(da, dim)
    side = bad_tail(da, tail)
    z = _z(confidence)
    names = [str(s) for s in ds["strategy"].values]
    base = da.isel(strategy=names.index(baseline), drop=True)
    others = da.isel(strategy=[i for i, s in enumerate(names) if s != baseline])
    if _is_dask(others) or _is_dask(base):
        others, base = others.chunk({dim: -1}), base.chunk({dim: -1})
    shape = (len(_COMPARE_STATS), len(_COMPARE_FIELDS))

    def apply(x: np.ndarray, b: np.ndarray) -> np.ndarray:
        x, b = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(b, np.float64))
        flat_x, flat_b = x.reshape(-1, x.shape[-1]), b.reshape(-1, b.shape[-1])
        out = np.empty((flat_x.shape[0],) + shape)
        for i in range(flat_x.shape[0]):
            out[i] = _compare_kernel(flat_b[i], flat_x[i], level, side, confidence, z, n_boot, seed)
        return out.reshape(x.shape[:-1] + shape)

    res = xr.apply_ufunc(
        apply,
        others,
        base,
        input_core_dims=[[dim], [dim]],
        output_core_dims=[["statistic", "_field"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"statistic": shape[0], "_field": shape[1]}},
    ).assign_coords(statistic=list(_COMPARE_STATS))
    out = xr.Dataset({f: res.isel(_field=i, drop=True) for i, f in enumerate(_COMPARE_FIELDS)})
    out["width_ratio"] = out["paired_width"] / out["unpaired_width"].where(
        out["unpaired_width"] > 0
    )
    out["n"] = (others.notnull() & base.notnull()).sum(dim)
    unit = _units(da)
    out.attrs.update(
        statistic="paired_comparison",
        variable=metric,
        units=unit,
        baseline=baseline,
        level=level,
        tail=side,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        interval="mean: paired normal; probabilities: Wilson; VaR/CVaR: paired bootstrap",
    )
    return out
