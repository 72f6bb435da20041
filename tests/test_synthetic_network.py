"""resilience.scenario.synthetic.layered_network and `resilience generate-network`: every
size validates with exactly the nodes asked for, the same seed gives the same document,
small networks simulate, nothing is starved by construction, and the CLI writes a file
that validates (and never overwrites one)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import resilience
from resilience.cli import main
from resilience.errors import ScenarioError
from resilience.scenario.synthetic import layered_network, tier_sizes, to_yaml

SIZES = (16, 64, 256, 1024)


@pytest.fixture(scope="module")
def loaded():
    return {n: resilience.load_scenario(layered_network(n)) for n in SIZES}


@pytest.mark.parametrize("n", SIZES)
def test_each_size_loads_with_exactly_its_nodes(loaded, n):
    scenario = loaded[n]
    assert len(scenario.nodes) == n
    sizes = tier_sizes(n)
    kinds = [node.kind for node in scenario.nodes]
    assert kinds.count("supplier") == sizes["suppliers"]
    assert kinds.count("dc") == sizes["dcs"]
    assert kinds.count("plant") == sizes["tier1"] + sizes["assembly"]
    assert scenario.strategy_names == ["lean", "buffered"]


def test_tier_sizes_are_fixed_shares():
    assert tier_sizes(16) == {"suppliers": 6, "tier1": 4, "assembly": 2, "dcs": 4}
    assert tier_sizes(1024) == {"suppliers": 384, "tier1": 256, "assembly": 128, "dcs": 256}


@pytest.mark.parametrize("n", list(range(4, 24)) + [37, 100, 129])
def test_odd_sizes_load_too(n):
    assert len(resilience.load_scenario(layered_network(n, seed=n)).nodes) == n


def test_too_small_or_not_an_integer_is_refused():
    with pytest.raises(ScenarioError, match="at least 4 nodes"):
        layered_network(3)
    with pytest.raises(ScenarioError, match="integer"):
        layered_network(16.0)
    with pytest.raises(ScenarioError, match="unknown preset"):
        layered_network(16, strategies=("lean", "fat"))


def test_the_mix_of_disruptions(loaded):
    scenario = loaded[64]
    kinds = {n.outage.duration.distribution for n in scenario.nodes if n.outage is not None}
    assert kinds == {"geometric", "lognormal", "pareto"}
    assert all(n.outage is None for n in scenario.nodes if n.kind == "dc")
    assert sum(len(r.shocks) for r in scenario.regions) == 2 * 4  # 4 production regions
    fractions = {s.capacity_fraction for r in scenario.regions for s in r.shocks}
    assert fractions == {0.0, 0.5}
    assert len(scenario.lane_shocks) == 2 and len(scenario.demand_surges) == 2
    modes = {s.mode for s in scenario.sourcing}
    assert modes == {"split", "failover"}


def test_strategies_differ_only_in_buffer_days():
    doc = layered_network(16, strategies={"thin": 0, "thick": 30})
    assert doc["strategies"] == {
        "thin": {"description": "0 days of cover at every stock point.", "buffer_days": 0},
        "thick": {"description": "30 days of cover at every stock point.", "buffer_days": 30},
    }
    assert resilience.load_scenario(doc).strategy_names == ["thin", "thick"]


def test_deterministic_for_a_seed():
    assert layered_network(64, seed=5) == layered_network(64, seed=5)
    assert to_yaml(layered_network(64, seed=5)) == to_yaml(layered_network(64, seed=5))
    assert layered_network(64, seed=5) != layered_network(64, seed=6)
    # plain data: the YAML round trip gives the same document
    doc = layered_network(64, seed=5)
    assert yaml.safe_load(to_yaml(doc)) == doc


@pytest.mark.parametrize("n", [16, 64])
def test_small_networks_simulate_with_finite_results(n):
    ds = resilience.simulate(layered_network(n), paths=64, seed=1)
    assert ds.sizes["path"] == 64 and ds.sizes["node"] == n
    for name in ("fill_rate", "total_cost", "lost_units", "demand_units"):
        assert np.isfinite(ds[name].values).all(), name
    fill = (ds.filled_units.sum("path") / ds.demand_units.sum("path")).values
    assert ((fill > 0.5) & (fill <= 1.0)).all(), fill
    lean, buffered = fill
    assert buffered > lean  # same paths, more cover


def test_nothing_is_starved_by_construction():
    """Without disruptions, the buffered strategy serves every unit of demand: every
    stock point has a source with capacity to spare."""
    doc = copy.deepcopy(layered_network(64, seed=2))
    for node in doc["nodes"].values():
        node.pop("outage", None)
    for region in doc["regions"].values():
        region.pop("shocks", None)
    doc["lane_shocks"], doc["demand_surges"] = {}, {}
    ds = resilience.simulate(doc, paths=64, seed=1, strategies=["buffered"])
    assert float(ds.lost_units.sum()) == 0.0
    # and the capacities are 1.5 x the mean flow: the supplier of the first part
    sup = doc["nodes"]["sup0000"]
    part = sup["item"]
    flow = 0.0
    for plant in doc["nodes"].values():
        if plant["kind"] == "plant" and part in plant.get("bom", {}):
            module = plant["item"]
            (assembly,) = [
                a for a in doc["nodes"].values() if a["kind"] == "plant" and module in a["bom"]
            ]
            mu = sum(
                d["demand"]["mean_per_day"]
                for d in doc["nodes"].values()
                if d["kind"] == "dc" and d["item"] == assembly["item"]
            )
            flow += plant["bom"][part] * mu
    assert sup["capacity_per_day"] == math.ceil(1.5 * flow)


def test_cli_writes_a_file_that_validates(tmp_path):
    out = tmp_path / "net16.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["generate-network", "16", "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "16 nodes (6 suppliers, 4 tier-1 plants, 2 assembly plants, 4 DCs)" in result.output
    scenario = resilience.load_scenario(out)
    assert len(scenario.nodes) == 16
    assert yaml.safe_load(out.read_text()) == layered_network(16, seed=3)
    validate = runner.invoke(main, ["validate", str(out)])
    assert validate.exit_code == 0 and validate.output.startswith("OK"), validate.output


def test_cli_refuses_to_overwrite(tmp_path):
    out = tmp_path / "net.yaml"
    out.write_text("keep me\n")
    result = CliRunner().invoke(main, ["generate-network", "16", "--out", str(out)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert out.read_text() == "keep me\n"
    too_small = CliRunner().invoke(main, ["generate-network", "2", "--out", str(tmp_path / "x")])
    assert too_small.exit_code == 2
