"""The per-node stress test: a scripted full outage of each node in turn, on the paths of
a run without it (docs/model.md, "Stress test").

For each stressed node the scenario gets one more scripted event, a full outage
(``node_outage``, capacity fraction 0) from ``start`` for the node's time-to-recover
(TTR, an input), and every strategy is simulated on the same paths and seed as the
baseline run without it: common random numbers make every difference a paired one,
caused by the outage alone (the two runs are identical, draw for draw, before the start).
Both runs watch for unmet demand from ``start`` on (``Scenario.watch_day``), so that
``first_unmet_day`` is the first day on or after the start with unmet demand.

Per path, stressed node and strategy:

- time-to-survive (TTS) = f_s - start, where f_s is the stressed run's first day with
  unmet demand from the start on, counted when the outage brought it forward: f_s < f_b,
  the baseline's (no unmet demand at all counting as after the horizon). Otherwise the
  path had no shortage caused by the outage before the one it would have had anyway:
  censored (NaN), and counted in the probability of no shortage;
- lost units caused and lost margin caused: the paired differences of lost units (late
  units, demand not served on its day, in backorder mode) and of lost-sales plus backlog
  cost.

The deterministic mode plays one path with every Poisson demand at its mean and the
random processes switched off (``random_disruptions: false``): the classic single
number TTS of each node.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
import xarray as xr

from resilience.errors import ExecutionError
from resilience.risk import mean, proportion, quantile
from resilience.scenario.model import Event, Node, Scenario
from resilience.shards import Shard, run_identity, shard_attributes

__all__ = [
    "DEFAULT_START_DAY",
    "DEFAULT_TTR_DAYS",
    "TTS_QUANTILES",
    "NodeTTR",
    "deterministic_scenario",
    "node_ttr",
    "outage_p90",
    "run_stress",
    "stress_paths",
    "stressed_scenario",
    "summarise_stress",
]

#: Default first day of the outage: after the network has settled. Day 0 starts from the
#: model's initial state (every stock point at its order-up-to level, nothing in
#: transit), so a node's outage on day 0 would meet full pipelines and stock that no
#: steady state holds; by day 60 the pipelines of most networks have turned over (a lead
#: time of up to ~2 months), and random disruptions have had time to strike.
DEFAULT_START_DAY = 60
#: TTR of a node with neither ``ttr_days`` nor ``--ttr-days`` nor an outage process.
DEFAULT_TTR_DAYS = 14
#: The TTS quantiles reported.
TTS_QUANTILES = (0.05, 0.5, 0.95)
#: The quantile of a node's outage-length distribution used as its TTR by default.
TTR_LEVEL = 0.9

#: simulate(scenario, paths, seed, strategies, path_start, total_paths) -> a results
#: dataset of paths [path_start, path_start + paths) of a run of total_paths (resilience.api)
Simulate = Callable[[Scenario, int, int, Sequence[str] | None, int, int], xr.Dataset]


@dataclass(frozen=True)
class NodeTTR:
    """The time-to-recover a node is stressed with, and where it came from: "scenario"
    (its ``ttr_days``), "option" (``--ttr-days``), "p90" (the P90 of its outage-length
    distribution) or "default" (:data:`DEFAULT_TTR_DAYS`)."""

    node: str
    days: int
    source: str


def outage_p90(node: Node) -> int | None:
    """P90 of the node's outage length D in whole days (None without an outage process).

    Geometric (recovery b): P(D > j) = (1 - b)^j, so the smallest j with (1 - b)^j <= 0.1.
    Lognormal / Pareto: D = max(1, ceil(X)), and D <= m iff X <= m for integers m, so the
    P90 of D is ceil of the P90 of X: median exp(sigma z_0.9), or min 0.1^(-1/alpha).
    """
    outage = node.outage
    if outage is None or outage.failure_probability <= 0.0:
        return None
    d = outage.duration
    tail = 1.0 - TTR_LEVEL
    if d.distribution == "lognormal":
        x = d.median_days * math.exp(d.sigma * NormalDist().inv_cdf(TTR_LEVEL))
    elif d.distribution == "pareto":
        x = d.min_days * tail ** (-1.0 / d.alpha)
    else:
        b = outage.recovery_probability
        if b >= 1.0:
            return 1
        x = math.log(tail) / math.log1p(-b)
    return max(1, math.ceil(x - 1e-9))  # the tolerance keeps an exact whole number whole


def node_ttr(node: Node, default_days: int | None) -> NodeTTR:
    """The node's TTR: its ``ttr_days``, else ``default_days``, else its outage's P90,
    else :data:`DEFAULT_TTR_DAYS`."""
    if node.ttr_days is not None:
        return NodeTTR(node.name, int(node.ttr_days), "scenario")
    if default_days is not None:
        return NodeTTR(node.name, int(default_days), "option")
    p90 = outage_p90(node)
    if p90 is not None:
        return NodeTTR(node.name, p90, "p90")
    return NodeTTR(node.name, DEFAULT_TTR_DAYS, "default")


def deterministic_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` with every Poisson (or negative binomial) demand at its mean (a
    time-varying one at each day's mean) and no random disruption (the strategies' own
    switches included)."""
    nodes = tuple(
        replace(n, demand=replace(n.demand, distribution="deterministic"))
        if n.demand is not None and n.demand.distribution != "deterministic"
        else n
        for n in scenario.nodes
    )
    strategies = tuple(replace(s, random_disruptions=None) for s in scenario.strategies)
    return replace(scenario, nodes=nodes, strategies=strategies, random_disruptions=False)


