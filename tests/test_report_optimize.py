"""The optimisation's HTML page: written whole and self-contained, with the recommended
point, the frontier and the convergence figure; reachable from `resilience optimize
--report` and from `resilience report OPT`; nothing left behind when a figure fails."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import resilience.api as api
import resilience.report.optimize as page
from resilience.cli import main
from resilience.errors import ResultsError
from tests.test_optimize import base_stock_optimization, base_stock_scenario


def _optimization(constraints=("P95(total_cost) <= 2200",)) -> dict:
    opt = base_stock_optimization(5, search={"startup_trials": 3})
    opt["paths"], opt["verify"] = 400, {"top": 2, "paths": 800}
    opt["constraints"] = list(constraints)
    return opt


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("opt") / "opt.nc"
    html = out.with_name("opt.html")
    return api.optimize(base_stock_scenario(), _optimization(), seed=3, out=out, report=html)


def _images(text: str) -> list[str]:
    return re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)


def test_page_is_written_and_self_contained(result):
    text = Path(result.report).read_text(encoding="utf-8")
    rec = result.recommended.evaluation
    assert f"Recommended: evaluation {rec}</b>" in text
    assert 'id="optimize_frontier"' in text and 'id="optimize_convergence"' in text
    assert "Convergence of the search" in text
    assert len(_images(text)) == 2
    # the strategy block, as the text report prints it
    assert "fixed_optimized:" in text and "order_up_to: " in text
    # the benchmark with its paired difference on the fresh paths, and the verdict in words
    assert "<td>fixed</td>" in text
    assert "None of the scenario&#x27;s strategies meets the constraints" in text
    # nothing outside the file: no scripts, no links, no external images or fonts
    for outside in ("<script", "http://", "https://", "<link", "url("):
        assert outside not in text


def test_frontier_marks_the_recommendation_and_the_benchmarks(result):
    fig = page.plot_optimization_frontier(result.dataset)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert f"recommended (#{result.recommended.evaluation})" in labels
    assert "fixed" in labels
    # the bound is drawn, and the legend tells feasible from infeasible
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "feasible" in legend and "infeasible" in legend
    assert any(t.startswith("bound: P95(total_cost) <= 2200") for t in legend)


def test_convergence_is_the_best_feasible_so_far(result):
    fig = page.plot_convergence(result.dataset)
    (step,) = [line for line in fig.axes[0].lines if line.get_label() == "best feasible so far"]
    y = np.asarray(step.get_ydata(), dtype=np.float64)
    assert np.all(np.diff(y) <= 0)
    ok = [e for e in result.evaluations if e.status == "ok" and e.feasible]
    assert y[-1] == pytest.approx(min(e.objective for e in ok))


def test_money_axes_read_without_e_notation(result):
    """An objective in billions (a big network's cost) reads $M on the axis, as the run
    report's figures do, never 1e9."""
    ds = result.dataset.copy()
    ds["objective"] = ds["objective"] * 2e6
    ds["constraint_value"] = ds["constraint_value"] * 2e6
    ds["fresh_objective"] = ds["fresh_objective"] * 2e6
    ds["fresh_constraint"] = ds["fresh_constraint"] * 2e6
    ds.attrs["currency"] = "USD"
    for draw in (page.plot_optimization_frontier, page.plot_convergence):
        fig = draw(ds)
        fig.canvas.draw()
        ax = fig.axes[0]
        ticks = [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        assert ticks and not any(re.search(r"\de[+-]?\d", t) for t in ticks), ticks
        assert not ax.yaxis.get_offset_text().get_text()
        assert "[$M]" in ax.get_ylabel() or "[$bn]" in ax.get_ylabel()


def test_report_command_recognises_an_optimisation(result, tmp_path):
    out = tmp_path / "page"
    run = CliRunner().invoke(main, ["report", result.out, "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "optimize_report.html" in run.output
    assert sorted(p.name for p in out.iterdir()) == [
        "optimize_convergence.png",
        "optimize_frontier.png",
        "optimize_report.html",
    ]
    text = (out / "optimize_report.html").read_text(encoding="utf-8")
    assert f"Recommended: evaluation {result.recommended.evaluation}</b>" in text


def _broken(ds):
    raise RuntimeError("figure failed")


def test_a_failing_figure_leaves_no_file(result, tmp_path, monkeypatch):
    figures = [
        (*f[:3], _broken if f[0] == "optimize_convergence.png" else f[3], f[4])
        for f in page.FIGURES
    ]
    monkeypatch.setattr(page, "FIGURES", tuple(figures))
    with pytest.raises(RuntimeError, match="figure failed"):
        page.write_optimize_page(result.dataset, tmp_path / "opt.html")
    with pytest.raises(RuntimeError, match="figure failed"):
        page.write_optimize_report(result.dataset, tmp_path / "folder")
    assert list(tmp_path.iterdir()) == []


def test_the_target_is_checked_before_the_search(tmp_path, monkeypatch):
    taken = tmp_path / "opt.html"
    taken.write_text("an earlier page")
    monkeypatch.setattr(api, "simulate", lambda *a, **k: pytest.fail("simulated"))
    with pytest.raises(ResultsError, match="already exists"):
        api.optimize(base_stock_scenario(), _optimization(), seed=3, report=taken)
    with pytest.raises(ResultsError, match="FILE.html"):
        api.optimize(base_stock_scenario(), _optimization(), seed=3, report=tmp_path / "x.png")
    assert taken.read_text() == "an earlier page"


def test_a_page_without_constraints_has_no_frontier(tmp_path):
    result = api.optimize(base_stock_scenario(), _optimization(()), seed=4)
    html, images = page.optimize_page(result.dataset)
    assert [name for name, _ in images] == ["optimize_convergence.png"]
    assert "no constraint, so there is no cost-risk" in html
    with pytest.raises(ResultsError, match="needs a constraint"):
        page.plot_optimization_frontier(result.dataset)


def test_not_an_optimisation_is_refused():
    with pytest.raises(ResultsError, match="not an optimisation result"):
        page.optimize_page(xr.Dataset())
