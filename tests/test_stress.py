"""``resilience stress``: TTR inputs, the paired figures, the dataset and the command.

Exact deterministic time-to-survive values are checked in tests/validation
(test_scripted_events.py, the TTS cases of cases.py); this file checks the machinery.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import resilience
from resilience.api import stress
from resilience.cli import main
from resilience.errors import ExecutionError, ResultsError
from resilience.report.stress import HEATMAP_FILE, STRESS_REPORT_FILE, plot_stress_heatmap
from resilience.risk.format import render
from resilience.scenario.model import Outage, OutageDuration
from resilience.scenario.schema import load_scenario
from resilience.stress import DEFAULT_TTR_DAYS, node_ttr, outage_p90, stress_section

# supplier -> dc over a lead-time-0 lane, 2 days of buffer, a near-shore backup unused in
# "lean" and a failover partner in "dual"; deterministic demand 10 a day
DOC = {
    "name": "stress",
    "horizon_days": 120,
    "regions": {"r": {}},
    "nodes": {
        "sup": {
            "kind": "supplier",
            "region": "r",
            "item": "fg",
            "outage": {"failure_probability": 0.01, "recovery_probability": 0.1},
        },
        "backup": {"kind": "supplier", "region": "r", "item": "fg"},
        "dc": {
            "kind": "dc",
            "region": "r",
            "demand": {"distribution": "deterministic", "mean_per_day": 10},
            "lost_sale_margin": 7,
        },
    },
    "lanes": [
        {"from": "sup", "to": "dc", "lead_time_days": 0},
        {"from": "backup", "to": "dc", "lead_time_days": 0},
    ],
    "sourcing": [
        {"at": "dc", "item": "fg", "mode": "split", "shares": {"sup": 1.0, "backup": 0.0}}
    ],
    "buffer_days": 2,
    "strategies": {
        "lean": {},
        "dual": {
            "sourcing": [
                {
                    "at": "dc",
                    "item": "fg",
                    "mode": "failover",
                    "shares": {"sup": 0.5, "backup": 0.5},
                }
            ]
        },
    },
}


def doc(**changes):
    d = copy.deepcopy(DOC)
    d.update(changes)
    return d


# ----------------------------------------------------------------------------- TTR


def test_outage_p90():
    sc = load_scenario(doc())
    assert outage_p90(sc.node("sup")) == math.ceil(math.log(0.1) / math.log(0.9))  # 22
    assert outage_p90(sc.node("backup")) is None
    lognormal = OutageDuration("lognormal", median_days=10, sigma=1.0)
    node = sc.node("sup")
    ln = type(node)(**{**node.__dict__, "outage": Outage(0.01, 1.0, lognormal)})
    assert outage_p90(ln) == math.ceil(10 * math.exp(1.2815515655446004))  # 37
    pareto = OutageDuration("pareto", min_days=4, alpha=2.0)
    pa = type(node)(**{**node.__dict__, "outage": Outage(0.01, 1.0, pareto)})
    assert outage_p90(pa) == math.ceil(4 * 0.1**-0.5)  # 13 (12.65 days)
    whole = type(node)(**{**node.__dict__, "outage": Outage(0.01, 0.5)})  # 0.5^j <= 0.1: j = 4
    assert outage_p90(whole) == 4


def test_ttr_precedence():
    d = doc()
    d["nodes"]["dc"]["ttr_days"] = 5
    sc = load_scenario(d)
    assert node_ttr(sc.node("dc"), 9).source == "scenario" and node_ttr(sc.node("dc"), 9).days == 5
    assert (node_ttr(sc.node("sup"), 9).days, node_ttr(sc.node("sup"), 9).source) == (9, "option")
    assert (node_ttr(sc.node("sup"), None).days, node_ttr(sc.node("sup"), None).source) == (
        22,
        "p90",
    )
    assert node_ttr(sc.node("backup"), None).days == DEFAULT_TTR_DAYS


# ----------------------------------------------------------------------------- the figures


def test_deterministic_single_stage():
    """S = 10 x (1 + 2) = 30 on hand at the outage start, lead time 0: the dc serves days
    start .. start + 2 in full and runs short on day start + 3 (TTS = S / mu = 3); a
    30-day outage then loses 10 a day until the first shipment after it serves, on day
    start + 31: 28 days x 10 (mu (D - k), k = 2 buffer days)."""
    ds = stress(doc(), nodes=["sup", "backup"], ttr_days=30, deterministic=True, start=40)
    lean = ds.sel(strategy="lean")
    assert lean.tts_quantile.sel(node="sup").values.tolist() == [3.0, 3.0, 3.0]
    assert float(lean.lost_units_mean.sel(node="sup")) == 280.0
    assert float(lean.lost_margin_mean.sel(node="sup")) == 280.0 * 7
    assert float(lean.ttr_minus_tts.sel(node="sup")) == 27.0
    # the unused backup's outage causes nothing; under failover neither outage does
    assert np.isnan(lean.tts_quantile.sel(node="backup")).all()
    assert float(lean.lost_units_mean.sel(node="backup")) == 0.0
    assert float(lean.p_no_shortage.sel(node="backup")) == 1.0
    assert (ds.sel(strategy="dual").lost_units_mean == 0.0).all()
    assert lean["rank"].sel(node="sup") == 1 and float(lean.rei.sel(node="sup")) == 1.0
    assert float(lean.rei.sel(node="backup")) == 0.0
    assert ds.attrs["paths"] == 1 and ds.attrs["deterministic"] == 1


def test_random_mode_pairs_every_path_with_its_baseline():
    """Before the outage starts the stressed and the baseline runs are the same paths,
    draw for draw, so nothing is caused before the start; lost units caused are the
    paired differences; a TTS exists exactly where the outage brought the first unmet
    demand forward."""
    d = doc()
    d["nodes"]["dc"]["demand"] = {"distribution": "poisson", "mean_per_day": 10}
    ds = stress(d, nodes=["sup"], paths=300, seed=5, start=30, ttr_days=20)
    x = ds.sel(node="sup")
    base = x.baseline_first_unmet_day.fillna(1e9)
    hit = x.first_unmet_day.fillna(1e9)
    assert bool((x.first_unmet_day.isnull() | (x.first_unmet_day >= 30)).all())
    np.testing.assert_array_equal(x.tts_days.notnull().values, (hit < base).values)
    np.testing.assert_array_equal(
        x.tts_days.dropna("path").values, (hit - 30).where(hit < base).dropna("path").values
    )
    assert float(x.lost_units_mean.sel(strategy="lean")) > 0
    m = float(x.lost_units_caused.sel(strategy="lean").mean())
    assert float(x.lost_units_mean.sel(strategy="lean")) == pytest.approx(m, rel=1e-12)
    p = float(x.p_no_shortage.sel(strategy="lean"))
    assert p == pytest.approx(float(x.tts_days.sel(strategy="lean").isnull().mean()))
    assert set(ds.dims) == {"node", "strategy", "path", "quantile"}


def test_same_seed_same_bits_whatever_the_blocks():
    a = stress(doc(), nodes=["sup"], paths=70, seed=3, ttr_days=10, block_size=32)
    b = stress(doc(), nodes=["sup"], paths=70, seed=3, ttr_days=10, threads=1)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_bad_options_are_refused():
    with pytest.raises(ExecutionError, match="unknown node 'nope'"):
        stress(doc(), nodes=["nope"])
    with pytest.raises(ExecutionError, match=r"a day of the horizon \(0 .. 119\), got 120"):
        stress(doc(), start=120)


# ----------------------------------------------------------------------------- the command


def test_command_text_json_and_out(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc()))
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["stress", str(path), "--deterministic", "--nodes", "sup,backup", "--ttr-days", "30", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert "Strategy lean: most exposed node first" in result.output
    assert "every node: --ttr-days (30 days)" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 100
    out = tmp_path / "stress.zarr"
    result = runner.invoke(
        main,
        ["stress", str(path), "--paths", "40", "--format", "json", "--out", str(out), "-q"],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)["records"]
    assert {r["node"] for r in records} == {"sup", "backup", "dc"}
    assert {r["ttr_source"] for r in records} == {"p90", "default"}
    back = resilience.open_results(out)
    assert back.sizes["node"] == 3 and back.sizes["path"] == 40
    result = runner.invoke(main, ["stress", str(path), "--nodes", "nope", "-q"])
    assert result.exit_code == 1 and "unknown node 'nope'" in result.output


def test_text_table_reads_in_100_columns():
    """Rank order, one row per node, the TTR source said once under the tables, and no
    line wider than 100 columns with node names of 15 characters."""
    d = doc()
    d["nodes"]["transmission_jp"] = d["nodes"].pop("backup")  # 15 characters
    d["lanes"][1]["from"] = "transmission_jp"
    for body in (d["sourcing"][0], d["strategies"]["dual"]["sourcing"][0]):
        body["shares"]["transmission_jp"] = body["shares"].pop("backup")
    d["nodes"]["dc"]["ttr_days"] = 4
    d["nodes"]["dc"]["demand"] = {"distribution": "poisson", "mean_per_day": 10}
    ds = stress(d, paths=60, seed=2, ttr_days=None)
    text = render([stress_section(ds)], "text", 100)
    assert max(len(line) for line in text.splitlines()) <= 100
    lean = text.split("Strategy lean")[1].split("Strategy dual")[0]
    ranked = sorted(ds.node.values, key=lambda n: int(ds["rank"].sel(node=n, strategy="lean")))
    rows = [line.split()[1] for line in lean.splitlines() if line[:3].strip().isdigit()]
    assert rows == list(ranked)
    flat = " ".join(text.split())  # the notes wrap
    assert "dc: the node's ttr_days in the scenario" in flat
    assert "transmission_jp: no outage process: the default (14 days)" in flat
    assert "every other node: the P90 of the node's own outage-length distribution" in flat


def test_markdown_and_csv_carry_every_node(tmp_path):
    ds = stress(doc(), nodes=["sup", "dc"], paths=30, seed=1, ttr_days=5)
    md = render([stress_section(ds)], "markdown")
    assert md.count("### Strategy") == 2 and "| TTR |" in md
    rows = list(csv.DictReader(io.StringIO(render([stress_section(ds)], "csv"))))
    assert len(rows) == 2 * 2
    assert {r["node"] for r in rows} == {"sup", "dc"}
    assert all(r["ttr_days"] == "5" and r["ttr_source"] == "option" for r in rows)
    lean = {r["node"]: r for r in rows if r["strategy"] == "lean"}
    assert float(lean["sup"]["lost_units_mean"]) == pytest.approx(
        float(ds.lost_units_mean.sel(strategy="lean", node="sup"))
    )


def test_report_heat_map_and_page(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc()))
    folder = tmp_path / "report"
    result = CliRunner().invoke(
        main, ["stress", str(path), "--paths", "20", "--report", str(folder), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert (folder / HEATMAP_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (folder / STRESS_REPORT_FILE).read_text()
    assert "Risk exposure by node and strategy" in page
    assert page.count("<h3>Strategy") == 2 and "data:image/png;base64," in page
    # a folder that is not a report is refused before any run
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    result = CliRunner().invoke(main, ["stress", str(path), "--report", str(other), "-q"])
    assert result.exit_code == 1 and "does not look like a report folder" in result.output


def test_heat_map_rows_most_exposed_first():
    ds = stress(doc(), nodes=["backup", "sup"], ttr_days=30, deterministic=True, start=40)
    fig = plot_stress_heatmap(ds)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["sup", "backup"]  # sup's outage costs margin, the unused backup's none
    with pytest.raises(ResultsError, match="not a stress-test result"):
        plot_stress_heatmap(ds.drop_attrs())
