"""Numeric tests of resilience.risk against independent references (scipy, closed forms,
naive re-implementations) and across layers (accessor = functions, dask = numpy)."""

from __future__ import annotations

import math
import re

import dask
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from resilience import risk
from resilience.errors import ResultsError
from tests.synthetic import STRATEGIES, make_results


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_results(n_paths=400, n_days=40, seed=1)


def _series(x: np.ndarray, name: str = "x") -> xr.DataArray:
    return xr.DataArray(np.asarray(x, dtype=np.float64), dims="path", name=name)


# ----------------------------------------------------------------------------- quantiles


@pytest.mark.parametrize(("n", "q"), [(7, 0.5), (100, 0.9), (400, 0.95), (5000, 0.01)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_order_statistic_ranks_against_scipy_binomial(n, q, confidence):
    lo, hi = risk.order_statistic_ranks(n, q, confidence)
    alpha = 1 - confidence
    cdf = stats.binom.cdf(np.arange(-1, n + 1), n, q)  # cdf[k + 1] = F(k)
    # l is the largest rank with F(l-1) <= alpha/2, u the smallest with F(u-1) >= 1-alpha/2
    expect_lo = int(np.sum(cdf[1:] <= alpha / 2))
    expect_hi = int(np.argmax(cdf[1:] >= 1 - alpha / 2)) + 1 if cdf[-1] >= 1 - alpha / 2 else n + 1
    assert (lo, hi) == (expect_lo, expect_hi)
    if lo >= 1 and hi <= n:
        assert cdf[hi] - cdf[lo] >= confidence - 1e-12  # F(u-1) - F(l-1)


def test_order_statistic_ranks_edge_levels():
    assert risk.order_statistic_ranks(10, 0.0) == (0, 1)
    assert risk.order_statistic_ranks(10, 1.0) == (10, 11)
    # too few points for a 95% interval around the median: no finite bounds
    assert risk.order_statistic_ranks(3, 0.5) == (0, 4)


@pytest.mark.parametrize(("n", "q"), [(400, 0.9), (300, 0.5), (500, 0.95)])
def test_quantile_interval_coverage_on_exponential_samples(n, q):
    reps = 2000
    rng = np.random.default_rng(12345)
    x = xr.DataArray(rng.exponential(1.0, (reps, n)), dims=("rep", "path"))
    est = risk.quantile(x, q, confidence=0.95)
    truth = -math.log1p(-q)
    covered = float(((est.lower <= truth) & (truth <= est.upper)).mean())
    assert 0.93 <= covered <= 0.97
    # and the simulation agrees with the exact binomial coverage of the chosen ranks
    lo, hi = risk.order_statistic_ranks(n, q, 0.95)
    exact = stats.binom.cdf(hi - 1, n, q) - stats.binom.cdf(lo - 1, n, q)
    assert exact >= 0.95
    assert abs(covered - exact) < 4 * math.sqrt(exact * (1 - exact) / reps)
    # the order-statistic SE tracks the true sampling spread sqrt(q(1-q)/n)/f(xi_q)
    true_se = math.sqrt(q * (1 - q) / n) / math.exp(-truth)
    assert float(est.se.mean()) == pytest.approx(true_se, rel=0.12)
    assert float(est.estimate.std()) == pytest.approx(true_se, rel=0.1)


def test_quantile_point_estimates_and_bounds_are_order_statistics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=250)
    qs = [0.01, 0.5, 0.95]
    est = risk.quantile(_series(x), qs)
    np.testing.assert_array_equal(est.estimate, np.quantile(x, qs, method="inverted_cdf"))
    s = np.sort(x)
    for i, q in enumerate(qs):
        lo, hi = risk.order_statistic_ranks(250, q)
        assert float(est.lower[i]) == (s[lo - 1] if lo else np.nan) or lo == 0
        assert float(est.upper[i]) == s[hi - 1]
    assert np.isnan(float(est.lower[0]))  # P1 of 250 points has no 95% lower bound
    lin = risk.quantile(_series(x), 0.5, method="linear")
    assert float(lin.estimate) == pytest.approx(np.quantile(x, 0.5))
    assert "quantile" not in lin.dims and float(lin["quantile"]) == 0.5


def test_value_at_risk_uses_the_bad_tail(ds):
    var_cost = risk.value_at_risk(ds.total_cost, 0.95)
    q95 = risk.quantile(ds.total_cost, 0.95)
    np.testing.assert_array_equal(var_cost.estimate, q95.estimate)
    var_fill = risk.value_at_risk(ds.fill_rate, 0.95)
    p5 = risk.quantile(ds.fill_rate, 0.05)
    np.testing.assert_array_equal(var_fill.estimate, p5.estimate)
    assert var_fill.attrs["tail"] == "lower" and float(var_fill["level"]) == 0.95


# ----------------------------------------------------------------------------- CVaR


def test_cvar_of_a_normal_matches_closed_form():
    mu, sigma, a, n = 3.0, 2.0, 0.95, 200_000
    x = np.random.default_rng(7).normal(mu, sigma, n)
    z = stats.norm.ppf(a)
    phi, tail = stats.norm.pdf(z), 1 - a
    upper = risk.cvar(_series(x), a, tail="upper")
    lower = risk.cvar(_series(x), a, tail="lower")
    exact_upper = mu + sigma * phi / tail
    exact_lower = mu - sigma * phi / tail
    assert abs(float(upper.estimate) - exact_upper) < 4 * float(upper.se)
    assert abs(float(lower.estimate) - exact_lower) < 4 * float(lower.se)
    # asymptotic variance Var[(X - VaR)^+] / (1 - a)^2 in closed form for the normal
    m1 = sigma * (phi - z * tail)
    m2 = sigma**2 * ((1 + z * z) * tail - z * phi)
    exact_se = math.sqrt((m2 - m1 * m1) / n) / tail
    assert float(upper.se) == pytest.approx(exact_se, rel=0.05)
    assert float(lower.se) == pytest.approx(exact_se, rel=0.05)
    assert float(upper.lower) < exact_upper < float(upper.upper)


@pytest.mark.parametrize("a", [0.9, 0.95, 0.99])
def test_cvar_of_an_exponential_matches_closed_form(a):
    lam, n = 0.5, 100_000
    x = np.random.default_rng(3).exponential(1 / lam, n)
    est = risk.cvar(_series(x), a)
    exact = (1 - math.log(1 - a)) / lam
    exact_se = math.sqrt((2 / (1 - a) - 1) / n) / lam
    assert float(est.se) == pytest.approx(exact_se, rel=0.08)
    assert abs(float(est.estimate) - exact) < 4 * exact_se


def test_cvar_small_sample_splits_the_boundary_atom():
    x = _series(np.arange(1.0, 101.0))
    assert float(risk.cvar(x, 0.95).estimate) == pytest.approx(98.0)  # mean of 96..100
    frac = float(risk.cvar(x, 0.955).estimate)
    assert frac == pytest.approx((97 + 98 + 99 + 100 + 0.5 * 96) / 4.5)
    assert float(risk.cvar(x, 0.95, tail="lower").estimate) == pytest.approx(3.0)
    # fill_rate is higher-is-better: CVaR95 is the mean of the worst 5 %
    fr = _series(np.linspace(0.0, 1.0, 101), name="fill_rate")
    # m = 101 * 0.05 = 5.05 paths: the five lowest plus 5 % of the sixth
    expect = (0.0 + 0.01 + 0.02 + 0.03 + 0.04 + 0.05 * 0.05) / 5.05
    assert float(risk.cvar(fr, 0.95).estimate) == pytest.approx(expect)
    assert risk.cvar(fr, 0.95).attrs["tail"] == "lower"


def _naive_bootstrap_cvar(x: np.ndarray, a: float, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    m = round(x.size * (1 - a))
    for b in range(n_boot):
        s = np.sort(rng.choice(x, x.size, replace=True))
        out[b] = s[-m:].mean()
    return out


def test_cvar_bootstrap_agrees_with_naive_bootstrap_and_asymptotics():
    n, a = 4000, 0.95  # large enough that only the tail paths are resampled
    assert risk._tail_size(n, a) < n
    x = np.random.default_rng(11).lognormal(0.0, 0.7, n)
    boot = risk.cvar(_series(x), a, interval="bootstrap", n_boot=1500, seed=5)
    asym = risk.cvar(_series(x), a)
    naive = _naive_bootstrap_cvar(x, a, 1500, seed=99)
    assert float(boot.estimate) == float(asym.estimate)
    assert float(boot.se) == pytest.approx(naive.std(ddof=1), rel=0.12)
    assert float(boot.se) == pytest.approx(float(asym.se), rel=0.15)
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert float(boot.lower) == pytest.approx(lo, rel=0.03)
    assert float(boot.upper) == pytest.approx(hi, rel=0.03)
    again = risk.cvar(_series(x), a, interval="bootstrap", n_boot=1500, seed=5)
    assert float(again.lower) == float(boot.lower)  # explicit seed: reproducible
    other = risk.cvar(_series(x), a, interval="bootstrap", n_boot=1500, seed=6)
    assert float(other.lower) != float(boot.lower)


def test_weighted_tail_stats_with_unit_weights_equal_plain_estimators():
    x = np.random.default_rng(2).normal(size=1000)
    v = np.sort(x)[::-1]
    var, cv, ok = risk._weighted_tail_stats(v, np.ones((1, v.size)), v.size, np.array([0.9, 0.95]))
    assert ok.all()
    np.testing.assert_allclose(var[0], np.quantile(x, [0.9, 0.95], method="inverted_cdf"))
    np.testing.assert_allclose(cv[0], [np.sort(x)[-100:].mean(), np.sort(x)[-50:].mean()])


# ----------------------------------------------------------------------------- proportions


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (37, 400), (1, 2000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(k, n, confidence):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lo, hi = risk.wilson_interval(k, n, confidence)
    assert float(lo) == pytest.approx(ref.low, abs=1e-12)
    assert float(hi) == pytest.approx(ref.high, abs=1e-12)


def test_wilson_interval_vectorised_and_lazy():
    k = xr.DataArray([0, 5, 20], dims="s")
    n = xr.DataArray([20, 20, 20], dims="s")
    lo, hi = risk.wilson_interval(k.chunk(1), n.chunk(1))
    assert lo.chunks is not None
    for i in range(3):
        ref = stats.binomtest(int(k[i]), 20).proportion_ci(method="wilson")
        assert float(lo[i]) == pytest.approx(ref.low)
        assert float(hi[i]) == pytest.approx(ref.high)
    lo0, _ = risk.wilson_interval(np.array([1]), np.array([0]))
    assert np.isnan(lo0).all()


def test_breach_probability_of_fill_rate(ds):
    est = risk.breach_probability(ds.fill_rate, 0.95)
    assert est.attrs["side"] == "below"
    for s in STRATEGIES:
        x = ds.fill_rate.sel(strategy=s).values
        k = int(np.sum(x < 0.95))
        ref = stats.binomtest(k, x.size).proportion_ci(method="wilson")
        row = est.sel(strategy=s)
        assert float(row.estimate) == k / x.size
        assert float(row.lower) == pytest.approx(ref.low)
        assert float(row.upper) == pytest.approx(ref.high)
    cost = risk.breach_probability(ds.lost_units, 500.0)
    assert cost.attrs["side"] == "above"
    np.testing.assert_allclose(cost.estimate, (ds.lost_units > 500).mean("path"))


def test_exceedance_curve_counts_and_wilson(ds):
    thr = np.array([0.0, 100.0, 500.0, 1000.0])
    est = risk.exceedance(ds.lost_units, thr)
    x = ds.lost_units.values
    np.testing.assert_allclose(est.estimate, (x[:, :, None] > thr).mean(axis=1))
    k, n = int((x[0] > 100).sum()), x.shape[1]
    ref = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert float(est.lower[0, 1]) == pytest.approx(ref.low)
    below = risk.exceedance(ds.fill_rate, [0.9, 0.99], side="below")
    np.testing.assert_allclose(
        below.estimate, (ds.fill_rate.values[:, :, None] < [0.9, 0.99]).mean(1)
    )
    auto = risk.exceedance(ds.total_cost)  # default grid over pooled quantiles
    p = auto.estimate.values
    assert np.all(np.diff(p, axis=-1) <= 0) and p.shape[1] == auto.sizes["threshold"] > 10


def test_days_to_first_shortage_skips_nan(ds):
    x = ds.days_to_first_shortage
    est = risk.quantile(x, 0.5)
    np.testing.assert_array_equal(est.n, x.count("path"))
    for i in range(x.sizes["strategy"]):
        v = x.values[i]
        v = v[~np.isnan(v)]
        assert float(est.estimate[i]) == np.quantile(v, 0.5, method="inverted_cdf")


# ----------------------------------------------------------------------------- means, ratios


def test_mean_interval_is_normal(ds):
    est = risk.mean(ds.total_cost)
    x = ds.total_cost.values
    se = x.std(axis=1, ddof=1) / math.sqrt(x.shape[1])
    np.testing.assert_allclose(est.se, se)
    np.testing.assert_allclose(est.upper - est.estimate, stats.norm.ppf(0.975) * se)


def test_fill_rate_is_ratio_of_sums_with_delta_method(ds):
    est = risk.fill_rate(ds)
    for i in range(ds.sizes["strategy"]):
        y = ds.filled_units.values[i]
        d = ds.demand_units.values[i]
        n = y.size
        assert float(est.estimate[i]) == pytest.approx(y.sum() / d.sum(), rel=1e-14)
        assert float(est.estimate[i]) != pytest.approx(ds.fill_rate.values[i].mean(), rel=1e-9)
        # delta method from the covariance of the two means: grad g = (1/xbar, -ybar/xbar^2)
        cov = np.cov(np.stack([y, d])) / n
        g = np.array([1 / d.mean(), -y.mean() / d.mean() ** 2])
        assert float(est.se[i]) == pytest.approx(math.sqrt(g @ cov @ g), rel=1e-9)


# ----------------------------------------------------------------------------- comparisons


@pytest.fixture(scope="module")
def correlated() -> xr.Dataset:
    rng = np.random.default_rng(21)
    n = 3000
    a = rng.gamma(4.0, 25.0, n)
    b = a - 5.0 + rng.normal(0.0, 3.0, n)  # same luck, slightly better decisions
    c = rng.gamma(4.0, 25.0, n)  # independent: no pairing benefit
    data = np.stack([a, b, c])
    return xr.Dataset(
        {"total_cost": (("strategy", "path"), data, {"units": "currency"})},
        coords={"strategy": ["jit", "better", "independent"], "path": np.arange(n)},
    )


def test_paired_comparison_against_direct_computation(correlated):
    cmp = risk.compare(correlated, "jit", "total_cost", n_boot=800, seed=3)
    a = correlated.total_cost.sel(strategy="jit").values
    b = correlated.total_cost.sel(strategy="better").values
    n = a.size
    z = stats.norm.ppf(0.975)
    row = cmp.sel(strategy="better")
    d = b - a
    mean_diff = row.sel(statistic="mean_diff")
    assert float(mean_diff.estimate) == pytest.approx(d.mean())
    assert float(mean_diff.se) == pytest.approx(d.std(ddof=1) / math.sqrt(n))
    unpaired = 2 * z * math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / n)
    assert float(mean_diff.unpaired_width) == pytest.approx(unpaired)
    expected_ratio = d.std(ddof=1) / math.sqrt(a.var(ddof=1) + b.var(ddof=1))
    assert float(mean_diff.width_ratio) == pytest.approx(expected_ratio)
    assert float(mean_diff.width_ratio) < 0.1
    k = int(np.sum(b < a))
    ref = stats.binomtest(k, n).proportion_ci(method="wilson")
    better = row.sel(statistic="p_better")
    assert float(better.estimate) == k / n
    assert float(better.lower) == pytest.approx(ref.low)
    assert float(row.sel(statistic="p_worse").estimate) == np.sum(b > a) / n
    var = row.sel(statistic="var_diff")
    assert float(var.estimate) == pytest.approx(
        np.quantile(b, 0.95, method="inverted_cdf") - np.quantile(a, 0.95, method="inverted_cdf")
    )
    cv = row.sel(statistic="cvar_diff")
    m = round(n * 0.05)
    assert float(cv.estimate) == pytest.approx(np.sort(b)[-m:].mean() - np.sort(a)[-m:].mean())
    assert float(cv.lower) < -5.0 + 2.0 and float(cv.upper) > -5.0 - 2.0
    # common random numbers make the tail intervals much narrower than independent runs
    assert float(var.width_ratio) < 0.5
    assert float(cv.width_ratio) < 0.3
    indep = cmp.sel(strategy="independent", statistic="mean_diff")
    assert 0.85 < float(indep.width_ratio) < 1.15


def test_paired_cvar_bootstrap_matches_influence_function(correlated):
    cmp = risk.compare(correlated, "jit", "total_cost", n_boot=1500, seed=8)
    a = correlated.total_cost.sel(strategy="jit").values
    b = correlated.total_cost.sel(strategy="better").values
    level, n = 0.95, a.size

    def influence(x):  # IF of CVaR: VaR + (x - VaR)^+ / (1 - a) - CVaR
        v = np.quantile(x, level, method="inverted_cdf")
        return np.maximum(x - v, 0.0) / (1 - level)

    se_if = np.std(influence(b) - influence(a), ddof=1) / math.sqrt(n)
    boot_se = float(cmp.se.sel(strategy="better", statistic="cvar_diff"))
    assert boot_se == pytest.approx(se_if, rel=0.2)


def test_compare_on_fill_rate_counts_higher_as_better(ds):
    cmp = risk.compare(ds, "jit", "fill_rate", n_boot=200)
    assert cmp.attrs["tail"] == "lower"
    a = ds.fill_rate.sel(strategy="jit").values
    b = ds.fill_rate.sel(strategy="jic").values
    row = cmp.sel(strategy="jic")
    assert float(row.estimate.sel(statistic="p_better")) == np.mean(b > a)
    expect = np.quantile(b, 0.05, method="inverted_cdf") - np.quantile(
        a, 0.05, method="inverted_cdf"
    )
    assert float(row.estimate.sel(statistic="var_diff")) == pytest.approx(expect)
    lo, hi = (float(row[v].sel(statistic="cvar_diff")) for v in ("lower", "upper"))
    assert lo < float(row.estimate.sel(statistic="cvar_diff")) < hi


def test_compare_errors(ds):
    with pytest.raises(ResultsError, match="unknown strategy 'nope'"):
        risk.compare(ds, "nope")
    with pytest.raises(ResultsError, match="no variable 'cost'"):
        risk.compare(ds, "jit", "cost")
    with pytest.raises(ResultsError, match="only strategy"):
        risk.compare(ds.isel(strategy=[0]), "jit")
    with pytest.raises(ValueError, match="level"):
        risk.compare(ds, "jit", level=1.0)


def test_paired_differences(ds):
    d = risk.paired_differences(ds, "lost_units", "jit")
    assert list(d.strategy.values) == ["jic", "regionalized", "hybrid"]
    np.testing.assert_array_equal(
        d.sel(strategy="hybrid"),
        ds.lost_units.sel(strategy="hybrid") - ds.lost_units.sel(strategy="jit"),
    )


# ----------------------------------------------------------------------------- frontier


def test_pareto_dominance_hand_made():
    cost = [100, 120, 110, 130, 100, np.nan]
    risk_ = [50, 20, 60, 20, 50, 1]
    # 2 is beaten by 0 on both; 3 ties 1 on risk but costs more; 4 equals 0 (no domination)
    assert risk.pareto_dominated(cost, risk_).tolist() == [False, False, True, True, False, False]


def test_frontier_on_hand_made_dataset():
    n = 50
    cost = {"jit": 100.0, "jic": 120.0, "regionalized": 110.0, "hybrid": 130.0}
    lost = {"jit": 50.0, "jic": 20.0, "regionalized": 60.0, "hybrid": 20.0}
    fill = {"jit": 0.90, "jic": 0.99, "regionalized": 0.95, "hybrid": 0.99}
    names = list(cost)
    hand = xr.Dataset(
        {
            "total_cost": (("strategy", "path"), np.repeat([[cost[s]] for s in names], n, 1)),
            "lost_units": (("strategy", "path"), np.repeat([[lost[s]] for s in names], n, 1)),
            "fill_rate": (("strategy", "path"), np.repeat([[fill[s]] for s in names], n, 1)),
        },
        coords={"strategy": names},
    )
    fr = risk.frontier(hand, risk="lost_units", measure="cvar")
    np.testing.assert_allclose(fr.risk_value, [lost[s] for s in names])
    np.testing.assert_allclose(fr.expected_cost, [cost[s] for s in names])
    assert fr.dominated.values.tolist() == [False, False, True, True]
    assert fr.dominated_by.sel(strategy="regionalized").item() == "jit"
    assert fr.dominated_by.sel(strategy="hybrid").item() == "jic"
    # fill rate: higher is better, so regionalized (0.95 at 110) now survives
    ff = risk.frontier(hand, risk="fill_rate", measure="var")
    assert ff.dominated.values.tolist() == [False, False, False, True]


# ----------------------------------------------------------------------------- convergence


def test_paths_needed_for_relative_precision():
    n = 20_000
    x = np.random.default_rng(4).normal(10.0, 1.0, n)
    est = risk.mean(_series(x))
    need = float(risk.paths_needed(est, rel_precision=0.001, confidence=0.95))
    z = stats.norm.ppf(0.975)
    assert need == pytest.approx((z * 1.0 / (0.001 * 10.0)) ** 2, rel=0.05)
    # CVaR95 of Exp(1) within +-1 %: n = (z sigma_IF / (0.01 CVaR))^2, sigma_IF^2 = 2/0.05 - 1
    y = np.random.default_rng(5).exponential(1.0, n)
    conv = risk.convergence(risk.cvar(_series(y), 0.95), rel_precision=0.01)
    exact = (z * math.sqrt(2 / 0.05 - 1) / (0.01 * (1 - math.log(0.05)))) ** 2
    assert float(conv.paths_needed) == pytest.approx(exact, rel=0.15)
    assert float(conv.rel_halfwidth) == pytest.approx(0.01 * math.sqrt(exact / n), rel=0.1)


# ----------------------------------------------------------------------------- table


def test_risk_table_values_match_the_functions(ds):
    table = risk.risk_table(ds)
    assert table.sizes == {"strategy": 4, "column": len(risk.DEFAULT_TABLE_COLUMNS)}
    assert list(table.strategy.values) == list(STRATEGIES)
    np.testing.assert_array_equal(table.paths, 400)
    col = table.sel(column="fill_rate mean")
    xr.testing.assert_allclose(col.estimate.reset_coords(drop=True), risk.fill_rate(ds).estimate)
    p95 = risk.quantile(ds.lost_units, 0.95)
    np.testing.assert_array_equal(table.sel(column="lost_units P95").lower, p95.lower)
    cv = risk.cvar(ds.total_cost, 0.95)
    np.testing.assert_array_equal(table.sel(column="total_cost CVaR95").se, cv.se)
    p1 = np.quantile(ds.fill_rate.values, 0.01, axis=1, method="inverted_cdf")
    np.testing.assert_array_equal(table.sel(column="fill_rate P1").estimate, p1)
    assert str(table.sel(column="stockout_days P95").units.values) == "days"
    assert np.all(table.lower.values <= table.estimate.values + 1e-12)
    assert np.all(np.nan_to_num(table.upper.values, nan=np.inf) >= table.estimate.values - 1e-12)
    with pytest.raises(ResultsError, match="stockout_days"):
        risk.risk_table(ds.drop_vars("stockout_days"))
    custom = risk.risk_table(ds, columns=[("total_cost", "VaR90"), ("lost_units", "P99.5")])
    assert list(custom.column.values) == ["total_cost VaR90", "lost_units P99.5"]


def test_format_risk_table_is_aligned_and_readable(ds):
    text = risk.format_risk_table(risk.risk_table(ds))
    lines = text.splitlines()
    table_lines = lines[2 : lines.index("", 2)]
    groups = {
        "fill_rate [%]",
        "lost_units [units]",
        "total_cost [currency]",
        "stockout_days [days]",
    }
    assert groups <= set(table_lines)  # one heading line per metric
    rows = [line for line in table_lines if line not in groups]
    assert len({len(line) for line in rows}) == 1  # aligned, right-justified columns
    header = table_lines[0].split()
    assert header == ["statistic", *STRATEGIES]
    assert "fill_rate" in text and "CVaR95" in text and "paths" in text
    fill = risk.fill_rate(ds).estimate.sel(strategy="jit").item()
    assert f"{100 * fill:.2f}%" in text
    assert text.isascii()
    assert re.search(r"\[[^\]]+, [^\]]+\]", text)  # "[lower, upper]" cells
    plain = risk.format_risk_table(risk.risk_table(ds), intervals="none")
    assert not re.search(r"\[[^\]]+, [^\]]+\]", plain)


def test_format_comparison(ds):
    text = risk.format_comparison(risk.compare(ds, "jit", "total_cost", n_boot=100))
    assert "against 'jit'" in text and "CVaR95 diff" in text and "P(better)" in text
    assert "width paired/unpaired" in text
    table_lines = text.splitlines()[2 : text.splitlines().index("", 2)]
    assert len({len(line) for line in table_lines}) == 1


def test_number_formatting():
    assert risk._fmt(0.95123, "1") == "95.12%"
    assert risk._fmt(63860.2) == "63.86k"
    assert risk._fmt(12_345_678.0) == "12.35M"
    assert risk._fmt(float("nan")) == "n/a"
    assert risk._cell(9736.0, 9282.0, 10190.0, "", "interval") == "9736 [9282, 10190]"
    assert risk._cell(63860.2, 63181.0, 64540.0, "", "interval") == "63.86k [63.18k, 64.54k]"
    assert risk._cell(0.0, 0.0, 11450.0, "", "interval") == "0 [0, 11.45k]"
    assert risk._cell(444.0, 0.0, 11450.0, "", "none") == "444"


# ----------------------------------------------------------------------------- layers


def test_registry_and_attribute_override():
    assert risk.bad_tail("fill_rate") == "lower"
    assert risk.bad_tail("total_cost") == "upper"
    da = _series([1.0, 2.0], name="service_level")
    assert risk.bad_tail(da) == "upper"
    da.attrs["higher_is_better"] = 1
    assert risk.bad_tail(da) == "lower"
    assert risk.bad_tail(da, "upper") == "upper"


def test_invalid_arguments(ds):
    with pytest.raises(ValueError, match="confidence"):
        risk.quantile(ds.total_cost, 0.5, confidence=1.5)
    with pytest.raises(ValueError, match="level"):
        risk.cvar(ds.total_cost, 1.0)
    with pytest.raises(ResultsError, match="no dimension 'draw'"):
        risk.mean(ds.total_cost, dim="draw")
    with pytest.raises(ValueError, match="unknown statistic"):
        risk.risk_table(ds, columns=[("total_cost", "median")])
    with pytest.raises(ResultsError, match="no variable"):
        ds.risk.cvar("nonexistent")


def test_accessor_equals_functions(ds):
    pairs = [
        (ds.risk.quantile("lost_units", [0.5, 0.95]), risk.quantile(ds.lost_units, [0.5, 0.95])),
        (ds.risk.value_at_risk("fill_rate", 0.95), risk.value_at_risk(ds.fill_rate, 0.95)),
        (ds.risk.cvar("total_cost", 0.95), risk.cvar(ds.total_cost, 0.95)),
        (ds.risk.mean("lost_units"), risk.mean(ds.lost_units)),
        (ds.risk.fill_rate(), risk.fill_rate(ds)),
        (ds.risk.exceedance("lost_units", [1, 10]), risk.exceedance(ds.lost_units, [1, 10])),
        (
            ds.risk.breach_probability("fill_rate", 0.95),
            risk.breach_probability(ds.fill_rate, 0.95),
        ),
        (ds.risk.compare("jit", n_boot=50), risk.compare(ds, "jit", n_boot=50)),
        (ds.risk.frontier(), risk.frontier(ds)),
        (ds.risk.table(), risk.risk_table(ds)),
        (
            ds.risk.convergence(0.02),
            risk.convergence(risk.risk_table(ds), 0.02),
        ),
    ]
    for got, want in pairs:
        xr.testing.assert_identical(got, want)
    xr.testing.assert_identical(
        ds.risk.paired_differences("lost_units"), risk.paired_differences(ds, "lost_units")
    )


def _refuse_to_compute(*args, **kwargs):
    raise AssertionError("building the graph computed something")


def test_dask_input_stays_lazy_and_gives_the_same_numbers(ds):
    lazy = ds.chunk({"strategy": 1, "path": 100})
    thresholds = [0.0, 250.0, 1000.0]
    builders = {
        "quantile": lambda d: risk.quantile(d.lost_units, [0.05, 0.5, 0.95]),
        "var": lambda d: risk.value_at_risk(d.fill_rate, [0.9, 0.95]),
        "cvar": lambda d: risk.cvar(d.total_cost, [0.9, 0.95]),
        "cvar_boot": lambda d: risk.cvar(d.total_cost, 0.95, interval="bootstrap", n_boot=100),
        "mean": lambda d: risk.mean(d.total_cost),
        "fill": lambda d: risk.fill_rate(d),
        "breach": lambda d: risk.breach_probability(d.fill_rate, 0.95),
        "exceed": lambda d: risk.exceedance(d.lost_units, thresholds),
        "compare": lambda d: risk.compare(d, "jit", "lost_units", n_boot=100),
        "diff": lambda d: risk.paired_differences(d, "total_cost"),
        "table": lambda d: risk.risk_table(d),
    }
    with dask.config.set(scheduler=_refuse_to_compute):
        graphs = {name: build(lazy) for name, build in builders.items()}
    for name, build in builders.items():
        got, want = graphs[name], build(ds)
        first = got if isinstance(got, xr.DataArray) else got[next(iter(got.data_vars))]
        assert first.chunks is not None, name
        xr.testing.assert_allclose(got.compute(), want, rtol=1e-12)
