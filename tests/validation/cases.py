"""The validation cases: one list shared by the tests and by ``python -m tests.validation.table``.

A case is (scenario file under ``scenarios/validation/``, strategy, metric, exact value).
Exact values are computed by ``tests/validation/exact.py`` from the parameters read
straight from the scenario's YAML text (not through ``resilience.schema``, so a
misread parameter shows up as a disagreement), by the rules of docs/model.md and
docs/scenario-format.md: a rate is a probability or 1 / mean days, and
S = ceil(mu x (max(L, 1) + buffer_days)) unless given in units.

Every file is simulated once (cached) with its fixed number of paths and seed, and each
estimate is compared with its exact value in standard errors:

- ratio metrics (``fill_rate`` = filled/demand, ``lost_fraction`` = lost/demand) are
  estimated as the ratio of the sums over paths, which converges to E[num] / E[den], the
  exact value; its standard error is the delta method's
  sqrt(Var(num - R den) / N) / mean(den) (with deterministic demand, den is constant and
  this is the plain standard error of the mean of the per-path ratios);
- ``mean_on_hand`` / ``mean_backlog`` are means over paths, with s / sqrt(N);
- ``total_cost_vs_OTHER`` is the mean over paths of the paired difference of total cost,
  the strategy's minus OTHER's on the same path, with s / sqrt(N) of the differences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tests.validation import exact, exact_variability
from tests.validation import policy_cases as pc
from tests.validation import quality_exact as qx

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = REPO / "scenarios" / "validation"
TOLERANCE_SE = 4.0  # a case passes when |estimate - exact| < 4 standard errors
# families whose every path is the same (SE 0): the estimate must equal the exact value
EXACT_FAMILIES = frozenset({"seasonal"})
LONG_RUN_BIAS_SE = 0.5  # long-run cases: |finite-horizon exact - long-run| must stay below this

# paths and seed of each scenario file (every case of a file comes from one run)
RUNS: dict[str, tuple[int, int]] = {
    "single-supplier": (12_000, 101),
    "single-supplier-short": (60_000, 102),
    "single-supplier-long": (200, 103),
    "single-supplier-long-b": (200, 104),
    "dual-sourcing": (12_000, 105),
    "dual-sourcing-b": (12_000, 106),
    "regional-shock": (10_000, 107),
    "regional-shock-partial": (12_000, 108),
    "base-stock": (20_000, 109),
    "base-stock-b": (16_000, 110),
    "outage-lognormal": (20_000, 111),
    "outage-pareto": (20_000, 112),
    "outage-lognormal-long": (200, 113),
    "outage-pareto-long": (200, 114),
    "first-passage": (20_000, 115),
    "first-passage-b": (20_000, 116),
    "qualify-backup-low": (20_000, 117),
    "qualify-backup-high": (20_000, 118),
    "push-level": (20_000, 130),  # issue-14 push
    "push-level-b": (20_000, 131),
    # issue-14 demand and lead-time variability (test_demand_variability.py)
    "seasonal-weekly": (40, 140),
    "seasonal-csv": (40, 141),
    "nb-demand": (20_000, 142),
    "nb-demand-b": (20_000, 143),
    "lead-crossing": (20_000, 144),
    "lead-crossing-b": (20_000, 145),
    # issue-14 policy
    "policy-rq": (20_000, 150),
    "policy-ss": (20_000, 151),
    "policy-rs": (20_000, 152),
    "policy-lots": (32, 153),
    "policy-lots-b": (32, 154),
    # issue-14 quality (tests/validation/test_quality.py)
    "binomial-yield": (4_000, 160),
    "expedite": (4_000, 161),
    "jidoka": (4_000, 162),
    "jidoka-b": (4_000, 163),
}

ExactFn = Callable[[dict, str], float]


# ----------------------------------------------------------------------------- YAML reading


@functools.cache
def scenario_doc(scenario: str) -> dict:
    """The raw YAML of ``scenarios/validation/<scenario>.yaml``."""
    return yaml.safe_load((SCENARIO_DIR / f"{scenario}.yaml").read_text())


def scenario_path(scenario: str) -> Path:
    return SCENARIO_DIR / f"{scenario}.yaml"


def _rate(data: dict, mean_key: str, prob_key: str) -> float:
    return 1.0 / float(data[mean_key]) if mean_key in data else float(data[prob_key])


def _chain(doc: dict, node: str) -> tuple[float, float]:
    """(a, b) of a node with geometric outages."""
    outage = doc["nodes"][node]["outage"]
    assert "duration" not in outage, f"{node} has drawn outage durations"
    return (
        _rate(outage, "mean_days_between_failures", "failure_probability"),
        _rate(outage, "mean_outage_days", "recovery_probability"),
    )


def _fail(doc: dict, node: str) -> float:
    return _rate(doc["nodes"][node]["outage"], "mean_days_between_failures", "failure_probability")


def _horizon(doc: dict) -> int:
    return int(doc["horizon_days"])


def _demand(doc: dict) -> float:
    return float(doc["nodes"]["dc"]["demand"]["mean_per_day"])


def _strategy(doc: dict, strategy: str) -> dict:
    return doc.get("strategies", {}).get(strategy) or {}


def _dc_sourcing(doc: dict, strategy: str) -> tuple[str, dict[str, float]]:
    """Mode and active (share > 0) sources of the DC: the strategy's entry, else the base's."""
    for entries in (_strategy(doc, strategy).get("sourcing", []), doc.get("sourcing", [])):
        for entry in entries:
            if entry["at"] == "dc":
                return entry["mode"], {s: float(w) for s, w in entry["shares"].items() if w > 0}
    (lane,) = [lane for lane in doc["lanes"] if lane["to"] == "dc"]
    return "split", {lane["from"]: 1.0}


def _buffer_days(doc: dict, strategy: str) -> float:
    own = _strategy(doc, strategy)
    assert "stock" not in own and "stock" not in doc, "a stock entry would override buffer_days"
    return float(own.get("buffer_days", doc.get("buffer_days", 0.0)))


def _integer_buffer(doc: dict, strategy: str) -> int:
    k = _buffer_days(doc, strategy)
    assert k == int(k), "the closed forms need whole buffer days"
    return int(k)


def _lead_time(doc: dict, strategy: str) -> int:
    _, shares = _dc_sourcing(doc, strategy)
    leads = [lane["lead_time_days"] for lane in doc["lanes"] if lane["from"] in shares]
    return int(max(leads))


def _order_up_to(doc: dict, strategy: str) -> float:
    """S of the DC: the strategy's stock entry in units, else ceil(mu (max(L,1) + buffer))."""
    for entry in _strategy(doc, strategy).get("stock", []):
        if entry["at"] == "dc" and "order_up_to" in entry:
            return float(entry["order_up_to"])
    own = _strategy(doc, strategy)
    buffer = float(own.get("buffer_days", doc.get("buffer_days", 0.0)))
    return float(math.ceil(_demand(doc) * (max(_lead_time(doc, strategy), 1) + buffer)))


def _survival(doc: dict, horizon: int) -> np.ndarray:
    outage = doc["nodes"]["supplier"]["outage"]
    duration = outage.get("duration", {"distribution": "geometric"})
    if duration["distribution"] == "lognormal":
        return exact.lognormal_survival(duration["median_days"], duration["sigma"], horizon)
    if duration["distribution"] == "pareto":
        return exact.pareto_survival(duration["min_days"], duration["alpha"], horizon)
    return exact.geometric_survival(_chain(doc, "supplier")[1], horizon)


def _excess_mean(doc: dict, k: int) -> float:
    """E[(D - k)^+] of the supplier's (uncapped) outage length."""
    duration = doc["nodes"]["supplier"]["outage"]["duration"]
    if duration["distribution"] == "lognormal":
        return exact.lognormal_excess_mean(duration["median_days"], duration["sigma"], k)
    return exact.pareto_excess_mean(duration["min_days"], duration["alpha"], k)


# ----------------------------------------------------------------------------- exact values


def single_fill(doc: dict, strategy: str) -> float:
    """Zero buffer: E[fill] = (1/T) sum_{t=0}^{T-1} p_{t-1}."""
    assert _integer_buffer(doc, strategy) == 0
    a, b = _chain(doc, "supplier")
    T = _horizon(doc)
    return float(exact.up_probabilities(a, b, T)[:T].mean())


