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
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import xarray as xr

from resilience.errors import ResultsError

__all__ = [
    "HIGHER_IS_BETTER",
    "DEFAULT_TABLE_COLUMNS",
    "RiskAccessor",
    "bad_tail",
    "breach_probability",
    "compare",
    "convergence",
    "cvar",
    "exceedance",
    "fill_rate",
    "format_comparison",
    "format_risk_table",
    "frontier",
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

Tail = Literal["upper", "lower"]
TailChoice = Literal["auto", "upper", "lower"]
Side = Literal["above", "below"]
SideChoice = Literal["auto", "above", "below"]
IntervalMethod = Literal["asymptotic", "bootstrap"]
RiskMeasure = Literal["mean", "var", "cvar"]
IntervalStyle = Literal["interval", "none"]
QuantileMethod = Literal[
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]

#: Variables whose *low* values are bad. Extend it (``HIGHER_IS_BETTER.add(name)``) or set
#: the attribute ``higher_is_better = 1`` on a variable for metrics of your own.
HIGHER_IS_BETTER: set[str] = {
    "fill_rate",
    "filled_units",
    "node_filled_units",
    "days_to_first_shortage",
    "daily_fill_rate_mean",
}

#: Columns of :func:`risk_table`: (variable, statistic). Statistics: ``mean`` (the ratio
#: of sums for ``fill_rate``), ``P<q>`` (quantile at q percent), ``VaR<a>``, ``CVaR<a>``.
DEFAULT_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fill_rate", "mean"),
    ("fill_rate", "P5"),
    ("fill_rate", "P1"),
    ("lost_units", "mean"),
    ("lost_units", "P50"),
    ("lost_units", "P95"),
    ("lost_units", "P99"),
    ("lost_units", "CVaR95"),
    ("total_cost", "mean"),
    ("total_cost", "P50"),
    ("total_cost", "P95"),
    ("total_cost", "P99"),
    ("total_cost", "CVaR95"),
    ("stockout_days", "P95"),
)

_FIELDS = ("estimate", "lower", "upper", "se")
_COMPARE_FIELDS = ("estimate", "lower", "upper", "se", "paired_width", "unpaired_width")
_COMPARE_STATS = ("mean_diff", "p_better", "p_worse", "var_diff", "cvar_diff")


# --------------------------------------------------------------------------------------
# checks and small helpers


