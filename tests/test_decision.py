"""The decision summary: paired figures, verdicts, ranking, words and interval coverage.

Synthetic results with known answers: every strategy's per-path cost and lost units are
built from one shared "luck" draw per path (common random numbers) plus the strategy's
own decision, so the true paired differences are known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.decision import (
    RISK_MEASURES,
    decision_summary,
    default_baseline,
    format_summary,
    summary_paragraph,
)


def synthetic(strategies: dict[str, tuple[float, float]], n: int = 20_000, seed: int = 1):
    """strategy -> (extra cost per path, share of the shared loss kept).

    lost_units = keep * L_i with L_i ~ Exponential(mean 1000) shared by every strategy, so
    CVaR_a(lost) = keep * 1000 * (1 + ln(1 / (1 - a))) and P_a = keep * 1000 * ln(1/(1-a));
    total_cost = 1e6 + extra + 50 * lost_units.
    """
    rng = np.random.default_rng(seed)
    loss = rng.exponential(1000.0, n)
    names = list(strategies)
    lost = np.array([strategies[s][1] * loss for s in names])
    cost = np.array([1e6 + strategies[s][0] + 50.0 * lost[k] for k, s in enumerate(names)])
    fill = 1.0 - lost / 1e5
    ds = xr.Dataset(
        {
            "lost_units": (("strategy", "path"), lost, {"units": "units"}),
            "total_cost": (("strategy", "path"), cost, {"units": "currency"}),
            "fill_rate": (("strategy", "path"), fill, {"units": "1"}),
            "stockout_days": (("strategy", "path"), (lost > 500).astype(float), {"units": "days"}),
            "lost_sales_cost": (("strategy", "path"), 50.0 * lost, {"units": "currency"}),
        },
        coords={"strategy": names, "path": np.arange(n)},
    )
    return ds


def test_figures_equal_the_paired_differences_strategy_by_strategy():
    ds = synthetic({"lean": (0.0, 1.0), "buffer": (20_000.0, 0.5), "dual": (40_000.0, 0.2)})
    s = decision_summary(ds, "lean")
    lost, cost = ds["lost_units"], ds["total_cost"]
    for name in ("buffer", "dual"):
        d_cost = float((cost.sel(strategy=name) - cost.sel(strategy="lean")).mean())
        assert float(s["estimate"].sel(strategy=name, figure="extra_cost")) == pytest.approx(d_cost)
        q = np.sort(lost.sel(strategy="lean").values)[-1000:].mean()
        r = np.sort(lost.sel(strategy=name).values)[-1000:].mean()
        got = float(s["estimate"].sel(strategy=name, figure="risk_avoided"))
        assert got == pytest.approx(q - r, rel=1e-9)
        ratio = float(s["estimate"].sel(strategy=name, figure="cost_per_risk_avoided"))
        assert ratio == pytest.approx(d_cost / (q - r))


def test_cheaper_and_safer_is_reported_and_ranked_first():
    ds = synthetic({"base": (0.0, 1.0), "better": (-30_000.0, 0.5), "buffer": (20_000.0, 0.6)})
    s = decision_summary(ds)
    assert str(s["verdict"].sel(strategy="better").values) == "cheaper and safer"
    assert int(s["rank"].sel(strategy="better")) == 1
    # "buffer" is costlier and riskier than "better" on the paired differences between them
    assert str(s["verdict"].sel(strategy="buffer").values) == "dominated"
    assert str(s["dominated_by"].sel(strategy="buffer").values) == "better"
    text = summary_paragraph(s)
    assert "better is cheaper and safer" in text
    assert "buffer is dominated by better" in text


def test_a_difference_inside_its_interval_is_not_ranked():
    # 'same' differs from the baseline by independent noise only: no true difference
    ds = synthetic({"base": (0.0, 1.0), "same": (0.0, 1.0), "buffer": (20_000.0, 0.5)})
    rng = np.random.default_rng(7)
    n = ds.sizes["path"]
    same = {"strategy": "same"}
    ds["lost_units"].loc[same] = ds["lost_units"].sel(same).values * rng.uniform(0.9, 1.1, n)
    ds["total_cost"].loc[same] = ds["total_cost"].sel(same).values + rng.normal(0, 5000, n)
    s = decision_summary(ds)
    assert str(s["verdict"].sel(strategy="same").values) == "not distinguishable"
    assert int(s["rank"].sel(strategy="same")) == 0
    assert "same is not distinguishable from base" in summary_paragraph(s)


def test_costlier_with_no_risk_reduction():
    ds = synthetic({"base": (0.0, 1.0), "waste": (50_000.0, 1.0)})
    s = decision_summary(ds)
    assert str(s["verdict"].sel(strategy="waste").values) == "costlier, no safer"
    assert np.isnan(float(s["estimate"].sel(strategy="waste", figure="cost_per_risk_avoided")))


def test_default_baseline_is_the_scenarios_or_the_first_strategy():
    ds = synthetic({"a": (0.0, 1.0), "b": (1.0, 0.5)})
    assert default_baseline(ds) == "a"
    ds.attrs["baseline"] = "b"
    assert default_baseline(ds) == "b"
    assert decision_summary(ds).attrs["baseline"] == "b"
    ds.attrs["baseline"] = "gone"
    assert default_baseline(ds) == "a"


def test_bad_arguments_are_user_errors():
    ds = synthetic({"a": (0.0, 1.0), "b": (1.0, 0.5)})
    with pytest.raises(ResultsError, match="unknown risk measure 'p42'; choose one of"):
        decision_summary(ds, risk_measure="p42")
    with pytest.raises(ResultsError, match="unknown baseline strategy 'jit'"):
        decision_summary(ds, "jit")


@pytest.mark.parametrize("measure", sorted(RISK_MEASURES))
def test_every_measure_summarises(measure):
    ds = synthetic({"lean": (0.0, 1.0), "buffer": (20_000.0, 0.5)}, n=5000)
    s = decision_summary(ds, "lean", measure)
    est = s["estimate"].sel(strategy="buffer", figure="risk_avoided")
    lo = s["lower"].sel(strategy="buffer", figure="risk_avoided")
    hi = s["upper"].sel(strategy="buffer", figure="risk_avoided")
    assert float(lo) <= float(est) <= float(hi)
    assert float(est) > 0  # halving the loss is safer on every measure
    assert format_summary(s).count("\n") >= 4


@pytest.mark.parametrize(
    ("measure", "truth"),
    [
        # CVaR95 of keep * Exp(1000): keep * 1000 * (1 + ln 20); avoided = 0.5 of it
        ("cvar95_lost_units", 0.5 * 1000 * (1 + np.log(20))),
        # P95 of keep * Exp(1000): keep * 1000 * ln 20
        ("p95_lost_units", 0.5 * 1000 * np.log(20)),
        # P(lost > 500): base exp(-0.5), halved loss exp(-1)
        ("p_stockout", np.exp(-0.5) - np.exp(-1.0)),
    ],
)
def test_interval_coverage_is_near_nominal(measure, truth):
    """Over 200 independent synthetic results the 95% interval of the paired risk avoided
    covers the closed-form truth in 95% +- 4.5% of them (3 binomial SEs of 200 trials)."""
    hits = 0
    trials = 200
    for rep in range(trials):
        ds = synthetic({"base": (0.0, 1.0), "half": (1000.0, 0.5)}, n=4000, seed=100 + rep)
        s = decision_summary(ds, "base", measure)
        lo = float(s["lower"].sel(strategy="half", figure="risk_avoided"))
        hi = float(s["upper"].sel(strategy="half", figure="risk_avoided"))
        hits += lo <= truth <= hi
    assert abs(hits / trials - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / trials)


def test_cli_offers_exactly_the_risk_measures():
    from resilience.cli.options import _risk_measures

    assert _risk_measures() == list(RISK_MEASURES)