def single_fill_long_run(doc: dict, strategy: str) -> float:
    """Zero buffer, long run: b / (a + b)."""
    assert _integer_buffer(doc, strategy) == 0
    return exact.stationary_up(*_chain(doc, "supplier"))


def buffer_lost(doc: dict, strategy: str) -> float:
    """k-day buffer: (1/T) sum_t P(DOWN on days t-k-1 .. t-1), by the (state, age) DP."""
    a, b = _chain(doc, "supplier")
    return float(
        exact.lost_probabilities_dp(a, b, _horizon(doc), _integer_buffer(doc, strategy)).mean()
    )


def buffer_lost_long_run(doc: dict, strategy: str) -> float:
    """k-day buffer, long run: (a / (a + b)) (1 - b)^k."""
    a, b = _chain(doc, "supplier")
    return a / (a + b) * (1.0 - b) ** _integer_buffer(doc, strategy)


def sourcing_fill(doc: dict, strategy: str) -> float:
    """S = mu, lead time 0: mean over days of E[phi(avail on day t-1)] (exact.sourcing_fill)."""
    assert _buffer_days(doc, strategy) == 0.0 and _lead_time(doc, strategy) == 0
    return float(sourcing_daily_fill(doc, strategy).mean())


def _base_stock(doc: dict, strategy: str) -> dict[str, float]:
    """Base stock, Poisson demand, backorders (exact.base_stock)."""
    assert doc["demand_mode"] == "backorder"
    assert doc["nodes"]["dc"]["demand"]["distribution"] == "poisson"
    S = _order_up_to(doc, strategy)
    return exact.base_stock(_demand(doc), int(S), _lead_time(doc, strategy), _horizon(doc))


def base_stock_fill(doc: dict, strategy: str) -> float:
    """Base stock: fill = sum_t E[min(d, (S - Y_t)^+)] / (T mu)."""
    return _base_stock(doc, strategy)["fill_rate"]


def base_stock_on_hand(doc: dict, strategy: str) -> float:
    """Base stock: mean on-hand = (1/T) sum_t E[(S - X_t)^+]."""
    return _base_stock(doc, strategy)["mean_on_hand"]


def base_stock_backlog(doc: dict, strategy: str) -> float:
    """Base stock: mean backlog = (1/T) sum_t E[(X_t - S)^+]."""
    return _base_stock(doc, strategy)["mean_backlog"]


def outage_lost(doc: dict, strategy: str) -> float:
    """Drawn outage lengths, k-day buffer: renewal recursion (exact.lost_probabilities_renewal)."""
    T = _horizon(doc)
    k = _integer_buffer(doc, strategy)
    lost = exact.lost_probabilities_renewal(_fail(doc, "supplier"), _survival(doc, T), T, k)
    return float(lost.mean())


def outage_fill(doc: dict, strategy: str) -> float:
    """Drawn outage lengths, zero buffer: 1 - (1/T) sum_t P(DOWN on day t-1)."""
    assert _integer_buffer(doc, strategy) == 0
    return 1.0 - outage_lost(doc, strategy)


def outage_lost_long_run(doc: dict, strategy: str) -> float:
    """Drawn outage lengths, long run: E[(D - k)^+] / (1/a + E[D]), D = ceil(X)."""
    k = _integer_buffer(doc, strategy)
    return exact.long_run_lost(_fail(doc, "supplier"), _excess_mean(doc, 0), _excess_mean(doc, k))


def outage_fill_long_run(doc: dict, strategy: str) -> float:
    """Drawn outage lengths, zero buffer, long run: 1/a / (1/a + E[D])."""
    assert _integer_buffer(doc, strategy) == 0
    return 1.0 - outage_lost_long_run(doc, strategy)


def _outage_start(doc: dict) -> int:
    (event,) = doc["events"]
    assert event["type"] == "node_outage" and event.get("capacity_fraction", 0.0) == 0.0
    assert event["start_day"] + event["duration_days"] >= _horizon(doc)  # cut off for good
    return int(event["start_day"])


def _first_passage_args(doc: dict, strategy: str) -> tuple[float, float, int]:
    """(mu, S, days from the outage start to the end of the horizon)."""
    assert doc["nodes"]["dc"]["demand"]["distribution"] == "poisson"
    assert _lead_time(doc, strategy) == 0 and doc.get("random_disruptions") is False
    return _demand(doc), _order_up_to(doc, strategy), _horizon(doc) - _outage_start(doc)


def first_passage_mean(doc: dict, strategy: str) -> float:
    """E[TTS] = sum_{j >= 0} F(S; (j + 1) mu) (exact.first_passage_mean)."""
    return exact.first_passage_mean(*_first_passage_args(doc, strategy))


def first_passage_cdf(j: int) -> ExactFn:
    """P(TTS <= j) = 1 - F(S; (j + 1) mu)."""

    def cdf(doc: dict, strategy: str) -> float:
        mu, stock, days = _first_passage_args(doc, strategy)
        return 1.0 - float(exact.first_passage_survival(mu, stock, days)[j])

    cdf.__name__ = f"first_passage_cdf_{j}"
    return cdf


def _push_level(doc: dict, strategy: str, *, wrong: str = "") -> dict[str, float]:
    """Push at a level rate into capped finished goods, base-stock DC, lead times 0
    (exact.push_level); every level read from the strategy's own entries."""
    own = _strategy(doc, strategy)
    production = own["production"]["plant"]
    assert production["mode"] == "push" and production["plan"] == "level"
    assert all(lane["lead_time_days"] == 0 for lane in doc["lanes"])
    assert doc.get("demand_mode", "lost_sales") == "lost_sales"
    levels = {e["at"]: e["order_up_to"] for e in own["stock"]}
    rate = int(production["rate_per_day"])
    # the wrong variants, for the checker's test: the cap forgotten (room for everything
    # the horizon can make), or production after the day's orders
    cap = rate * _horizon(doc) + 1 if wrong == "uncapped" else int(production["storage_cap"])
    return exact.push_level(
        _demand(doc),
        rate,
        int(levels["dc"]),
        cap,
        int(production.get("initial_stock", 0)),
        float(levels["plant"]),
        _horizon(doc),
        produce_after_orders=wrong == "after_orders",
    )


def push_level_fill(doc: dict, strategy: str) -> float:
    """Push at a level rate: fill = sum_t E[min(d, X_{t-1})] / (T mu)."""
    return _push_level(doc, strategy)["fill_rate"]


def push_level_on_hand(doc: dict, strategy: str) -> float:
    """Push at a level rate: mean on hand = (1/T) sum_t E[X'_t + F_t] + S_c."""
    return _push_level(doc, strategy)["mean_on_hand"]


# ----------------------------------------------------------------------------- cases


def backup_total_cost(doc: dict, strategy: str) -> float:
    """E[total_cost] of a DC fed by a primary supplier with geometric outages and an
    always-up backup (lead time 0, S = mu, deterministic demand, lost sales, failover):
    qualified (backup share w > 0): q T + mu sum_t [c_P (1 - w) p_t + c_B (w p_t + 1 - p_t)],
    nothing lost; not qualified: mu sum_t [c_P p_t + m (1 - p_{t-1})]
    (tests/test_optimize.py, test_backup_qualification_pays_above_the_break_even)."""
    mode, shares = _dc_sourcing(doc, strategy)
    assert mode == "failover" and set(shares) <= {"primary", "backup"}
    a, b = _chain(doc, "primary")
    T, mu = _horizon(doc), _demand(doc)
    lanes = {lane["from"]: lane for lane in doc["lanes"]}
    c_p = float(lanes["primary"].get("unit_cost", 0.0))
    c_b = float(lanes["backup"].get("unit_cost", 0.0))
    q = float(lanes["backup"].get("qualification_cost_per_day", 0.0))
    margin = float(doc["nodes"]["dc"]["lost_sale_margin"])
    up = exact.up_probabilities(a, b, T)  # days -1 .. T-1
    shipped, before = up[1:], up[:-1]  # the primary on day t ships; on day t-1 it fed day t
    w = shares.get("backup", 0.0)
    if w > 0:
        buy = c_p * (1.0 - w) * shipped + c_b * (w * shipped + 1.0 - shipped)
        return float(mu * buy.sum() + q * T)
    return float(mu * (c_p * shipped + margin * (1.0 - before)).sum())


