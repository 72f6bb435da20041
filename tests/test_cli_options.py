"""Bad options and missing files on compare/report: one line, exit 2 for a bad option
(click's usage error), exit 1 for a bad result, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resilience.api import run_to_file
from resilience.cli import main


@pytest.fixture(scope="module")
def stored(tmp_path_factory, two_tier_path):
    out = tmp_path_factory.mktemp("opts") / "r.zarr"
    run_to_file(two_tier_path, out, 256, 3, progress=False)
    return out


@pytest.mark.parametrize("command", ["compare", "report"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--n-boot", str(10**9)], "Invalid value for '--n-boot'"),
    ],
)
def test_bad_option_values_are_usage_errors(stored, command, args, message):
    result = CliRunner().invoke(main, [command, str(stored), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "1", "0", "x"])
def test_nan_and_out_of_range_probabilities_are_refused(stored, value):
    result = CliRunner().invoke(main, ["compare", str(stored), "--level", value])
    assert result.exit_code == 2
    assert "Invalid value for '--level'" in result.output


def test_a_per_node_metric_is_a_clear_error(stored):
    result = CliRunner().invoke(main, ["compare", str(stored), "--metric", "node_lost_units"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("Error: cannot compare 'node_lost_units': it is per node as well as")
    assert "total_cost" in line and "\n" not in line


@pytest.mark.parametrize("command", ["compare", "report"])
def test_a_missing_result_exits_1_like_a_missing_scenario(tmp_path, command):
    result = CliRunner().invoke(main, [command, str(tmp_path / "nope.zarr")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'nope.zarr'}: no such result"


def test_block_size_help_states_the_kernels_group_of_paths():
    """The CLI may not import the kernel (import-linter), so --block-size's help states
    the kernel's lockstep group in words: this keeps the two in step."""
    from resilience.kernels.simulate import LANES

    out = CliRunner().invoke(main, ["run", "--help"], terminal_width=200).output
    assert f"a multiple of {LANES} is fastest" in " ".join(out.split())
    assert f"groups of {LANES})" in " ".join(out.split())
