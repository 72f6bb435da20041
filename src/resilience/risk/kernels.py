"""Numpy kernels of :mod:`resilience.risk` (1-D, NaN-free, sorted input).

Order-statistic ranks for quantile intervals, the CVaR tail mean and its influence-function
SE, and the tail-only multinomial bootstrap. Private by convention: import the public
names from :mod:`resilience.risk`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from resilience.risk.base import IntervalMethod, Tail, _check_fraction


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