def total_cost_vs(other: str) -> ExactFn:
    def difference(doc: dict, strategy: str) -> float:
        return backup_total_cost(doc, strategy) - backup_total_cost(doc, other)

    difference.__name__ = f"total_cost_vs_{other}"
    return difference


# ----------------------------------------------------------------------------- issue-14 variability


def _seasonal(doc: dict, strategy: str) -> tuple[list[float], list[float]]:
    """(on hand, lost) per day of a seasonal deterministic case (exact_variability)."""
    demand = doc["nodes"]["dc"]["demand"]
    T = _horizon(doc)
    if "mean_csv" in demand:
        rows = (SCENARIO_DIR / demand["mean_csv"]).read_text().splitlines()[1:]
        daily = [float(r.split(",")[1]) for r in rows][:T]
    else:
        weekly = demand["seasonality"]["weekly"]
        daily = [float(demand["mean_per_day"]) * weekly[t % 7] for t in range(T)]
    S = float(_strategy(doc, strategy)["stock"][0]["order_up_to"])
    lead = int(doc["lanes"][0]["lead_time_days"])
    return exact_variability.lost_sales_trajectory(daily, S, lead)


def seasonal_lost(doc: dict, strategy: str) -> float:
    return float(sum(_seasonal(doc, strategy)[1]))


def seasonal_stockouts(doc: dict, strategy: str) -> float:
    return float(sum(1 for x in _seasonal(doc, strategy)[1] if x > 1e-9))


def _nb_case(doc: dict, strategy: str) -> dict[str, float]:
    demand = doc["nodes"]["dc"]["demand"]
    assert doc["demand_mode"] == "backorder" and demand["distribution"] == "negative_binomial"
    S = _order_up_to(doc, strategy)
    return exact_variability.nb_base_stock(
        float(demand["mean_per_day"]),
        float(demand["variance_to_mean"]),
        int(S),
        _lead_time(doc, strategy),
        _horizon(doc),
    )


def nb_mean(doc: dict, strategy: str) -> float:
    return float(doc["nodes"]["dc"]["demand"]["mean_per_day"])


def nb_variance(doc: dict, strategy: str) -> float:
    demand = doc["nodes"]["dc"]["demand"]
    return float(demand["mean_per_day"]) * float(demand["variance_to_mean"])


def nb_fill(doc: dict, strategy: str) -> float:
    return _nb_case(doc, strategy)["fill_rate"]


def nb_on_hand(doc: dict, strategy: str) -> float:
    return _nb_case(doc, strategy)["mean_on_hand"]


def nb_backlog(doc: dict, strategy: str) -> float:
    return _nb_case(doc, strategy)["mean_backlog"]


def _crossing(doc: dict, strategy: str) -> dict[str, float]:
    lead = doc["lanes"][0]["lead_time_days"]
    if lead["distribution"] == "discrete":
        pmf = dict(zip(lead["values"], lead["probs"], strict=True))
    else:
        pmf = exact_variability.lognormal_lead_pmf(
            float(lead["mean_days"]), float(lead["sd_days"]), int(lead["max_days"])
        )
    S = float(_strategy(doc, strategy)["stock"][0]["order_up_to"])
    d = float(doc["nodes"]["dc"]["demand"]["mean_per_day"])
    return exact_variability.crossing_base_stock(d, S, pmf, _horizon(doc))


def crossing_fill(doc: dict, strategy: str) -> float:
    return _crossing(doc, strategy)["fill_rate"]


def crossing_on_hand(doc: dict, strategy: str) -> float:
    return _crossing(doc, strategy)["mean_on_hand"]


def crossing_backlog(doc: dict, strategy: str) -> float:
    return _crossing(doc, strategy)["mean_backlog"]


@dataclass(frozen=True)
class Case:
    family: str  # which test checks it (and whose docstring derives the formula)
    scenario: str  # scenarios/validation/<scenario>.yaml
    strategy: str
    metric: str  # fill_rate | lost_fraction | mean_on_hand | mean_backlog
    exact: ExactFn
    formula: str
    finite: ExactFn | None = field(default=None)  # long-run cases: the finite-horizon exact value

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.strategy}/{self.metric}"

    def exact_value(self) -> float:
        return self.exact(scenario_doc(self.scenario), self.strategy)

    def finite_value(self) -> float | None:
        return (
            None if self.finite is None else self.finite(scenario_doc(self.scenario), self.strategy)
        )


