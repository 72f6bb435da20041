"""Networks from spreadsheets: nodes, lanes and sourcing read from CSV tables.

The shipped worked example (scenarios/tables/automotive/) must load to exactly the
scenario of the YAML it was exported from, and every error must name the table, the row
and the column it came from.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import resilience
from resilience.cli import main
from resilience.errors import ScenarioError
from resilience.sweeps import load_sweep

REPO = Path(__file__).resolve().parents[1]
TABLES = REPO / "scenarios" / "tables" / "automotive"
YAML = REPO / "src" / "resilience" / "examples" / "automotive.yaml"


def bare(scenario):
    return replace(scenario, source_text="", source_path=None)


@pytest.fixture
def copy(tmp_path):
    out = tmp_path / "auto"
    shutil.copytree(TABLES, out)
    return out


def test_the_tables_load_to_the_same_scenario_as_the_yaml():
    from_tables = resilience.load_scenario(TABLES / "scenario.yaml")
    assert bare(from_tables) == bare(resilience.load_scenario(YAML))
    # provenance holds the whole network, so a sweep or a result never needs the tables
    assert "nodes" in yaml.safe_load(from_tables.source_text)
    assert "csv" not in str(yaml.safe_load(from_tables.source_text)["nodes"])


def test_a_bad_value_names_table_row_and_column(copy):
    nodes = (copy / "nodes.csv").read_text().splitlines()
    header = nodes[0].split(",")
    column = header.index("capacity_per_day")
    cells = nodes[2].split(",")
    cells[column] = "-5"
    nodes[2] = ",".join(cells)
    (copy / "nodes.csv").write_text("\n".join(nodes) + "\n")
    with pytest.raises(ScenarioError) as err:
        resilience.load_scenario(copy / "scenario.yaml")
    name = cells[0]
    assert any(
        line.startswith(
            f"nodes.csv row 3, column capacity_per_day (nodes.{name}.capacity_per_day): "
        )
        for line in err.value.errors
    ), err.value.errors


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        ("lanes.csv", lambda t: t.replace("from,", "frm,", 1), "lanes.csv row 1: header needs"),
        ("nodes.csv", lambda t: t + t.splitlines()[1] + "\n", "given twice"),
        ("sourcing.csv", lambda t: t + "a,b,split,c,1,extra,cells\n", "cells, the header has 5"),
    ],
)
def test_table_level_errors_are_placed(copy, table, edit, message):
    path = copy / table
    path.write_text(edit(path.read_text()))
    with pytest.raises(ScenarioError, match=message):
        resilience.load_scenario(copy / "scenario.yaml")


def test_a_missing_table_is_one_placed_error(copy):
    (copy / "lanes.csv").unlink()
    with pytest.raises(ScenarioError, match="lanes.csv: no such table beside the scenario"):
        resilience.load_scenario(copy / "scenario.yaml")


def test_validate_and_sweeps_work_on_a_table_scenario():
    result = CliRunner().invoke(main, ["validate", str(TABLES / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    assert "16 nodes, 16 lanes, 4 strategies" in result.output
    scenario = resilience.load_scenario(TABLES / "scenario.yaml")
    spec = load_sweep(grid=["buffer_days=1,3"])
    points = spec.scenarios(yaml.safe_load(scenario.source_text))
    assert [p.buffer_days for p in points] == [1, 3]
