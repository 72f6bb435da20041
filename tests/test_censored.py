"""Time-to-survive and shortage duration in paired comparisons and the run table: a path
without a traced shortage is an outcome (it survived), counted, not dropped."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from resilience import risk
from resilience.errors import ResultsError
from resilience.risk.censored import censored_value, uncensored
from resilience.risk.format import render, risk_table_section
from resilience.risk.tables import SURVIVAL_TABLE_COLUMNS, table_columns

NAN = np.nan


def _ds(horizon: int | None = 100) -> xr.Dataset:
    tts = np.array([[5.0, NAN, 10.0, NAN], [NAN, NAN, 20.0, 3.0]])
    start = np.array([[40.0, NAN, 50.0, NAN], [NAN, NAN, 60.0, 7.0]])
    duration = np.array([[4.0, NAN, 2.0, NAN], [NAN, NAN, 1.0, 9.0]])
    dims = ("strategy", "path")
    ds = xr.Dataset(
        {
            "time_to_survive_days": (dims, tts, {"units": "days"}),
            "shortage_start_day": (dims, start, {"units": "day"}),
            "shortage_duration_days": (dims, duration, {"units": "days"}),
            "lost_units": (dims, np.ones((2, 4)), {"units": "units"}),
        },
        coords={"strategy": ["jit", "jic"], "path": np.arange(4)},
    )
    if horizon is not None:
        ds.attrs["horizon_days"] = horizon
    return ds


def test_no_shortage_counts_as_surviving_the_horizon():
    ds = _ds()
    assert censored_value(ds, "time_to_survive_days") == 100.0
    assert censored_value(ds, "shortage_duration_days") == 0.0
    assert censored_value(ds, "lost_units") is None
    np.testing.assert_array_equal(
        uncensored(ds, "time_to_survive_days").values,
        [[5.0, 100.0, 10.0, 100.0], [100.0, 100.0, 20.0, 3.0]],
    )
    # without the attribute the day dimension gives the horizon; with neither, an error
    with pytest.raises(ResultsError, match="horizon"):
        censored_value(_ds(horizon=None), "time_to_survive_days")


def test_compare_keeps_every_path():
    """jic - jit per path, survivors at T = 100: [95, 0, 10, -97]. Before, only the two
    paths where both had a shortage were compared (10 and -7). Higher TTS is better, so
    p_better counts d > 0."""
    cmp = risk.compare(_ds(), "jit", "time_to_survive_days").sel(strategy="jic")
    assert int(cmp.n) == 4
    assert float(cmp.estimate.sel(statistic="mean_diff")) == pytest.approx((95 + 0 + 10 - 97) / 4)
    assert float(cmp.estimate.sel(statistic="p_better")) == pytest.approx(2 / 4)
    assert float(cmp.estimate.sel(statistic="p_worse")) == pytest.approx(1 / 4)
    dur = risk.compare(_ds(), "jit", "shortage_duration_days").sel(strategy="jic")
    assert int(dur.n) == 4  # no shortage lasted 0 days: [-4, 0, -1, 9]
    assert float(dur.estimate.sel(statistic="mean_diff")) == pytest.approx((-4 + 0 - 1 + 9) / 4)
    diff = risk.paired_differences(_ds(), "time_to_survive_days", "jit")
    assert diff.notnull().all()


def test_run_table_shows_the_survival_figures():
    ds = _ds()
    columns = table_columns(ds)
    assert columns[-len(SURVIVAL_TABLE_COLUMNS) :] == SURVIVAL_TABLE_COLUMNS
    t = risk.risk_table(ds, columns=SURVIVAL_TABLE_COLUMNS)
    share = t.estimate.sel(column="traced_shortage mean").values
    np.testing.assert_allclose(share, [0.5, 0.5])
    # inverted CDF over 4 paths: P50 = the 2nd smallest; survivors rank above every failure
    p50 = t.estimate.sel(column="time_to_survive_days P50").values
    np.testing.assert_array_equal(p50, [10.0, 20.0])
    assert t.n.sel(column="time_to_survive_days P50").values.tolist() == [4, 4]
    text = render([risk_table_section(t)], "text", 100)
    assert "censored, not dropped" in " ".join(text.split())
    # a result without the figures keeps its old table
    assert table_columns(ds.drop_vars("time_to_survive_days")) == risk.DEFAULT_TABLE_COLUMNS


def test_run_table_and_report_of_a_simulated_run(tmp_path):
    """A real result carries the figures: the run table and the HTML report show them."""
    import resilience
    from resilience.report import write_report
    from tests.test_stress import doc

    ds = resilience.simulate(doc(), paths=40, seed=4, threads=1)
    columns = [f"{v} {s}" for v, s in table_columns(ds)]
    assert "time_to_survive_days P5" in columns and "shortage_duration_days P95" in columns
    page = write_report(ds, tmp_path / "report").read_text()
    assert "Time-to-survive (time_to_survive_days)" in page
    assert "censored, not dropped" in page