# fmt: off
_TABLE: list[tuple[str, str, str, ExactFn, str, tuple[str, ...], ExactFn | None]] = [
    # family           scenario                   metric           exact value            formula (for the table)        strategies                     finite horizon (long-run cases)
    # 1. single supplier, zero buffer: fill on day t = 1{UP on day t-1}
    ("single_supplier", "single-supplier",        "fill_rate",     single_fill,           "mean_t p_{t-1}",              ("zero_buffer",),              None),
    ("single_supplier", "single-supplier-short",  "fill_rate",     single_fill,           "mean_t p_{t-1}",              ("zero_buffer",),              None),
    # 2. k days of buffer, lost sales: lost on day t iff DOWN on days t-k-1 .. t-1
    ("buffer",          "single-supplier",        "lost_fraction", buffer_lost,           "mean_t P(DOWN t-k-1..t-1)",   ("buffer_3", "buffer_10"),     None),
    ("buffer",          "single-supplier-short",  "lost_fraction", buffer_lost,           "mean_t P(DOWN t-k-1..t-1)",   ("buffer_1", "buffer_2"),      None),
    # 1 and 2 over long horizons
    ("long_run",        "single-supplier-long",   "fill_rate",     single_fill_long_run,  "b/(a+b)",                     ("zero_buffer",),              single_fill),
    ("long_run",        "single-supplier-long",   "lost_fraction", buffer_lost_long_run,  "a/(a+b) (1-b)^k",             ("buffer_3",),                 buffer_lost),
    ("long_run",        "single-supplier-long-b", "fill_rate",     single_fill_long_run,  "b/(a+b)",                     ("zero_buffer",),              single_fill),
    ("long_run",        "single-supplier-long-b", "lost_fraction", buffer_lost_long_run,  "a/(a+b) (1-b)^k",             ("buffer_2",),                 buffer_lost),
    # 3. dual sourcing
    ("dual_sourcing",   "dual-sourcing",          "fill_rate",     sourcing_fill,         "mean_t 1 - q_A q_B",          ("failover_50_50",),           None),
    ("dual_sourcing",   "dual-sourcing",          "fill_rate",     sourcing_fill,         "mean_t (p_A + p_B)/2",        ("split_50_50",),              None),
    ("dual_sourcing",   "dual-sourcing-b",        "fill_rate",     sourcing_fill,         "mean_t 1 - q_A q_B",          ("failover_70_30",),           None),
    ("dual_sourcing",   "dual-sourcing-b",        "fill_rate",     sourcing_fill,         "mean_t .7 p_A + .3 p_B",      ("split_70_30",),              None),
    # regional (common-cause) shocks; c = P(no shock on day t-1)
    ("regional_shock",  "regional-shock",         "fill_rate",     sourcing_fill,         "mean_t c p_A",                ("single_far",),               None),
    ("regional_shock",  "regional-shock",         "fill_rate",     sourcing_fill,         "mean_t c (1 - q_A q_B)",      ("failover_far",),             None),
    ("regional_shock",  "regional-shock",         "fill_rate",     sourcing_fill,         "mean_t c (p_A + p_B)/2",      ("split_far",),                None),
    ("regional_shock",  "regional-shock",         "fill_rate",     sourcing_fill,         "mean_t 1 - (1 - c p_A) q_N",  ("regionalized",),             None),
    ("regional_shock",  "regional-shock-partial", "fill_rate",     sourcing_fill,         "mean_t E[avail_A]",           ("single_far",),               None),
    ("regional_shock",  "regional-shock-partial", "fill_rate",     sourcing_fill,         "mean_t E[min(1, sum avail)]", ("failover_far",),             None),
    ("regional_shock",  "regional-shock-partial", "fill_rate",     sourcing_fill,         "mean_t E[sum w avail]",       ("split_far",),                None),
    # 4. base stock, Poisson demand, backorders
    ("base_stock",      "base-stock",             "fill_rate",     base_stock_fill,       "E[min(d, (S-Y)^+)]/mu",       ("lead_0", "lead_3"),          None),
    ("base_stock",      "base-stock",             "mean_on_hand",  base_stock_on_hand,    "E[(S-X)^+]",                  ("lead_0", "lead_3"),          None),
    ("base_stock",      "base-stock",             "mean_backlog",  base_stock_backlog,    "E[(X-S)^+]",                  ("lead_0", "lead_3"),          None),
    ("base_stock",      "base-stock-b",           "fill_rate",     base_stock_fill,       "E[min(d, (S-Y)^+)]/mu",       ("lead_1", "lead_7"),          None),
    ("base_stock",      "base-stock-b",           "mean_on_hand",  base_stock_on_hand,    "E[(S-X)^+]",                  ("lead_1", "lead_7"),          None),
    ("base_stock",      "base-stock-b",           "mean_backlog",  base_stock_backlog,    "E[(X-S)^+]",                  ("lead_1", "lead_7"),          None),
    # drawn (lognormal / Pareto) outage durations
    ("outage_duration", "outage-lognormal",       "fill_rate",     outage_fill,           "renewal: 1 - P(DOWN t-1)",    ("zero_buffer",),              None),
    ("outage_duration", "outage-lognormal",       "lost_fraction", outage_lost,           "renewal: sum f_s S(t-1-s)",   ("buffer_7",),                 None),
    ("outage_duration", "outage-pareto",          "fill_rate",     outage_fill,           "renewal: 1 - P(DOWN t-1)",    ("zero_buffer",),              None),
    ("outage_duration", "outage-pareto",          "lost_fraction", outage_lost,           "renewal: sum f_s S(t-1-s)",   ("buffer_5",),                 None),
    ("long_run",        "outage-lognormal-long",  "fill_rate",     outage_fill_long_run,  "1/a / (1/a + E[D])",          ("zero_buffer",),              outage_fill),
    ("long_run",        "outage-lognormal-long",  "lost_fraction", outage_lost_long_run,  "E[(D-k)^+] / (1/a + E[D])",   ("buffer_7",),                 outage_lost),
    ("long_run",        "outage-pareto-long",     "fill_rate",     outage_fill_long_run,  "1/a / (1/a + E[D])",          ("zero_buffer",),              outage_fill),
    ("long_run",        "outage-pareto-long",     "lost_fraction", outage_lost_long_run,  "E[(D-k)^+] / (1/a + E[D])",   ("buffer_5",),                 outage_lost),
    # time-to-survive with Poisson demand: the first passage of the cumulative demand
    ("first_passage",   "first-passage",          "mean_time_to_survive", first_passage_mean,   "sum_j F(S; (j+1) mu)", ("buffer_2", "buffer_5"), None),
    ("first_passage",   "first-passage",          "p_time_to_survive_le_2", first_passage_cdf(2), "1 - F(S; 3 mu)",     ("buffer_2",),             None),
    ("first_passage",   "first-passage",          "p_time_to_survive_le_5", first_passage_cdf(5), "1 - F(S; 6 mu)",     ("buffer_5",),             None),
    ("first_passage",   "first-passage-b",        "mean_time_to_survive", first_passage_mean,   "sum_j F(S; (j+1) mu)", ("buffer_1", "buffer_4"), None),
    ("first_passage",   "first-passage-b",        "p_time_to_survive_le_1", first_passage_cdf(1), "1 - F(S; 2 mu)",     ("buffer_1",),             None),
    ("first_passage",   "first-passage-b",        "p_time_to_survive_le_4", first_passage_cdf(4), "1 - F(S; 5 mu)",     ("buffer_4",),             None),
    # is a backup worth qualifying? E[total cost, qualified - single source], paired
    ("qualify_backup",  "qualify-backup-low",     "total_cost_vs_single_source", total_cost_vs("single_source"), "qT + mu sum_t [w dc p_t + c_B q_t] - m mu sum_t q_{t-1}", ("qualified",), None),
    ("qualify_backup",  "qualify-backup-high",    "total_cost_vs_single_source", total_cost_vs("single_source"), "qT + mu sum_t [w dc p_t + c_B q_t] - m mu sum_t q_{t-1}", ("qualified",), None),
    # issue-14 push: a plant pushing at a level rate, Markov chain of (DC on hand, finished goods)
    ("push_level",      "push-level",             "fill_rate",     push_level_fill,       "chain (X, F): E[min(d, X)]/mu", ("rate_3", "rate_2"),      None),
    ("push_level",      "push-level",             "mean_on_hand",  push_level_on_hand,    "chain (X, F): E[X' + F] + S_c", ("rate_3", "rate_2"),      None),
    ("push_level",      "push-level-b",           "fill_rate",     push_level_fill,       "chain (X, F): E[min(d, X)]/mu", ("rate_1", "rate_2"),      None),
    ("push_level",      "push-level-b",           "mean_on_hand",  push_level_on_hand,    "chain (X, F): E[X' + F] + S_c", ("rate_1", "rate_2"),      None),
    # issue-14: seasonal deterministic demand (exact trajectories: SE 0)
    ("seasonal",        "seasonal-weekly",        "lost_units",    seasonal_lost,         "sum_t d_t - served_t",        ("units_22", "units_30"),      None),
    ("seasonal",        "seasonal-weekly",        "stockout_days", seasonal_stockouts,    "#{t: served_t < d_t}",        ("units_22",),                 None),
    ("seasonal",        "seasonal-csv",           "lost_units",    seasonal_lost,         "sum_t d_t - served_t",        ("units_40", "units_60"),      None),
    ("seasonal",        "seasonal-csv",           "stockout_days", seasonal_stockouts,    "#{t: served_t < d_t}",        ("units_40",),                 None),
    # issue-14: negative binomial demand, base stock, backorders
    ("nb_demand",       "nb-demand",              "daily_demand_mean", nb_mean,           "mu",                          ("lead_0",),                   None),
    ("nb_demand",       "nb-demand",              "daily_demand_var", nb_variance,        "v mu",                        ("lead_0",),                   None),
    ("nb_demand",       "nb-demand",              "fill_rate",     nb_fill,               "E[min(d, (S-Y)^+)]/mu, NB",   ("lead_0", "lead_3"),          None),
    ("nb_demand",       "nb-demand",              "mean_on_hand",  nb_on_hand,            "E[(S-X)^+], X ~ NB(n r, p)",  ("lead_0", "lead_3"),          None),
    ("nb_demand",       "nb-demand",              "mean_backlog",  nb_backlog,            "E[(X-S)^+], X ~ NB(n r, p)",  ("lead_3",),                   None),
    ("nb_demand",       "nb-demand-b",            "daily_demand_mean", nb_mean,           "mu",                          ("lead_0",),                   None),
    ("nb_demand",       "nb-demand-b",            "daily_demand_var", nb_variance,        "v mu",                        ("lead_0",),                   None),
    ("nb_demand",       "nb-demand-b",            "fill_rate",     nb_fill,               "E[min(d, (S-Y)^+)]/mu, NB",   ("lead_0", "lead_3"),          None),
    ("nb_demand",       "nb-demand-b",            "mean_on_hand",  nb_on_hand,            "E[(S-X)^+], X ~ NB(n r, p)",  ("lead_3",),                   None),
    # issue-14: stochastic lead times, orders crossing, deterministic demand, backorders
    ("lead_crossing",   "lead-crossing",          "fill_rate",     crossing_fill,         "E[min(d, (S - d N_t)^+)]/d",  ("units_30", "units_45"),      None),
    ("lead_crossing",   "lead-crossing",          "mean_on_hand",  crossing_on_hand,      "E[(S - d - d N_t)^+]",        ("units_30", "units_45"),      None),
    ("lead_crossing",   "lead-crossing",          "mean_backlog",  crossing_backlog,      "E[(S - d - d N_t)^-]",        ("units_30",),                 None),
    ("lead_crossing",   "lead-crossing-b",        "fill_rate",     crossing_fill,         "E[min(d, (S - d N_t)^+)]/d",  ("units_18", "units_30"),      None),
    ("lead_crossing",   "lead-crossing-b",        "mean_on_hand",  crossing_on_hand,      "E[(S - d - d N_t)^+]",        ("units_18", "units_30"),      None),
    ("lead_crossing",   "lead-crossing-b",        "mean_backlog",  crossing_backlog,      "E[(S - d - d N_t)^-]",        ("units_18",),                 None),
    # issue-14 policy: ordering policies, Poisson demand, backorders (tests/validation/test_policies.py)
    ("policy",          "policy-rq",              "fill_rate",     pc.chain_value("fill_rate"),    "E[min(d,(J-Y)^+)]/mu, J on r+1..r+Q", ("rq_l1", "rq_l4"), None),
    ("policy",          "policy-rq",              "mean_on_hand",  pc.chain_value("mean_on_hand"), "E[(J-X)^+]",                  ("rq_l1", "rq_l4"),            None),
    ("policy",          "policy-rq",              "mean_backlog",  pc.chain_value("mean_backlog"), "E[(X-J)^+]",                  ("rq_l1", "rq_l4"),            None),
    ("policy",          "policy-rq",              "orders_placed", pc.chain_value("orders_placed"), "sum_t P(J_{t-1}-d_t <= r)",  ("rq_l1", "rq_l4"),            None),
    ("policy",          "policy-ss",              "fill_rate",     pc.chain_value("fill_rate"),    "E[min(d,(J-Y)^+)]/mu, (s,S) chain", ("ss_l2", "ss_l0"),      None),
    ("policy",          "policy-ss",              "mean_on_hand",  pc.chain_value("mean_on_hand"), "E[(J-X)^+]",                  ("ss_l2", "ss_l0"),            None),
    ("policy",          "policy-ss",              "mean_backlog",  pc.chain_value("mean_backlog"), "E[(X-J)^+]",                  ("ss_l2", "ss_l0"),            None),
    ("policy",          "policy-ss",              "orders_placed", pc.chain_value("orders_placed"), "sum_t P(J_{t-1}-d_t <= s)",  ("ss_l2", "ss_l0"),            None),
    ("policy",          "policy-ss",              "order_cost",    pc.chain_value("order_cost"),   "K sum_t P(J_{t-1}-d_t <= s)", ("ss_l2", "ss_l0"),            None),
    ("policy",          "policy-rs",              "fill_rate",     pc.R_S_value("fill_rate"),      "E[min(d,(S-D_n)^+)]/mu",      ("rs_r5_l3", "rs_r7_l0"),      None),
    ("policy",          "policy-rs",              "mean_on_hand",  pc.R_S_value("mean_on_hand"),   "E[(S-D_{n+1})^+]",            ("rs_r5_l3", "rs_r7_l0"),      None),
    ("policy",          "policy-rs",              "mean_backlog",  pc.R_S_value("mean_backlog"),   "E[(D_{n+1}-S)^+]",            ("rs_r5_l3", "rs_r7_l0"),      None),
    # lot multiple and minimum order quantity, deterministic demand: the exact cycle (SE 0)
    ("policy_lots",     "policy-lots",            "mean_on_hand",  pc.cycle_on_hand,               "trajectory",                  ("lot_20", "moq_25"),          None),
    ("policy_lots",     "policy-lots",            "orders_placed", pc.cycle_orders,                "trajectory",                  ("lot_20", "moq_25"),          None),
    ("policy_lots",     "policy-lots",            "order_cost",    pc.cycle_order_cost,            "trajectory",                  ("lot_20", "moq_25"),          None),
    ("policy_lots",     "policy-lots-b",          "mean_on_hand",  pc.cycle_on_hand,               "trajectory",                  ("rq_lots", "ss_moq"),         None),
    ("policy_lots",     "policy-lots-b",          "orders_placed", pc.cycle_orders,                "trajectory",                  ("rq_lots", "ss_moq"),         None),
    ("policy_lots",     "policy-lots-b",          "order_cost",    pc.cycle_order_cost,            "trajectory",                  ("rq_lots", "ss_moq"),         None),
    # issue-14 quality: Binomial yield, expediting, jidoka (tests/validation/test_quality.py)
    ("quality",         "binomial-yield",         "fill_rate",     qx.yield_fill_closed_form, "1 - p (T-1)/T",       ("zero_buffer",),              None),
    ("quality",         "binomial-yield",         "fill_rate",     qx.yield_fill,         "chain on h: E[min(mu, S-B)]", ("buffer_1",),                 None),
    ("quality",         "binomial-yield",         "mean_defective_units", qx.yield_defective, "sum_t E[B_t]",          ("zero_buffer", "buffer_1"),   None),
    ("quality",         "expedite",               "fill_rate",     qx.expedite_fill,      "1 - (mu-c) sum q_{t-1}/(mu T)", ("when_down", "below_units"), None),
    ("quality",         "expedite",               "mean_expedited_units", qx.expedite_units, "c sum_t q_t",             ("when_down", "below_units"), None),
    ("quality",         "expedite",               "mean_expedite_cost", qx.expedite_cost, "premium c sum_t q_t",         ("when_down",),                None),
    ("quality",         "jidoka",                 "mean_line_stop_days", qx.line_stop_days, "chain (I, stopped)",       ("base",),                     None),
    ("quality",         "jidoka-b",               "mean_line_stop_days", qx.line_stop_days, "chain (I, stopped)",       ("base",),                     None),
]
# fmt: on

