"""Synthetic layered supply networks of any size, for benchmarks and scaling tests.

:func:`layered_network` returns a scenario *document*: the same plain dict a YAML
scenario file gives (docs/scenario-format.md, section "Synthetic networks for
benchmarks"), ready for ``resilience.load_scenario`` / ``resilience.simulate`` or for
writing out (:func:`to_yaml`; ``resilience generate-network N --out FILE.yaml``).

Four tiers, sized as fixed shares of the node count ``n`` (:func:`tier_sizes`) so that
the mix of work per node stays the same at every size::

    suppliers  the rest (~3/8)   each makes a part; parts come in pairs of suppliers
      |                          in two different regions (dual-source candidates)
    tier-1     max(1, n // 4)    plant j makes a module from parts 2j, 2j+1 (1 + 2 units)
      |
    assembly   max(1, n // 8)    plant k makes a product from the modules j with j % A == k
      |
    DCs        max(1, n // 4)    DC i sells the product of assembly i % A; Poisson demand

Every count of disturbances also grows with ``n``: ``max(2, n // 16)`` production
regions with two regional shocks each (a full stop and a half-capacity one), one market
region without shocks for the DCs, ``max(1, n // 32)`` lane shocks over a quarter of the
part lanes, and ``max(1, n // 32)`` demand surges over half the DCs. Outage types are
mixed: suppliers cycle geometric / lognormal / Pareto, tier-1 plants geometric /
lognormal, assembly plants lognormal / Pareto; DCs have none.

Nothing is starved by construction: every supplier and plant has a capacity of 1.5 x the
mean daily flow through it (DC demand carried upstream through the bills of materials;
both suppliers of a part can carry its whole flow), lanes are uncapacitated, and every
BOM component has a source. The strategies differ only in days of cover.

Parameters (lead times, costs, rates, demand means) are drawn from ``numpy``'s
``Generator`` seeded with ``seed``, in a fixed order: the same (nodes, seed) gives the
same document, byte for byte once dumped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from resilience.errors import ScenarioError

__all__ = ["MIN_NODES", "STRATEGY_PRESETS", "layered_network", "tier_sizes", "to_yaml"]

#: the smallest network: one node per tier
MIN_NODES = 4
#: capacity / mean daily flow of every supplier and plant
HEADROOM = 1.5
#: strategy name -> (days of cover at every stock point, description)
STRATEGY_PRESETS: dict[str, tuple[float, str]] = {
    "lean": (1, "Lean: 1 day of cover at every stock point."),
    "buffered": (14, "Buffered: 14 days of cover at every stock point."),
}
_OUTAGE_KINDS = {
    "supplier": ("geometric", "lognormal", "pareto"),
    "tier1": ("geometric", "lognormal"),
    "assembly": ("lognormal", "pareto"),
}


def tier_sizes(nodes: int) -> dict[str, int]:
    """How many suppliers, tier-1 plants, assembly plants and DCs a network of ``nodes``
    has: DCs and tier-1 plants ``max(1, n // 4)`` each, assembly plants ``max(1, n // 8)``,
    suppliers the rest (16 -> 6/4/2/4, 1024 -> 384/256/128/256)."""
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)):
        raise ScenarioError([f"nodes: must be an integer, got {nodes!r}"])
    n = int(nodes)
    if n < MIN_NODES:
        raise ScenarioError(
            [f"nodes: a layered network needs at least {MIN_NODES} nodes (one per tier), got {n}"]
        )
    dcs = max(1, n // 4)
    assembly = max(1, n // 8)
    tier1 = max(1, n // 4)
    return {
        "suppliers": n - dcs - assembly - tier1,
        "tier1": tier1,
        "assembly": assembly,
        "dcs": dcs,
    }


def _strategy_days(strategies: Iterable[str] | Mapping[str, float]) -> dict[str, float]:
    if isinstance(strategies, str):
        strategies = (strategies,)
    if isinstance(strategies, Mapping):
        chosen = {str(k): v for k, v in strategies.items()}
        bad = [k for k, v in chosen.items() if not isinstance(v, (int, float)) or v < 0]
        if bad:
            raise ScenarioError([f"strategies.{k}: buffer days must be a number >= 0" for k in bad])
    else:
        names = list(dict.fromkeys(strategies))
        unknown = [s for s in names if s not in STRATEGY_PRESETS]
        if unknown:
            raise ScenarioError(
                [
                    f"strategies: unknown preset {s!r}, known: {', '.join(STRATEGY_PRESETS)} "
                    "(or pass a mapping name -> buffer days)"
                    for s in unknown
                ]
            )
        chosen = {s: STRATEGY_PRESETS[s][0] for s in names}
    if not chosen:
        raise ScenarioError(["strategies: at least one strategy is needed"])
    return chosen


class _Draw:
    """Rounded plain-Python draws from one numpy Generator (YAML-friendly values)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def real(self, lo: float, hi: float, digits: int = 2) -> float:
        return round(float(self.rng.uniform(lo, hi)), digits)


def _outage(kind: str, d: _Draw) -> dict[str, Any]:
    outage: dict[str, Any] = {"mean_days_between_failures": d.int(365, 3650)}
    if kind == "geometric":
        outage["mean_outage_days"] = d.int(3, 14)
    elif kind == "lognormal":
        outage["duration"] = {
            "distribution": "lognormal",
            "median_days": d.int(3, 10),
            "sigma": d.real(0.5, 1.0),
        }
    else:
        outage["duration"] = {
            "distribution": "pareto",
            "min_days": d.int(2, 5),
            "alpha": d.real(1.5, 3.0),
        }
    return outage


def _capacity(flow: float) -> int:
    return int(math.ceil(HEADROOM * flow))


def layered_network(
    nodes: int,
    *,
    seed: int = 0,
    strategies: Iterable[str] | Mapping[str, float] = ("lean", "buffered"),
    horizon_days: int = 365,
) -> dict[str, Any]:
    """A synthetic layered scenario document with exactly ``nodes`` nodes.

    Parameters
    ----------
    nodes : int
        Total node count, >= 4 (tiers sized by :func:`tier_sizes`).
    seed : int
        Seed of the parameter draws; the same (nodes, seed) gives the same document.
    strategies : names or mapping
        Names of :data:`STRATEGY_PRESETS` (``lean``: 1 day of cover, ``buffered``: 14),
        or a mapping strategy name -> days of cover at every stock point.
    horizon_days : int
        The scenario's horizon (default 365).

    Returns
    -------
    dict
        A scenario document (plain dicts, lists, strings and numbers), as a YAML scenario
        file would give it; ``resilience.load_scenario(doc)`` validates it.
    """
    n = int(nodes)
    d = _Draw(seed)
    lay = _Layout.of(tier_sizes(nodes), n)
    flows = _flows(lay, d)
    regions = _regions(lay, d)
    doc_nodes = _nodes(lay, flows, d)
    lanes, sourcing, part_lanes = _lanes(lay, d)
    lane_shocks, demand_surges = _shocks(lay, part_lanes, n, d)
    return {
        "name": f"synthetic layered network, {n} nodes, seed {seed}",
        "description": (
            f"Generated by resilience.scenario.synthetic.layered_network({n}, seed={seed}): "
            f"{len(lay.sup)} suppliers -> {len(lay.t1)} tier-1 plants -> {len(lay.asm)} "
            f"assembly plants -> {len(lay.dc)} DCs, {len(lay.region)} production regions."
        ),
        "horizon_days": int(horizon_days),
        "demand_mode": "lost_sales",
        "buffer_days": 2,
        "regions": regions,
        "nodes": doc_nodes,
        "lanes": lanes,
        "sourcing": sourcing,
        "lane_shocks": lane_shocks,
        "demand_surges": demand_surges,
        "strategies": _strategies(_strategy_days(strategies)),
    }


@dataclass(frozen=True)
class _Layout:
    """Who supplies whom: node names per tier and the links between tiers."""

    region: list[str]
    sup: list[str]
    t1: list[str]
    asm: list[str]
    dc: list[str]
    part: list[str]
    part_suppliers: list[list[int]]  # part p -> its suppliers (indices into sup)
    t1_bom: list[dict[int, float]]  # tier-1 plant j -> {part: units per module}
    asm_modules: list[list[int]]  # assembly plant k -> its tier-1 plants
    dc_asm: list[int]  # DC i -> the assembly plant it sells from

    @classmethod
    def of(cls, sizes: dict[str, int], n: int) -> _Layout:
        n_sup, n_t1, n_asm, n_dc = (
            sizes["suppliers"],
            sizes["tier1"],
            sizes["assembly"],
            sizes["dcs"],
        )
        n_parts = (n_sup + 1) // 2
        # tier-1 plant j: parts 2j and 2j+1 (mod the part count), 1 and 2 units
        t1_bom = [{(2 * j) % n_parts: 1.0} for j in range(n_t1)]
        for j in range(n_t1):
            second = (2 * j + 1) % n_parts
            if second not in t1_bom[j]:
                t1_bom[j][second] = 2.0
        return cls(
            region=[f"region{r:02d}" for r in range(max(2, n // 16))],
            sup=[f"sup{i:04d}" for i in range(n_sup)],
            t1=[f"t1_{j:04d}" for j in range(n_t1)],
            asm=[f"asm{k:04d}" for k in range(n_asm)],
            dc=[f"dc{i:04d}" for i in range(n_dc)],
            part=[f"part{p:04d}" for p in range(n_parts)],
            part_suppliers=[[i for i in (2 * p, 2 * p + 1) if i < n_sup] for p in range(n_parts)],
            t1_bom=t1_bom,
            asm_modules=[[j for j in range(n_t1) if j % n_asm == k] for k in range(n_asm)],
            dc_asm=[i % n_asm for i in range(n_dc)],
        )


@dataclass(frozen=True)
class _Flows:
    """Mean daily flows, from the DCs' demand upstream (capacities are sized to them)."""

    dc_mean: list[int]
    asm: list[float]
    t1: list[float]
    part: list[float]


def _flows(lay: _Layout, d: _Draw) -> _Flows:
    dc_mean = [d.int(20, 80) for _ in lay.dc]
    asm_flow = [0.0] * len(lay.asm)
    for i, k in enumerate(lay.dc_asm):
        asm_flow[k] += dc_mean[i]
    t1_flow = [0.0] * len(lay.t1)
    for k, modules in enumerate(lay.asm_modules):
        for j in modules:
            t1_flow[j] = asm_flow[k]
    part_flow = [0.0] * len(lay.part)
    for j, bom in enumerate(lay.t1_bom):
        for p, qty in bom.items():
            part_flow[p] += qty * t1_flow[j]
    uncovered = [lay.part[p] for p, flow in enumerate(part_flow) if flow <= 0.0]
    if uncovered:  # tier_sizes guarantees 2 x tier1 >= parts; a guard, not a user error
        raise AssertionError(f"parts without a buyer: {uncovered}")
    return _Flows(dc_mean, asm_flow, t1_flow, part_flow)


def _regions(lay: _Layout, d: _Draw) -> dict[str, Any]:
    regions: dict[str, Any] = {}
    for name in lay.region:
        regions[name] = {
            "shocks": [
                {
                    "name": f"{name}_disaster",
                    "mean_days_between": d.int(1825, 3650),
                    "mean_duration_days": d.int(7, 30),
                    "capacity_fraction": 0.0,
                },
                {
                    "name": f"{name}_storm",
                    "mean_days_between": d.int(120, 365),
                    "mean_duration_days": d.int(2, 5),
                    "capacity_fraction": 0.5,
                },
            ]
        }
    regions["market"] = {}
    return regions


def _nodes(lay: _Layout, flows: _Flows, d: _Draw) -> dict[str, Any]:
    n_regions = len(lay.region)
    doc_nodes: dict[str, Any] = {}
    for i, name in enumerate(lay.sup):
        p = i // 2
        doc_nodes[name] = {
            "kind": "supplier",
            # the two suppliers of a part sit in neighbouring regions
            "region": lay.region[(p + i % 2) % n_regions],
            "item": lay.part[p],
            "capacity_per_day": _capacity(flows.part[p]),
            "outage": _outage(_OUTAGE_KINDS["supplier"][i % 3], d),
        }
    for j, name in enumerate(lay.t1):
        doc_nodes[name] = {
            "kind": "plant",
            "region": lay.region[j % n_regions],
            "item": f"module{j:04d}",
            "capacity_per_day": _capacity(flows.t1[j]),
            "bom": {lay.part[p]: qty for p, qty in lay.t1_bom[j].items()},
            "holding_cost_per_unit_day": d.real(0.02, 0.2),
            "outage": _outage(_OUTAGE_KINDS["tier1"][j % 2], d),
        }
    for k, name in enumerate(lay.asm):
        doc_nodes[name] = {
            "kind": "plant",
            "region": lay.region[(k + 1) % n_regions],
            "item": f"product{k:04d}",
            "capacity_per_day": _capacity(flows.asm[k]),
            "bom": {f"module{j:04d}": 1.0 for j in lay.asm_modules[k]},
            "holding_cost_per_unit_day": d.real(0.2, 1.0),
            "outage": _outage(_OUTAGE_KINDS["assembly"][k % 2], d),
        }
    for i, name in enumerate(lay.dc):
        doc_nodes[name] = {
            "kind": "dc",
            "region": "market",
            "item": f"product{lay.dc_asm[i]:04d}",
            "demand": {"distribution": "poisson", "mean_per_day": flows.dc_mean[i]},
            "holding_cost_per_unit_day": d.real(0.5, 2.0),
            "lost_sale_margin": d.int(200, 1000),
        }
    return doc_nodes


def _lanes(lay: _Layout, d: _Draw) -> tuple[list, list, list[str]]:
    """(lanes, sourcing entries, keys of the part lanes)."""
    lanes: list[dict[str, Any]] = []
    sourcing: list[dict[str, Any]] = []
    part_lanes: list[str] = []
    for j, name in enumerate(lay.t1):
        for p in lay.t1_bom[j]:
            sources = [lay.sup[i] for i in lay.part_suppliers[p]]
            for s, src in enumerate(sources):
                lane: dict[str, Any] = {
                    "from": src,
                    "to": name,
                    "lead_time_days": d.int(7, 42),
                    "unit_cost": d.real(10, 50),
                }
                if s > 0:
                    lane["qualification_cost_per_day"] = d.int(20, 100)
                lanes.append(lane)
                part_lanes.append(f"{src}->{name}")
            if len(sources) == 2:
                if p % 2 == 0:  # contingent re-routing between the two
                    entry = {"mode": "failover", "shares": {sources[0]: 0.5, sources[1]: 0.5}}
                else:  # single source in use, the second qualified on paper
                    entry = {"mode": "split", "shares": {sources[0]: 1.0, sources[1]: 0.0}}
                sourcing.append({"at": name, "item": lay.part[p], **entry})
    for k, name in enumerate(lay.asm):
        for j in lay.asm_modules[k]:
            lanes.append(
                {
                    "from": lay.t1[j],
                    "to": name,
                    "lead_time_days": d.int(1, 5),
                    "unit_cost": d.real(50, 150),
                }
            )
    for i, name in enumerate(lay.dc):
        lanes.append(
            {
                "from": lay.asm[lay.dc_asm[i]],
                "to": name,
                "lead_time_days": d.int(2, 10),
                "unit_cost": d.real(20, 50),
            }
        )
    return lanes, sourcing, part_lanes


def _shocks(lay: _Layout, part_lanes: list[str], n: int, d: _Draw) -> tuple[dict, dict]:
    """(lane shocks, demand surges), both growing with the network."""
    n_lane_shocks = max(1, n // 32)
    exposed = part_lanes[::4]  # a quarter of the part lanes go by sea
    lane_shocks = {
        f"port_closure{s:02d}": {
            "lanes": exposed[s::n_lane_shocks],
            "mean_days_between": d.int(730, 3650),
            "mean_duration_days": d.int(5, 30),
            "extra_lead_time_days": d.int(7, 14),
        }
        for s in range(min(n_lane_shocks, len(exposed)))
    }
    n_surges = max(1, n // 32)
    surging = lay.dc[::2]  # half the DCs see surges
    demand_surges = {
        f"surge{s:02d}": {
            "dcs": surging[s::n_surges],
            "mean_days_between": d.int(365, 1825),
            "mean_duration_days": d.int(14, 60),
            "multiplier": d.real(1.1, 1.4),
        }
        for s in range(min(n_surges, len(surging)))
    }
    return lane_shocks, demand_surges


def _strategies(days: Mapping[str, float]) -> dict[str, Any]:
    return {
        name: {
            "description": STRATEGY_PRESETS[name][1]
            if name in STRATEGY_PRESETS and STRATEGY_PRESETS[name][0] == cover
            else f"{cover:g} days of cover at every stock point.",
            "buffer_days": cover,
        }
        for name, cover in days.items()
    }


def to_yaml(doc: Mapping[str, Any]) -> str:
    """The document as YAML text, keys in the order of the scenario format, with a header
    saying where it came from."""
    header = (
        "# A synthetic layered network (resilience generate-network; docs/scenario-format.md,\n"
        '# "Synthetic networks for benchmarks"). Regenerate it rather than edit it.\n'
    )
    return header + yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=100)