def _check_fraction(name: str, value: float, *, closed: bool = False) -> float:
    value = float(value)
    ok = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def _z(confidence: float) -> float:
    """Two-sided standard-normal critical value z_{1 - (1 - confidence)/2}."""
    confidence = _check_fraction("confidence", confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_dim(da: xr.DataArray, dim: Hashable) -> None:
    if dim not in da.dims:
        raise ResultsError(
            f"variable {da.name!r} has no dimension {dim!r} (dims: {', '.join(map(str, da.dims))})"
        )


def _variable(ds: xr.Dataset, name: str) -> xr.DataArray:
    if name not in ds.data_vars:
        raise ResultsError(f"results have no variable {name!r}")
    return ds[name]


def _check_strategy(ds: xr.Dataset, name: str) -> None:
    if "strategy" not in ds.dims:
        raise ResultsError("results have no 'strategy' dimension")
    names = [str(s) for s in ds["strategy"].values]
    if name not in names:
        raise ResultsError(f"unknown strategy {name!r}; the results hold: {', '.join(names)}")


def _levels(values: float | Sequence[float], name: str, *, closed: bool) -> tuple[np.ndarray, bool]:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence")
    for v in arr:
        _check_fraction(name, v, closed=closed)
    return arr, np.ndim(values) == 0


def _is_dask(da: xr.DataArray) -> bool:
    return da.chunks is not None


def bad_tail(x: xr.DataArray | str | None, tail: TailChoice = "auto") -> Tail:
    """The tail of a metric where its bad outcomes lie.

    Parameters
    ----------
    x
        A variable, or its name.
    tail
        ``"upper"`` or ``"lower"`` are returned unchanged; ``"auto"`` looks the name up in
        :data:`HIGHER_IS_BETTER` (an attribute ``higher_is_better`` on a DataArray takes
        precedence).

    Returns
    -------
    ``"lower"`` for higher-is-better metrics, ``"upper"`` for losses.
    """
    if tail not in ("auto", "upper", "lower"):
        raise ValueError(f"tail must be 'auto', 'upper' or 'lower', got {tail!r}")
    if tail != "auto":
        return tail
    if isinstance(x, xr.DataArray):
        flag = x.attrs.get("higher_is_better")
        if flag is not None:
            return "lower" if bool(flag) else "upper"
        x = None if x.name is None else str(x.name)
    return "lower" if x in HIGHER_IS_BETTER else "upper"


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", ""))


# --------------------------------------------------------------------------------------
# numpy kernels (1-D, NaN-free)


@functools.lru_cache(maxsize=4096)
def _binom_cdf(n: int, p: float) -> tuple[int, np.ndarray]:
    """CDF of Binomial(n, p) on a window k0..k1 that holds all but ~1e-300 of the mass.

    The pmf is built from the ratio pmf(k+1)/pmf(k) = (n-k)/(k+1) * p/(1-p) in log space
    and normalised on the window, which avoids log-gamma and works for any n.
    """
    if p <= 0.0:
        return 0, np.ones(1)
    if p >= 1.0:
        return n, np.ones(1)
    mu, sd = n * p, math.sqrt(n * p * (1.0 - p))
    k0 = max(0, math.floor(mu - 40.0 * sd - 40.0))
    k1 = min(n, math.ceil(mu + 40.0 * sd + 40.0))
    k = np.arange(k0, k1, dtype=np.float64)
    steps = np.log(n - k) - np.log(k + 1.0) + (math.log(p) - math.log1p(-p))
    logpmf = np.concatenate(([0.0], np.cumsum(steps)))
    pmf = np.exp(logpmf - logpmf.max())
    cdf = np.cumsum(pmf)
    return k0, cdf / cdf[-1]


def order_statistic_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks (l, u) of the order statistics bounding a distribution-free CI.

    With B ~ Binomial(n, q) the number of observations at or below the true quantile
    xi_q of a continuous distribution, P(X_(l) <= xi_q <= X_(u)) = F_B(u-1) - F_B(l-1).
    We take the largest l with F_B(l-1) <= alpha/2 and the smallest u with
    F_B(u-1) >= 1 - alpha/2 (alpha = 1 - confidence), so coverage is at least
    ``confidence`` and each tail misses with probability at most alpha/2.

    Parameters
    ----------
    n
        Sample size.
    q
        Quantile level in [0, 1].
    confidence
        Two-sided confidence level in (0, 1).

    Returns
    -------
    l, u
        ``l = 0`` means no finite lower bound exists at this n, ``u = n + 1`` no upper.
    """
    n = int(n)
    q = _check_fraction("q", q, closed=True)
    alpha = 1.0 - _check_fraction("confidence", confidence)
    if n <= 0:
        return 0, 1
    k0, cdf = _binom_cdf(n, q)
    lo = k0 + int(np.searchsorted(cdf, alpha / 2.0, side="right"))
    j = int(np.searchsorted(cdf, 1.0 - alpha / 2.0, side="left"))
    hi = k0 + j + 1 if j < cdf.size else n + 1
    return max(lo, 0), min(hi, n + 1)


def _quantile_kernel(
    x: np.ndarray, qs: np.ndarray, method: str, confidence: float, z: float
) -> np.ndarray:
    """Rows [estimate, lower, upper, se] per level, for sorted finite ``x``."""
    out = np.full((qs.size, 4), np.nan)
    n = x.size
    if n == 0:
        return out
    out[:, 0] = np.quantile(x, qs, method=method)
    for i, q in enumerate(qs):
        lo, hi = order_statistic_ranks(n, float(q), confidence)
        if lo >= 1:
            out[i, 1] = x[lo - 1]
        if hi <= n:
            out[i, 2] = x[hi - 1]
    # Distribution-free SE: the order-statistic interval is +-z SE wide asymptotically.
    out[:, 3] = (out[:, 2] - out[:, 1]) / (2.0 * z)
    return out


def _tail_count(n: int, level: float) -> float:
    m = n * (1.0 - level)
    # n (1 - a) is often an integer up to rounding (400 * 0.05); snap so no sliver of the
    # next order statistic leaks into the tail mean.
    r = round(m)
    return float(r) if abs(m - r) < 1e-9 * max(1.0, m) else m


def _cvar_upper_sorted(x: np.ndarray, level: float) -> tuple[float, float]:
    """Upper-tail CVaR and its influence-function SE for ascending finite ``x``.

    CVaR = (sum of the top floor(m) values + (m - floor(m)) * next value) / m with
    m = n (1 - a); SE^2 = Var[(X - VaR)^+] / (n (1 - a)^2), VaR = X_(ceil(n a)).
    """
    n = x.size
    if n == 0:
        return math.nan, math.nan
    m = _tail_count(n, level)
    k = math.floor(m)
    total = float(x[n - k :].sum()) if k > 0 else 0.0
    if m > k:
        total += (m - k) * float(x[n - k - 1])
    est = total / m
    if n < 2:
        return est, math.nan
    var_rank = min(max(math.ceil(n * level - 1e-9), 1), n)
    excess = np.maximum(x - x[var_rank - 1], 0.0)
    se = float(excess.std(ddof=1)) / ((1.0 - level) * math.sqrt(n))
    return est, se


def _tail_size(n: int, level: float) -> int:
    # Resampled counts are drawn only for the paths that can reach the tail: the top
    # n (1 - a) plus 10 standard deviations of the number of resampled draws landing there
    # (below sqrt(n)); a replicate that still runs out is redone with all paths.
    k = math.ceil(n * (1.0 - level) + 10.0 * math.sqrt(n) + 100.0)
    return n if 2 * k >= n else k


def _weighted_tail_stats(
    v_desc: np.ndarray, w: np.ndarray, total: int, levels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VaR and CVaR (upper tail) of resampled data; one row of counts per replicate.

    ``v_desc`` (k,) are the k largest values in descending order, ``w`` (B, k) how often
    each was drawn and ``total`` the resample size. With C_i = w_1 + ... + w_i,
    S_i = w_1 v_1 + ... + w_i v_i and tail mass t = (1 - a) total, let j be the number of
    i with C_i <= t. Then VaR = v_{j+1} (the inverted CDF of the resample) and
    CVaR = (S_j + (t - C_j) v_{j+1}) / t. ``ok`` is False where the k values do not
    reach past the tail (the caller then redoes the replicates with all paths).
    """
    c = np.cumsum(w, axis=1)
    k = v_desc.size
    var = np.empty((w.shape[0], levels.size))
    cv = np.empty_like(var)
    ok = np.ones(w.shape[0], dtype=bool)
    # A loop over replicates with searchsorted and a dot product up to the tail boundary
    # beats full-width vectorised passes: it touches only the n (1 - a) tail columns.
    tails = [_tail_count(total, float(a)) for a in levels]
    for r in range(w.shape[0]):
        for j, t in enumerate(tails):
            idx = int(np.searchsorted(c[r], t, side="right"))
            if idx >= k:
                ok[r] = False
                continue
            head_c = c[r, idx - 1] if idx > 0 else 0.0
            head_s = float(w[r, :idx] @ v_desc[:idx])
            var[r, j] = v_desc[idx]
            cv[r, j] = (head_s + (t - head_c) * v_desc[idx]) / t
    return var, cv, ok


def _bootstrap_tail(
    xs: Sequence[np.ndarray],
    levels: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    full: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bootstrap replicates of upper-tail VaR and CVaR for series resampled jointly.

    The classic (multinomial) bootstrap: each replicate draws n paths with replacement,
    and all series in ``xs`` (same length n) use the *same* draws, so several series are
    resampled in pairs. Only draws that land among U, the union of each series' top
    ``_tail_size`` paths, matter for the tail: their number is Binomial(n, |U| / n) and
    they are uniform on U, so a replicate costs O(n (1 - a)) instead of O(n).

    Returns
    -------
    One (var, cvar) pair per series, each of shape (n_boot, len(levels)).
    """
    n = xs[0].size
    k = n if full else _tail_size(n, float(levels.min()))
    orders = [np.argsort(-x, kind="stable")[:k] for x in xs]
    union = np.unique(np.concatenate(orders))
    u = union.size
    positions = [np.searchsorted(union, o) for o in orders]
    values = [x[o] for x, o in zip(xs, orders, strict=True)]
    out_var = [np.empty((n_boot, levels.size)) for _ in xs]
    out_cvar = [np.empty((n_boot, levels.size)) for _ in xs]
    batch = max(1, 4_000_000 // u)
    for b0 in range(0, n_boot, batch):
        b1 = min(n_boot, b0 + batch)
        hits = rng.binomial(n, u / n, b1 - b0) if u < n else np.full(b1 - b0, n)
        where = rng.integers(0, u, int(hits.sum()), dtype=np.int64)
        where += np.repeat(np.arange(b1 - b0, dtype=np.int64) * u, hits)
        counts = np.bincount(where, minlength=(b1 - b0) * u).reshape(b1 - b0, u)
        counts = counts.astype(np.float64)  # float cumsums run much faster than int64 ones
        for s, (v, pos) in enumerate(zip(values, positions, strict=True)):
            var, cv, ok = _weighted_tail_stats(v, counts[:, pos], n, levels)
            if not ok.all():
                if full:  # cannot happen: with all paths the counts sum to n
                    raise AssertionError("bootstrap tail exhausted with all paths")
                return _bootstrap_tail(xs, levels, n_boot, rng, full=True)
            out_var[s][b0:b1] = var
            out_cvar[s][b0:b1] = cv
    return list(zip(out_var, out_cvar, strict=True))


def _percentile_interval(reps: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Percentile bootstrap interval and bootstrap SE of a 1-D array of replicates."""
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        return math.nan, math.nan, math.nan
    alpha = 1.0 - confidence
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi), float(reps.std(ddof=1))


def _cvar_kernel(
    x: np.ndarray,
    levels: np.ndarray,
    tail: Tail,
    confidence: float,
    z: float,
    interval: IntervalMethod,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    out = np.full((levels.size, 4), np.nan)
    if x.size == 0:
        return out
    # Lower tails are upper tails of -X; sorting -X ascending is reversing X.
    oriented = x if tail == "upper" else -x[::-1]
    sign = 1.0 if tail == "upper" else -1.0
    for i, a in enumerate(levels):
        est, se = _cvar_upper_sorted(oriented, float(a))
        out[i, 0], out[i, 3] = sign * est, se
        if interval == "asymptotic":
            out[i, 1], out[i, 2] = out[i, 0] - z * se, out[i, 0] + z * se
    if interval == "bootstrap" and x.size >= 2:
        rng = np.random.default_rng(seed)
        ((_, reps),) = _bootstrap_tail([oriented], levels, n_boot, rng)
        for i in range(levels.size):
            lo, hi, se = _percentile_interval(sign * reps[:, i], confidence)
            out[i, 1:4] = lo, hi, se
    return out


def _wilson_np(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    n_safe = np.maximum(n, 1)
    p = k / n_safe
    den = 1.0 + z * z / n_safe
    centre = (p + z * z / (2.0 * n_safe)) / den
    half = z / den * np.sqrt(p * (1.0 - p) / n_safe + z * z / (4.0 * n_safe * n_safe))
    bad = n <= 0
    # clipped: at k = 0 or k = n the bounds are 0 and 1 exactly, up to rounding
    lower, upper = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def _exceedance_kernel(x: np.ndarray, thresholds: np.ndarray, side: Side, z: float) -> np.ndarray:
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
    lo, hi = _wilson_np(k, np.full_like(k, n), z)
    out[:, 0], out[:, 1], out[:, 2] = p, lo, hi
    out[:, 3] = np.sqrt(p * (1.0 - p) / n)
    return out


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
        lo, hi = _wilson_np(np.array(k), np.array(float(n)), z)
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


# --------------------------------------------------------------------------------------
# xarray plumbing


def _rowwise(kernel: Callable[[np.ndarray], np.ndarray], shape: tuple[int, int]):
    """Lift a 1-D kernel (sorted finite input -> ``shape`` output) to (..., n) arrays."""

    def apply(arr: np.ndarray) -> np.ndarray:
        arr = np.asarray(arr, dtype=np.float64)
        flat = arr.reshape(-1, arr.shape[-1])
        out = np.empty((flat.shape[0],) + shape)
        for i, row in enumerate(flat):
            out[i] = kernel(np.sort(row[~np.isnan(row)]))
        return out.reshape(arr.shape[:-1] + shape)

    return apply


def _apply_along(
    da: xr.DataArray,
    dim: Hashable,
    kernel: Callable[[np.ndarray], np.ndarray],
    out_dim: str,
    out_coord: np.ndarray,
    fields: Sequence[str] = _FIELDS,
) -> xr.Dataset:
    _check_dim(da, dim)
    if _is_dask(da):
        da = da.chunk({dim: -1})
    shape = (out_coord.size, len(fields))
    res = xr.apply_ufunc(
        _rowwise(kernel, shape),
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[out_dim, "_field"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {out_dim: shape[0], "_field": shape[1]}},
    )
    res = res.assign_coords({out_dim: out_coord})
    ds = xr.Dataset({f: res.isel(_field=i, drop=True) for i, f in enumerate(fields)})
    ds["n"] = da.count(dim)
    return ds


def _finish(
    ds: xr.Dataset, da: xr.DataArray, squeeze: str | None, units: str | None, **attrs: Any
) -> xr.Dataset:
    if squeeze is not None:
        ds = ds.squeeze(squeeze)
    unit = _units(da) if units is None else units
    for name in ("estimate", "lower", "upper", "se"):
        if name in ds:
            ds[name].attrs["units"] = unit
    ds.attrs.update({"variable": "" if da.name is None else str(da.name), "units": unit})
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    return ds


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
        _variable(ds, "filled_units"), _variable(ds, "demand_units"), dim=dim, confidence=confidence
    )
    out.attrs["variable"] = "fill_rate"
    return out


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
    z = _z(confidence)

    def kernel(x: np.ndarray) -> np.ndarray:
        return _exceedance_kernel(x, thr, side, z)

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


# --------------------------------------------------------------------------------------
# paired comparisons, frontier, convergence


def paired_differences(
    ds: xr.Dataset, metric: str = "total_cost", baseline: str = "jit"
) -> xr.DataArray:
    """Per-path differences X_s - X_baseline for every other strategy (lazy on dask).

    Meaningful per path because all strategies see the same random events (common random
    numbers). Returns dims (strategy, path, ...) without the baseline.
    """
    da = _variable(ds, metric)
    _check_strategy(ds, baseline)
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
    c = mean(_variable(ds, cost), dim=dim, confidence=confidence)
    rda = _variable(ds, risk)
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


def paths_needed(
    est: xr.Dataset, rel_precision: float = 0.01, confidence: float = 0.95
) -> xr.DataArray:
    """Paths needed so the interval half-width is ``rel_precision`` of the estimate.

    SE scales as 1 / sqrt(n), so from an estimate made with n paths:
    n_req = ceil(n (z SE / (r |estimate|))^2), z = Phi^{-1}((1 + confidence)/2). NaN when
    the estimate is 0 or its SE unknown.

    Parameters
    ----------
    est
        An estimate dataset (``estimate``, ``se``, ``n``), e.g. from :func:`cvar` or
        :func:`risk_table`.
    rel_precision
        Target relative half-width r, e.g. 0.01 for +-1 %.
    """
    r = float(rel_precision)
    if not r > 0:
        raise ValueError(f"rel_precision must be > 0, got {rel_precision}")
    z = _z(confidence)
    scale = abs(est["estimate"]).where(abs(est["estimate"]) > 0)
    need = np.ceil(est["n"] * (z * est["se"] / (r * scale)) ** 2)
    need.name = "paths_needed"
    need.attrs = {"units": "paths", "rel_precision": r, "confidence": confidence}
    return need


def convergence(
    est: xr.Dataset, rel_precision: float = 0.01, confidence: float = 0.95
) -> xr.Dataset:
    """Convergence report of an estimate dataset.

    ``rel_halfwidth`` = z SE / |estimate| (the relative precision reached now) and
    ``paths_needed`` (see :func:`paths_needed`), next to ``estimate``, ``se`` and ``n``.
    """
    z = _z(confidence)
    scale = abs(est["estimate"]).where(abs(est["estimate"]) > 0)
    out = est[["estimate", "se", "n"]].copy()
    out["rel_halfwidth"] = z * est["se"] / scale
    out["rel_halfwidth"].attrs["units"] = "1"
    out["paths_needed"] = paths_needed(est, rel_precision, confidence)
    out.attrs.update(est.attrs)
    out.attrs.update(rel_precision=float(rel_precision), confidence=confidence)
    return out


# --------------------------------------------------------------------------------------
# the risk table


def _pct(level: float) -> str:
    return f"{100 * level:g}"


def _parse_statistic(stat: str) -> tuple[str, float]:
    s = stat.strip()
    try:
        if s == "mean":
            return "mean", math.nan
        if s.startswith("CVaR"):
            return "cvar", float(s[4:]) / 100.0
        if s.startswith("VaR"):
            return "var", float(s[3:]) / 100.0
        if s.startswith("P"):
            return "quantile", float(s[1:]) / 100.0
    except ValueError:
        pass
    raise ValueError(f"unknown statistic {stat!r}: use 'mean', 'P<q>', 'VaR<a>' or 'CVaR<a>'")


def risk_table(
    ds: xr.Dataset,
    *,
    columns: Sequence[tuple[str, str]] = DEFAULT_TABLE_COLUMNS,
    dim: Hashable = "path",
    confidence: float = 0.95,
) -> xr.Dataset:
    """The per-strategy risk table printed by ``resilience run``.

    Default columns: fill rate (mean, P5, P1), lost_units and total_cost (mean, P50, P95,
    P99, CVaR95), stockout_days P95. ``fill_rate mean`` is the run-level ratio of sums
    sum(filled_units) / sum(demand_units) with a delta-method interval
    (:func:`fill_rate`); other means use :func:`mean`, quantiles :func:`quantile`
    (order-statistic intervals), VaR / CVaR :func:`value_at_risk` / :func:`cvar`
    (influence-function intervals). Lazy on dask input; call ``.compute()`` once.

    Parameters
    ----------
    ds
        Results dataset with dims (strategy, path).
    columns
        (variable, statistic) pairs; statistic is ``mean``, ``P<q>`` (quantile at q %),
        ``VaR<a>`` or ``CVaR<a>`` (a in %).
    dim, confidence
        Path dimension and two-sided confidence level.

    Returns
    -------
    xarray.Dataset
        Dims (strategy, column): ``estimate``, ``lower``, ``upper``, ``se``, ``n``; the
        ``column`` coordinate holds labels like ``"lost_units P95"`` with ``metric``,
        ``statistic`` and ``units`` coordinates beside it; ``paths`` (strategy) is the
        number of paths.
    """
    if not columns:
        raise ValueError("columns must not be empty")
    groups: dict[str, list[tuple[int, str, float]]] = {}
    parsed = []
    for i, (var, stat) in enumerate(columns):
        kind, lev = _parse_statistic(stat)
        parsed.append((var, stat, kind, lev))
        groups.setdefault(f"{var}\0{kind}", []).append((i, stat, lev))
    for var, _, kind, _ in parsed:
        if not (var == "fill_rate" and kind == "mean"):
            _variable(ds, var)
    results: dict[int, xr.Dataset] = {}
    for key, items in groups.items():
        var, kind = key.split("\0")
        if kind == "mean":
            if var == "fill_rate":
                est = fill_rate(ds, dim=dim, confidence=confidence)
            else:
                est = mean(_variable(ds, var), dim=dim, confidence=confidence)
            for i, _, _ in items:
                results[i] = est
            continue
        levels = [lev for _, _, lev in items]
        da = _variable(ds, var)
        if kind == "quantile":
            est = quantile(da, levels, dim=dim, confidence=confidence)
            coord = "quantile"
        elif kind == "var":
            est = value_at_risk(da, levels, dim=dim, confidence=confidence)
            coord = "level"
        else:
            est = cvar(da, levels, dim=dim, confidence=confidence)
            coord = "level"
        for j, (i, _, _) in enumerate(items):
            results[i] = est.isel({coord: j})
    parts = []
    for i in range(len(columns)):
        part = results[i][["estimate", "lower", "upper", "se", "n"]].reset_coords(drop=True)
        parts.append(part)
    table = xr.concat(parts, dim="column", coords="minimal", compat="override", join="outer")
    labels = [f"{var} {stat}" for var, stat, _, _ in parsed]
    units = []
    for var, *_ in parsed:
        units.append("1" if var == "fill_rate" else _units(ds[var]) if var in ds else "")
    table = table.assign_coords(
        column=("column", labels),
        metric=("column", [p[0] for p in parsed]),
        statistic=("column", [p[1] for p in parsed]),
        units=("column", units),
    )
    if "strategy" in table.dims:
        table = table.transpose("strategy", "column", ...)
    table["paths"] = xr.full_like(
        table["n"].isel(column=0, drop=True), ds.sizes[dim], dtype=np.int64
    )
    table.attrs.update(
        statistic="risk_table",
        confidence=confidence,
        interval=(
            "fill_rate mean: delta method; means: normal; quantiles: order statistics; "
            "CVaR: influence function"
        ),
        paths=int(ds.sizes[dim]),
    )
    for key in ("scenario_name", "seed"):
        if key in ds.attrs:
            table.attrs[key] = ds.attrs[key]
    return table


# --------------------------------------------------------------------------------------
# plain-text formatting


def _scale(ax: float) -> tuple[float, str]:
    for bound, div, suffix in ((1e10, 1e9, "B"), (1e7, 1e6, "M"), (1e4, 1e3, "k")):
        if ax >= bound:
            return div, suffix
    return 1.0, ""


def _fmt(x: float, units: str = "", scale: tuple[float, str] | None = None) -> str:
    """Compact number: percentages for unitless figures, k/M/B suffixes for big ones."""
    if x is None or not np.isfinite(x):
        return "n/a"
    x = float(x) + 0.0  # + 0.0 turns -0.0 into 0.0
    if units == "1":
        return f"{100.0 * x:.2f}%"
    div, suffix = _scale(abs(x)) if scale is None else scale
    if suffix and x != 0.0:
        return f"{x / div:.4g}{suffix}"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def _cell_parts(est: float, lo: float, hi: float, units: str) -> tuple[str, str | None]:
    """Estimate text and "[lower, upper]" text (None without bounds), in one number scale.

    The scale (k/M/B) follows the estimate, so "9736 [9282, 10190]" never mixes "9736"
    with "10.19k"; an estimate of 0 borrows the scale of its bounds.
    """
    finite = [abs(v) for v in (est, lo, hi) if np.isfinite(v)]
    ref = abs(est) if np.isfinite(est) and est != 0 else max(finite, default=0.0)
    scale = _scale(ref)
    text = _fmt(est, units, scale)
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return text, None
    return text, f"[{_fmt(lo, units, scale)}, {_fmt(hi, units, scale)}]"


def _cell(est: float, lo: float, hi: float, units: str, style: IntervalStyle) -> str:
    text, ci = _cell_parts(est, lo, hi, units)
    return f"{text} {ci}" if style == "interval" and ci is not None else text


def _render(header: list[str], rows: list[list[str]], left_cols: int) -> list[str]:
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if j < left_cols else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(header), rule, *(line(r) for r in rows)]


def format_risk_table(table: xr.Dataset, *, intervals: IntervalStyle = "interval") -> str:
    """Plain-text rendering of :func:`risk_table`: one row per figure, one column per strategy.

    Cells read ``estimate [lower, upper]``; unitless figures (fill rate) as percentages,
    large numbers with k/M/B suffixes. Monospace, columns aligned, ASCII only.
    """
    if intervals not in ("interval", "none"):
        raise ValueError(f"intervals must be 'interval' or 'none', got {intervals!r}")
    t = table.compute()
    strategies = [str(s) for s in t["strategy"].values]
    header = ["metric", "statistic", *strategies]
    rows = []
    last = None
    for j in range(t.sizes["column"]):
        col = t.isel(column=j)
        metric, unit = str(col["metric"].values), str(col["units"].values)
        label = "" if metric == last else (f"{metric} [{unit}]" if unit and unit != "1" else metric)
        last = metric
        cells = [
            _cell(
                float(col["estimate"].values[i]),
                float(col["lower"].values[i]),
                float(col["upper"].values[i]),
                unit,
                intervals,
            )
            for i in range(len(strategies))
        ]
        rows.append([label, str(col["statistic"].values), *cells])
    rows.append(["paths", "", *(f"{int(v):,}" for v in t["paths"].values)])
    conf = float(t.attrs.get("confidence", 0.95))
    title = f"Risk by strategy ({_pct(conf)}% confidence intervals in brackets)"
    if "scenario_name" in t.attrs:
        title = f"{t.attrs['scenario_name']}: {title[0].lower()}{title[1:]}"
    note = (
        "fill_rate mean = sum(filled)/sum(demand), delta-method CI; quantile CIs from order "
        "statistics; CVaR CIs from the influence function; P<q> = q-th percentile."
    )
    return "\n".join([title, "", *_render(header, rows, 2), "", note]) + "\n"


def format_comparison(cmp: xr.Dataset, *, intervals: IntervalStyle = "interval") -> str:
    """Plain-text rendering of :func:`compare`: rows = statistics, columns = strategies.

    Differences are strategy minus baseline; "width paired/unpaired" rows show how much
    narrower common random numbers make each interval.
    """
    if intervals not in ("interval", "none"):
        raise ValueError(f"intervals must be 'interval' or 'none', got {intervals!r}")
    c = cmp.compute()
    strategies = [str(s) for s in c["strategy"].values]
    unit = str(c.attrs.get("units", ""))
    level = float(c.attrs.get("level", 0.95))
    tail = c.attrs.get("tail", "upper")
    q_label = f"P{_pct(level)}" if tail == "upper" else f"P{_pct(1 - level)}"
    labels = {
        "mean_diff": "mean diff",
        "p_better": "P(better)",
        "p_worse": "P(worse)",
        "var_diff": f"VaR{_pct(level)} diff ({q_label})",
        "cvar_diff": f"CVaR{_pct(level)} diff",
    }
    header = ["statistic", *strategies]
    rows = []
    for stat in _COMPARE_STATS:
        sc = c.sel(statistic=stat)
        u = "1" if stat.startswith("p_") else unit
        cells = []
        for i in range(len(strategies)):
            est = float(sc["estimate"].values[i])
            lo, hi = float(sc["lower"].values[i]), float(sc["upper"].values[i])
            if unit == "1" and not stat.startswith("p_"):
                cells.append(_cell(est, lo, hi, "1", intervals).replace("%", " pp"))
            else:
                cells.append(_cell(est, lo, hi, u, intervals))
        rows.append([labels[stat], *cells])
        ratios = sc["width_ratio"].values
        if np.any(np.isfinite(ratios)):
            rows.append(["  width paired/unpaired", *(_fmt(float(r)) for r in ratios)])
    rows.append(["paired paths", *(f"{int(v):,}" for v in c["n"].values)])
    conf = float(c.attrs.get("confidence", 0.95))
    unit_text = f" [{unit}]" if unit and unit != "1" else ""
    title = (
        f"Paired comparison of {c.attrs.get('variable', '')}{unit_text} against "
        f"{c.attrs.get('baseline', '')!r} (strategy minus baseline, {_pct(conf)}% CIs)"
    )
    note = (
        f"P(better) counts paths where the strategy is strictly better; VaR/CVaR CIs: paired "
        f"bootstrap, {c.attrs.get('n_boot', 0)} resamples, seed {c.attrs.get('seed', 0)}."
    )
    return "\n".join([title, "", *_render(header, rows, 1), "", note]) + "\n"


# --------------------------------------------------------------------------------------
# the accessor


@xr.register_dataset_accessor("risk")
class RiskAccessor:
    """``ds.risk``: the functions of :mod:`resilience.risk` bound to a results dataset.

    Variables are passed by name, e.g. ``ds.risk.cvar("total_cost", 0.95)``,
    ``ds.risk.quantile("lost_units", [0.5, 0.95])``, ``ds.risk.compare("jit")``,
    ``ds.risk.table()``; keyword arguments go to the function of the same name.
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _get(self, name: str) -> xr.DataArray:
        return _variable(self._ds, name)

    def quantile(self, variable: str, q: float | Sequence[float], **kwargs: Any) -> xr.Dataset:
        """See :func:`quantile`."""
        return quantile(self._get(variable), q, **kwargs)

    def var(
        self, variable: str, level: float | Sequence[float] = 0.95, **kwargs: Any
    ) -> xr.Dataset:
        """Value at risk; see :func:`value_at_risk`."""
        return value_at_risk(self._get(variable), level, **kwargs)

    value_at_risk = var

    def cvar(
        self, variable: str, level: float | Sequence[float] = 0.95, **kwargs: Any
    ) -> xr.Dataset:
        """See :func:`cvar`."""
        return cvar(self._get(variable), level, **kwargs)

    def mean(self, variable: str, **kwargs: Any) -> xr.Dataset:
        """See :func:`mean`."""
        return mean(self._get(variable), **kwargs)

    def fill_rate(self, **kwargs: Any) -> xr.Dataset:
        """See :func:`fill_rate`."""
        return fill_rate(self._ds, **kwargs)

    def exceedance(self, variable: str, thresholds: Any = None, **kwargs: Any) -> xr.Dataset:
        """See :func:`exceedance`."""
        return exceedance(self._get(variable), thresholds, **kwargs)

    def breach_probability(self, variable: str, threshold: float, **kwargs: Any) -> xr.Dataset:
        """See :func:`breach_probability`."""
        return breach_probability(self._get(variable), threshold, **kwargs)

    def paired_differences(self, metric: str = "total_cost", baseline: str = "jit") -> xr.DataArray:
        """See :func:`paired_differences`."""
        return paired_differences(self._ds, metric, baseline)

    def compare(
        self, baseline: str = "jit", metric: str = "total_cost", **kwargs: Any
    ) -> xr.Dataset:
        """See :func:`compare`."""
        return compare(self._ds, baseline, metric, **kwargs)

    def frontier(self, **kwargs: Any) -> xr.Dataset:
        """See :func:`frontier`."""
        return frontier(self._ds, **kwargs)

    def table(self, **kwargs: Any) -> xr.Dataset:
        """See :func:`risk_table`."""
        return risk_table(self._ds, **kwargs)

    def convergence(
        self, rel_precision: float = 0.01, confidence: float = 0.95, **kwargs: Any
    ) -> xr.Dataset:
        """:func:`convergence` of every figure of :func:`risk_table` (``kwargs`` go there)."""
        table = risk_table(self._ds, confidence=confidence, **kwargs)
        return convergence(table, rel_precision, confidence)