CASES: list[Case] = [
    Case(family, scenario, strategy, metric, exact_fn, formula, finite)
    for family, scenario, metric, exact_fn, formula, strategies, finite in _TABLE
    for strategy in strategies
]


def cases_of(family: str) -> list[Case]:
    return [c for c in CASES if c.family == family]


# ----------------------------------------------------------------------------- day by day


def _sourcing_args(doc: dict, strategy: str):
    mode, shares = _dc_sourcing(doc, strategy)
    shocked = [name for name, region in doc["regions"].items() if (region or {}).get("shocks")]
    shock = None
    if shocked:
        (spec,) = doc["regions"][shocked[0]]["shocks"]
        shock = (
            _rate(spec, "mean_days_between", "start_probability"),
            _rate(spec, "mean_duration_days", "end_probability"),
            float(spec.get("capacity_fraction", 0.0)),
        )
    sources = [
        (*_chain(doc, s), bool(shocked) and doc["nodes"][s]["region"] == shocked[0]) for s in shares
    ]
    return sources, list(shares.values()), mode, shock


def buffer_daily_fill(doc: dict, strategy: str) -> np.ndarray:
    """E[fill on day t] = 1 - P(DOWN on days t-k-1 .. t-1) (geometric outages)."""
    a, b = _chain(doc, "supplier")
    k = _integer_buffer(doc, strategy)
    return 1.0 - exact.lost_probabilities_dp(a, b, _horizon(doc), k)


def sourcing_daily_fill(doc: dict, strategy: str) -> np.ndarray:
    """E[fill on day t] = E[phi(avail on day t-1)] (exact.sourcing_fill)."""
    return exact.sourcing_fill(*_sourcing_args(doc, strategy), _horizon(doc))


def outage_daily_fill(doc: dict, strategy: str) -> np.ndarray:
    """E[fill on day t] = 1 - P(lost on day t) (exact.lost_probabilities_renewal)."""
    T = _horizon(doc)
    k = _integer_buffer(doc, strategy)
    return 1.0 - exact.lost_probabilities_renewal(_fail(doc, "supplier"), _survival(doc, T), T, k)


@dataclass(frozen=True)
class DailyCase:
    """The mean fill of each day (``daily_fill_rate_mean``) against its exact value, in a
    case where each path's fill of a day is 0 or 1, so that its variance is p (1 - p)."""

    scenario: str
    strategy: str
    exact: Callable[[dict, str], np.ndarray]

    @property
    def name(self) -> str:
        return f"{self.scenario}/{self.strategy}/daily_fill"

    def exact_days(self) -> np.ndarray:
        return self.exact(scenario_doc(self.scenario), self.strategy)


