"""`resilience validate`: scenario files as before, and sweep grid files on their own or
point by point against a scenario (--scenario). Exit codes and the exact lines printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from resilience.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "src" / "resilience" / "examples"
AUTOMOTIVE = EXAMPLES / "automotive.yaml"
SWEEP = EXAMPLES / "automotive-sweep.yaml"
TWO_TIER = EXAMPLES / "two-tier.yaml"
AXES = "axes chip_buffer_days, east_asia_severity"


def validate(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)], catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_sweep_file_is_recognised_and_valid():
    result = validate(SWEEP)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK {SWEEP} (sweep: 15 points over {AXES}; "
        "validate against its scenario with --scenario SCENARIO)\n"
    )
    assert result.stderr == ""


def test_the_shipped_sweep_file_is_valid_on_its_scenario():
    result = validate(SWEEP, "--scenario", AUTOMOTIVE)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK {SWEEP} (sweep: 15 points over {AXES}; every point valid on {AUTOMOTIVE})\n"
    )
    assert result.stderr == ""


def test_every_shipped_file_validates_in_one_call():
    # the README's command: plain-bash globs over the examples and the validation cases
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted((REPO / "scenarios").glob("*/*.yaml"))
    result = validate(*files)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    assert all(line.startswith("OK ") for line in lines)
    assert sum("(sweep: " in line for line in lines) == 1


def test_scenario_messages_are_unchanged():
    result = validate(TWO_TIER)
    assert result.exit_code == 0
    assert result.stdout == f"OK {TWO_TIER} (4 nodes, 3 lanes, 3 strategies)\n"


def test_a_bad_scenario_is_still_reported_as_a_scenario(tmp_path):
    bad = write(tmp_path, "bad.yaml", TWO_TIER.read_text().replace("horizon_days: 365", ""))
    result = validate(bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}: horizon_days: required key missing, must be an integer >= 1"
    ]


def test_a_scenario_with_a_stray_axes_key_is_a_scenario(tmp_path):
    path = write(tmp_path, "s.yaml", TWO_TIER.read_text() + "\naxes: {}\n")
    result = validate(path)
    assert result.exit_code == 1
    assert "axes: unknown key" in result.stderr
    assert "sweep" not in result.output


def test_sweep_against_the_wrong_scenario_names_every_bad_path(tmp_path):
    result = validate(SWEEP, "--scenario", TWO_TIER)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        f"{SWEEP}: axis chip_buffer_days: strategies.jic.stock[1].buffer_days: "
        "strategies.jic.stock has 1 item(s): no index [1]",
        f"{SWEEP}: axis chip_buffer_days: strategies.hybrid.stock[0].buffer_days: "
        "strategies has no key 'hybrid' (keys: jit, jic, regionalized)",
        f"{SWEEP}: axis chip_buffer_days: strategies.hybrid.stock[1].buffer_days: "
        "strategies has no key 'hybrid' (keys: jit, jic, regionalized)",
        f"{SWEEP}: axis east_asia_severity: regions.east_asia.shocks[1].capacity_fraction: "
        "regions.east_asia.shocks has 1 item(s): no index [1]",
    ]


def test_a_value_that_makes_a_point_invalid_is_reported_with_its_axis(tmp_path):
    grid = write(
        tmp_path,
        "grid.yaml",
        "axes:\n  buffer:\n    path: strategies.jic.stock[0].buffer_days\n"
        "    values: [0, -5, 30]\n",
    )
    result = validate(grid, "--scenario", TWO_TIER)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{grid}: axis buffer=-5: ")
    assert "buffer_days" in lines[0]
    # without --scenario the grid itself is fine: its values are checked on a scenario
    alone = validate(grid)
    assert alone.exit_code == 0
    assert alone.stdout == (
        f"OK {grid} (sweep: 3 points over axis buffer; "
        "validate against its scenario with --scenario SCENARIO)\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "axes:\n  b:\n    path: strategies.jic.buffer_days\n    valuez: [1, 2]\n",
            "axes.b.valuez: unknown key (did you mean 'values'?)",
        ),
        (
            "name: oops\naxes:\n  b:\n    path: strategies.jic.buffer_days\n    values: [1]\n",
            "name: unknown key",
        ),
        ("axes: {}\n", "axes: must be a mapping of axis name -> axis"),
    ],
    ids=["axis-key-typo", "stray-top-level-key", "no-axes"],
)
def test_a_bad_sweep_file_gets_the_sweep_message(tmp_path, text, expected):
    grid = write(tmp_path, "grid.yaml", text)
    result = validate(grid)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{grid}: ") and expected in lines[0], lines[0]
    assert "required key missing" not in result.stderr  # not read as a scenario


def test_an_invalid_base_scenario_is_reported_once(tmp_path):
    bad = write(tmp_path, "bad.yaml", TWO_TIER.read_text().replace("horizon_days: 365", ""))
    other = write(tmp_path, "other-sweep.yaml", SWEEP.read_text())
    result = validate(SWEEP, other, "--scenario", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}: horizon_days: required key missing, must be an integer >= 1",
        f"{SWEEP}: not checked against {bad}: the scenario is invalid",
        f"{other}: not checked against {bad}: the scenario is invalid",
    ]


def test_one_bad_file_does_not_hide_the_others(tmp_path):
    missing = tmp_path / "missing.yaml"
    result = validate(SWEEP, missing, TWO_TIER)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"OK {SWEEP} (sweep: 15 points over {AXES}; "
        "validate against its scenario with --scenario SCENARIO)",
        f"OK {TWO_TIER} (4 nodes, 3 lanes, 3 strategies)",
    ]
    assert result.stderr.splitlines() == [f"{missing}: file not found"]


def test_usage_errors_exit_2():
    assert validate().exit_code == 2
    assert validate(SWEEP, "--scenario").exit_code == 2


def test_counts_are_singular_for_one(tmp_path):
    from resilience.cli.validate import _count

    assert _count([1], "lane") == "1 lane"
    assert _count([1, 2], "lane") == "2 lanes"
    assert _count([1], "strategy") == "1 strategy"
    assert _count([], "strategy") == "0 strategies"


def test_optimisation_files_are_recognised_and_checked_against_their_scenario():
    opt = EXAMPLES / "automotive-optimize.yaml"
    alone = CliRunner().invoke(main, ["validate", str(opt)])
    assert alone.exit_code == 0, alone.output
    assert alone.stdout.startswith(f"OK {opt} (optimisation: ")
    checked = CliRunner().invoke(
        main, ["validate", str(opt), "--scenario", str(EXAMPLES / "automotive.yaml")]
    )
    assert checked.exit_code == 0, checked.output
    assert "every variable valid on" in checked.stdout
    wrong = CliRunner().invoke(
        main, ["validate", str(opt), "--scenario", str(EXAMPLES / "two-tier.yaml")]
    )
    assert wrong.exit_code == 1
