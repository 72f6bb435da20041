"""Ordering policies (issue-14 policy) against exact answers derived from docs/model.md.

The network of every case: one dc, one always-UP supplier of unlimited capacity at lead
time L (L' = max(L, 1)), backorders, no disruption. The day (docs/model.md): receive,
serve (backlog first), measure, then order at the inventory position IP = on hand + in
transit - backlog. J_t, IP after day t's order, is a Markov chain: J_t = J_{t-1} - d_t +
order_t(J_{t-1} - d_t), J_{-1} = the stock on day -1 (S, or r + Q). Every order placed on
or before day m = max(s - L', -1) is on hand when day s is served and none placed later,
so before serving day s on hand - backlog = J_m - Y, Y the demand of the s - 1 - m days
in between (independent of J_m); filled_s = min(d_s, (J_m - Y)^+); after serving NI_s =
J_m - Y - d_s, on hand NI^+, backlog NI^-. tests/validation/policy_exact.py propagates
the law of J exactly (numpy) and sums these expectations over the horizon; the Monte
Carlo estimate must be within 4 standard errors (tests/validation/cases.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.validation import policy_cases as pc
from tests.validation import policy_exact as px
from tests.validation.cases import (
    TOLERANCE_SE,
    Case,
    cases_of,
    evaluate,
    scenario_doc,
    simulate,
    z_score,
)


def _check(case: Case) -> None:
    row = evaluate(case)
    assert row.ok, (
        f"{case.name}: estimate {row.estimate:.6g} vs exact {row.exact:.6g} "
        f"({case.formula}): z = {row.z:+.2f}, |z| must be < {TOLERANCE_SE}"
    )


def _of(scenario: str) -> list[Case]:
    return [c for c in cases_of("policy") if c.scenario == scenario]


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


@pytest.mark.parametrize("case", _of("policy-rq"), ids=_ids(_of("policy-rq")))
def test_r_Q(case):
    """(r, Q), Poisson(mu) demand: when J_{t-1} - d_t <= r the dc orders n Q, n =
    floor((r - x) / Q) + 1 the fewest lots that lift x above r, so J_t is in r+1 .. r+Q.
    Demand moves J down and the order wraps it round a cycle of Q states, so in the long
    run J is uniform on r+1 .. r+Q (test_r_Q_position_is_uniform_in_the_long_run); the
    case value is exact for the finite horizon from J_{-1} = r + Q:
    fill = sum_s E[min(d_s, (J_m - Y)^+)] / (T mu), on hand = (1/T) sum_s E[(J_m - X)^+],
    backlog = (1/T) sum_s E[(X - J_m)^+], X = Y + d_s ~ Poisson((s - m) mu), and orders
    placed = sum_t P(J_{t-1} - d_t <= r). Two parameter sets: (12, 30) at L = 1 and
    (45 = ceil(10 (4 + 0.5)) from r_days, 60) at L = 4."""
    _check(case)


@pytest.mark.parametrize("case", _of("policy-ss"), ids=_ids(_of("policy-ss")))
def test_s_S(case):
    """(s, S), Poisson demand: J_t = S if J_{t-1} - d_t <= s, else J_{t-1} - d_t; its
    transition matrix on s+1 .. S is solved with numpy (the transient law from J_{-1} = S
    by propagation; the stationary law by the left eigenvector, which the propagation
    reaches: test_s_S_stationary_law_solves_the_chain). Values as in test_r_Q; order
    cost = K x orders placed (K = 25, kept by the strategy that changes the levels only).
    (10, 30) at L = 2, and from days of cover (8, 24) at L = 0."""
    _check(case)


@pytest.mark.parametrize("case", _of("policy-rs"), ids=_ids(_of("policy-rs")))
def test_R_S(case):
    """(R, S): on review days t = offset (mod R) the dc orders up to S. Demand never raises
    J and it starts at S, so every review leaves J = S and J_m = S - (demand since the last
    review k <= m, or since day -1). Before serving day s, on hand - backlog = S - D_n,
    D_n ~ Poisson(n mu), n = s - 1 - k(s), k(s) the last review day on or before s - L'
    (or -1): the demand over up to R + L' - 1 days, so fill = (1/T) sum_s E[min(d,
    (S - D_n)^+)] / mu, on hand = (1/T) sum_s E[(S - D_{n+1})^+], backlog = (1/T)
    sum_s E[(D_{n+1} - S)^+]. S from days of cover: ceil(mu (R - 1 + L' + S_days)).
    R = 5 (offset 2) at L = 3, R = 7 at L = 0."""
    _check(case)


LOT_CASES = cases_of("policy_lots")


@pytest.mark.parametrize("case", LOT_CASES, ids=_ids(LOT_CASES))
def test_lot_multiple_and_minimum_order_cycle(case):
    """Deterministic demand mu: the order of day t at x = J_{t-1} - mu is the policy's
    (base stock S - x when x < S, (r, Q), (s, S)), raised to the minimum order quantity,
    then to a whole number of lots; J_t = x + order, and on hand after serving day s is
    (J_m - (s - m) mu)^+. With S = 21, mu = 7, L = 2 and lots of 20, J cycles through
    21 + ((-7 (t + 1)) mod 20) shifted into 21 .. 40 (period 20); with a minimum order of
    25 an order lifts J by 25 whenever it falls below 21 (period 25). Every path is the
    same, so the estimate must equal the exact value (SE 0)."""
    row = evaluate(case)
    assert row.se == 0.0 and row.estimate == row.exact, (case.name, row.estimate, row.exact)


@pytest.mark.parametrize(
    ("scenario", "strategy"),
    [("policy-lots", "lot_20"), ("policy-lots", "moq_25"), ("policy-lots-b", "rq_lots")]
    + [("policy-lots-b", "ss_moq")],
)
def test_deterministic_on_hand_trajectory_day_by_day(scenario, strategy):
    """The day-by-day on hand of the deterministic cases is the exact trajectory, and it
    cycles (lots of 20 against 7 a day: period 20 / gcd(7, 20) = 20)."""
    doc = scenario_doc(scenario)
    want = pc.cycle(doc, strategy)
    got = simulate(scenario).sel(strategy=strategy).daily_on_hand_mean.values
    np.testing.assert_array_equal(got, want["on_hand"])
    if strategy == "lot_20":
        assert px.cycle_length(want["position"]) == 20


def test_r_Q_position_is_uniform_in_the_long_run():
    """The law of J under (r, Q) tends to the uniform law on r+1 .. r+Q, and the finite-
    horizon values to the long-run closed form."""
    r, Q, mu, L = 12, 30, 10.0, 1
    rule = px.with_quantities(px.r_Q_rule(r, Q))
    values, laws, _ = px.position_laws(mu, r + Q, 400, rule, r - 80)
    law = laws[-1]
    inside = (values > r) & (values <= r + Q)
    assert law[~inside].sum() < 1e-12
    np.testing.assert_allclose(law[inside], 1.0 / Q, atol=1e-9)
    long = px.policy_metrics(mu, L, 3000, r + Q, rule, r - 80)
    closed = px.r_Q_long_run(mu, L, r, Q)
    for key in ("fill_rate", "mean_on_hand", "mean_backlog"):
        assert abs(long[key] - closed[key]) < 0.01 * max(closed[key], 0.01), key


def test_s_S_stationary_law_solves_the_chain():
    """The propagated law of J under (s, S) reaches the stationary law that numpy's
    solution of pi P = pi gives."""
    s, S, mu = 10, 30, 4.0
    rule = px.with_quantities(px.s_S_rule(s, S))
    values, laws, _ = px.position_laws(mu, S, 600, rule, s - 60)
    pi = px.s_S_stationary(mu, s, S)
    inside = (values > s) & (values <= S)
    np.testing.assert_allclose(laws[-1][inside], pi, atol=1e-9)


@pytest.mark.parametrize("strategy", ["rs_r5_l3", "rs_r7_l0"])
def test_R_S_closed_form_equals_the_chain(strategy):
    """Two derivations of (R, S) agree: the closed form over the demand since the last
    review, and the propagated chain of J."""
    doc = scenario_doc("policy-rs")
    chain = pc.chain_metrics(doc, strategy)
    for key in ("fill_rate", "mean_on_hand", "mean_backlog"):
        assert abs(pc.R_S_value(key)(doc, strategy) - chain[key]) < 1e-9, key


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("policy-rq/rq_l1/mean_on_hand", pc.r_Q_ordering_below_r),
        ("policy-ss/ss_l2/fill_rate", pc.one_day_late),
    ],
)
def test_checker_rejects_wrong_policy_formulas(name, wrong):
    (case,) = [c for c in cases_of("policy") if c.name == name]
    row = evaluate(case)
    value = wrong(scenario_doc(case.scenario), case.strategy)
    assert abs(z_score(row.estimate, row.se, value)) >= TOLERANCE_SE, (value, row.estimate)