DAILY_CASES: list[DailyCase] = [
    DailyCase("single-supplier-short", "zero_buffer", buffer_daily_fill),
    DailyCase("single-supplier-short", "buffer_2", buffer_daily_fill),
    DailyCase("single-supplier", "buffer_10", buffer_daily_fill),
    DailyCase("dual-sourcing", "failover_50_50", sourcing_daily_fill),
    DailyCase("regional-shock", "failover_far", sourcing_daily_fill),
    DailyCase("regional-shock", "regionalized", sourcing_daily_fill),
    DailyCase("outage-lognormal", "buffer_7", outage_daily_fill),
    DailyCase("outage-pareto", "zero_buffer", outage_daily_fill),
]
DAILY_TOLERANCE_SE = 5.0  # max |z| over up to 365 days: P(> 5 by chance) < 365 x 6e-7


@dataclass(frozen=True)
class DailyRow:
    case: DailyCase
    exact: np.ndarray
    estimate: np.ndarray
    se: np.ndarray

    @property
    def z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (self.estimate - self.exact) / self.se
        # days where the exact fill is 1: every path must be served in full
        return np.where(self.se > 0, z, np.where(self.estimate == self.exact, 0.0, np.inf))

    @property
    def worst_day(self) -> int:
        return int(np.argmax(np.abs(self.z)))

    @property
    def ok(self) -> bool:
        return bool(np.all(np.abs(self.z) < DAILY_TOLERANCE_SE))


@functools.cache
def evaluate_daily(case: DailyCase) -> DailyRow:
    data = simulate(case.scenario)
    estimate = data.daily_fill_rate_mean.sel(strategy=case.strategy).values.astype(np.float64)
    p = case.exact_days()
    se = np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / data.sizes["path"])
    return DailyRow(case, p, estimate, se)


# ----------------------------------------------------------------------------- deliberately wrong


def _same_day_fill(doc: dict, strategy: str) -> float:
    """WRONG: as if an L = 0 shipment served the same day's demand (fill_t = p_t)."""
    a, b = _chain(doc, "supplier")
    T = _horizon(doc)
    return float(exact.up_probabilities(a, b, T)[1:].mean())


def _split_as_failover(doc: dict, strategy: str) -> float:
    """WRONG: split sourcing treated as failover (1 - q_A q_B)."""
    pa = exact.up_probabilities(*_chain(doc, "supplier_a"), _horizon(doc))[:-1]
    pb = exact.up_probabilities(*_chain(doc, "supplier_b"), _horizon(doc))[:-1]
    return float((1.0 - (1.0 - pa) * (1.0 - pb)).mean())


def _failover_ignoring_shock(doc: dict, strategy: str) -> float:
    """WRONG: failover between two suppliers of one region as if shocks were independent
    of the sourcing (fill = 1 - q_A q_B, the shock forgotten)."""
    pa = exact.up_probabilities(*_chain(doc, "far_a"), _horizon(doc))[:-1]
    pb = exact.up_probabilities(*_chain(doc, "far_b"), _horizon(doc))[:-1]
    return float((1.0 - (1.0 - pa) * (1.0 - pb)).mean())


def _base_stock_one_day_late(doc: dict, strategy: str) -> float:
    """WRONG: an order placed on day t serving from day t + L + 1 (lead time one too long)."""
    S = _order_up_to(doc, strategy)
    L = _lead_time(doc, strategy)
    return exact.base_stock(_demand(doc), int(S), max(L, 1) + 1, _horizon(doc))["fill_rate"]


def _lognormal_median_as_mean(doc: dict, strategy: str) -> float:
    """WRONG: the lognormal's median read as the mean outage length (geometric, b = 1/median)."""
    a = _fail(doc, "supplier")
    median = doc["nodes"]["supplier"]["outage"]["duration"]["median_days"]
    T = _horizon(doc)
    return 1.0 - float(exact.lost_probabilities_dp(a, 1.0 / median, T, 0).mean())


def _backup_premium_only(doc: dict, strategy: str) -> float:
    """WRONG: the backup's units on the primary's down days charged at its premium over
    the primary's price only, as if the single source had bought them too (it buys
    nothing while the primary is down, and loses the sale instead)."""
    a, b = _chain(doc, "primary")
    T, mu = _horizon(doc), _demand(doc)
    lanes = {lane["from"]: lane for lane in doc["lanes"]}
    c_p = float(lanes["primary"].get("unit_cost", 0.0))
    down = 1.0 - exact.up_probabilities(a, b, T)[1:]
    return total_cost_vs("single_source")(doc, strategy) - c_p * mu * float(down.sum())


def _push_storage_cap_ignored(doc: dict, strategy: str) -> float:
    """WRONG: a push plant's finished goods never capped (production never stops)."""
    return _push_level(doc, strategy, wrong="uncapped")["mean_on_hand"]


def _push_produce_after_orders(doc: dict, strategy: str) -> float:
    """WRONG: push production after the day's orders (made today, shipped tomorrow)."""
    return _push_level(doc, strategy, wrong="after_orders")["fill_rate"]


@dataclass(frozen=True)
class WrongCase:
    """A plausible but wrong formula for ``case``; the checker must reject it."""

    case: Case
    wrong: ExactFn

    @property
    def name(self) -> str:
        return f"{self.case.name} [{self.wrong.__name__.strip('_')}]"


def _find(name: str) -> Case:
    (case,) = [c for c in CASES if c.name == name]
    return case


WRONG_CASES: list[WrongCase] = [
    WrongCase(_find("single-supplier-short/zero_buffer/fill_rate"), _same_day_fill),
    WrongCase(_find("dual-sourcing/split_50_50/fill_rate"), _split_as_failover),
    WrongCase(_find("regional-shock/failover_far/fill_rate"), _failover_ignoring_shock),
    WrongCase(_find("base-stock/lead_3/fill_rate"), _base_stock_one_day_late),
    WrongCase(_find("outage-lognormal/zero_buffer/fill_rate"), _lognormal_median_as_mean),
    WrongCase(
        _find("qualify-backup-low/qualified/total_cost_vs_single_source"), _backup_premium_only
    ),
    WrongCase(_find("push-level/rate_3/mean_on_hand"), _push_storage_cap_ignored),  # issue-14 push
    WrongCase(_find("push-level/rate_3/fill_rate"), _push_produce_after_orders),
    # issue-14 policy
    WrongCase(_find("policy-rq/rq_l1/mean_on_hand"), pc.r_Q_ordering_below_r),
    WrongCase(_find("policy-ss/ss_l2/fill_rate"), pc.one_day_late),
]


# ----------------------------------------------------------------------------- estimation


@functools.cache
def simulate(scenario: str):
    """The cached run of one scenario file (all its strategies), as an xarray Dataset."""
    import resilience

    paths, seed = RUNS[scenario]
    return resilience.simulate(scenario_path(scenario), paths=paths, seed=seed)


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float