def stressed_scenario(scenario: Scenario, ttr: NodeTTR, start: int) -> Scenario:
    """``scenario`` with a full outage of ``ttr.node`` scripted from ``start`` for
    ``ttr.days`` days (cut at the horizon), after its own events."""
    outage = Event(
        kind="node_outage",
        start_day=start,
        duration_days=ttr.days,
        name=f"stress {ttr.node}",
        node=ttr.node,
        capacity_fraction=0.0,
    )
    return replace(scenario, events=(*scenario.events, outage))


def _check(scenario: Scenario, nodes: Iterable[str] | None, start: int, ttr_days: int | None):
    names = [n.name for n in scenario.nodes]
    chosen = list(dict.fromkeys(nodes)) if nodes else names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise ExecutionError(
            f"unknown node {unknown[0]!r}; the scenario declares: {', '.join(names)}"
        )
    if not 0 <= int(start) < scenario.horizon_days:
        raise ExecutionError(
            f"the outage start must be a day of the horizon (0 .. "
            f"{scenario.horizon_days - 1}), got {start}"
        )
    if ttr_days is not None and int(ttr_days) < 1:
        raise ExecutionError(f"ttr_days must be >= 1, got {ttr_days}")
    return chosen


def run_stress(
    scenario: Scenario,
    simulate: Simulate,
    *,
    nodes: Iterable[str] | None = None,
    strategies: Sequence[str] | None = None,
    paths: int = 2000,
    seed: int = 0,
    start: int = DEFAULT_START_DAY,
    ttr_days: int | None = None,
    deterministic: bool = False,
    shard: Shard | None = None,
    progress: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Stress every node of ``nodes`` (default: all) under every strategy.

    ``simulate`` runs a scenario (resilience.api passes its own ``simulate`` with the
    execution settings). The deterministic mode runs one path. Returns the dataset of
    docs/results-format.md ("Stress test results"); with ``shard`` (i of N) only its
    per-path variables for the i-th range of the paths, marked as a shard, for
    ``resilience merge`` to join and summarise (:func:`summarise_stress`).
    """
    chosen = _check(scenario, nodes, start, ttr_days)
    base = deterministic_scenario(scenario) if deterministic else scenario
    base = replace(base, watch_day=int(start))
    total = 1 if deterministic else int(paths)
    first, stop = (0, total) if shard is None else shard.range(total)
    ttrs = [node_ttr(scenario.node(n), ttr_days) for n in chosen]
    say = progress or (lambda _: None)
    say("baseline (no scripted outage)")

    def run(variant: Scenario) -> xr.Dataset:
        return simulate(variant, stop - first, seed, strategies, first, total)

    baseline = run(base)
    runs = []
    for ttr in ttrs:
        say(f"{ttr.node}: {ttr.days}-day outage from day {start}")
        runs.append(run(stressed_scenario(base, ttr, start)))
    per_path = stress_paths(scenario, baseline, runs, ttrs, start, seed, deterministic)
    per_path.attrs["random_disruptions"] = int(base.random_disruptions)
    if shard is None:
        return summarise_stress(per_path)
    identity = run_identity(
        hashlib.sha256(scenario.source_text.encode()).hexdigest(),
        seed,
        total,
        per_path.strategy.values.tolist(),
        stress={
            "nodes": [t.node for t in ttrs],
            "ttr_days": [t.days for t in ttrs],
            "start_day": int(start),
            "deterministic": bool(deterministic),
            "random_disruptions": bool(base.random_disruptions),
        },
    )
    per_path.attrs.update(
        shard_attributes(shard, "paths", identity, path_start=first),
        scenario_sha256=identity["scenario_sha256"],
    )
    return per_path


def _per_path(ds: xr.Dataset, backorder: bool) -> xr.Dataset:
    """What the stress test reads of a run: dims (strategy, path) only."""
    short = ds.demand_units - ds.filled_units if backorder else ds.lost_units
    out = xr.Dataset(
        {
            "first_unmet_day": ds.first_unmet_day,
            # units not served on their day: lost units, or late units under backorders
            "short": short,
            "margin": ds.lost_sales_cost + ds.backlog_cost,
        }
    )
    return out.drop_vars([c for c in out.coords if c not in ("strategy", "path")])


def stress_paths(
    scenario: Scenario,
    baseline: xr.Dataset,
    runs: list[xr.Dataset],
    ttrs: list[NodeTTR],
    start: int,
    seed: int,
    deterministic: bool,
) -> xr.Dataset:
    """The per-path figures of every node x strategy (and the TTRs): all that
    :func:`summarise_stress` needs, and what a shard holds."""
    backorder = scenario.demand_mode == "backorder"
    stressed = xr.concat([_per_path(r, backorder) for r in runs], dim="node")
    stressed = stressed.assign_coords(node=[t.node for t in ttrs])
    base = _per_path(baseline, backorder)
    T = scenario.horizon_days
    never = float(T)  # no unmet demand: after the horizon
    f_s = stressed.first_unmet_day.fillna(never)
    f_b = base.first_unmet_day.fillna(never)
    caused = f_s < f_b
    out = xr.Dataset(
        {
            "ttr_days": ("node", np.array([t.days for t in ttrs], np.int64)),
            "ttr_source": ("node", np.array([t.source for t in ttrs], dtype=str)),
            "tts_days": (f_s - start).where(caused),
            "first_unmet_day": stressed.first_unmet_day,
            "baseline_first_unmet_day": base.first_unmet_day,
            "lost_units_caused": stressed.short - base.short,
            "lost_margin_caused": stressed.margin - base.margin,
        }
    )
    out = out.drop_vars([c for c in out.coords if c not in ("node", "strategy", "path")])
    _describe(out)
    out.attrs.update(
        {
            "scenario_name": scenario.name,
            "horizon_days": T,
            "start_day": int(start),
            "paths": int(baseline.sizes["path"]),
            "seed": int(seed),
            "deterministic": int(bool(deterministic)),
            "demand_mode": scenario.demand_mode,
            "currency": scenario.currency,
            "stress_test": 1,
            # what `--overwrite` looks for in a result it may replace
            "strategies_json": json.dumps(out.strategy.values.tolist()),
        }
    )
    return out


def summarise_stress(per_path: xr.Dataset) -> xr.Dataset:
    """The stress dataset: ``per_path`` (of :func:`stress_paths`, one run's or the merged
    shards') with every summary over paths, computed here only, so that a merge of
    shards gives the bits of one unsharded run."""
    out = per_path.load().copy()
    tts = out.tts_days
    out["tts_quantile"] = _censored_quantiles(tts)
    p = proportion(tts.isnull())
    out["p_no_shortage"] = p.estimate
    out["p_no_shortage_lower"] = p.lower
    out["p_no_shortage_upper"] = p.upper
    for name in ("lost_units", "lost_margin"):
        values = out[f"{name}_caused"]
        m = mean(values)
        q = quantile(values, 0.95)
        out[f"{name}_mean"] = m.estimate
        out[f"{name}_mean_lower"] = m.lower
        out[f"{name}_mean_upper"] = m.upper
        out[f"{name}_p95"] = q.estimate
        out[f"{name}_p95_lower"] = q.lower
        out[f"{name}_p95_upper"] = q.upper
    median = out.tts_quantile.sel(quantile=0.5, drop=True)
    out["ttr_minus_tts"] = out.ttr_days.astype(float) - median
    worst = out.lost_margin_mean.max("node")
    out["rei"] = xr.where(worst > 0, out.lost_margin_mean / worst.where(worst > 0), 0.0)
    out["rank"] = _ranks(out.lost_margin_mean, median)
    out = out.drop_vars(
        [c for c in out.coords if c not in ("node", "strategy", "path", "quantile")]
    )
    _describe(out)
    return out


def _censored_quantiles(tts: xr.DataArray) -> xr.DataArray:
    """Q(q) = X_(ceil(n q)) of TTS along ``path`` with the censored paths (NaN: no shortage
    caused) counted as beyond the horizon; NaN when the quantile falls among them."""
    qs = np.asarray(TTS_QUANTILES)

    def kernel(x: np.ndarray) -> np.ndarray:
        values = np.sort(np.where(np.isnan(x), np.inf, x))
        n = values.size
        picked = values[np.clip(np.ceil(n * qs).astype(int) - 1, 0, n - 1)]
        return np.where(np.isinf(picked), np.nan, picked)

    out = xr.apply_ufunc(
        kernel,
        tts,
        input_core_dims=[["path"]],
        output_core_dims=[["quantile"]],
        vectorize=True,
    )
    return out.assign_coords(quantile=qs)


def _ranks(margin: xr.DataArray, tts_median: xr.DataArray) -> xr.DataArray:
    """1 = most exposed, per strategy: the largest mean lost margin caused, ties by the
    shorter median TTS (no shortage last), then node order."""
    ranks = np.zeros(margin.shape, np.int64)
    m = margin.transpose("node", "strategy").values
    t = tts_median.transpose("node", "strategy").values
    for s in range(m.shape[1]):
        order = sorted(
            range(m.shape[0]),
            key=lambda i: (-m[i, s], math.inf if math.isnan(t[i, s]) else t[i, s], i),
        )
        for rank, i in enumerate(order, start=1):
            ranks[i, s] = rank
    return xr.DataArray(ranks, dims=("node", "strategy"), coords={"node": margin.node})


_DESCRIPTIONS = {
    "ttr_days": ("days", "Time-to-recover", "Length of the scripted full outage (an input)."),
    "ttr_source": (
        "",
        "Where the TTR came from",
        "scenario (ttr_days of the node), option (--ttr-days), p90 (the P90 of the node's "
        "outage-length distribution) or default (14 days).",
    ),
    "tts_days": (
        "days",
        "Time-to-survive",
        "Days from the outage start to the first unmet demand, where the outage brought it "
        "before the baseline's; NaN: no shortage caused (censored).",
    ),
    "first_unmet_day": ("day", "First unmet day", "With the outage, from the start on."),
    "baseline_first_unmet_day": ("day", "First unmet day", "Without the outage."),
    "lost_units_caused": (
        "units",
        "Lost units caused",
        "Paired difference of lost units (late units under backorders).",
    ),
    "lost_margin_caused": (
        "currency",
        "Lost margin caused",
        "Paired difference of lost-sales plus backlog cost.",
    ),
    "tts_quantile": (
        "days",
        "TTS quantiles",
        "X_(ceil(n q)) with censored paths beyond the horizon; NaN: that share of paths had "
        "no shortage caused.",
    ),
    "p_no_shortage": ("1", "P(no shortage caused)", "Share of paths with no TTS (Wilson CI)."),
    "ttr_minus_tts": (
        "days",
        "TTR - TTS",
        "TTR minus the median TTS: > 0, the outage outlasts the network's survival; NaN when "
        "most paths had no shortage caused.",
    ),
    "rei": (
        "1",
        "Risk exposure index",
        "Mean lost margin caused / the worst node's (per strategy).",
    ),
    "rank": ("", "Exposure rank", "1 = the largest mean lost margin caused."),
}


def _describe(ds: xr.Dataset) -> None:
    """The attributes of every variable of ``ds`` named here (per-path or summary)."""
    for name, (units, long_name, description) in _DESCRIPTIONS.items():
        if name in ds:
            ds[name].attrs.update(units=units, long_name=long_name, description=description)
    if "lost_units_mean" not in ds:
        return
    for name in ("lost_units", "lost_margin"):
        units = "units" if name == "lost_units" else "currency"
        for suffix, what in (
            ("mean", "Mean"),
            ("mean_lower", "Lower 95% bound of the mean"),
            ("mean_upper", "Upper 95% bound of the mean"),
            ("p95", "P95"),
            ("p95_lower", "Lower 95% bound of the P95"),
            ("p95_upper", "Upper 95% bound of the P95"),
        ):
            ds[f"{name}_{suffix}"].attrs.update(
                units=units,
                long_name=f"{what} of {name.replace('_', ' ')} caused",
                description=f"Over paths, of {name}_caused.",
            )
    for bound in ("lower", "upper"):
        ds[f"p_no_shortage_{bound}"].attrs.update(
            units="1", long_name=f"{bound.capitalize()} 95% bound of P(no shortage caused)"
        )
