"""The validation cases: one list shared by the tests and by ``python -m tests.validation.table``.

A case is (scenario file under ``scenarios/validation/``, strategy, metric, exact value).
Exact values are computed by ``tests/validation/exact.py`` from the parameters read
straight from the scenario's YAML text (not through ``resilience.schema``, so a
misread parameter shows up as a disagreement), by the rules of ../shared/MODEL.md and
docs/scenario-format.md: a rate is a probability or 1 / mean days, and
S = ceil(mu x (max(L, 1) + buffer_days)) unless given in units.

Every file is simulated once (cached) with its fixed number of paths and seed, and each
estimate is compared with its exact value in standard errors:

- ratio metrics (``fill_rate`` = filled/demand, ``lost_fraction`` = lost/demand) are
  estimated as the ratio of the sums over paths, which converges to E[num] / E[den], the
  exact value; its standard error is the delta method's
  sqrt(Var(num - R den) / N) / mean(den) (with deterministic demand, den is constant and
  this is the plain standard error of the mean of the per-path ratios);
- ``mean_on_hand`` / ``mean_backlog`` are means over paths, with s / sqrt(N).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tests.validation import exact

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = REPO / "scenarios" / "validation"
TOLERANCE_SE = 4.0  # a case passes when |estimate - exact| < 4 standard errors
LONG_RUN_BIAS_SE = 0.5  # long-run cases: |finite-horizon exact - long-run| must stay below this

# paths and seed of each scenario file (every case of a file comes from one run)
RUNS: dict[str, tuple[int, int]] = {
    "single-supplier": (20_000, 101),
    "single-supplier-short": (100_000, 102),
    "single-supplier-long": (400, 103),
    "single-supplier-long-b": (400, 104),
    "dual-sourcing": (20_000, 105),
    "dual-sourcing-b": (20_000, 106),
    "regional-shock": (20_000, 107),
    "regional-shock-partial": (20_000, 108),
    "base-stock": (20_000, 109),
    "base-stock-b": (20_000, 110),
    "outage-lognormal": (40_000, 111),
    "outage-pareto": (40_000, 112),
    "outage-lognormal-long": (400, 113),
    "outage-pareto-long": (400, 114),
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
    return float(exact.lost_probabilities_dp(a, b, _horizon(doc), _integer_buffer(doc, strategy)).mean())


def buffer_lost_long_run(doc: dict, strategy: str) -> float:
    """k-day buffer, long run: (a / (a + b)) (1 - b)^k."""
    a, b = _chain(doc, "supplier")
    return a / (a + b) * (1.0 - b) ** _integer_buffer(doc, strategy)


def sourcing_fill(doc: dict, strategy: str) -> float:
    """S = mu, lead time 0: mean over days of E[phi(avail on day t-1)] (exact.sourcing_fill)."""
    assert _buffer_days(doc, strategy) == 0.0 and _lead_time(doc, strategy) == 0
    mode, shares = _dc_sourcing(doc, strategy)
    shocked = [name for name, region in doc["regions"].items() if (region or {}).get("shocks")]
    shock = None
    if shocked:
        (region,) = shocked
        (spec,) = doc["regions"][region]["shocks"]
        shock = (
            _rate(spec, "mean_days_between", "start_probability"),
            _rate(spec, "mean_duration_days", "end_probability"),
            float(spec.get("capacity_fraction", 0.0)),
        )
    sources = [(*_chain(doc, s), bool(shocked) and doc["nodes"][s]["region"] == shocked[0]) for s in shares]
    return float(exact.sourcing_fill(sources, list(shares.values()), mode, shock, _horizon(doc)).mean())


def _base_stock(metric: str) -> ExactFn:
    def value(doc: dict, strategy: str) -> float:
        assert doc["demand_mode"] == "backorder"
        assert doc["nodes"]["dc"]["demand"]["distribution"] == "poisson"
        S = _order_up_to(doc, strategy)
        result = exact.base_stock(_demand(doc), int(S), _lead_time(doc, strategy), _horizon(doc))
        return result[metric]

    value.__name__ = f"base_stock_{metric}"
    value.__doc__ = f"Base stock, Poisson demand, backorders: {metric} (exact.base_stock)."
    return value


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


# ----------------------------------------------------------------------------- cases


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
        return None if self.finite is None else self.finite(scenario_doc(self.scenario), self.strategy)


def _cases(family, scenario, metric, exact_fn, formula, strategies, finite=None):
    return [Case(family, scenario, s, metric, exact_fn, formula, finite) for s in strategies]


CASES: list[Case] = [
    # 1. single supplier, zero buffer: fill on day t = 1{UP on day t-1}
    *_cases("single_supplier", "single-supplier", "fill_rate", single_fill,
            "mean_t p_{t-1}", ["zero_buffer"]),
    *_cases("single_supplier", "single-supplier-short", "fill_rate", single_fill,
            "mean_t p_{t-1}", ["zero_buffer"]),
    # 2. k days of buffer, lost sales: lost on day t iff DOWN on days t-k-1 .. t-1
    *_cases("buffer", "single-supplier", "lost_fraction", buffer_lost,
            "mean_t P(DOWN t-k-1..t-1)", ["buffer_3", "buffer_10"]),
    *_cases("buffer", "single-supplier-short", "lost_fraction", buffer_lost,
            "mean_t P(DOWN t-k-1..t-1)", ["buffer_1", "buffer_2"]),
    # 1 and 2, long run
    *_cases("long_run", "single-supplier-long", "fill_rate", single_fill_long_run,
            "b/(a+b)", ["zero_buffer"], single_fill),
    *_cases("long_run", "single-supplier-long", "lost_fraction", buffer_lost_long_run,
            "a/(a+b) (1-b)^k", ["buffer_3"], buffer_lost),
    *_cases("long_run", "single-supplier-long-b", "fill_rate", single_fill_long_run,
            "b/(a+b)", ["zero_buffer"], single_fill),
    *_cases("long_run", "single-supplier-long-b", "lost_fraction", buffer_lost_long_run,
            "a/(a+b) (1-b)^k", ["buffer_2"], buffer_lost),
    # 3. dual sourcing
    *_cases("dual_sourcing", "dual-sourcing", "fill_rate", sourcing_fill,
            "mean_t 1 - q_A q_B", ["failover_50_50"]),
    *_cases("dual_sourcing", "dual-sourcing", "fill_rate", sourcing_fill,
            "mean_t (p_A + p_B)/2", ["split_50_50"]),
    *_cases("dual_sourcing", "dual-sourcing-b", "fill_rate", sourcing_fill,
            "mean_t 1 - q_A q_B", ["failover_70_30"]),
    *_cases("dual_sourcing", "dual-sourcing-b", "fill_rate", sourcing_fill,
            "mean_t .7 p_A + .3 p_B", ["split_70_30"]),
    # regional (common-cause) shocks
    *_cases("regional_shock", "regional-shock", "fill_rate", sourcing_fill,
            "mean_t c p_A", ["single_far"]),
    *_cases("regional_shock", "regional-shock", "fill_rate", sourcing_fill,
            "mean_t c (1 - q_A q_B)", ["failover_far"]),
    *_cases("regional_shock", "regional-shock", "fill_rate", sourcing_fill,
            "mean_t c (p_A + p_B)/2", ["split_far"]),
    *_cases("regional_shock", "regional-shock", "fill_rate", sourcing_fill,
            "mean_t 1 - (1 - c p_A) q_N", ["regionalized"]),
    *_cases("regional_shock", "regional-shock-partial", "fill_rate", sourcing_fill,
            "mean_t E[avail_A]", ["single_far"]),
    *_cases("regional_shock", "regional-shock-partial", "fill_rate", sourcing_fill,
            "mean_t E[min(1, sum avail)]", ["failover_far"]),
    *_cases("regional_shock", "regional-shock-partial", "fill_rate", sourcing_fill,
            "mean_t E[sum w avail]", ["split_far"]),
    # 4. base stock, Poisson demand, backorders
    *[
        case
        for scenario, strategies in (("base-stock", ["lead_0", "lead_3"]), ("base-stock-b", ["lead_1", "lead_7"]))
        for strategy in strategies
        for case in (
            Case("base_stock", scenario, strategy, "fill_rate", _base_stock("fill_rate"),
                 "E[min(d, (S-Y)^+)]/mu"),
            Case("base_stock", scenario, strategy, "mean_on_hand", _base_stock("mean_on_hand"),
                 "E[(S-X)^+]"),
            Case("base_stock", scenario, strategy, "mean_backlog", _base_stock("mean_backlog"),
                 "E[(X-S)^+]"),
        )
    ],
    # drawn (lognormal / Pareto) outage durations
    *_cases("outage_duration", "outage-lognormal", "fill_rate", outage_fill,
            "renewal: 1 - P(DOWN t-1)", ["zero_buffer"]),
    *_cases("outage_duration", "outage-lognormal", "lost_fraction", outage_lost,
            "renewal: sum f_s S(t-1-s)", ["buffer_7"]),
    *_cases("outage_duration", "outage-pareto", "fill_rate", outage_fill,
            "renewal: 1 - P(DOWN t-1)", ["zero_buffer"]),
    *_cases("outage_duration", "outage-pareto", "lost_fraction", outage_lost,
            "renewal: sum f_s S(t-1-s)", ["buffer_5"]),
    *_cases("long_run", "outage-lognormal-long", "fill_rate", outage_fill_long_run,
            "1/a / (1/a + E[D])", ["zero_buffer"], outage_fill),
    *_cases("long_run", "outage-lognormal-long", "lost_fraction", outage_lost_long_run,
            "E[(D-k)^+] / (1/a + E[D])", ["buffer_7"], outage_lost),
    *_cases("long_run", "outage-pareto-long", "fill_rate", outage_fill_long_run,
            "1/a / (1/a + E[D])", ["zero_buffer"], outage_fill),
    *_cases("long_run", "outage-pareto-long", "lost_fraction", outage_lost_long_run,
            "E[(D-k)^+] / (1/a + E[D])", ["buffer_5"], outage_lost),
]


def cases_of(family: str) -> list[Case]:
    return [c for c in CASES if c.family == family]


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


def _geometric_with_lognormal_mean(doc: dict, strategy: str) -> float:
    """WRONG: the lognormal outage replaced by a geometric one of the same mean E[D]."""
    a = _fail(doc, "supplier")
    b = 1.0 / _excess_mean(doc, 0)
    T = _horizon(doc)
    return float(exact.lost_probabilities_dp(a, b, T, _integer_buffer(doc, strategy)).mean())


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
    WrongCase(_find("outage-lognormal/buffer_7/lost_fraction"), _geometric_with_lognormal_mean),
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
    data = simulate(case.scenario).sel(strategy=case.strategy)
    if case.metric == "fill_rate":
        return ratio_estimate(data.filled_units.values, data.demand_units.values)
    if case.metric == "lost_fraction":
        return ratio_estimate(data.lost_units.values, data.demand_units.values)
    if case.metric in ("mean_on_hand", "mean_backlog"):
        return mean_estimate(data[case.metric].values)
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


def evaluate(case: Case) -> Row:
    est = estimate(case)
    return Row(case, case.exact_value(), est.value, est.se)
