"""Issue 14: demand beyond stationary Poisson and stochastic lead times, against exact
answers (docs/model.md, "Demand beyond stationary Poisson", "Stochastic lead times").

The cases are rows of tests/validation/cases.py (families seasonal, nb_demand,
lead_crossing; the exact values in tests/validation/exact_variability.py); each
family's derivation is in its test's docstring. The order of events is docs/model.md's:
1. chains, 2. receive, 3. serve (then measure), 4. order S - IP and ship.
"""

from __future__ import annotations

import numpy as np
import pytest

from resilience.errors import ScenarioError
from resilience.kernels.simulate import N_PATH_METRICS
from resilience.scenario.queries import daily_demand_means
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import network, run_kernel
from tests.reference import simulate_path
from tests.validation import exact_variability
from tests.validation.cases import (
    TOLERANCE_SE,
    Case,
    cases_of,
    evaluate,
    scenario_doc,
    scenario_path,
)


def _check(case: Case) -> None:
    row = evaluate(case)
    assert row.ok, (
        f"{case.name}: estimate {row.estimate:.6g} vs exact {row.exact:.6g} "
        f"({case.formula}): z = {row.z:+.2f}, |z| must be < {TOLERANCE_SE}"
    )


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


@pytest.mark.parametrize("case", cases_of("seasonal"), ids=_ids(cases_of("seasonal")))
def test_seasonal_deterministic_demand(case):
    """Deterministic demand d_t = mean x weekly[t % 7] (or row t of a CSV), one always-UP
    supplier of unlimited capacity with lead time L >= 1, lost sales, S in units.

    IP = S after every order (the supplier ships all of it), and serving d_t lowers IP
    by what is served, so the order of day s is served_s, and it arrives at step 2 of
    day s + L. Before serving on day t the dc holds S minus the orders of days
    t-L+1 .. t-1 still in transit: served_t = min(d_t, S - sum_{s=t-L+1}^{t-1} served_s),
    lost_t = d_t - served_t, on hand after serving = S - sum_{s=t-L+1}^{t} served_s
    (exact_variability.lost_sales_trajectory). Every path is the same: SE 0, the kernel
    must hit the integers on the nose."""
    _check(case)


@pytest.mark.parametrize("name", ["seasonal-weekly", "seasonal-csv"])
def test_seasonal_trajectories_day_by_day(name):
    """The day-by-day on hand of the seasonal cases, kernel (fixed-point daily sums) and
    reference, equal the hand recursion of test_seasonal_deterministic_demand."""
    scenario = load_scenario(scenario_path(name))
    doc = scenario_doc(name)
    dc = scenario.node("dc")
    means = daily_demand_means(dc.demand, scenario.horizon_days)
    lead = scenario.lanes[0].lead_time_days
    for strategy in scenario.strategy_names:
        S = float(doc["strategies"][strategy]["stock"][0]["order_up_to"])
        on_hand, lost = exact_variability.lost_sales_trajectory(means, S, lead)
        ref = simulate_path(scenario, strategy, 1, 0)
        assert ref["daily_on_hand"] == on_hand
        assert ref["lost_units"] == sum(lost)
        out = run_kernel(network(scenario, strategy), 1, 0, 3)
        np.testing.assert_array_equal(out.on_hand_sum / 256.0 / 3, on_hand)


@pytest.mark.parametrize("case", cases_of("nb_demand"), ids=_ids(cases_of("nb_demand")))
def test_negative_binomial_demand(case):
    """Daily demand NB of mean mu and variance v mu: r = mu / (v - 1) successes of
    probability p = 1 / v (P(d = k) = C(k + r - 1, k) p^r (1 - p)^k). Days are
    independent, so a path's demand over T days has mean T mu and variance T v mu:
    demand_units / T estimates mu, Var(demand_units) / T estimates v mu.

    Base stock with backorders and an always-UP unlimited supplier (lead time L,
    L' = max(L, 1)): test_exact_answers.test_base_stock's argument holds for any iid
    demand. The dc orders exactly d_t each day; net inventory after serving on day t is
    S - X_t, X_t the demand of the last n = min(t + 1, L') days, a sum of n iid NB(r, p),
    so X_t ~ NB(n r, p); before serving, on hand - backlog = S - Y_t, Y_t ~ NB((n-1) r, p)
    independent of d_t, and filled_t = min(d_t, (S - Y_t)^+). Hence fill =
    sum_t E[min(d, (S - Y_t)^+)] / (T mu), mean on hand = (1/T) sum_t E[(S - X_t)^+],
    mean backlog = (1/T) sum_t E[(X_t - S)^+] with scipy.stats.nbinom
    (exact_variability.nb_base_stock)."""
    _check(case)


