"""Exact answers for issue 14's quality features: Binomial yield, expediting, jidoka.

The cases are rows of tests/validation/cases.py (family ``quality``, shown by ``python -m
tests.validation.table``), the exact values in tests/validation/quality_exact.py. Each
test's docstring derives its values from the order of events of docs/model.md: 1.
chains move (incident and line-stop recovery chains last), 2. shipments arrive, the
defective part is scrapped, a jidoka plant checks its incoming defect fraction, 3. serve,
4. order S - IP, ship, put each shipment's defective part on its arrival day, expedite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from resilience.errors import ScenarioError
from resilience.kernels import rng
from resilience.kernels.simulate import _binomial
from resilience.scenario.schema import load_scenario
from tests.validation import quality_exact as qx
from tests.validation.cases import TOLERANCE_SE, Case, agrees, cases_of, evaluate, scenario_doc


def _check(case: Case) -> None:
    row = evaluate(case)
    assert row.ok, (
        f"{case.name}: estimate {row.estimate:.6g} vs exact {row.exact:.6g} "
        f"({case.formula}): z = {row.z:+.2f}, |z| must be < {TOLERANCE_SE}"
    )


def _of(*scenarios: str) -> list[Case]:
    return [c for c in cases_of("quality") if c.scenario in scenarios]


@pytest.mark.parametrize("case", _of("binomial-yield"), ids=lambda c: c.name)
def test_binomial_yield(case):
    """Supplier -> DC, lead time 1, deterministic demand mu = 10, no outage, lost sales;
    each day's shipment of n units has B ~ Binomial(n, p) defective, found at receipt.

    zero_buffer: S = mu (max(1, 1) + 0) = mu. Day 0 serves mu from S, leaving 0; the
    order S - IP = mu ships (lead 1). Day t >= 1: the mu units arrive, B_t are scrapped,
    mu - B_t are on hand and all served (mu - B_t filled, B_t lost), leaving 0, and the
    order is mu again. The B_t are independent (one uniform per chunk and day), so
    E[filled] = mu + (T - 1) mu (1 - p): fill rate 1 - p (T - 1) / T, and the defective
    units are mu p (T - 1) (the last day's order is still in transit).

    buffer_1: S = 2 mu. With h the on hand after serving and the pipeline empty after
    receipt, the order is S - h and the next day starts with h + (S - h) - B = S - B, B ~
    Binomial(S - h, p): it fills min(mu, S - B) and leaves h' = max(0, S - B - mu), a
    Markov chain on h in 0..mu propagated from h_0 = S - mu; E[fill] and E[defective]
    are its day-by-day expectations.
    """
    _check(case)


@pytest.mark.parametrize("case", _of("expedite"), ids=lambda c: c.name)
def test_expediting(case):
    """Supplier with geometric outages (a, b) -> DC, lead time 1, deterministic demand
    mu = 10, S = mu, lost sales; q_t = P(supplier DOWN on day t) from the 2-state chain.

    On hand after serving is always 0 (a day never starts with more than S = mu). An UP
    supplier ships the whole order mu (IP = S after it, so no trigger fires); a DOWN one
    ships nothing and the IP after the regular shipments is 0.

    when_down (when_sources_down, capacity c = 6, lead 1): on a DOWN day no regular source
    is up, so min(S - 0, c) = c units are expedited and arrive the next day. below_units
    (IP below 5, c = 4, lead 0): on a DOWN day IP = 0 < 5 and c units go on hand at the
    end of the day; on an UP day IP = S. Either way day t >= 1 starts with mu 1{UP t-1}
    + c 1{DOWN t-1} and fills it; day 0 fills mu. So fill = 1 - (mu - c) sum_{t=1}^{T-1}
    q_{t-1} / (mu T), expedited units = c sum_t q_t, expedite cost = premium x units.
    """
    _check(case)


@pytest.mark.parametrize("case", _of("jidoka", "jidoka-b"), ids=lambda c: c.name)
def test_jidoka_line_stops(case):
    """Supplier -> plant (jidoka: threshold 0.3, a stop ends w.p. rho a day) -> DC, the
    inbound lane (lead 1) 5% defective outside and 50% during a quality incident (a
    2-state chain: starts w.p. r, ends w.p. q; the fraction is the dispatch day's).

    Something arrives at the plant on every day t >= 1: on day t - 1 the plant ordered
    what it used (a running line) or scrapped (a stopped one: 5% or 50% of a positive
    arrival), and the supplier never fails. Day 0 has no arrival (pipelines start empty).
    So day t's incoming fraction is the fraction of day t - 1's incident state, and it
    exceeds the threshold exactly when I_{t-1} = 1. The line-stop state is then
    stopped_0 = 0 and stopped_t = I_{t-1} or (stopped_{t-1} and not R_t), R_t ~
    Bernoulli(rho) the recovery draw of step 1: a 4-state Markov chain on (I, stopped),
    propagated exactly from (0, 0); E[line-stop days] = sum_t P(stopped_t = 1).
    """
    _check(case)


def test_yield_chain_agrees_with_the_closed_form():
    """The Markov chain of the buffer_1 derivation, applied to S = mu, gives the closed
    form (an independent check of the chain code)."""
    doc = scenario_doc("binomial-yield")
    assert qx.yield_fill(doc, "zero_buffer") == pytest.approx(
        qx.yield_fill_closed_form(doc, "zero_buffer"), rel=1e-12
    )
    p, _, T, mu = qx._yield(doc, "zero_buffer")
    assert qx.yield_defective(doc, "zero_buffer") == pytest.approx(mu * p * (T - 1))


def test_checker_rejects_wrong_quality_formulas():
    """Plausible wrong answers are more than 4 SE off: defects ignored (fill 1),
    expediting ignored, and line stops lasting exactly as long as the incident."""
    row = evaluate(_of("binomial-yield")[0])
    assert not agrees(row.estimate, row.se, 1.0)
    doc = scenario_doc("expedite")
    for case in _of("expedite"):
        if case.metric == "fill_rate":
            row = evaluate(case)
            q, _, _, mu = qx._expedite(doc, case.strategy)
            ignored = 1.0 - q[: len(q) - 1].sum() / len(q)
            assert not agrees(row.estimate, row.se, ignored), case.name
    case = _of("jidoka")[0]
    row = evaluate(case)
    jdoc = dict(scenario_doc("jidoka"))
    jdoc["nodes"] = {**jdoc["nodes"], "plant": {**jdoc["nodes"]["plant"]}}
    jdoc["nodes"]["plant"]["jidoka"] = {"threshold": 0.3, "recovery_probability": 1.0}
    assert not agrees(row.estimate, row.se, qx.line_stop_days(jdoc, "base"))


def test_binomial_draw_is_exact():
    """The kernel's Binomial inversion against the exact pmf (chi-square, 30 units), and a
    draw split into chunks (f = 0.9: 260 units a chunk) against the Binomial mean and
    variance of 1000 units."""
    key = rng.stream_key(rng.path_key(7, 3), rng.DEFECT, 0)
    n, f, T = 30, 0.3, 20_000
    draws = np.array([_binomial(n, f, 10**6, key, t, T) for t in range(T)])
    pmf = np.array([math.comb(n, k) * f**k * (1 - f) ** (n - k) for k in range(n + 1)])
    counts = np.bincount(draws.astype(np.int64), minlength=n + 1)
    keep = pmf * T >= 5
    expected = pmf * T
    chi2 = (((counts - expected) ** 2 / expected)[keep]).sum() + (
        (counts[~keep].sum() - expected[~keep].sum()) ** 2 / expected[~keep].sum()
    )
    assert chi2 < 60.0  # ~ chi-square with ~20 degrees of freedom: P(> 60) < 1e-5
    chunk = math.floor(600.0 / -math.log1p(-0.9))
    assert chunk == 260
    big = np.array([_binomial(1000, 0.9, chunk, key, t, 4000) for t in range(4000)])
    assert abs(big.mean() - 900.0) < 4 * math.sqrt(90.0 / 4000)
    assert abs(big.var() / 90.0 - 1.0) < 0.1


def _doc(**extra) -> dict:
    doc = {
        "name": "q",
        "horizon_days": 10,
        "regions": {"r": {}},
        "nodes": {
            "sup": {"kind": "supplier", "region": "r", "item": "c"},
            "plant": {"kind": "plant", "region": "r", "item": "fg", "bom": {"c": 1}},
            "dc": {
                "kind": "dc",
                "region": "r",
                "demand": {"distribution": "poisson", "mean_per_day": 5},
            },
        },
        "lanes": [
            {"from": "sup", "to": "plant", "lead_time_days": 1},
            {"from": "plant", "to": "dc", "lead_time_days": 0},
        ],
    }
    doc.update(extra)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["lanes"][0].update(defects={"fracton": 0.1}),
            "lanes[0].defects.fracton: unknown key (did you mean 'fraction'?)",
        ),
        (
            lambda d: d["lanes"][0].update(defects={"fraction": 1.5}),
            "lanes[0].defects.fraction: must be a fraction in [0, 1]",
        ),
        (
            lambda d: d["nodes"]["dc"].update(jidoka={"threshold": 0.1, "mean_recovery_days": 2}),
            "nodes.dc.jidoka: not allowed for a dc",
        ),
        (
            lambda d: d["nodes"]["plant"].update(jidoka={"threshold": 0.1}),
            "nodes.plant.jidoka: missing mean_recovery_days or recovery_probability",
        ),
        (
            lambda d: d.update(expedite=[{"at": "dc", "lead_time_days": 1, "unit_premium": 2}]),
            "expedite[0]: missing trigger",
        ),
        (
            lambda d: d.update(
                expedite=[
                    {"at": "sup", "lead_time_days": 1, "unit_premium": 2, "when_sources_down": True}
                ]
            ),
            "expedite[0].at: 'sup' is a supplier",
        ),
        (
            lambda d: d.update(
                expedite=[
                    {
                        "at": "plant",
                        "item": "x",
                        "lead_time_days": 1,
                        "unit_premium": 2,
                        "when_sources_down": True,
                    }
                ]
            ),
            "expedite[0].item: 'plant' stocks no item 'x'",
        ),
        (
            lambda d: d.update(
                expedite=[
                    {
                        "at": "dc",
                        "lead_time_days": 1,
                        "unit_premium": 2,
                        "trigger": {"below_day": 1},
                    }
                ]
            ),
            "expedite[0].trigger.below_day: unknown key (did you mean 'below_days'?)",
        ),
    ],
)
def test_quality_keys_give_placed_errors(change, message):
    doc = _doc()
    change(doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert message in str(info.value)


def test_quality_keys_are_read():
    doc = _doc(
        expedite=[
            {"at": "dc", "lead_time_days": 2, "unit_premium": 4, "trigger": {"below_days": 1.5}}
        ],
        strategies={
            "off": {
                "expedite": [
                    {
                        "at": "dc",
                        "lead_time_days": 0,
                        "unit_premium": 0,
                        "capacity_per_day": 0,
                        "when_sources_down": True,
                    }
                ]
            }
        },
    )
    doc["lanes"][0]["defects"] = {
        "fraction": 0.02,
        "binomial": True,
        "scrap_cost_per_unit": 3,
        "incident": {"mean_days_between": 40, "mean_days": 4, "fraction": 0.3},
    }
    doc["nodes"]["plant"]["jidoka"] = {"threshold": 0.1, "mean_recovery_days": 2}
    scenario = load_scenario(doc)
    defects = scenario.lanes[0].defects
    assert (defects.fraction, defects.binomial, defects.scrap_cost_per_unit) == (0.02, True, 3.0)
    assert defects.incident.start_probability == 1 / 40 and defects.incident.fraction == 0.3
    assert scenario.node("plant").jidoka.recovery_probability == 0.5
    assert scenario.expedite[0].below_days == 1.5 and scenario.expedite[0].lead_time_days == 2
    assert scenario.strategies[0].expedite[0].capacity_per_day == 0.0