def ratio_estimate(num: np.ndarray, den: np.ndarray) -> Estimate:
    """sum(num) / sum(den) and its delta-method standard error."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ratio = num.sum() / den.sum()
    resid = num - ratio * den
    se = math.sqrt(resid.var(ddof=1) / num.size) / den.mean()
    return Estimate(float(ratio), se)


def mean_estimate(x: np.ndarray) -> Estimate:
    x = np.asarray(x, dtype=np.float64)
    return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)))


def estimate(case: Case) -> Estimate:
    if case.metric.startswith("total_cost_vs_"):
        run = simulate(case.scenario).total_cost
        other = case.metric.removeprefix("total_cost_vs_")
        return mean_estimate(
            run.sel(strategy=case.strategy).values - run.sel(strategy=other).values
        )
    data = simulate(case.scenario).sel(strategy=case.strategy)
    if case.metric == "fill_rate":
        return ratio_estimate(data.filled_units.values, data.demand_units.values)
    if case.metric == "lost_fraction":
        return ratio_estimate(data.lost_units.values, data.demand_units.values)
    if case.metric in ("mean_on_hand", "mean_backlog", "orders_placed", "order_cost"):
        return mean_estimate(data[case.metric].values)
    if case.metric in (  # issue-14 quality: means over paths of a per-path total
        "mean_defective_units",
        "mean_expedited_units",
        "mean_expedite_cost",
        "mean_line_stop_days",
    ):
        return mean_estimate(data[case.metric.removeprefix("mean_")].values)
    if case.metric == "mean_time_to_survive":
        tts = data.time_to_survive_days.values
        assert not np.isnan(tts).any(), f"{case.name}: a path survived the horizon"
        return mean_estimate(tts)
    if case.metric in ("lost_units", "stockout_days"):  # integers: a mean of equal ones is exact
        return mean_estimate(data[case.metric].values)
    if case.metric == "daily_demand_mean":
        return mean_estimate(data.demand_units.values / data.sizes["day"])
    if case.metric == "daily_demand_var":
        # Var(sum of T iid days) / T; SE of a variance: sqrt((m4 - s^4) / N) / T
        x = data.demand_units.values.astype(np.float64)
        T = data.sizes["day"]
        dev2 = (x - x.mean()) ** 2
        return Estimate(float(x.var(ddof=1) / T), float(dev2.std(ddof=1) / math.sqrt(x.size) / T))
    if case.metric.startswith("p_time_to_survive_le_"):
        j = int(case.metric.rsplit("_", 1)[1])
        hit = (data.time_to_survive_days.values <= j).astype(np.float64)
        return mean_estimate(hit)  # a proportion: s / sqrt(N) = sqrt(p (1 - p) / N)
    raise ValueError(f"unknown metric {case.metric!r}")


def z_score(value: float, se: float, expected: float) -> float:
    if se > 0.0:
        return (value - expected) / se
    return 0.0 if value == expected else math.copysign(math.inf, value - expected)


def agrees(value: float, se: float, expected: float, tolerance: float = TOLERANCE_SE) -> bool:
    """The checker: the estimate is within ``tolerance`` standard errors of ``expected``."""
    return abs(z_score(value, se, expected)) < tolerance


@dataclass(frozen=True)
class Row:
    case: Case
    exact: float
    estimate: float
    se: float

    @property
    def z(self) -> float:
        return z_score(self.estimate, self.se, self.exact)

    @property
    def ok(self) -> bool:
        return agrees(self.estimate, self.se, self.exact)


@functools.cache
def evaluate(case: Case) -> Row:
    """Exact value and estimate of ``case`` (cached: the tests and the table share them)."""
    est = estimate(case)
    return Row(case, case.exact_value(), est.value, est.se)


# ----------------------------------------------------------------------------- deterministic TTS
#
# Deterministic demand mu, no random process, a full (or partial) outage of one node
# scripted from day a for D days: every path is the same, so the kernel must hit the exact
# value on the nose (SE 0). Each network starts settled (day -1: every stock point at its
# level S, nothing in transit) and runs a steady flow of mu a day before day a: at the end
# of day a-1 each stock point's on hand plus in transit is S, and every pipeline shipment
# arrives on the day it is needed.


def _stage_doc(name: str, nodes: dict, lanes: list, stock: list, events: list) -> dict:
    return {
        "name": name,
        "horizon_days": 120,
        "random_disruptions": False,
        "regions": {"r": {}},
        "nodes": nodes,
        "lanes": lanes,
        "stock": stock,
        "events": events,
        "strategies": {"base": {}},
    }


def _dc(mu: float) -> dict:
    return {
        "kind": "dc",
        "region": "r",
        "demand": {"distribution": "deterministic", "mean_per_day": mu},
        "lost_sale_margin": 1.0,
    }


def _outage(node: str, start: int, days: int, fraction: float = 0.0) -> dict:
    return {
        "type": "node_outage",
        "node": node,
        "start_day": start,
        "duration_days": days,
        "capacity_fraction": fraction,
    }


def single_stage_doc(mu=100.0, lead=3, buffer=4, start=20, days=10, capacity=None, fraction=0.0):
    """supplier -> dc (lead time ``lead``), S = mu (max(L, 1) + buffer)."""
    supplier = {"kind": "supplier", "region": "r", "item": "fg"}
    if capacity is not None:
        supplier["capacity_per_day"] = capacity
    return _stage_doc(
        "single stage",
        {"supplier": supplier, "dc": _dc(mu)},
        [{"from": "supplier", "to": "dc", "lead_time_days": lead}],
        [{"at": "dc", "buffer_days": buffer}],
        [_outage("supplier", start, days, fraction)] if days else [],
    )


def two_stage_doc(mu=50.0, leads=(2, 3), buffers=(5, 2), start=20, days=30):
    """supplier -> plant (component c, 1 a unit) -> dc; buffers at both stock points."""
    return _stage_doc(
        "two stages",
        {
            "supplier": {"kind": "supplier", "region": "r", "item": "c"},
            "plant": {"kind": "plant", "region": "r", "item": "fg", "bom": {"c": 1}},
            "dc": _dc(mu),
        },
        [
            {"from": "supplier", "to": "plant", "lead_time_days": leads[0]},
            {"from": "plant", "to": "dc", "lead_time_days": leads[1]},
        ],
        [
            {"at": "plant", "item": "c", "buffer_days": buffers[0]},
            {"at": "dc", "buffer_days": buffers[1]},
        ],
        [_outage("supplier", start, days)] if days else [],
    )


def assembly_doc(mu=40.0, buffers=(3, 20, 1), start=20, days=30, out="sup_a"):
    """sup_a (c1) and sup_b (c2) -> plant (1 of each, lead times 2) -> dc (lead time 1);
    buffers (c1, c2, dc)."""
    return _stage_doc(
        "assembly",
        {
            "sup_a": {"kind": "supplier", "region": "r", "item": "c1"},
            "sup_b": {"kind": "supplier", "region": "r", "item": "c2"},
            "plant": {"kind": "plant", "region": "r", "item": "fg", "bom": {"c1": 1, "c2": 1}},
            "dc": _dc(mu),
        },
        [
            {"from": "sup_a", "to": "plant", "lead_time_days": 2},
            {"from": "sup_b", "to": "plant", "lead_time_days": 2},
            {"from": "plant", "to": "dc", "lead_time_days": 1},
        ],
        [
            {"at": "plant", "item": "c1", "buffer_days": buffers[0]},
            {"at": "plant", "item": "c2", "buffer_days": buffers[1]},
            {"at": "dc", "buffer_days": buffers[2]},
        ],
        [_outage(out, start, days)] if days else [],
    )


@dataclass(frozen=True)
class TTSCase:
    """One exact deterministic figure of a network with a scripted outage ``outage`` (start
    day, days): ``via`` "simulate" runs the scenario with the outage scripted in it (every
    path alike); "stress" runs ``resilience.api.stress(deterministic=True)`` of ``node``
    on the scenario without it, with the outage's start and TTR = its days."""

    network: str
    doc: dict  # without the outage
    outage: tuple[int, int]
    via: str  # simulate | stress
    metric: str  # time_to_survive_days | lost_units | traced_shortage_share | tts | p_no_shortage
    exact: float
    formula: str
    node: str = "supplier"
    fraction: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.network}/{self.via}/{self.metric}"

    def scripted(self) -> dict:
        """The scenario with the outage scripted in it."""
        start, days = self.outage
        return {**self.doc, "events": [_outage(self.node, start, days, self.fraction)]}


