"""`resilience report` and `resilience compare` on a small synthetic results store."""

from __future__ import annotations

import html
import re

import pytest
import xarray as xr
from click.testing import CliRunner
from PIL import Image

from resilience.cli import main
from resilience.report import FIGURES, write_report
from tests.synthetic import STRATEGIES, make_results, write_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.zarr"
    write_store(make_results(n_paths=200, n_days=30, seed=3), path)
    return path


@pytest.fixture(scope="module")
def report_dir(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(main, ["report", str(store), "--out", str(out), "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    return out


def test_every_figure_is_a_valid_png_of_sensible_size(report_dir):
    for spec in FIGURES:
        path = report_dir / spec.filename
        assert path.is_file(), spec.filename
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert img.format == "PNG"
            width, height = img.size
            assert 600 <= width <= 2000 and 300 <= height <= 1500, (spec.filename, img.size)


def test_html_is_self_contained_and_holds_the_tables(report_dir):
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "http:" not in page and "https:" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "url(" not in page
    # risk table with intervals, paired comparison, figure list, run metadata
    assert "Risk by strategy" in page and "CVaR95" in page and "fill_rate" in page
    assert re.search(r'<span class="ci">\[[^\]]+, [^\]]+\]</span>', page)
    assert "Paired comparison against jit" in page and "P(better)" in page
    for name in STRATEGIES:
        assert f"<th>{name}</th>" in page
    for spec in FIGURES:
        assert html.escape(spec.caption) in page  # the figure list and the figure itself
    assert "synthetic-test" in page and "<th>seed</th><td>3</td>" in page
    assert "<th>paths</th><td>200</td>" in page and "numpy version" in page


def test_report_default_out_dir(store):
    result = CliRunner().invoke(main, ["report", str(store), "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert (store.parent / "run_report" / "report.html").is_file()


def test_compare_prints_the_paired_table(store):
    result = CliRunner().invoke(
        main, ["compare", str(store), "--baseline", "jit", "--n-boot", "50"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for metric in ("total_cost", "lost_units", "fill_rate"):
        assert f"Paired comparison of {metric}" in out
    assert "P(better)" in out and "CVaR95 diff" in out
    header = next(line for line in out.splitlines() if line.startswith("statistic"))
    assert header.split() == ["statistic", "jic", "regionalized", "hybrid"]
    one = CliRunner().invoke(
        main, ["compare", str(store), "--metric", "lost_units", "--n-boot", "0"]
    )
    assert one.exit_code == 0, one.output
    assert one.output.count("Paired comparison of") == 1 and "lost_units" in one.output


@pytest.mark.parametrize("command", ["report", "compare"])
def test_unknown_baseline_is_one_line_error(store, tmp_path, command):
    args = [command, str(store), "--baseline", "nope"]
    if command == "report":
        args += ["--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and "unknown strategy 'nope'" in lines[0]
    assert "jit" in lines[0]  # names the strategies that exist
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_missing_variable_and_unknown_metric_are_one_line_errors(tmp_path):
    path = tmp_path / "thin.zarr"
    write_store(make_results(n_paths=50, n_days=10).drop_vars("stockout_days"), path)
    result = CliRunner().invoke(main, ["report", str(path), "--out", str(tmp_path / "r")])
    assert result.exit_code != 0
    assert (
        result.output.strip()
        == "Error: results lack variable(s) needed for the report: stockout_days"
    )
    result = CliRunner().invoke(main, ["compare", str(path), "--metric", "cost"])
    assert result.exit_code != 0
    assert result.output.strip() == "Error: results have no variable 'cost'"


def test_missing_results_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path / "absent.zarr")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_write_report_accepts_dask_backed_results(store, tmp_path):
    ds = xr.open_zarr(store)
    assert ds["total_cost"].chunks is not None
    path = write_report(ds, tmp_path / "lazy", baseline="regionalized", n_boot=0)
    page = path.read_text(encoding="utf-8")
    assert "Paired comparison against regionalized" in page
    assert sorted(p.name for p in path.parent.glob("*.png")) == sorted(s.filename for s in FIGURES)
