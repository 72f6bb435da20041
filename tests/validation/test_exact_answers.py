"""Monte Carlo estimates of the kernel against exact answers derived from docs/model.md.

Each case (tests/validation/cases.py) is a scenario file under scenarios/validation/, a
strategy and a metric; it passes when the estimate is within 4 standard errors of the
exact value. Each test's docstring derives the exact value of its family from the order
of events in docs/model.md:

1. update chains (a node that fails today ships nothing today), 2. receive shipments due
today, 3. serve demand from on-hand (then measure on-hand/backlog), 4. order S - IP and
ship; a lead-time-0 shipment is put on hand at the END of day t, so it first serves day
t + 1. Initial state (day -1): every node UP, no shock, on-hand = S, empty pipelines.

Notation: p_t = P(a node's own chain is UP on day t) = pi + (1 - pi)(1 - a - b)^(t+1),
pi = b / (a + b), p_{-1} = 1; q_t = 1 - p_t; c_t = P(no regional shock on day t), the same
form with (start r, end q) in place of (a, b).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resilience.cli import main
from tests.validation.cases import (
    CASES,
    DAILY_CASES,
    DAILY_TOLERANCE_SE,
    EXACT_FAMILIES,
    LONG_RUN_BIAS_SE,
    RUNS,
    SCENARIO_DIR,
    TOLERANCE_SE,
    TTS_CASES,
    WRONG_CASES,
    Case,
    DailyCase,
    DailyRow,
    WrongCase,
    agrees,
    cases_of,
    evaluate,
    evaluate_daily,
    evaluate_tts,
    scenario_doc,
    scenario_path,
    z_score,
)


def _check(case: Case) -> None:
    row = evaluate(case)
    assert row.ok, (
        f"{case.name}: estimate {row.estimate:.6g} vs exact {row.exact:.6g} "
        f"({case.formula}): z = {row.z:+.2f}, |z| must be < {TOLERANCE_SE}"
    )


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


# ----------------------------------------------------------------------------- the files


def test_scenario_files_are_valid_and_all_used():
    files = sorted(SCENARIO_DIR.glob("*.yaml"))
    result = CliRunner().invoke(main, ["validate", *map(str, files)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == len(files)
    used = {c.scenario for c in CASES}
    assert {f.stem for f in files} == used == set(RUNS)
    for case in CASES:  # every case names a strategy of its file
        assert case.strategy in scenario_doc(case.scenario)["strategies"], case.name
        assert scenario_path(case.scenario).is_file()


def test_every_family_has_two_parameter_sets():
    for family in {c.family for c in CASES}:
        assert len({c.scenario for c in cases_of(family)}) >= 2, family


# ----------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("case", cases_of("single_supplier"), ids=_ids(cases_of("single_supplier")))
def test_single_supplier_zero_buffer(case):
    """Supplier -> DC, lead time 0, deterministic demand mu, no buffer, lost sales.

    S = ceil(mu (max(0, 1) + 0)) = mu. Claim: the DC starts each day t >= 1 with
    mu 1{supplier UP on day t-1} on hand and day 0 with S = mu. Day t: step 3 serves
    min(mu, on-hand), which empties the DC (on-hand is mu or 0); step 4 orders
    S - IP = mu (nothing in transit, no backlog); an UP supplier (unlimited capacity) ships
    it all, a DOWN one (DOWN today, per step 1) nothing; lead time 0 puts it on hand at the
    end of day t, serving day t + 1. Hence filled_t = mu 1{UP on day t-1} and, demand being
    constant, E[fill] = (1/T) sum_{t=0}^{T-1} p_{t-1}, with p_{-1} = 1 (day -1 is UP).
    Long run (test_long_run): b / (a + b).
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("buffer"), ids=_ids(cases_of("buffer")))
def test_buffer_lost_sales(case):
    """As the single-supplier case with k whole days of buffer: S = mu (1 + k).

    Let j_t = the number of consecutive DOWN days ending on day t-1 (0 if UP on t-1). The
    DC starts day t with I_t = max(S - j_t mu, 0): if the supplier was UP on t-1 it shipped
    the whole order S - (on-hand after serving) at the end of t-1, so I_t = S; if DOWN,
    nothing came and I_t = I_{t-1} - served_{t-1}. Since I_t = mu (1 + k - j_t)^+ is a
    whole number of days of demand, day t is served in full when j_t <= k and not at all
    when j_t >= k + 1. So lost_t = mu 1{DOWN on days t-k-1 .. t-1} (0 for t <= k: day -1
    is UP) and E[lost fraction] = (1/T) sum_t P(DOWN on days t-k-1 .. t-1)
    = (1/T) sum_{t=k+1}^{T-1} q_{t-k-1} (1 - b)^k. The exact value is computed by a
    Markov-chain DP over (UP, DOWN for 1 .. k days, DOWN for k+1 days or more)
    (exact.lost_probabilities_dp), which test_formulas checks against this closed form.
    Long run (test_long_run): (a / (a + b)) (1 - b)^k.
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("long_run"), ids=_ids(cases_of("long_run")))
def test_long_run(case):
    """Long horizons against the stationary answers.

    Zero buffer: fill -> b / (a + b) (fraction of days UP). k-day buffer: lost fraction
    -> P(DOWN on k + 1 given consecutive days) = (a / (a + b)) (1 - b)^k. Drawn outage
    lengths D = ceil(X) (lognormal/Pareto): the supplier alternates UP spells of mean 1/a
    days (it is UP on its recovery day and may fail from the next) and outages of D days,
    so by renewal-reward the long-run lost fraction is E[(D - k)^+] / (1/a + E[D]) (per
    outage, (D - k)^+ days follow a (k+1)-th DOWN day), and the zero-buffer fill is
    (1/a) / (1/a + E[D]); E[(D - k)^+] = sum_{j >= k} P(X > j) is summed numerically with
    scipy (Hurwitz zeta for the Pareto tail).

    The finite-horizon exact value differs from the long-run limit by a transient of
    order 1/T; the test first checks that this bias is below 0.5 standard error, so that
    the 4-SE comparison is a test of the long-run formula itself.
    """
    row = evaluate(case)
    finite = case.finite_value()
    assert finite is not None
    bias = abs(z_score(finite, row.se, row.exact))
    assert bias < LONG_RUN_BIAS_SE, f"{case.name}: horizon too short, transient = {bias:.2f} SE"
    _check(case)


@pytest.mark.parametrize("case", cases_of("dual_sourcing"), ids=_ids(cases_of("dual_sourcing")))
def test_dual_sourcing(case):
    """Two suppliers A, B -> DC, independent chains, unlimited capacity, lead time 0,
    S = mu, deterministic demand.

    Failover: total shipped = min(order, total capacity of UP sources) = the whole order
    when A or B is UP. The single-supplier argument then gives
    filled_t = mu 1{A or B UP on day t-1}, so E[fill] = (1/T) sum_t (1 - q^A_{t-1} q^B_{t-1})
    (long run 1 - P_A P_B, P_i = a_i / (a_i + b_i) the DOWN probabilities).
    Split with shares w_A, w_B: each UP source ships w_i x order, nothing is re-routed. The
    DC starts day t with mu sum_i w_i 1{i UP on t-1} <= mu, serves all of it and orders mu
    again, so E[fill] = (1/T) sum_t (w_A p^A_{t-1} + w_B p^B_{t-1}) -- with 50/50 the mean of
    the UP probabilities.
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("regional_shock"), ids=_ids(cases_of("regional_shock")))
def test_regional_shock(case):
    """Common-cause shocks: suppliers far_a, far_b in region "far" with a shock chain
    (start r, end q); a near-shore supplier and the DC in "home". Lead time 0, S = mu.

    Effective availability of a source on day t: avail = own UP x (f if the region's shock
    is active else 1), f = 0 for a full shock. The shock chain and the node chains use
    separate random streams, so they are independent; c_t = P(no shock on day t).
    As in the dual-sourcing case, fill_t is what the sources shipped on day t-1 over mu:
    single far source: c_{t-1} p^A_{t-1}; failover inside the region (failover does not
    help against the shock): c_{t-1} (1 - q^A q^B) = P(not shocked and at least one UP);
    split: c_{t-1} (w_A p^A + w_B p^B); regionalized failover far_a + near:
    1 - (1 - c p^A) q^N.
    Partial shock (0 < f < 1): an unlimited-capacity source that is limited ships
    f x what it is asked (docs/model-notes.md): failover ships min(order, sum_i avail_i
    order), split sum_i w_i avail_i order, so E[fill_t] = E[min(1, sum_i avail_i)] or
    E[sum_i w_i avail_i] over the joint law of the chains on day t-1 (enumerated by
    exact.sourcing_fill).
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("base_stock"), ids=_ids(cases_of("base_stock")))
def test_base_stock(case):
    """Base stock, Poisson(mu) demand, backorders, one always-UP unlimited supplier with
    lead time L, order-up-to S; L' = max(L, 1).

    IP = on-hand + in transit - backlog drops by d_t on day t whether d_t is served or
    backlogged, and the order S - IP brings it back to S, so the DC orders exactly d_t on
    day t (IP starts at S). That order serves from day t + L' (step 2 of day t + L, or end
    of day t when L = 0). Net inventory after serving on day t is
    NI_t = S - (d_{t-n+1} + ... + d_t), n = min(t + 1, L') (no demand before day 0):
    NI_t = S - X_t, X_t ~ Poisson(n mu); on-hand = (S - X_t)^+, backlog = (X_t - S)^+.
    "Filled" counts units served on their own day, the backlog being served first
    (docs/model-notes.md): before serving, on-hand - backlog = S - Y_t,
    Y_t = X_t - d_t ~ Poisson((n - 1) mu) independent of d_t, so
    filled_t = min(d_t, (S - Y_t)^+). Hence
    fill = sum_t E[min(d, (S - Y_t)^+)] / (T mu), mean on-hand = (1/T) sum_t E[(S - X_t)^+],
    mean backlog = (1/T) sum_t E[(X_t - S)^+], summed with scipy.stats.poisson
    (exact.base_stock). In steady state NI = S - Poisson(L' mu).
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("outage_duration"), ids=_ids(cases_of("outage_duration")))
def test_drawn_outage_durations(case):
    """Single supplier with lognormal or Pareto outage lengths D = ceil(X) >= 1 drawn on the
    failure day (DOWN on days s .. s + D - 1, UP again on day s + D; docs/model-notes.md).

    The buffer argument of test_buffer_lost_sales holds for any outage law: day t is lost
    iff day t-1 is DOWN in an outage that started on or before day t-1-k (k = 0: iff DOWN
    on t-1). An outage starts on day s with probability f_s = a P(UP on day s-1) (a node
    recovering on day s cannot fail that day), and its length is independent of the past:
    P(DOWN on t) = sum_{s <= t} f_s P(X > t - s), P(lost on t) = sum_{s <= t-1-k} f_s
    P(X > t-1-s), with P(X > j) = 1 - Phi((ln j - ln median) / sigma) or (min / j)^alpha
    (exact.lost_probabilities_renewal; it reproduces the geometric closed form, see
    test_formulas).
    """
    _check(case)


@pytest.mark.parametrize("case", cases_of("first_passage"), ids=_ids(cases_of("first_passage")))
def test_time_to_survive_is_a_first_passage(case):
    """Supplier -> DC, lead time 0, Poisson(mu) demand, lost sales, the supplier cut off by
    a scripted outage from day s to the end of the horizon, no random process.

    On day s - 1 the supplier was UP and refilled the DC to S at the end of the day
    (lead time 0, unlimited capacity), whatever happened before; from day s nothing
    arrives. Day s + j is served in full while C_j = d_s + ... + d_{s+j} <= S, and the
    first day with C_j > S is short (d_{s+j} > S - C_{j-1} units left). The outage is the
    only disruption, so that shortage is traced to it (time_to_survive_days, onset s):
    TTS = min{j : C_j > S} with C_j ~ Poisson((j + 1) mu), so
    P(TTS > j) = F(S; (j + 1) mu), E[TTS] = sum_{j >= 0} F(S; (j + 1) mu) and
    P(TTS <= j) = 1 - F(S; (j + 1) mu), F the Poisson CDF (exact.first_passage_survival).
    """
    _check(case)


@pytest.mark.parametrize("index", range(len(TTS_CASES)), ids=[c.name for c in TTS_CASES])
def test_deterministic_time_to_survive(index):
    """Deterministic demand mu, no random process, a full outage of one node scripted from
    day a for D days (or a partial one, fraction f), every stock point at its level S and
    a steady flow of mu a day before day a: each path is the same and must hit the exact
    figure (SE 0), through a scripted event and through ``resilience stress
    --deterministic``.

    - Single stage (supplier -> dc, lead time L, S = mu (max(L, 1) + k)): at the end of day
      a - 1 the dc's on hand plus in transit is S, and every shipment in transit arrives on
      the day it is needed (one of mu a day), so it serves floor(S / mu) days in full:
      TTS = floor(S / mu) = max(L, 1) + k. The first shipment after the outage is sent on
      day a + D and serves from day a + D + max(L, 1): short days a + TTS .. a + D +
      max(L, 1) - 1, D - k of them, mu each: lost = mu (D - k) when D > k.
    - Two stages (supplier -> plant -> dc): the plant makes to order from its component
      stock, S_plant units (on hand + in transit at day a - 1), and ships them on at mu a
      day, each arriving at the dc by the day it is needed (L_dc <= S_dc / mu); with the
      dc's own S_dc the network holds S_plant + S_dc: TTS = floor((S_plant + S_dc) / mu),
      lost = mu (D - k_plant - k_dc).
    - Assembly (two components, one of them cut off): the plant stops when the component
      whose supplier is out runs out; the other component's stock does not help:
      TTS = floor((S_c + S_dc) / mu).
    - Partial outage (lead time 0, supplier capacity C = mu, fraction f): the dc starts
      day a + j with S - j (mu - f C), so TTS = floor((S - mu) / (mu - f C)) + 1, and it
      then loses mu - f C a day until the supplier is back (with S - mu a multiple of
      mu - f C): lost = (mu - f C) (D - TTS + 1).
    - An outage shorter than the TTS (lead time 0: D <= k = TTS - 1): no shortage, no loss.
    """
    row = evaluate_tts(index)
    assert row.estimate == row.exact, (
        f"{TTS_CASES[index].name}: kernel {row.estimate!r}, exact {row.exact!r} "
        f"({TTS_CASES[index].formula})"
    )


@pytest.mark.parametrize("case", DAILY_CASES, ids=[c.name for c in DAILY_CASES])
def test_daily_fill_profile(case: DailyCase):
    """Day by day: ``daily_fill_rate_mean`` (the mean over paths of each day's fill) against
    the per-day exact values of the derivations above -- E[fill_t] = p_{t-1}, 1 - P(DOWN on
    t-k-1 .. t-1), 1 - q^A_{t-1} q^B_{t-1}, c_{t-1} (1 - q^A q^B), 1 - (1 - c p^A) q^N,
    1 - P(lost on t) by the renewal recursion. In these cases each path's fill of a day
    is 0 or 1, so its variance is p_t (1 - p_t) and SE_t = sqrt(p_t (1 - p_t) / N); every
    day must be within 5 SE (365 days x P(|z| > 5) < 3e-4). Day 0 is served in full on
    every path: on day -1 every node is UP and the DC holds S.
    """
    row = evaluate_daily(case)
    assert row.estimate[0] == 1.0
    t = row.worst_day
    assert row.ok, (
        f"{case.name}: day {t}: estimate {row.estimate[t]:.6f} vs exact {row.exact[t]:.6f}, "
        f"z = {row.z[t]:+.2f}"
    )


# ----------------------------------------------------------------------------- the checker


def test_checker_rejects_an_exact_value_shifted_by_10_se():
    """The 4-SE check is not vacuous: for every case, the exact value moved by +-10 standard
    errors is rejected (and the true one accepted). Deterministic families (every path
    the same, SE 0) must hit the exact value itself: their own tests demand equality."""
    for case in CASES:
        if case.family in EXACT_FAMILIES:
            continue
        row = evaluate(case)
        if case.family == "policy_lots":  # deterministic: every path the same, SE 0
            assert row.se == 0.0 and row.estimate == row.exact, case.name
            continue
        assert row.se > 0.0, case.name
        assert agrees(row.estimate, row.se, row.exact), case.name
        for shift in (-10.0, 10.0):
            assert not agrees(row.estimate, row.se, row.exact + shift * row.se), case.name


@pytest.mark.parametrize("wrong", WRONG_CASES, ids=[w.name for w in WRONG_CASES])
def test_checker_rejects_plausible_wrong_formulas(wrong: WrongCase):
    """Plausible mistakes (same-day service of lead-time-0 shipments, split read as
    failover, failover that ignores a common-cause shock, a lead time one day too long, a
    lognormal median read as the mean, a push plant's storage cap ignored, push production
    after the day's orders) are all rejected by the same 4-SE check."""
    row = evaluate(wrong.case)
    value = wrong.wrong(scenario_doc(wrong.case.scenario), wrong.case.strategy)
    z = z_score(row.estimate, row.se, value)
    assert not agrees(row.estimate, row.se, value), f"{wrong.name}: z = {z:+.2f}"


@pytest.mark.parametrize("case", DAILY_CASES, ids=[c.name for c in DAILY_CASES])
def test_daily_checker_rejects_a_profile_one_day_early(case: DailyCase):
    """The per-day check tells day t-1 from day t: the exact profile moved one day earlier
    (as if a lead-time-0 shipment served the same day) is rejected."""
    row = evaluate_daily(case)
    early = case.exact_days()[1:]
    shifted = DailyRow(case, early, row.estimate[:-1], row.se[1:])
    assert not shifted.ok
    assert float(abs(shifted.z).max()) >= DAILY_TOLERANCE_SE
