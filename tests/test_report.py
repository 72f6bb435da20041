"""`resilience report` and `resilience compare` on a small synthetic results store."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from PIL import Image

from resilience.cli import main
from resilience.errors import ResultsError
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


def test_missing_results_path_is_a_user_error_like_a_missing_scenario(tmp_path):
    # exit 1 with one line, as `run` does for a missing scenario (exit codes in the README)
    result = CliRunner().invoke(main, ["report", str(tmp_path / "absent.zarr")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'absent.zarr'}: no such result"


def test_write_report_accepts_dask_backed_results(store, tmp_path):
    ds = xr.open_zarr(store)
    assert ds["total_cost"].chunks is not None
    path = write_report(ds, tmp_path / "lazy", baseline="regionalized", n_boot=0)
    page = path.read_text(encoding="utf-8")
    assert "Paired comparison against regionalized" in page
    assert sorted(p.name for p in path.parent.glob("*.png")) == sorted(s.filename for s in FIGURES)


# ----------------------------------------------------------------------------- the memo


def _page(path) -> str:
    return (path / "report.html").read_text(encoding="utf-8")


def _h2(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def test_report_reads_top_down_like_a_memo(report_dir):
    page = _page(report_dir)
    heads = _h2(page)
    assert heads[0] == "Decision summary"
    assert heads[-2:] == ["Precision", "Provenance"]  # provenance last
    assert heads.index("Risk by strategy") < heads.index("Figures") < heads.index("Precision")
    memo = page.index('<p class="memo">')
    assert memo < page.index("<h2>Risk by strategy</h2>")
    paragraph = re.search(r'<p class="memo">(.*?)</p>', page).group(1)
    assert paragraph.startswith("Against jit, on the same 200 paths")
    # the summary table with intervals and verdicts, then the frontier, all before the
    # risk table
    summary = page[memo : page.index("<h2>Risk by strategy</h2>")]
    assert "extra expected cost" in summary and "cost per unit of risk avoided" in summary
    assert "baseline" in summary and "efficient" in summary
    assert re.search(r'<span class="ci">\[[^\]]+, [^\]]+\]</span>', summary)
    assert 'id="frontier"' in summary and "Figure 1. Cost against risk." in summary
    # provenance (seed, scenario hash, versions, created) after everything else
    provenance = page[page.index("<h2>Provenance</h2>") :]
    for label in ("seed", "scenario SHA-256", "numpy version", "created (UTC)"):
        assert f"<th>{label}</th>" in provenance
    # the risk table is grouped by metric
    risk = page[page.index("<h2>Risk by strategy</h2>") : page.index("<h2>Paired comparison")]
    groups = re.findall(r'<tr class="group"><th colspan="5">([^<]*)</th></tr>', risk)
    assert [g.split(" (")[0] for g in groups] == [
        "fill rate",
        "lost units",
        "total cost",
        "stockout days",
    ]


def test_html_has_no_external_references(report_dir):
    page = _page(report_dir)
    refs = re.findall(r'\b(?:src|href)\s*=\s*["\']?([^"\'\s>]*)', page, flags=re.I)
    assert refs
    for ref in refs:
        assert ref.startswith("data:image/png;base64,") or ref.startswith("#"), ref[:60]
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert {r[1:] for r in refs if r.startswith("#")} <= anchors  # in-page links resolve
    for banned in ("<script", "<link", "<iframe", "<object", "<embed", "@import", "url("):
        assert banned not in page.lower()


@pytest.fixture(scope="module")
def one_strategy(tmp_path_factory):
    path = tmp_path_factory.mktemp("one") / "one.zarr"
    write_store(make_results(n_paths=150, n_days=20, strategies=("jic",), seed=5), path)
    return path


def test_one_strategy_result_gets_a_report(one_strategy, tmp_path):
    out = tmp_path / "one_report"
    result = CliRunner().invoke(main, ["report", str(one_strategy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = _page(out)
    assert "This result has one strategy, <b>jic</b>" in page
    heads = _h2(page)
    assert heads == ["Decision summary", "Risk by strategy", "Figures", "Precision", "Provenance"]
    assert "Paired comparison" not in page and 'id="frontier"' not in page
    drawn = sorted(p.name for p in out.glob("*.png"))
    assert drawn == sorted(s.filename for s in FIGURES if not s.compares)
    assert "exceedance_lost_units.png" in drawn and "daily_shortfall.png" in drawn
    assert page.count("data:image/png;base64,") == len(drawn)


def test_four_strategy_report_has_every_section_and_figure(report_dir):
    page = _page(report_dir)
    assert page.count("data:image/png;base64,") == len(FIGURES) == 7
    for name in STRATEGIES:
        assert f"<th>{name}</th>" in page
    assert sorted(p.name for p in report_dir.glob("*.png")) == sorted(s.filename for s in FIGURES)
    assert [p.name for p in report_dir.iterdir() if p.name.startswith(".")] == []


def test_baseline_defaults_to_the_scenarios_then_the_first_strategy(tmp_path):
    ds = make_results(n_paths=120, n_days=15, seed=2)
    page = write_report(ds, tmp_path / "a", n_boot=0).read_text(encoding="utf-8")
    assert "Paired comparison against jit" in page  # the first strategy
    ds.attrs["baseline"] = "regionalized"
    page = write_report(ds, tmp_path / "b", n_boot=0).read_text(encoding="utf-8")
    assert "Paired comparison against regionalized" in page
    assert re.search(r"<tr><th>regionalized</th><td>baseline</td>", page)


def test_cli_risk_measure_and_baseline(store, tmp_path):
    out = tmp_path / "r"
    args = ["report", str(store), "--out", str(out), "--n-boot", "0"]
    result = CliRunner().invoke(main, [*args, "--risk-measure", "p95_lost_units"])
    assert result.exit_code == 0, result.output
    page = _page(out)
    assert "P95 lost units (a 1-in-20 year)" in page
    assert "<th>risk measure</th><td>p95_lost_units</td>" in page
    # the same folder again: a report is replaced by the new one
    result = CliRunner().invoke(main, [*args, "--baseline", "hybrid"])
    assert result.exit_code == 0, result.output
    assert "Paired comparison against hybrid" in _page(out)
    bad = CliRunner().invoke(main, [*args, "--risk-measure", "nope"])
    assert bad.exit_code == 2


# ----------------------------------------------------------------------------- atomicity


def test_failed_figure_leaves_no_half_written_folder(store, tmp_path, monkeypatch):
    from resilience.report import plots

    ds = xr.open_zarr(store)
    out = tmp_path / "rep"

    def broken(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(plots, "plot_fill_rate_distribution", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(ds, out, n_boot=0)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left beside it either

    # an existing report survives a failed rewrite untouched
    monkeypatch.undo()
    write_report(ds, out, n_boot=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(plots, "plot_exceedance", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(ds, out, baseline="hybrid", n_boot=0)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_a_folder_that_is_not_a_report_is_never_replaced(store, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["report", str(store), "--out", str(out)])
    assert result.exit_code == 1
    assert "does not look like a report folder" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ResultsError, match="is not a folder"):
        write_report(xr.open_zarr(store), file, n_boot=0)


# ----------------------------------------------------------------------------- figures


def _overlapping_ticks(fig) -> list[str]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        boxes = sorted(
            (t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()),
            key=lambda b: b.x0,
        )
        if any(a.x1 > b.x0 + 0.5 for a, b in zip(boxes, boxes[1:], strict=False)):
            bad.append(ax.get_title())
    return bad


@pytest.fixture(scope="module")
def usd():
    ds = make_results(n_paths=300, n_days=40, seed=4)
    ds.attrs["currency"] = "USD"
    # scale the money up to a car maker's: billions per year
    for name in [v for v in ds.data_vars if ds[v].attrs.get("units") == "currency"]:
        ds[name] = ds[name] * 1e5
    return ds


def test_money_axes_read_in_dollars_with_separators(usd):
    from resilience.report import plots

    fig = plots.plot_exceedance(usd, "total_cost")
    ax = fig.axes[0]
    assert ax.get_xlabel().endswith("[$M]") or ax.get_xlabel().endswith("[$bn]")
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"-?[\d,]+(\.\d+)?", t) for t in ticks), ticks
    assert any("," in t for t in ticks) or ax.get_xlabel().endswith("[$bn]")
    assert ax.xaxis.get_offset_text().get_text() == ""  # no "1e9" offset
    front = plots.plot_frontier(usd)
    assert "[$" in front.axes[0].get_xlabel()
    labels = [t.get_text() for t in front.axes[0].texts]
    assert any("(baseline)" in t for t in labels)
    assert any("per lost unit avoided" in t for t in labels) or any(
        "dominated" in t or "distinguishable" in t for t in labels
    )
    # without a currency attribute money is labelled with the word "currency"
    plain = plots.plot_exceedance(make_results(n_paths=100, n_days=10), "total_cost")
    assert "currency" in plain.axes[0].get_xlabel()


def test_exceedance_band_stays_within_the_data_on_a_log_axis(usd):
    from resilience.report import plots

    n = usd.sizes["path"]
    fig = plots.plot_exceedance(usd, "lost_units")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    bottom, top = ax.get_ylim()
    assert 1 / (2 * n) <= bottom < 1 / n and top <= 2
    for band in ax.collections:
        ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        ys = ys[np.isfinite(ys)]
        assert ys.min() >= 1 / n - 1e-12


def test_daily_fill_rate_axes_are_zoomed_to_their_data(usd):
    from resilience.report import plots

    mean = usd["daily_fill_rate_mean"].values
    fig = plots.plot_daily_shortfall(usd)
    bottom_ax = fig.axes[1]
    lo, hi = bottom_ax.get_ylim()
    assert lo >= mean.min() - 0.1 * (1 - mean.min()) - 0.003 and hi <= 1.003
    fan = plots.plot_fill_rate_fan(usd)
    band = usd["daily_fill_rate_band"].values
    lo, hi = fan.axes[0].get_ylim()
    assert lo >= min(band.min(), mean.min()) - 0.07 and hi <= 1.006


def test_no_figure_has_overlapping_tick_labels(usd):
    from resilience.report import plots
    from resilience.report.common import png

    figures = [
        plots.plot_exceedance(usd, "total_cost"),
        plots.plot_exceedance(usd, "lost_units"),
        plots.plot_fill_rate_distribution(usd),
        plots.plot_daily_shortfall(usd),
        plots.plot_paired_differences(usd, "total_cost"),
        plots.plot_paired_differences(usd, "lost_units"),
        plots.plot_frontier(usd),
    ]
    for fig in figures:
        png(fig)
        assert _overlapping_ticks(fig) == [], fig.get_suptitle() or fig.axes[0].get_title()


def test_place_labels_never_overlaps_when_asked_to_drop(tmp_path):
    from resilience.report.common import place_labels
    from resilience.report.plots import _new_figure

    fig = _new_figure(5, 4)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(40, 2))
    ax.scatter(pts[:, 0], pts[:, 1])
    placed = place_labels(ax, pts, [f"point {i}" for i in range(40)], drop_overlapping=True)
    assert 0 < len(placed) < 40
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in placed]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b) or a.intersection(a, b).width * a.intersection(a, b).height < 1


def test_number_formats():
    from resilience.report.common import currency_symbol, format_money, value_parts

    assert currency_symbol({"currency": "USD"}) == "$"
    assert currency_symbol({}) == "currency"
    assert format_money(3.1845e9, "$") == "$3.18bn"
    assert format_money(-2.5e6, "$", signed=True) == "-$2.50M"
    assert value_parts(3.1845e9, 3.1836e9, 3.1854e9, "money", "$") == (
        "$3,184.5M",
        "[$3,183.6M, $3,185.4M]",
    )
    assert value_parts(0.97893, 0.97853, 0.97933, "percent") == ("97.89%", "[97.85%, 97.93%]")
    assert value_parts(107258.3, 105198.0, 109347.0, "count") == ("107,258", "[105,198, 109,347]")
    assert value_parts(float("nan"), 0, 1, "count") == ("n/a", None)