def _tts_cases() -> list[TTSCase]:
    single = single_stage_doc(days=0)  # L = 3, k = 4, mu = 100
    chain = two_stage_doc(days=0)  # L = 2, 3; k = 5, 2; mu = 50
    assembly = assembly_doc(days=0)  # k = 3 (c1), 20 (c2), 1 (dc); mu = 40
    partial = single_stage_doc(lead=0, buffer=5, days=0, capacity=100.0)
    short = single_stage_doc(lead=0, buffer=10, days=0)
    s1 = 100.0 * (3 + 4)  # S = mu (max(L, 1) + k)
    s2 = 50.0 * (2 + 5) + 50.0 * (3 + 2)  # S_plant + S_dc
    s3 = 40.0 * (2 + 3) + 40.0 * (1 + 1)  # S_c1 + S_dc: c2's stock does not count
    s4 = 40.0 * (2 + 20) + 40.0 * (1 + 1)  # S_c2 + S_dc
    tts_partial = exact.partial_tts(600.0, 100.0, 50.0)
    T = exact.deterministic_tts
    return [
        TTSCase(
            "single-stage L3 k4 D10",
            single,
            (20, 10),
            "simulate",
            "time_to_survive_days",
            T(s1, 100.0),
            "floor(S / mu)",
        ),
        TTSCase(
            "single-stage L3 k4 D10",
            single,
            (20, 10),
            "stress",
            "tts",
            T(s1, 100.0),
            "floor(S / mu)",
        ),
        TTSCase(
            "single-stage L3 k4 D10",
            single,
            (20, 10),
            "simulate",
            "lost_units",
            100.0 * (10 - 4),
            "mu (D - k)",
        ),
        TTSCase(
            "two-stage L2,3 k5,2 D30",
            chain,
            (20, 30),
            "simulate",
            "time_to_survive_days",
            T(s2, 50.0),
            "floor((S_plant + S_dc) / mu)",
        ),
        TTSCase(
            "two-stage L2,3 k5,2 D30",
            chain,
            (20, 30),
            "stress",
            "tts",
            T(s2, 50.0),
            "floor((S_plant + S_dc) / mu)",
        ),
        TTSCase(
            "two-stage L2,3 k5,2 D30",
            chain,
            (20, 30),
            "simulate",
            "lost_units",
            50.0 * (30 - 5 - 2),
            "mu (D - k_plant - k_dc)",
        ),
        TTSCase(
            "assembly c1 out D30",
            assembly,
            (20, 30),
            "simulate",
            "time_to_survive_days",
            T(s3, 40.0),
            "floor((S_c1 + S_dc) / mu)",
            node="sup_a",
        ),
        TTSCase(
            "assembly c1 out D30",
            assembly,
            (20, 30),
            "stress",
            "tts",
            T(s3, 40.0),
            "floor((S_c1 + S_dc) / mu)",
            node="sup_a",
        ),
        TTSCase(
            "assembly c1 out D30",
            assembly,
            (20, 30),
            "simulate",
            "lost_units",
            40.0 * (30 - 3 - 1),
            "mu (D - k_c1 - k_dc)",
            node="sup_a",
        ),
        TTSCase(
            "assembly c2 out D30",
            assembly,
            (20, 30),
            "stress",
            "tts",
            T(s4, 40.0),
            "floor((S_c2 + S_dc) / mu)",
            node="sup_b",
        ),
        TTSCase(
            "partial f0.5 L0 k5 D40",
            partial,
            (20, 40),
            "simulate",
            "time_to_survive_days",
            tts_partial,
            "floor((S - mu) / (mu - f C)) + 1",
            fraction=0.5,
        ),
        TTSCase(
            "partial f0.5 L0 k5 D40",
            partial,
            (20, 40),
            "simulate",
            "lost_units",
            50.0 * (40 - tts_partial + 1),
            "(mu - f C) (D - TTS + 1)",
            fraction=0.5,
        ),
        TTSCase(
            "short outage L0 k10 D6",
            short,
            (20, 6),
            "simulate",
            "traced_shortage_share",
            0.0,
            "D < TTS = 11: no shortage",
        ),
        TTSCase(
            "short outage L0 k10 D6",
            short,
            (20, 6),
            "simulate",
            "lost_units",
            0.0,
            "D < TTS: zero loss",
        ),
        TTSCase(
            "short outage L0 k10 D6",
            short,
            (20, 6),
            "stress",
            "p_no_shortage",
            1.0,
            "D < TTS: no shortage",
        ),
    ]


TTS_CASES: list[TTSCase] = _tts_cases()


@functools.cache
def _tts_run(index: int):
    import resilience
    from resilience.api import stress

    case = TTS_CASES[index]
    if case.via == "simulate":
        return resilience.simulate(case.scripted(), paths=40, seed=7, threads=1)
    start, days = case.outage
    return stress(
        case.doc, nodes=[case.node], start=start, ttr_days=days, deterministic=True, threads=1
    )


def evaluate_tts(index: int) -> Row:
    """Exact value and the kernel's (every path the same: SE 0) of ``TTS_CASES[index]``."""
    case = TTS_CASES[index]
    ds = _tts_run(index).sel(strategy="base")
    if case.via == "simulate":
        if case.metric == "traced_shortage_share":
            values = ds.time_to_survive_days.notnull().values.astype(np.float64)
        else:
            values = ds[case.metric].values
        assert np.unique(values).size == 1, f"{case.name}: paths differ"
        estimate = float(values[0])
    else:
        x = ds.sel(node=case.node)
        value = x.tts_quantile.sel(quantile=0.5) if case.metric == "tts" else x[case.metric]
        estimate = float(value)
    value = float(case.exact)
    row_case = Case("tts", case.network, case.via, case.metric, lambda d, s: value, case.formula)
    return Row(row_case, value, estimate, 0.0)


# ----------------------------------------------------------------------------- stress, first passage
#
# The time-to-survive distribution through ``resilience stress`` in its random mode: the
# first-passage scenario without its scripted event, the stress test scripting the same
# outage (the supplier from day 10 to the horizon: TTR 50 days). See
# tests/validation/test_stress_first_passage.py for the derivation.

STRESS_PASSAGE_RUN = {"paths": 20_000, "seed": 118, "start": 10, "ttr_days": 50}


def _stress_passage_mean(doc: dict, strategy: str) -> float:
    """E[TTS] = sum_{j >= 0} F(S; (j+1) mu), as through a scripted event."""
    return first_passage_mean(_with_stress_outage(doc), strategy)


def _stress_passage_cdf(j: int) -> ExactFn:
    inner = first_passage_cdf(j)

    def cdf(doc: dict, strategy: str) -> float:
        return inner(_with_stress_outage(doc), strategy)

    cdf.__name__ = f"stress_passage_cdf_{j}"
    return cdf


def _with_stress_outage(doc: dict) -> dict:
    """The scenario as the stress test runs it: its own events replaced by the one
    outage the stress test scripts."""
    run = STRESS_PASSAGE_RUN
    outage = _outage("supplier", run["start"], run["ttr_days"])
    return {**doc, "events": [outage]}


STRESS_PASSAGE_CASES: list[Case] = [
    Case(
        "stress_first_passage",
        "first-passage",
        s,
        "stress_mean_tts",
        _stress_passage_mean,
        "sum_j F(S; (j+1) mu)",
    )
    for s in ("buffer_2", "buffer_5")
] + [
    Case(
        "stress_first_passage",
        "first-passage",
        "buffer_2",
        "stress_p_tts_le_2",
        _stress_passage_cdf(2),
        "1 - F(S; 3 mu)",
    ),
    Case(
        "stress_first_passage",
        "first-passage",
        "buffer_5",
        "stress_p_tts_le_5",
        _stress_passage_cdf(5),
        "1 - F(S; 6 mu)",
    ),
    Case(
        "stress_first_passage",
        "first-passage",
        "buffer_5",
        "stress_p_tts_le_7",
        _stress_passage_cdf(7),
        "1 - F(S; 8 mu)",
    ),
]


@functools.cache
def stress_passage_run():
    """The stress test of the supplier on the first-passage network (events removed)."""
    from resilience.api import stress

    doc = {k: v for k, v in scenario_doc("first-passage").items() if k != "events"}
    run = STRESS_PASSAGE_RUN
    return stress(
        doc,
        nodes=["supplier"],
        paths=run["paths"],
        seed=run["seed"],
        start=run["start"],
        ttr_days=run["ttr_days"],
    ).sel(node="supplier")


@functools.cache
def evaluate_stress_passage(case: Case) -> Row:
    """Exact value and the stress test's estimate (mean over paths, a proportion for the
    CDF) of a :data:`STRESS_PASSAGE_CASES` case."""
    tts = stress_passage_run().sel(strategy=case.strategy).tts_days.values
    assert not np.isnan(tts).any(), f"{case.name}: a path had no shortage caused"
    if case.metric == "stress_mean_tts":
        est = mean_estimate(tts)
    else:
        j = int(case.metric.rsplit("_", 1)[1])
        est = mean_estimate((tts <= j).astype(np.float64))
    return Row(case, case.exact_value(), est.value, est.se)