@pytest.mark.parametrize("case", cases_of("lead_crossing"), ids=_ids(cases_of("lead_crossing")))
def test_stochastic_lead_time_orders_crossing(case):
    """Deterministic demand d, base stock S, backorders, one always-UP unlimited supplier
    whose lead time is drawn per shipment (independent across days; orders cross).

    Demand lowers IP by d every day (served or backlogged) and the order S - IP brings it
    back, so every day's order is exactly d, and the order of day t - j (j >= 1) is
    still in transit on day t after step 2 iff its lead time L > j (L = 0: on hand at
    the end of its day). Net stock after serving on day t is NS_t = S - d - d N_t,
    N_t = sum_{j=1}^{t} B_j, B_j ~ Bernoulli(P(L > j)) independent: a Poisson-binomial
    whose pmf is the convolution of the B_j. On hand = NS^+, backlog = NS^-; before
    serving, on hand - backlog = NS_t + d, the backlog is served first, so filled_t =
    min(d, (NS_t + d)^+). Averaged over t = 0..T-1 (exact_variability.crossing_base_stock).
    The lognormal case's pmf is worked out from scipy's lognormal: P(L = k) = F(k) -
    F(k-1) for k < cap, P(L = cap) = 1 - F(cap - 1), L = ceil(X) >= 1."""
    _check(case)


def test_the_checker_sees_crossing():
    """A wrong model, orders arriving in order of dispatch with the mean lead time (no
    crossing: the on hand of a deterministic lead time of round(E[L]) days), is rejected."""
    case = next(c for c in cases_of("lead_crossing") if c.metric == "mean_on_hand")
    row = evaluate(case)
    doc = scenario_doc(case.scenario)
    lead = doc["lanes"][0]["lead_time_days"]
    mean_lead = sum(v * p for v, p in zip(lead["values"], lead["probs"], strict=True))
    fixed = {round(mean_lead): 1.0}
    S = float(doc["strategies"][case.strategy]["stock"][0]["order_up_to"])
    d = float(doc["nodes"]["dc"]["demand"]["mean_per_day"])
    wrong = exact_variability.crossing_base_stock(d, S, fixed, int(doc["horizon_days"]))
    assert abs(row.estimate - wrong["mean_on_hand"]) > 10 * row.se


# ----------------------------------------------------------------------------- exactly as before


def _one_dc(demand: dict, lead: object = 2, horizon: int = 30) -> dict:
    return {
        "name": "one dc",
        "horizon_days": horizon,
        "demand_mode": "backorder",
        "buffer_days": 1,
        "regions": {"r": {"shocks": [{"start_probability": 0.05, "end_probability": 0.3}]}},
        "nodes": {
            "s": {"kind": "supplier", "region": "r", "item": "fg"},
            "dc": {"kind": "dc", "region": "r", "demand": demand},
        },
        "lanes": [{"from": "s", "to": "dc", "lead_time_days": lead}],
    }


def _outputs(doc: dict) -> np.ndarray:
    scenario = load_scenario(doc)
    out = run_kernel(network(scenario, "base"), 3, 0, 40)
    assert out.path_out.shape[1] == N_PATH_METRICS
    return np.concatenate([out.path_out.ravel(), out.on_hand_sum, out.fill_sum])


def test_flat_season_and_a_one_value_lead_time_change_no_bit():
    """Multipliers of 1 (a table per day, all equal to the stationary one) and a lead
    time drawn from one value (its own stream, rng.LEAD_TIME) give the bits of the
    stationary Poisson, fixed-lead-time network: the demand draw is the same uniform read
    through an equal table, and the lead-time stream changes no other draw."""
    plain = {"distribution": "poisson", "mean_per_day": 7}
    flat = {**plain, "seasonality": {"weekly": [1] * 7}}
    one = {"distribution": "discrete", "values": [2], "probs": [1.0]}
    base = _outputs(_one_dc(plain))
    np.testing.assert_array_equal(_outputs(_one_dc(flat)), base)
    np.testing.assert_array_equal(_outputs(_one_dc(plain, lead=one)), base)


# ----------------------------------------------------------------------------- the keys


