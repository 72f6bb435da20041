"""``resilience optimize``: exact optima found, honest verification, resume, file errors.

The optimiser is held to answers worked out by hand from docs/model.md:

- a single-stage base-stock DC with Poisson demand and backorders, whose optimal
  order-up-to level is the critical-fractile quantile of lead-time demand;
- the smallest buffer meeting a fill-rate target on a single supplier with Markov
  outages (closed forms of tests/validation/exact.py);
- fresh-path intervals that cover constraint values known exactly;

and a killed search rerun with the same command must end as an uninterrupted one.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner
from scipy import stats

import resilience.api as api
from resilience.cli import main
from resilience.optimize import (
    OptimizationError,
    journal_path,
    load_optimization,
    parse_constraint,
)
from tests.validation import exact
from tests.validation.cases import cases_of, evaluate

REPO = Path(__file__).resolve().parent.parent
VALIDATION = REPO / "scenarios" / "validation"


# ----------------------------------------------------------------------------- base stock

MU, LEAD, HORIZON, HOLD, PENALTY = 10.0, 4, 120, 1.0, 19.0


def base_stock_scenario() -> dict:
    return {
        "name": "optimize base stock",
        "horizon_days": HORIZON,
        "demand_mode": "backorder",
        "regions": {"home": {}},
        "nodes": {
            "supplier": {"kind": "supplier", "region": "home", "item": "widget"},
            "dc": {
                "kind": "dc",
                "region": "home",
                "item": "widget",
                "demand": {"distribution": "poisson", "mean_per_day": MU},
                "holding_cost_per_unit_day": HOLD,
                "backlog_penalty_per_unit_day": PENALTY,
            },
        },
        "lanes": [{"from": "supplier", "to": "dc", "lead_time_days": LEAD}],
        "strategies": {"fixed": {"stock": [{"at": "dc", "order_up_to": 40}]}},
    }


def base_stock_optimization(evaluations: int = 20, **extra) -> dict:
    return {
        "base_strategy": "fixed",
        "variables": [
            {
                "name": "order_up_to",
                "type": "integer",
                "path": "strategies.fixed.stock[0].order_up_to",
                "bounds": [30, 70],
            }
        ],
        "objective": "mean_total_cost",
        "budget": {"evaluations": evaluations},
        "paths": 2000,
        "verify": {"top": 2, "paths": 4000},
        **extra,
    }


def exact_base_stock_cost(S: int) -> float:
    """E[total cost] of one path over the horizon, exactly (tests/validation/exact.py)."""
    r = exact.base_stock(MU, S, LEAD, HORIZON)
    return HORIZON * (HOLD * r["mean_on_hand"] + PENALTY * r["mean_backlog"])


def critical_fractile_level() -> int:
    """Smallest S with P(X <= S) >= p / (p + h), X ~ Poisson(max(L, 1) mu)."""
    n_mu = max(LEAD, 1) * MU
    ratio = PENALTY / (PENALTY + HOLD)
    S = 0
    while stats.poisson.cdf(S, n_mu) < ratio:
        S += 1
    return S


def test_base_stock_finds_the_critical_fractile():
    """Single supplier (always up, unlimited) -> DC, Poisson(mu) demand, lead time L,
    backorders, holding h per unit-day of on-hand and penalty p per unit-day of backlog,
    both measured after serving (docs/model.md, step 3), no purchase cost.

    Order of events (docs/model.md): demand is served at step 3; the order placed at step 4
    of day t restores IP = S and arrives at step 2 of day t + L' with L' = max(L, 1), so it
    first serves day t + L'. Every day the DC orders exactly that day's demand. The net
    inventory after serving on day t is therefore S minus the demand of the last L' days,
    NI_t = S - (d_{t-L'+1} + ... + d_t) = S - X with X ~ Poisson(L' mu) (in steady state;
    fewer days in the first L' - 1 days, which exact.base_stock counts). Here L = 4, so
    lead-time demand is Poisson(4 x 10) -- not Poisson(mu (L + 1)): an order placed after
    serving on day t already counts day t's demand, and arrives before serving on t + L.

    The expected cost per day C(S) = h E[(S - X)^+] + p E[(X - S)^+] has
    C(S + 1) - C(S) = h P(X <= S) - p P(X > S) = (h + p) F(S) - p, so the optimum is the
    smallest S with F(S) >= p / (p + h) = 0.95: the critical fractile. The exact expected
    cost over the finite horizon (start-up days included) is computed from the Poisson
    distribution for every S in the range; its argmin must be that S (a check on the
    test), and the optimiser's choice must cost at most 0.5% more than it in truth
    (S* = 51 and its neighbour 50 are 0.19% apart; 52 is 1.7% off).
    """
    costs = {S: exact_base_stock_cost(S) for S in range(30, 71)}
    best = min(costs, key=costs.get)
    assert best == critical_fractile_level() == 51
    result = api.optimize(base_stock_scenario(), base_stock_optimization(20), seed=7)
    found = result.recommended_evaluation.values["order_up_to"]
    assert costs[found] <= costs[best] * 1.005, (found, costs[found], costs[best])
    assert found == best  # with this seed the search lands on the optimum itself
    # the fresh-path estimate of the recommendation's cost covers its exact value
    fresh = result.recommended.objective
    assert fresh.lower <= costs[found] <= fresh.upper


# ----------------------------------------------------------------------------- buffer


def single_supplier_fill(doc: dict, k: int) -> float:
    """Exact expected fill rate with a k-day buffer (exact.lost_probabilities_closed_form)."""
    outage = doc["nodes"]["supplier"]["outage"]
    a = outage.get("failure_probability") or 1.0 / outage["mean_days_between_failures"]
    b = outage.get("recovery_probability") or 1.0 / outage["mean_outage_days"]
    return 1.0 - exact.lost_probabilities_closed_form(a, b, doc["horizon_days"], k).mean()


def test_smallest_buffer_meeting_a_fill_rate_target():
    """scenarios/validation/single-supplier.yaml (a = 0.02, b = 0.1, deterministic demand,
    lead time 0) with a holding cost of 1 per unit-day at the DC: cost grows with the
    buffer (100 units per day of cover per day), so the least-cost strategy meeting
    mean(fill_rate) >= target is the smallest buffer that meets it. With deterministic
    demand the mean per-path fill rate is the expected fill, 1 - mean_t lost_t with
    lost_t = (1 - p_{t-k-1}) (1 - b)^k. The target sits halfway between the exact fills of
    10 and 11 days (94.48% and 95.05%, each 0.28 points from it, about 5 standard errors
    at 8,000 paths), so the answer is exactly 11 days, and no other.
    """
    doc = yaml.safe_load((VALIDATION / "single-supplier.yaml").read_text())
    doc["nodes"]["dc"]["holding_cost_per_unit_day"] = 1.0
    fills = {k: single_supplier_fill(doc, k) for k in range(31)}
    target = round((fills[10] + fills[11]) / 2, 5)
    smallest = min(k for k, f in fills.items() if f >= target)
    assert smallest == 11
    opt = {
        "base_strategy": "zero_buffer",
        "variables": [
            {
                "name": "buffer_days",
                "type": "integer",
                "path": "strategies.zero_buffer.buffer_days",
                "bounds": [0, 30],
            }
        ],
        "objective": "mean_total_cost",
        "constraints": [f"mean(fill_rate) >= {target}"],
        "budget": {"evaluations": 20},
        "paths": 8000,
        "verify": {"top": 2, "paths": 8000, "benchmarks": ["buffer_10"]},
    }
    result = api.optimize(doc, opt, seed=0)
    assert result.recommended_evaluation.values["buffer_days"] == smallest
    rec = result.recommended
    assert rec.status == ("met",)
    assert rec.constraints[0].lower <= fills[smallest] <= rec.constraints[0].upper
    bench = next(v for v in result.verified if v.name == "buffer_10")
    assert not bench.feasible


# ----------------------------------------------------------------------------- verification


def p_any_lost_day(a: float, b: float, horizon: int, k: int) -> float:
    """P(stockout_days > 0) with a k-day buffer, exactly.

    As in exact.lost_probabilities_dp: states 0 = UP, j = DOWN for the j-th day running
    (j <= k), k + 1 = DOWN k + 1 days or more; day t loses its demand iff day t-1 is in
    state k + 1. Make state k + 1 absorbing: P(no lost day on days 0..T-1) is the mass not
    absorbed after the states of days -1..T-2, i.e. T - 1 steps from day -1 (UP).
    """
    n = k + 2
    move = np.zeros((n, n))
    move[0, 0], move[0, 1] = 1.0 - a, a
    for j in range(1, n - 1):
        move[j, 0] = b
        move[j, min(j + 1, n - 1)] += 1.0 - b
    move[n - 1, n - 1] = 1.0
    state = np.zeros(n)
    state[0] = 1.0
    for _ in range(horizon - 1):
        state = state @ move
    return float(state[n - 1])


def test_fresh_intervals_cover_known_constraint_values():
    """scenarios/validation/single-supplier-short.yaml (a = 1/10, b = 1/4, T = 30): buffers
    of 0, 1 and 2 days, all verified on fresh paths. The mean fill rate and the probability
    of any stockout day are known exactly for each (the closed form above and the
    absorbing chain; for k = 0 the latter is 1 - (1 - a)^(T - 1)); every 99% interval must
    cover its exact value, and the report says which constraints are met only within noise.
    """
    doc = yaml.safe_load((VALIDATION / "single-supplier-short.yaml").read_text())
    a, b, T = 0.1, 0.25, 30
    assert p_any_lost_day(a, b, T, 0) == pytest.approx(1.0 - (1.0 - a) ** (T - 1))
    opt = {
        "base_strategy": "zero_buffer",
        "variables": [
            {
                "name": "buffer_days",
                "type": "integer",
                "path": "strategies.zero_buffer.buffer_days",
                "bounds": [0, 2],
            }
        ],
        "objective": "mean_lost_units",
        "constraints": [
            {"constraint": "mean(fill_rate) >= 50%", "confidence": 0.99},
            {"constraint": "P(stockout_days > 0) <= 0.99", "confidence": 0.99},
        ],
        "budget": {"evaluations": 3},
        "paths": 500,
        "verify": {"top": 3, "paths": 20_000, "seed_offset": 17, "benchmarks": []},
        "search": {"startup_trials": 3},
    }
    result = api.optimize(doc, opt, seed=5)
    checked = set()
    for v in result.verified:
        k = next(e for e in result.evaluations if e.number == v.evaluation).values["buffer_days"]
        fill, p_any = v.constraints
        assert fill.lower <= single_supplier_fill(doc, k) <= fill.upper
        assert p_any.lower <= p_any_lost_day(a, b, T, k) <= p_any.upper
        checked.add(k)
    assert checked == {0, 1, 2}
    assert result.recommended_evaluation.values["buffer_days"] == 2  # fewest lost units


def test_within_noise_is_said_plainly():
    """A bound at the fresh estimate itself: the estimate meets it, the interval straddles
    it, and the verification says "within noise"; bounds far off are met or violated."""
    from resilience.optimize import verify_candidates

    doc = yaml.safe_load((VALIDATION / "single-supplier-short.yaml").read_text())
    ds = api.simulate(doc, 5000, 9, strategies=["buffer_1"])
    est = float(ds["fill_rate"].sel(strategy="buffer_1").mean())
    for bound, status, feasible in (
        (repr(est), "within noise", True),
        ("0.5", "met", True),
        ("0.99", "violated", False),
    ):
        spec = load_optimization(
            {
                "base_strategy": "buffer_1",
                "variables": [
                    {"type": "choice", "path": "strategies.buffer_1.buffer_days", "choices": [1]}
                ],
                "objective": "mean_lost_units",
                "constraints": [f"mean(fill_rate) >= {bound}"],
            }
        )
        verified, recommended = verify_candidates(spec, ds, [("buffer_1", 0)])
        assert verified[0].status == (status,)
        assert verified[0].feasible is feasible
        assert (recommended is not None) is feasible


# ----------------------------------------------------------------------------- resume


def test_resume_after_a_kill_gives_the_same_answer(tmp_path, monkeypatch):
    """Budget 6, the third simulation raises (a kill); the rerun reads the first evaluations
    back from the journal, simulates only the rest, and ends exactly as a run that was
    never interrupted."""
    opt = base_stock_optimization(6, search={"startup_trials": 3})
    whole = api.optimize(base_stock_scenario(), opt, seed=11, out=tmp_path / "whole.nc")

    real = api.simulate
    calls = []

    def dying(*args, **kwargs):
        calls.append(kwargs.get("strategies"))
        if len(calls) == 4:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    out = tmp_path / "resumed.nc"
    monkeypatch.setattr(api, "simulate", dying)
    with pytest.raises(RuntimeError, match="killed"):
        api.optimize(base_stock_scenario(), opt, seed=11, out=out)
    assert not out.exists()
    lines = journal_path(out).read_text().splitlines()
    assert len([json.loads(x) for x in lines[1:] if json.loads(x)["status"] == "ok"]) == 3

    calls.clear()
    monkeypatch.setattr(api, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    resumed = api.optimize(base_stock_scenario(), opt, seed=11, out=out)
    assert len(calls) == 3 + 1  # the three missing evaluations, then the verification
    assert resumed.replayed >= 3
    assert [e.to_json() for e in resumed.evaluations] == [e.to_json() for e in whole.evaluations]
    assert resumed.recommended.evaluation == whole.recommended.evaluation
    assert resumed.block == whole.block
    assert not journal_path(out).exists()
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.sizes["evaluation"] == len(whole.evaluations)
    assert int(ds.attrs["recommended_evaluation"]) == whole.recommended.evaluation
    np.testing.assert_array_equal(ds["objective"].values, whole.dataset["objective"].values)
    ds.close()


def test_search_is_reproducible_and_batches(tmp_path):
    """The same seed gives the same proposals; a batch of 2 candidates per engine run
    searches as well (a different, equally seeded sequence)."""
    first = api.optimize(base_stock_scenario(), base_stock_optimization(5), seed=2)
    again = api.optimize(base_stock_scenario(), base_stock_optimization(5), seed=2)
    assert [e.to_json() for e in first.evaluations] == [e.to_json() for e in again.evaluations]
    batched = api.optimize(
        base_stock_scenario(), base_stock_optimization(6, search={"batch": 2}), seed=2
    )
    assert sum(e.status == "ok" for e in batched.evaluations) == 6


# ----------------------------------------------------------------------------- shares


def test_shares_and_qualification():
    """A shares variable keeps the entry summing to 1; a binary 0 drops the source: share
    0, so no purchases from it and no qualification cost (charged only for lanes with a
    share above 0, docs/model.md)."""
    doc = yaml.safe_load((VALIDATION / "dual-sourcing.yaml").read_text())
    doc["lanes"][1]["qualification_cost_per_day"] = 10.0
    entry = "strategies.split_50_50.sourcing[0]"
    opt = load_optimization(
        {
            "base_strategy": "split_50_50",
            "variables": [
                {
                    "name": "share_b",
                    "type": "shares",
                    "path": f"{entry}.shares.supplier_b",
                    "bounds": [0.1, 0.9],
                },
                {"name": "qualify_b", "type": "binary", "path": f"{entry}.shares.supplier_b"},
                {
                    "name": "mode",
                    "type": "choice",
                    "path": f"{entry}.mode",
                    "choices": ["split", "failover"],
                },
            ],
            "objective": "mean_total_cost",
        }
    )
    base = opt.prepare(doc)
    kept = opt.block(opt.apply(base, {"share_b": 0.3, "qualify_b": 1, "mode": "failover"}))
    assert kept["sourcing"][0] == {
        "at": "dc",
        "item": "widget",
        "mode": "failover",
        "shares": {"supplier_a": 0.7, "supplier_b": 0.3},
    }
    dropped = opt.block(opt.apply(base, {"share_b": 0.3, "qualify_b": 0, "mode": "split"}))
    assert dropped["sourcing"][0]["shares"] == {"supplier_a": 1.0, "supplier_b": 0.0}
    from resilience.optimize import candidate_documents

    ds = api.simulate(candidate_documents(base, {"kept": kept, "dropped": dropped}), 64, 1)
    qual = ds["qualification_cost"].mean("path")
    assert float(qual.sel(strategy="kept")) == pytest.approx(10.0 * 365)
    assert float(qual.sel(strategy="dropped")) == 0.0


# ----------------------------------------------------------------------------- the file


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _spec_error(tmp_path, change) -> str:
    data = base_stock_optimization(5)
    change(data)
    with pytest.raises(OptimizationError) as info:
        spec = load_optimization(_write(tmp_path, data))
        spec.prepare(base_stock_scenario())
    return str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(budgett={"evaluations": 3}),
            "opt.yaml: budgett: unknown key (did you mean 'budget'?)",
        ),
        (
            lambda d: d.update(constraints=["P95(lost_unit) <= 20000"]),
            "opt.yaml: constraints[0]: 'P95(lost_unit) <= 20000': unknown metric 'lost_unit' "
            "(did you mean 'lost_units'?)",
        ),
        (
            lambda d: d.update(constraints=["P95(lost_units) < 20000"]),
            "opt.yaml: constraints[0]: 'P95(lost_units) < 20000': use <= at column 17",
        ),
        (
            lambda d: d.update(constraints=["P(stockout_days > 0) <= 1.5"]),
            "a probability's bound must be in [0, 1], got 1.5",
        ),
        (
            lambda d: d.update(constraints=["P95(lost_units) <= lots"]),
            "the bound at column 20 must be a number, got 'lots'",
        ),
        (
            lambda d: d.update(constraints=["Var95(lost_units) <= 3"]),
            "unknown statistic 'Var' at column 1",
        ),
        (
            lambda d: d.update(objective="mean_fill_rate"),
            "opt.yaml: objective: 'mean_fill_rate': fill_rate is better when higher",
        ),
        (
            lambda d: d["variables"][0].update(bounds=[70, 30]),
            "opt.yaml: variables[0].bounds: low 70 is above high 30",
        ),
        (
            lambda d: d["variables"][0].update(typ="integer"),
            "opt.yaml: variables[0].typ: unknown key (did you mean 'type'?)",
        ),
        (
            lambda d: d["variables"][0].update(path="strategies.fixed.stock[3].order_up_to"),
            "opt.yaml: variables[0].path: strategies.fixed.stock[3].order_up_to: "
            "strategies.fixed.stock has 1 item(s): no index [3]",
        ),
        (
            lambda d: d["variables"][0].update(path="nodes.dc.capacity_per_day"),
            "opt.yaml: variables[0].path: nodes.dc.capacity_per_day: an optimisation "
            "chooses a strategy, so paths lie under strategies.fixed",
        ),
        (
            lambda d: d["variables"][0].update(type="binary", bounds=None),
            "opt.yaml: variables[0].bounds: a binary variable takes no bounds",
        ),
        (
            lambda d: d["variables"][0].update(bounds=[-5, 30]),
            "opt.yaml: variables[0] (order_up_to = -5): strategies.fixed.stock[0].order_up_to: "
            "must be a number >= 0, got -5",
        ),
        (
            lambda d: d.update(base_strategy="fixd"),
            "opt.yaml: base_strategy: unknown strategy 'fixd' (did you mean 'fixed'?)",
        ),
    ],
)
def test_file_errors_are_placed(tmp_path, change, message):
    assert message in _spec_error(tmp_path, change)


def test_share_and_binary_variables_name_a_share(tmp_path):
    doc = yaml.safe_load((VALIDATION / "dual-sourcing.yaml").read_text())
    entry = "strategies.split_50_50.sourcing[0]"

    def error(variable, shares=None):
        scenario = copy.deepcopy(doc)
        if shares is not None:
            scenario["strategies"]["split_50_50"]["sourcing"][0]["shares"] = shares
        spec = {
            "base_strategy": "split_50_50",
            "variables": [variable],
            "objective": "mean_total_cost",
        }
        with pytest.raises(OptimizationError) as info:
            load_optimization(_write(tmp_path, spec)).prepare(scenario)
        return str(info.value)

    assert (
        "opt.yaml: variables[0].path: strategies.split_50_50.sourcing[0].mode: a binary "
        "variable names one source's share in a sourcing entry"
        in error({"type": "binary", "path": f"{entry}.mode"})
    )
    assert (
        "the source's share is 0.0 in the base strategy, so qualifying it changes "
        "nothing"
        in error(
            {"type": "binary", "path": f"{entry}.shares.supplier_b"},
            {"supplier_a": 1.0, "supplier_b": 0.0},
        )
    )
    assert "opt.yaml: variables[0].bounds[1]: must be a share in [0, 1], got 1.5" in error(
        {"type": "shares", "path": f"{entry}.shares.supplier_b", "bounds": [0.1, 1.5]}
    )


def test_constraint_grammar():
    c = parse_constraint("CVaR95(lost_units) <= 30000")
    assert (c.statistic.kind, c.statistic.level, c.op, c.bound) == ("cvar", 0.95, "<=", 30000.0)
    c = parse_constraint(" P5( fill_rate ) >= 95% ")
    assert (c.statistic.kind, c.statistic.level, c.bound) == ("quantile", 0.05, 0.95)
    c = parse_constraint("P(stockout_days > 0) <= 0.1")
    assert (c.statistic.kind, c.statistic.cmp, c.statistic.threshold) == ("probability", ">", 0.0)
    assert c.text == "P(stockout_days > 0) <= 0.1"
    assert parse_constraint("mean(fill_rate) >= 0.99").statistic.kind == "mean"
    for bad in (
        "P95(lost_units)",
        "P150(lost_units) <= 3",
        "P(lost_units) <= 0.1",
        "mean95(x) <= 1",
    ):
        with pytest.raises(OptimizationError):
            parse_constraint(bad)


# ----------------------------------------------------------------------------- the command


def test_cli_optimize(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(base_stock_scenario(), sort_keys=False))
    data = base_stock_optimization(4)
    data["constraints"] = ["P95(total_cost) <= 1e9"]
    opt = _write(tmp_path, data)
    out = tmp_path / "opt.nc"
    args = ["optimize", str(scenario), str(opt), "--seed", "3", "--out", str(out), "-q"]
    text = CliRunner().invoke(main, args, catch_exceptions=False)
    assert text.exit_code == 0, text.output
    assert "Strategy block to paste under `strategies:`" in text.output
    assert "fixed_optimized:" in text.output
    block = text.output.split("in the scenario:\n\n", 1)[1].split("\n\n", 1)[0]
    pasted = yaml.safe_load("strategies:\n" + block)["strategies"]["fixed_optimized"]
    assert pasted["stock"][0]["at"] == "dc"
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert {"order_up_to", "objective", "constraint_value", "feasible"} <= set(ds.data_vars)
        assert ds.sizes["evaluation"] >= 4
        assert list(ds["fresh_status"].values[0]) == ["met"]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "already exists" in again.output
    args[-3:-1] = ["--out", str(tmp_path / "opt2.nc")]
    js = CliRunner().invoke(main, [*args, "--format", "json", "--evaluations", "2"])
    assert js.exit_code == 0, js.output
    record = json.loads(js.stdout)
    assert record["recommended"]["strategy"]["stock"][0]["at"] == "dc"
    assert sum(e["status"] == "ok" for e in record["evaluations"]) == 2
    bad = copy.deepcopy(data)
    bad["constraints"] = ["P95(lost_unit) <= 3"]
    _write(tmp_path, bad)
    err = CliRunner().invoke(main, args[:3] + ["-q"])
    assert err.exit_code == 1
    assert "did you mean 'lost_units'?" in err.output
    assert math.isfinite(record["verification"]["strategies"][0]["objective"]["estimate"])


# ----------------------------------------------------------------------------- qualification


def _qualify_optimization() -> dict:
    entry = "strategies.qualified.sourcing[0]"
    return {
        "base_strategy": "qualified",
        "variables": [
            {"name": "qualify_backup", "type": "binary", "path": f"{entry}.shares.backup"},
            {
                "name": "backup_share",
                "type": "shares",
                "path": f"{entry}.shares.backup",
                "bounds": [0.1, 0.5],
                "step": 0.1,
            },
        ],
        "objective": "mean_total_cost",
        "budget": {"evaluations": 5},
        "paths": 2000,
        "verify": {"top": 2, "paths": 4000},
        "search": {"startup_trials": 3},
    }


def _with_backup_share(doc: dict, w: float) -> dict:
    doc = copy.deepcopy(doc)
    shares = {"primary": round(1.0 - w, 12), "backup": w}
    doc["strategies"]["qualified"]["sourcing"][0]["shares"] = shares
    return doc


@pytest.mark.parametrize("rate", ["low", "high"])
def test_backup_qualification_pays_above_the_break_even(rate):
    """scenarios/validation/qualify-backup-{low,high}.yaml: a primary supplier with
    geometric outages (fail a, recover b = 0.1 a day) and a backup that is never down
    feed one DC: deterministic demand mu = 100, lead time 0, S = mu (no buffer), lost
    sales at a margin m = 40 a unit. The primary's units cost c_P = 10, the backup's
    c_B = 12 (premium dc = 2) and the backup's lane a qualification fee q = 200 a day,
    charged only while it is active (share > 0, docs/model.md "Costs").

    Order of events (docs/model.md): with L = 0, the order of step 4 of day t-1 is put on
    hand at the end of day t-1 and serves day t; after serving nothing is left, so IP = 0
    and every day's order is mu, and holding costs nothing. Let p_t = P(primary UP on day
    t) = pi + (1 - pi)(1 - a - b)^(t+1), pi = b / (a + b) (started UP on day -1).

    - Not qualified (backup share 0): the primary ships mu on the days it is up; day t's
      demand is lost iff it was down on day t-1. E[cost] = mu sum_t [c_P p_t +
      m (1 - p_{t-1})] (p_{-1} = 1).
    - Qualified, failover with shares 1 - w / w: while the primary is up each source
      ships its share; while it is down the backup ships everything; nothing is lost.
      E[cost] = q T + mu sum_t [c_P (1 - w) p_t + c_B (w p_t + 1 - p_t)].

    The difference, qualified minus not, is D = q T + mu sum_t [w dc p_t + c_B (1 - p_t)]
    - m mu sum_t (1 - p_{t-1}); in the long run, per day, with pi_D = a / (a + b) the
    share of days the primary is down, D / T = q + mu w dc (1 - pi_D) + mu c_B pi_D -
    m mu pi_D, which is 0 at

        pi_D* = (q + mu w dc) / (mu (m - c_B + w dc)) = 220 / 2820 = 0.078,
        a* = b pi_D* / (1 - pi_D*) = 0.00846 a day.

    Each extra 0.1 of backup share costs mu dc 0.1 sum_t p_t > 0, so the best qualified
    candidate is the smallest share, w = 0.1. The low file has a = 0.004 (below a* / 2:
    qualifying costs ~$41.8k a year more, exactly), the high one a = 0.02 (above 2 a*: it
    saves ~$87.1k); the optimiser, over qualify (binary) x share (0.1 .. 0.5), must choose
    "not qualified" in the first and "qualified" in the second within 5 evaluations, the
    latter at an exact expected cost within 2% of the optimum (one share step is ~1.3%).
    The finite-horizon D is in the validation table (qualify_backup rows).
    """
    from tests.validation.cases import backup_total_cost, scenario_doc

    doc = scenario_doc(f"qualify-backup-{rate}")
    a, b = 0.004 if rate == "low" else 0.02, 0.1
    assert doc["nodes"]["primary"]["outage"]["failure_probability"] == a
    pi_star = (200 + 100 * 0.1 * 2) / (100 * (40 - 12 + 0.1 * 2))
    a_star = b * pi_star / (1.0 - pi_star)
    assert a < a_star / 2 if rate == "low" else a > 2 * a_star
    costs = {0.0: backup_total_cost(doc, "single_source")}
    for w in (0.1, 0.2, 0.3, 0.4, 0.5):
        costs[w] = backup_total_cost(_with_backup_share(doc, w), "qualified")
    shares = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert all(costs[x] < costs[y] for x, y in zip(shares, shares[1:], strict=False))
    assert min(costs, key=costs.get) == (0.0 if rate == "low" else 0.1)  # a check on the test
    result = api.optimize(doc, _qualify_optimization(), seed=21)
    assert sum(e.status == "ok" for e in result.evaluations) <= 5
    chosen = result.recommended_evaluation.values
    share = float(result.block["sourcing"][0]["shares"]["backup"])
    if rate == "low":
        assert chosen["qualify_backup"] == 0 and share == 0.0
    else:
        assert chosen["qualify_backup"] == 1
        assert costs[round(share, 10)] <= costs[0.1] * 1.02, (share, costs)
    # on the fresh paths the recommendation is no dearer than the hand-written strategy
    # it improves on, and clearly cheaper than the wrong decision
    wrong = "qualified" if rate == "low" else "single_source"
    assert result.recommended.difference[wrong].upper < 0


@pytest.mark.parametrize("case", cases_of("qualify_backup"), ids=lambda c: c.name)
def test_qualification_cost_difference_is_exact(case):
    """The paired E[total cost, qualified - single source] of the two files against
    D = q T + mu sum_t [w dc p_t + c_B (1 - p_t)] - m mu sum_t (1 - p_{t-1}), derived in
    test_backup_qualification_pays_above_the_break_even."""
    row = evaluate(case)
    assert row.ok, (row.exact, row.estimate, row.se, row.z)


def test_cli_formats_and_report(tmp_path):
    """--format markdown and csv render the same sections through the risk tables'
    renderers; --report writes the page, and says where on stderr for csv."""
    import csv
    import io

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(base_stock_scenario(), sort_keys=False))
    data = base_stock_optimization(3, search={"startup_trials": 2})
    data["paths"], data["verify"] = 300, {"top": 1, "paths": 600}
    data["constraints"] = ["P95(total_cost) <= 1e9"]
    opt = _write(tmp_path, data)
    base = ["optimize", str(scenario), str(opt), "--seed", "3", "-q"]
    md = CliRunner().invoke(main, [*base, "--format", "markdown"], catch_exceptions=False)
    assert md.exit_code == 0, md.output
    assert "### Optimisation of 'optimize base stock'" in md.output
    assert "| # | order_up_to | mean_total_cost | P95(total_cost) | feasible |" in md.output
    assert "### Verification on 600 fresh paths" in md.output
    block = md.output.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load("strategies:\n" + block)["strategies"]["fixed_optimized"]["stock"]
    page = tmp_path / "opt.html"
    out = CliRunner().invoke(main, [*base, "--format", "csv", "--report", str(page)])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    tables = {r["table"] for r in rows}
    assert tables == {"evaluations", "verification", "recommended", "paired_difference"}
    evaluations = [r for r in rows if r["table"] == "evaluations"]
    assert {r["statistic"] for r in evaluations} == {"mean_total_cost", "P95(total_cost)"}
    assert all(r["order_up_to"] for r in evaluations)
    fresh = [r for r in rows if r["table"] == "verification" and r["constraint"]]
    assert all(float(r["lower"]) <= float(r["estimate"]) <= float(r["upper"]) for r in fresh)
    assert {r["status"] for r in fresh} == {"met"}
    assert page.exists() and "Report written to" in out.stderr
    again = CliRunner().invoke(main, [*base, "--report", str(page)])
    assert again.exit_code == 1 and "already exists" in again.output