@pytest.mark.parametrize(
    ("demand", "lead", "message"),
    [
        (
            {"distribution": "negative_binomial", "mean_per_day": 5},
            1,
            "nodes.dc.demand.variance_to_mean: required key missing",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5, "variance_to_mean": 2},
            1,
            "nodes.dc.demand.variance_to_mean: only for distribution: negative_binomial",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5, "seasonality": {"weekly": [1] * 6}},
            1,
            "nodes.dc.demand.seasonality.weekly: must list exactly 7 multipliers, got 6",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5, "seasonality": {"monthy": [1] * 12}},
            1,
            "nodes.dc.demand.seasonality.monthy: unknown key (did you mean 'monthly'?)",
        ),
        (
            {"distribution": "poisson", "mean_series": [1, 2]},
            1,
            "nodes.dc.demand.mean_series: lists 2 days, the horizon has 30",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5, "trend_per_year": -20},
            1,
            "nodes.dc.demand.trend_per_year: makes the mean negative",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5, "mean_csv": "x.csv"},
            1,
            "nodes.dc.demand: give mean_per_day or a per-day series",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5},
            {"distribution": "discrete", "values": [1, 2], "probs": [0.5, 0.4]},
            "lanes[0].lead_time_days.probs: must sum to 1, got 0.9",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5},
            {"distribution": "discrete", "values": [1, 1], "probs": [0.5, 0.5]},
            "lanes[0].lead_time_days.values: must be distinct days",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5},
            {"distribution": "lognormal", "mean_days": 3, "values": [1]},
            "lanes[0].lead_time_days.values: not a lognormal parameter",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5},
            {"distribution": "lognormal", "mean_days": 3000, "sd_days": 30000},
            "give max_days",
        ),
        (
            {"distribution": "poisson", "mean_per_day": 5},
            {"distribution": "gamma"},
            "lanes[0].lead_time_days.distribution: must be one of discrete, lognormal",
        ),
    ],
)
def test_bad_variability_keys_give_placed_errors(demand, lead, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_one_dc(demand, lead))
    assert any(message in line for line in err.value.errors), err.value.errors


def test_mean_csv_reads_a_table_beside_the_scenario(tmp_path):
    """mean_csv: one row per day (column mean_per_day), relative to the scenario file;
    a bad cell is placed at its row."""
    import yaml

    doc = _one_dc({"distribution": "deterministic", "mean_csv": "days.csv"}, horizon=3)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "days.csv").write_text("day,mean_per_day\n0,4\n1,5.5\n2,0\n")
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.node("dc").demand.mean_series == (4.0, 5.5, 0.0)
    assert daily_demand_means(scenario.node("dc").demand, 3) == [4.0, 5.5, 0.0]
    (tmp_path / "days.csv").write_text("day,mean_per_day\n0,4\n1,x\n2,0\n")
    with pytest.raises(ScenarioError, match=r"days.csv row 3, column mean_per_day"):
        load_scenario(tmp_path / "s.yaml")


def test_derived_levels_use_the_horizon_average_and_the_mean_lead_time():
    """buffer_days levels plan with the horizon average of the daily means and, for a
    stochastic lead time, E[max(L, 1)]: S = ceil(mean x (E[max(L, 1)] + buffer))."""
    from resilience.compiler import compile_strategy

    demand = {
        "distribution": "poisson",
        "mean_per_day": 10,
        "seasonality": {"weekly": [2] + [1] * 6},
    }
    lead = {"distribution": "discrete", "values": [0, 3], "probs": [0.5, 0.5]}
    scenario = load_scenario(_one_dc(demand, lead, horizon=14))
    # average mean 10 x 8/7; E[max(L, 1)] = 0.5 x 1 + 0.5 x 3 = 2; buffer 1
    expected = np.ceil(10 * 8 / 7 * (2 + 1) - 1e-9)
    assert compile_strategy(scenario, "base").order_up_to["dc/fg"] == expected


def test_large_means_draw_from_their_central_tables():
    """A time-varying or negative-binomial dc's tables start at demand lo = mean - 12 sd
    - 20 (queries.demand_table_bottom): a mean of thousands keeps a table of its central
    mass only, and the kernel (k + table_lo) still matches the reference bit for bit."""
    from tests.test_reference import assert_matches_reference

    doc = _one_dc(
        {
            "distribution": "poisson",
            "mean_per_day": 4000,
            "seasonality": {"weekly": [1, 2] * 3 + [1]},
        },
        horizon=10,
    )
    doc["nodes"]["dc2"] = {
        "kind": "dc",
        "region": "r",
        "demand": {
            "distribution": "negative_binomial",
            "mean_per_day": 3000,
            "variance_to_mean": 2,
        },
    }
    doc["lanes"].append({"from": "s", "to": "dc2", "lead_time_days": 1})
    scenario = load_scenario(doc)
    net = network(scenario, "base")
    assert net.table_lo.min() > 0
    assert np.diff(net.table_cdf_ptr).max() < 2500  # not 4000 x 2 + 12 sd + 21 entries
    assert_matches_reference(scenario, "base", seed=11, path_start=5, n=4)
