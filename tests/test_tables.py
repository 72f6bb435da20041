"""Golden tables: text, markdown, csv and json of ``resilience run`` / ``compare`` output.

A small deterministic result built here from fixed numbers (no simulation): 40 paths
whose shared "luck" is JIT's lost units, 0 to 39,000; each strategy loses what exceeds its
threshold and pays a fixed extra cost, so every paired difference is known. Then: the
goldens, terminal width (4 strategies in 100 columns), one number format per quantity
(never e-notation in money), intervals clipped to what is possible, backorder rows, and
the CLI's ``--format`` on ``run`` and ``compare``.

Regenerate a golden after a deliberate format change with
``python -m tests.test_tables`` (prints every golden) and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import resilience
from resilience import risk
from resilience.cli import main
from resilience.risk.decision import decision_summary, summary_section
from resilience.risk.format import (
    CLIP_NOTE,
    number_format,
    render,
    risk_table_records,
    risk_table_section,
    terminal_width,
)
from resilience.risk.tables import BACKORDER_TABLE_COLUMNS, table_columns

STRATEGIES = ("jit", "jic", "regionalized", "hybrid")
# the shared luck of 40 paths (common random numbers): JIT's lost units, 0 to 39,000
LUCK = 1000.0 * ((7 * np.arange(40)) % 40)
# a strategy loses what exceeds its threshold and pays its extra cost on every path
THRESHOLD = {"jit": 0.0, "jic": 10_000.0, "regionalized": 36_000.0, "hybrid": 5_000.0}
EXTRA = {"jit": 0.0, "jic": 30e6, "regionalized": 70e6, "hybrid": 25e6}
SMALL_COLUMNS = [("fill_rate", "mean"), ("lost_units", "mean"), ("total_cost", "P95")]
E_NOTATION = re.compile(r"\d[eE][+-]?\d")


def golden_dataset(mode: str = "lost_sales", currency: str | None = "USD") -> xr.Dataset:
    names = list(STRATEGIES)
    late = np.array([np.maximum(LUCK - THRESHOLD[s], 0.0) for s in names])
    demand = np.full(late.shape, 292_000.0)
    zero = np.zeros_like(late)
    backorder = mode == "backorder"
    shared = 1e6 * (np.arange(LUCK.size) % 5)  # cost luck every strategy shares
    cost = np.array([3.1e9 + EXTRA[s] + 2500.0 * late[k] + shared for k, s in enumerate(names)])
    dims = ("strategy", "path")
    units, money = {"units": "units"}, {"units": "currency"}
    attrs = {"scenario_name": "golden", "demand_mode": mode}
    if currency:
        attrs["currency"] = currency
    return xr.Dataset(
        {
            "demand_units": (dims, demand, units),
            "filled_units": (dims, demand - late, units),
            "fill_rate": (dims, (demand - late) / demand, {"units": "1"}),
            "lost_units": (dims, zero if backorder else late, units),
            "backlog_units_end": (dims, 0.1 * late if backorder else zero, units),
            "mean_backlog": (dims, late / 50.0 if backorder else zero, units),
            "stockout_days": (dims, np.minimum(365.0, np.ceil(late / 100.0)), {"units": "days"}),
            "lost_sales_cost": (dims, zero if backorder else 2500.0 * late, money),
            "total_cost": (dims, cost, money),
        },
        coords={"strategy": names, "path": np.arange(LUCK.size)},
        attrs=attrs,
    )


def run_output(ds: xr.Dataset, fmt: str, width: int | None = 100, columns=None) -> str:
    """What ``resilience run`` prints for ``ds``: the decision summary, then the table."""
    summary = summary_section(decision_summary(ds, "jit"))
    table = risk_table_section(risk.risk_table(ds, columns=columns or table_columns(ds)))
    return render([summary, table], fmt, width)


def compare_output(ds: xr.Dataset, fmt: str = "text", width: int | None = 100) -> str:
    return risk.format_comparison(risk.compare(ds, "jit", "total_cost"), fmt=fmt, width=width)


def _goldens() -> dict[str, str]:
    ds = golden_dataset()
    small = ds.isel(strategy=[0, 1])
    return {
        "GOLDEN_TEXT": run_output(ds, "text"),
        "GOLDEN_MARKDOWN": run_output(ds, "markdown"),
        "GOLDEN_COMPARE_TEXT": compare_output(ds),
        "GOLDEN_CSV": run_output(small, "csv", columns=SMALL_COLUMNS),
        "GOLDEN_JSON": run_output(small, "json", columns=SMALL_COLUMNS),
    }


# ----------------------------------------------------------------------------- goldens

GOLDEN_TEXT = """\
Decision summary: every strategy against jit (95% paired intervals in brackets)

Against jit, on the same 40 paths (95% intervals; risk measured as lost units in the worst 5% of
years (CVaR95)): regionalized buys risk reduction cheapest: +$21.6M in expected cost for 36.0k fewer
units lost in the worst 5% of years, $601 per unit avoided. jic: +$8.4M for 10.0k fewer units lost
in the worst 5% of years, $844 per unit. regionalized also lowers the tail cost (CVaR95 of total
cost) by $20.0M. hybrid is dominated by jic (costlier and riskier than it).

figure                                 jic          regionalized                hybrid
---------------------  -------------------  --------------------  --------------------
extra expected cost                +$8.44M              +$21.62M              +$13.44M
                       [+$6.26M, +$10.62M]  [+$12.75M, +$30.50M]  [+$12.57M, +$14.31M]
tail cost change                   +$5.00M              -$20.00M              +$12.50M
                        [+$5.00M, +$5.00M]  [-$20.68M, -$19.32M]  [+$12.50M, +$12.50M]
risk avoided [units]               +10.00k               +36.00k                +5.00k
                        [+10.00k, +10.00k]    [+36.00k, +36.00k]      [+5.00k, +5.00k]
cost per unit avoided                 $844                  $601                $2,688
                            [$626, $1,062]          [$354, $847]      [$2,513, $2,862]
verdict                          efficient             efficient             dominated
                                                                              (by jic)
rank                                     2                     1                     -

Money in $. extra expected cost = mean total cost minus jit's; tail cost change = CVaR95 of total
cost minus jit's; risk avoided = jit's lost units in the worst 5% of years (CVaR95) minus the
strategy's (positive: safer); cost per unit avoided = extra expected cost per unit of risk avoided.
Intervals from paired influence functions (delta method for the ratio); a figure whose interval
holds 0 is not distinguishable from zero and is never ranked; rank 1 = the cheapest risk reduction
among strategies that are not dominated.

golden: risk by strategy (95% confidence intervals in brackets)

statistic                   jit                   jic          regionalized                hybrid
---------  --------------------  --------------------  --------------------  --------------------
fill_rate [%]
mean                     93.32%                96.28%                99.95%                94.91%
               [92.08%, 94.56%]      [95.22%, 97.33%]     [99.89%, 100.00%]      [93.72%, 96.09%]
P5                       86.99%                90.41%                99.32%                88.70%
                  [n/a, 88.36%]         [n/a, 91.78%]        [n/a, 100.00%]         [n/a, 90.07%]
P1                       86.64%                90.07%                98.97%                88.36%
                  [n/a, 87.33%]         [n/a, 90.75%]         [n/a, 99.66%]         [n/a, 89.04%]
lost_units [units]
mean                     19.50k                10.88k                 0.15k                14.88k
               [15.88k, 23.12k]       [7.81k, 13.94k]            [0, 0.33k]      [11.42k, 18.33k]
P50                      19.00k                 9.00k                     0                14.00k
               [13.00k, 26.00k]       [3.00k, 16.00k]                [0, 0]       [8.00k, 21.00k]
P95                      37.00k                27.00k                 1.00k                32.00k
                  [34.00k, n/a]         [24.00k, n/a]              [0, n/a]         [29.00k, n/a]
P99                      39.00k                29.00k                 3.00k                34.00k
                  [37.00k, n/a]         [27.00k, n/a]          [1.00k, n/a]         [32.00k, n/a]
CVaR95                   38.50k                28.50k                 2.50k                33.50k
               [36.33k, 40.67k]      [26.33k, 30.67k]        [0.33k, 4.67k]      [31.33k, 35.67k]
total_cost [$]
mean                   $3.151bn              $3.159bn              $3.172bn              $3.164bn
           [$3.142bn, $3.160bn]  [$3.151bn, $3.167bn]  [$3.172bn, $3.173bn]  [$3.156bn, $3.173bn]
P50                    $3.150bn              $3.155bn              $3.172bn              $3.162bn
           [$3.136bn, $3.168bn]  [$3.142bn, $3.173bn]  [$3.171bn, $3.173bn]  [$3.149bn, $3.180bn]
P95                    $3.193bn              $3.199bn              $3.174bn              $3.206bn
                [$3.187bn, n/a]       [$3.192bn, n/a]       [$3.174bn, n/a]       [$3.200bn, n/a]
P99                    $3.200bn              $3.204bn              $3.179bn              $3.212bn
                [$3.193bn, n/a]       [$3.199bn, n/a]       [$3.174bn, n/a]       [$3.206bn, n/a]
CVaR95                 $3.199bn              $3.204bn              $3.179bn              $3.212bn
           [$3.191bn, $3.207bn]  [$3.196bn, $3.212bn]  [$3.172bn, $3.186bn]  [$3.204bn, $3.220bn]
stockout_days [days]
P95                         365                   270                    10                   320
                     [340, n/a]            [240, n/a]              [0, n/a]            [290, n/a]
paths                        40                    40                    40                    40

fill_rate mean = sum(filled)/sum(demand), delta-method CI; quantile CIs from order statistics; CVaR
CIs from the influence function; P<q> = q-th percentile.
Intervals clipped to the possible range: fill rate within 0-100%; units, days and costs at or above
0.
"""

GOLDEN_MARKDOWN = """\
### Decision summary: every strategy against jit (95% paired intervals in brackets)

Against jit, on the same 40 paths (95% intervals; risk measured as lost units in the worst 5% of years (CVaR95)): regionalized buys risk reduction cheapest: +$21.6M in expected cost for 36.0k fewer units lost in the worst 5% of years, $601 per unit avoided. jic: +$8.4M for 10.0k fewer units lost in the worst 5% of years, $844 per unit. regionalized also lowers the tail cost (CVaR95 of total cost) by $20.0M. hybrid is dominated by jic (costlier and riskier than it).

| figure | jic | regionalized | hybrid |
| --- | ---: | ---: | ---: |
| extra expected cost | +$8.44M [+$6.26M, +$10.62M] | +$21.62M [+$12.75M, +$30.50M] | +$13.44M [+$12.57M, +$14.31M] |
| tail cost change | +$5.00M [+$5.00M, +$5.00M] | -$20.00M [-$20.68M, -$19.32M] | +$12.50M [+$12.50M, +$12.50M] |
| risk avoided [units] | +10.00k [+10.00k, +10.00k] | +36.00k [+36.00k, +36.00k] | +5.00k [+5.00k, +5.00k] |
| cost per unit avoided | $844 [$626, $1,062] | $601 [$354, $847] | $2,688 [$2,513, $2,862] |
| verdict | efficient | efficient | dominated (by jic) |
| rank | 2 | 1 | - |

Money in $. extra expected cost = mean total cost minus jit's; tail cost change = CVaR95 of total cost minus jit's; risk avoided = jit's lost units in the worst 5% of years (CVaR95) minus the strategy's (positive: safer); cost per unit avoided = extra expected cost per unit of risk avoided.

Intervals from paired influence functions (delta method for the ratio); a figure whose interval holds 0 is not distinguishable from zero and is never ranked; rank 1 = the cheapest risk reduction among strategies that are not dominated.

### golden: risk by strategy (95% confidence intervals in brackets)

| metric | statistic | jit | jic | regionalized | hybrid |
| --- | --- | ---: | ---: | ---: | ---: |
| fill_rate [%] | mean | 93.32% [92.08%, 94.56%] | 96.28% [95.22%, 97.33%] | 99.95% [99.89%, 100.00%] | 94.91% [93.72%, 96.09%] |
|  | P5 | 86.99% [n/a, 88.36%] | 90.41% [n/a, 91.78%] | 99.32% [n/a, 100.00%] | 88.70% [n/a, 90.07%] |
|  | P1 | 86.64% [n/a, 87.33%] | 90.07% [n/a, 90.75%] | 98.97% [n/a, 99.66%] | 88.36% [n/a, 89.04%] |
| lost_units [units] | mean | 19.50k [15.88k, 23.12k] | 10.88k [7.81k, 13.94k] | 0.15k [0, 0.33k] | 14.88k [11.42k, 18.33k] |
|  | P50 | 19.00k [13.00k, 26.00k] | 9.00k [3.00k, 16.00k] | 0 [0, 0] | 14.00k [8.00k, 21.00k] |
|  | P95 | 37.00k [34.00k, n/a] | 27.00k [24.00k, n/a] | 1.00k [0, n/a] | 32.00k [29.00k, n/a] |
|  | P99 | 39.00k [37.00k, n/a] | 29.00k [27.00k, n/a] | 3.00k [1.00k, n/a] | 34.00k [32.00k, n/a] |
|  | CVaR95 | 38.50k [36.33k, 40.67k] | 28.50k [26.33k, 30.67k] | 2.50k [0.33k, 4.67k] | 33.50k [31.33k, 35.67k] |
| total_cost [$] | mean | $3.151bn [$3.142bn, $3.160bn] | $3.159bn [$3.151bn, $3.167bn] | $3.172bn [$3.172bn, $3.173bn] | $3.164bn [$3.156bn, $3.173bn] |
|  | P50 | $3.150bn [$3.136bn, $3.168bn] | $3.155bn [$3.142bn, $3.173bn] | $3.172bn [$3.171bn, $3.173bn] | $3.162bn [$3.149bn, $3.180bn] |
|  | P95 | $3.193bn [$3.187bn, n/a] | $3.199bn [$3.192bn, n/a] | $3.174bn [$3.174bn, n/a] | $3.206bn [$3.200bn, n/a] |
|  | P99 | $3.200bn [$3.193bn, n/a] | $3.204bn [$3.199bn, n/a] | $3.179bn [$3.174bn, n/a] | $3.212bn [$3.206bn, n/a] |
|  | CVaR95 | $3.199bn [$3.191bn, $3.207bn] | $3.204bn [$3.196bn, $3.212bn] | $3.179bn [$3.172bn, $3.186bn] | $3.212bn [$3.204bn, $3.220bn] |
| stockout_days [days] | P95 | 365 [340, n/a] | 270 [240, n/a] | 10 [0, n/a] | 320 [290, n/a] |
|  | paths | 40 | 40 | 40 | 40 |

fill_rate mean = sum(filled)/sum(demand), delta-method CI; quantile CIs from order statistics; CVaR CIs from the influence function; P<q> = q-th percentile.

Intervals clipped to the possible range: fill rate within 0-100%; units, days and costs at or above 0.
"""

GOLDEN_COMPARE_TEXT = """\
Paired comparison of total_cost [$] against 'jit' (strategy minus baseline, 95% CIs)

statistic                                jic          regionalized                hybrid
-----------------------  -------------------  --------------------  --------------------
mean diff                            +$8.44M              +$21.62M              +$13.44M
                         [+$6.26M, +$10.62M]  [+$12.75M, +$30.50M]  [+$12.57M, +$14.31M]
  width paired/unpaired                 0.18                  0.97                  0.07
P(better)                              0.00%                27.50%                 0.00%
                              [0.00%, 8.76%]      [16.11%, 42.83%]        [0.00%, 8.76%]
P(worse)                             100.00%                70.00%               100.00%
                           [91.24%, 100.00%]      [54.57%, 81.93%]     [91.24%, 100.00%]
VaR95 diff (P95)                     +$5.00M              -$19.50M              +$12.50M
                          [+$5.00M, +$5.00M]  [-$23.97M, -$15.03M]  [+$12.50M, +$12.50M]
  width paired/unpaired                 0.00                  0.49                  0.00
CVaR95 diff                          +$5.00M              -$20.00M              +$12.50M
                          [+$5.00M, +$5.00M]  [-$20.68M, -$19.32M]  [+$12.50M, +$12.50M]
  width paired/unpaired                 0.00                  0.06                  0.00
paired paths                              40                    40                    40

P(better) counts paths where the strategy is strictly better; VaR/CVaR CIs: paired influence
functions.
"""

GOLDEN_CSV = """\
table,metric,statistic,strategy,estimate,lower,upper,units,se,baseline,verdict,dominated_by,rank,n,clipped
decision_summary,extra_cost,mean,jic,8437500.0,6255431.355727257,10619568.644272743,USD,1113320.7862412895,jit,,,,,
decision_summary,tail_cost_change,CVaR95,jic,5000000.0,5000000.0,5000000.0,USD,0.0,jit,,,,,
decision_summary,risk_avoided,cvar95_lost_units,jic,10000.0,10000.0,10000.0,units,0.0,jit,,,,,
decision_summary,cost_per_risk_avoided,cvar95_lost_units,jic,843.75,625.5431355727258,1061.9568644272742,USD/units,111.33207862412894,jit,,,,,
decision_summary,verdict,cvar95_lost_units,jit,,,,,,jit,baseline,,0,,
decision_summary,verdict,cvar95_lost_units,jic,,,,,,jit,efficient,,1,,
risk_table,fill_rate,mean,jit,0.9332191780821918,0.9208121848619926,0.945626171302391,1,0.006330214900918616,,,,,40,false
risk_table,fill_rate,mean,jic,0.9627568493150684,0.9522473221845332,0.9732663764456037,1,0.005362102167913824,,,,,40,false
risk_table,lost_units,mean,jit,19500.0,15877.157979701813,23122.842020298187,units,1848.422751068236,,,,,40,false
risk_table,lost_units,mean,jic,10875.0,7806.21807788371,13943.78192211629,units,1565.7338330308366,,,,,40,false
risk_table,total_cost,P95,jit,3193500000.0,3187000000.0,,USD,,,,,,40,false
risk_table,total_cost,P95,jic,3198500000.0,3192000000.0,,USD,,,,,,40,false
"""

GOLDEN_JSON = """\
{
  "decision_summary": {
    "baseline": "jit",
    "risk_measure": "cvar95_lost_units",
    "risk_label": "lost units in the worst 5% of years (CVaR95)",
    "confidence": 0.95,
    "paths": 40,
    "currency": "USD",
    "interval": "paired influence-function normal intervals (delta method for the ratio)",
    "figures": [
      {
        "table": "decision_summary",
        "metric": "extra_cost",
        "statistic": "mean",
        "strategy": "jic",
        "estimate": 8437500.0,
        "lower": 6255431.355727257,
        "upper": 10619568.644272743,
        "units": "USD",
        "se": 1113320.7862412895,
        "baseline": "jit"
      },
      {
        "table": "decision_summary",
        "metric": "tail_cost_change",
        "statistic": "CVaR95",
        "strategy": "jic",
        "estimate": 5000000.0,
        "lower": 5000000.0,
        "upper": 5000000.0,
        "units": "USD",
        "se": 0.0,
        "baseline": "jit"
      },
      {
        "table": "decision_summary",
        "metric": "risk_avoided",
        "statistic": "cvar95_lost_units",
        "strategy": "jic",
        "estimate": 10000.0,
        "lower": 10000.0,
        "upper": 10000.0,
        "units": "units",
        "se": 0.0,
        "baseline": "jit"
      },
      {
        "table": "decision_summary",
        "metric": "cost_per_risk_avoided",
        "statistic": "cvar95_lost_units",
        "strategy": "jic",
        "estimate": 843.75,
        "lower": 625.5431355727258,
        "upper": 1061.9568644272742,
        "units": "USD/units",
        "se": 111.33207862412894,
        "baseline": "jit"
      }
    ],
    "verdicts": [
      {
        "strategy": "jit",
        "verdict": "baseline",
        "dominated_by": "",
        "rank": 0
      },
      {
        "strategy": "jic",
        "verdict": "efficient",
        "dominated_by": "",
        "rank": 1
      }
    ],
    "paragraph": "Against jit, on the same 40 paths (95% intervals; risk measured as lost units in the worst 5% of years (CVaR95)): jic buys risk reduction cheapest: +$8.4M in expected cost for 10.0k fewer units lost in the worst 5% of years, $844 per unit avoided. No strategy lowers the tail cost (CVaR95 of total cost) below jit's."
  },
  "records": [
    {
      "table": "risk_table",
      "metric": "fill_rate",
      "statistic": "mean",
      "strategy": "jit",
      "estimate": 0.9332191780821918,
      "lower": 0.9208121848619926,
      "upper": 0.945626171302391,
      "units": "1",
      "se": 0.006330214900918616,
      "n": 40,
      "clipped": false
    },
    {
      "table": "risk_table",
      "metric": "fill_rate",
      "statistic": "mean",
      "strategy": "jic",
      "estimate": 0.9627568493150684,
      "lower": 0.9522473221845332,
      "upper": 0.9732663764456037,
      "units": "1",
      "se": 0.005362102167913824,
      "n": 40,
      "clipped": false
    },
    {
      "table": "risk_table",
      "metric": "lost_units",
      "statistic": "mean",
      "strategy": "jit",
      "estimate": 19500.0,
      "lower": 15877.157979701813,
      "upper": 23122.842020298187,
      "units": "units",
      "se": 1848.422751068236,
      "n": 40,
      "clipped": false
    },
    {
      "table": "risk_table",
      "metric": "lost_units",
      "statistic": "mean",
      "strategy": "jic",
      "estimate": 10875.0,
      "lower": 7806.21807788371,
      "upper": 13943.78192211629,
      "units": "units",
      "se": 1565.7338330308366,
      "n": 40,
      "clipped": false
    },
    {
      "table": "risk_table",
      "metric": "total_cost",
      "statistic": "P95",
      "strategy": "jit",
      "estimate": 3193500000.0,
      "lower": 3187000000.0,
      "upper": null,
      "units": "USD",
      "se": null,
      "n": 40,
      "clipped": false
    },
    {
      "table": "risk_table",
      "metric": "total_cost",
      "statistic": "P95",
      "strategy": "jic",
      "estimate": 3198500000.0,
      "lower": 3192000000.0,
      "upper": null,
      "units": "USD",
      "se": null,
      "n": 40,
      "clipped": false
    }
  ]
}
"""


# ----------------------------------------------------------------------------- helpers


def _same(got, want, where="") -> None:
    """Equal structures; numbers equal to 1e-9 relative (the last bits of a sum may differ
    between numpy builds), everything else exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for k in want:
            _same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    else:
        assert got == want, where


NUMERIC = {"estimate", "lower", "upper", "se", "n", "rank", "width_ratio"}


def _csv_rows(text: str) -> list[dict]:
    """Rows of a csv output; the numeric columns as floats (empty: "")."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{k: float(v) if k in NUMERIC and v else v for k, v in r.items()} for r in rows]


def _lines(text: str) -> list[str]:
    return text.splitlines()


# ----------------------------------------------------------------------------- goldens


def test_text_golden():
    assert run_output(golden_dataset(), "text") == GOLDEN_TEXT


def test_markdown_golden():
    assert run_output(golden_dataset(), "markdown") == GOLDEN_MARKDOWN


def test_compare_text_golden():
    assert compare_output(golden_dataset()) == GOLDEN_COMPARE_TEXT


def test_csv_golden():
    got = run_output(golden_dataset().isel(strategy=[0, 1]), "csv", columns=SMALL_COLUMNS)
    assert _lines(got)[0] == _lines(GOLDEN_CSV)[0]  # the header, in its order
    _same(_csv_rows(got), _csv_rows(GOLDEN_CSV))


def test_json_golden():
    got = run_output(golden_dataset().isel(strategy=[0, 1]), "json", columns=SMALL_COLUMNS)
    _same(json.loads(got), json.loads(GOLDEN_JSON))


def test_csv_and_json_hold_the_same_numbers_unformatted():
    ds = golden_dataset()
    rows = _csv_rows(run_output(ds, "csv"))
    doc = json.loads(run_output(ds, "json"))
    table = [r for r in rows if r["table"] == "risk_table"]
    assert len(table) == len(risk.DEFAULT_TABLE_COLUMNS) * len(STRATEGIES)
    assert len(doc["records"]) == len(table)
    for r, j in zip(table, doc["records"], strict=True):
        for k in ("metric", "statistic", "strategy", "units"):
            assert r[k] == j[k]
        for k in ("estimate", "lower", "upper"):
            assert (r[k] == "" and j[k] is None) or r[k] == pytest.approx(j[k], rel=1e-15)
    # raw values, not the table's text: the exact mean of JIT's lost units
    mean = next(j for j in doc["records"] if j["metric"] == "lost_units" and j["strategy"] == "jit")
    assert mean["estimate"] == LUCK.mean() == 19_500.0
    summary = doc["decision_summary"]
    assert set(summary) >= {"figures", "verdicts", "paragraph", "baseline", "risk_measure"}
    verdicts = {v["strategy"]: v for v in summary["verdicts"]}
    assert verdicts["regionalized"]["rank"] == 1 and verdicts["jic"]["rank"] == 2
    assert verdicts["hybrid"]["verdict"] == "dominated"
    assert verdicts["hybrid"]["dominated_by"] == "jic"
    assert summary["paragraph"].startswith("Against jit, on the same 40 paths")
    extra = next(
        f for f in summary["figures"] if f["metric"] == "extra_cost" and f["strategy"] == "jic"
    )
    assert extra["estimate"] == pytest.approx(30e6 - 2500.0 * (LUCK.mean() - 10_875.0))
    assert extra["units"] == "USD"


# ----------------------------------------------------------------------------- width


@pytest.mark.parametrize("kind", ["run", "compare"])
def test_four_strategies_fit_in_100_columns(monkeypatch, kind):
    monkeypatch.setenv("COLUMNS", "100")
    assert terminal_width() == 100
    for ds in (golden_dataset(), golden_dataset(currency=None), _large_dataset()):
        text = (
            run_output(ds, "text", width=None) if kind == "run" else compare_output(ds, width=None)
        )
        widest = max(len(line) for line in _lines(text))
        assert widest <= 100, f"{widest} columns:\n{text}"


def test_a_wide_terminal_puts_each_interval_beside_its_estimate():
    wide = run_output(golden_dataset(), "text", width=200)
    assert "93.32% [92.08%, 94.56%]" in wide
    narrow = run_output(golden_dataset(), "text", width=100)
    assert "93.32% [92.08%" not in narrow and "[92.08%, 94.56%]" in narrow


def _large_dataset() -> xr.Dataset:
    """Demo-sized magnitudes (lost units in the 10k-100k, costs in the billions)."""
    ds = golden_dataset(currency=None)
    ds["lost_units"] = ds["lost_units"] * 3.1 + 12_070.0
    ds["total_cost"] = ds["total_cost"] * 1.0007 + 1.23456e8
    return ds


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("exponent", range(-3, 16))
@pytest.mark.parametrize("kind", ["money", "units", "days", "number"])
def test_no_e_notation_at_any_magnitude(kind, exponent):
    for mantissa in (1.0, 1.207, 3.174, 9.9996):
        x = mantissa * 10.0**exponent
        fmt = number_format(kind, [x], symbol="$")
        for v in (x, -x, x / 7, 0.0):
            text = fmt(v)
            assert not E_NOTATION.search(text), text
            assert "k" not in text or text.count("k") == 1


def test_one_format_per_quantity():
    money = number_format("money", [3_185_123_456.0], symbol="$")
    assert money(3_185_123_456.0) == "$3.185bn"
    assert number_format("money", [31_850_000.0], symbol="$")(31_850_000.0) == "$31.85M"
    assert number_format("money", [12_070.0])(12_070.0) == "12.07k"  # not 1.207e+04k
    assert number_format("money", [3.174e9])(3.174e9) == "3.174bn"  # not 3.174e+09
    assert number_format("money", [999_999.7])(999_999.7) == "1.000M"
    assert number_format("money", [844.0], symbol="$")(844.0) == "$844"
    assert number_format("units", [9_736.0])(9_736.0) == "9,736"
    assert number_format("units", [12_290.0])(12_290.0) == "12.29k"
    assert number_format("units", [129_400.0])(129_400.0) == "129.4k"
    assert number_format("units", [0.37])(0.37) == "0.37"
    assert number_format("days", [85.4])(85.4) == "85"
    assert number_format("share", [])(0.978951) == "97.90%"
    assert number_format("share", [], signed=True)(0.0045) == "+0.45 pp"
    signed = number_format("money", [-16.66e6, 3.79e6], symbol="$", signed=True)
    assert (signed(-16.66e6), signed(3.79e6), signed(0.0)) == ("-$16.66M", "+$3.79M", "0")
    assert number_format("units", [])(float("nan")) == "n/a"


def test_money_cells_have_the_currency_or_the_header_says_currency():
    usd = run_output(golden_dataset(), "text")
    assert "total_cost [$]" in usd and "$3.151bn" in usd
    plain = run_output(golden_dataset(currency=None), "text")
    assert "total_cost [currency]" in plain and "3.151bn" in plain and "$" not in plain
    eur = run_output(golden_dataset(currency="EUR"), "text")
    assert "total_cost [EUR]" in eur and "$" not in eur
    for text in (usd, plain, eur, compare_output(_large_dataset())):
        money_lines = [line for line in _lines(text) if "bn" in line or "M" in line]
        assert money_lines and not any(E_NOTATION.search(line) for line in money_lines)


# ----------------------------------------------------------------------------- clipping


def test_intervals_are_clipped_to_the_possible_range():
    ds = golden_dataset()
    table = risk.risk_table(ds)
    raw = table.sel(strategy="regionalized")
    # the raw intervals leave the support: fill rate above 100%, lost units below 0
    assert float(raw["upper"].sel(column="fill_rate mean")) > 1.0
    assert float(raw["lower"].sel(column="lost_units mean")) < 0.0
    records = risk_table_records(table)
    for r in records:
        lo, hi = r["lower"], r["upper"]
        if r["metric"] == "fill_rate":
            assert all(v is None or 0.0 <= v <= 1.0 for v in (lo, hi))
        else:
            assert all(v is None or v >= 0.0 for v in (lo, hi)), r
    by = {(r["metric"], r["statistic"], r["strategy"]): r for r in records}
    fill = by[("fill_rate", "mean", "regionalized")]
    assert fill["upper"] == 1.0 and fill["clipped"] is True
    lost = by[("lost_units", "mean", "regionalized")]
    assert lost["lower"] == 0.0 and lost["clipped"] is True
    assert by[("lost_units", "mean", "jit")]["clipped"] is False
    text = run_output(ds, "text", width=200)
    assert "99.95% [99.89%, 100.00%]" in text and "0.15k [0, 0.33k]" in text
    assert CLIP_NOTE in " ".join(text.split())  # the rule, stated under the table
    assert CLIP_NOTE in run_output(ds, "markdown")
    assert not re.search(r"\[-|, -", text.split("risk by strategy")[1])  # no negative bound


# ----------------------------------------------------------------------------- backorders


def test_backorder_runs_show_backlog_and_late_units_not_zero_lost_units():
    ds = golden_dataset("backorder")
    assert table_columns(ds) == BACKORDER_TABLE_COLUMNS
    text = run_output(ds, "text", width=100)
    table = text.split("risk by strategy")[1]
    for heading in ("late_units [units]", "mean_backlog [units]", "backlog_units_end [units]"):
        assert heading in _lines(table)
    assert "lost_units [" not in table and "lost_units" not in table.split("\n\n")[1]
    assert "late_units = demand not served on its day" in " ".join(table.split())
    late = risk.risk_table(ds, columns=table_columns(ds)).sel(column="late_units mean")
    expect = (ds["demand_units"] - ds["filled_units"]).mean("path")
    np.testing.assert_allclose(late["estimate"], expect)
    records = _csv_rows(run_output(ds, "csv"))
    metrics = {r["metric"] for r in records if r["table"] == "risk_table"}
    assert {"late_units", "mean_backlog", "backlog_units_end"} <= metrics
    assert "lost_units" not in metrics


# ----------------------------------------------------------------------------- formats


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format must be one of"):
        risk.format_risk_table(risk.risk_table(golden_dataset()), fmt="xml")


def test_markdown_is_one_pipe_table_per_section():
    md = run_output(golden_dataset(), "markdown")
    sections = md.split("### ")[1:]
    assert len(sections) == 2  # the decision summary, the risk table
    for section in sections:
        table = [line for line in _lines(section) if line.startswith("|")]
        assert len({line.count("|") for line in table}) == 1  # every row has every cell
        assert set(table[1].strip("| ").split(" | ")) <= {"---", "---:"}
    header = next(line for line in _lines(md) if line.startswith("| metric"))
    assert header == "| metric | statistic | jit | jic | regionalized | hybrid |"


# ----------------------------------------------------------------------------- compare


def test_compare_defaults_to_influence_intervals_and_keeps_the_bootstrap():
    ds = golden_dataset()
    fast = risk.compare(ds, "jit", "lost_units")
    assert fast.attrs["tail_interval"] == "influence" and fast.attrs["n_boot"] == 0
    assert fast.attrs["currency"] == "USD"
    boot = risk.compare(ds, "jit", "lost_units", interval="bootstrap")
    assert boot.attrs["tail_interval"] == "bootstrap" and boot.attrs["n_boot"] == 200
    again = risk.compare(ds, "jit", "lost_units", n_boot=200, seed=0)
    xr.testing.assert_identical(boot, again)
    # estimates do not depend on the interval method
    xr.testing.assert_equal(fast["estimate"], boot["estimate"])
    # a deterministic shift (jic and hybrid lose a fixed amount less in the tail) has a
    # zero-width interval either way
    cv = fast.sel(statistic="cvar_diff", strategy="jic")
    assert float(cv.lower) == float(cv.upper) == float(cv.estimate) == -10_000.0
    with pytest.raises(ValueError, match="interval"):
        risk.compare(ds, "jit", interval="jackknife")
    lazy = risk.compare(ds.chunk({"path": 10}), "jit", "lost_units")  # stays lazy on dask
    assert lazy["estimate"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), fast)


def test_influence_intervals_agree_with_the_bootstrap_and_cover():
    """VaR/CVaR-difference SEs from influence functions against a 2,000-resample paired
    bootstrap, and their coverage over repeated samples with a known answer."""
    rng = np.random.default_rng(11)

    def sample(n):
        a = rng.gamma(2.0, 50.0, n)
        return a, 0.6 * a + rng.gamma(2.0, 10.0, n)

    def dataset(a, b):
        data = np.stack([a, b])
        return xr.Dataset(
            {"total_cost": (("strategy", "path"), data, {"units": "currency"})},
            coords={"strategy": ["jit", "s"]},
        )

    ds = dataset(*sample(5000))
    fast = risk.compare(ds, "jit").sel(strategy="s")
    boot = risk.compare(ds, "jit", n_boot=2000, seed=4).sel(strategy="s")
    for stat in ("var_diff", "cvar_diff"):
        se_if, se_boot = (float(c["se"].sel(statistic=stat)) for c in (fast, boot))
        assert se_if == pytest.approx(se_boot, rel=0.15), stat
    # coverage: truth from a very large sample of the same model
    a, b = sample(2_000_000)
    truth = {
        "var_diff": np.quantile(b, 0.95, method="inverted_cdf")
        - np.quantile(a, 0.95, method="inverted_cdf"),
        "cvar_diff": np.sort(b)[-100_000:].mean() - np.sort(a)[-100_000:].mean(),
    }
    reps, hits = 200, dict.fromkeys(truth, 0)
    for _ in range(reps):
        row = risk.compare(dataset(*sample(4000)), "jit").sel(strategy="s")
        for stat, t in truth.items():
            sel = row.sel(statistic=stat)
            hits[stat] += float(sel["lower"]) <= t <= float(sel["upper"])
    for stat, k in hits.items():
        assert 0.95 - 4 * math.sqrt(0.05 * 0.95 / reps) <= k / reps <= 1.0, (stat, k)


# ----------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def two_tier_result(tmp_path_factory, two_tier_path):
    out = tmp_path_factory.mktemp("tables") / "two-tier.zarr"
    resilience.run_to_file(str(two_tier_path), out, 300, 5)
    return out


def _cli(*args, env=None):
    result = CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _check_machine_readable(fmt: str, stdout: str, tables: set[str]) -> None:
    if fmt == "csv":
        rows = _csv_rows(stdout)
        assert rows and {r["table"] for r in rows} == tables
        assert all(isinstance(r["estimate"], float) or r["estimate"] == "" for r in rows)
    else:
        doc = json.loads(stdout)
        assert {r["table"] for r in doc["records"]} == tables - {"decision_summary"}
        assert doc["decision_summary"]["paragraph"]
        assert {"figures", "verdicts"} <= set(doc["decision_summary"])


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "json"])
def test_run_format(two_tier_path, fmt):
    args = ("run", two_tier_path, "--paths", 300, "--seed", 5, "--format", fmt, "-q")
    result = _cli(*args, env={"COLUMNS": "100"})
    out = result.stdout
    if fmt in ("csv", "json"):
        _check_machine_readable(fmt, out, {"decision_summary", "risk_table"})
        assert "300 paths x 3 strategies" in result.stderr  # the closing line, off stdout
    else:
        assert "risk by strategy" in out and "300 paths x 3 strategies" in out
        assert "lost_units [units]" in out and "total_cost [currency]" in out
        table = [line for line in _lines(out) if "node-days/s" not in line]  # not the footer
        assert not any(E_NOTATION.search(line) for line in table)
    if fmt == "text":
        assert max(len(line) for line in _lines(out)) <= 100
        assert "Decision summary: every strategy against jit" in out
    if fmt == "markdown":
        assert "| metric | statistic | jit | jic | regionalized |" in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "json"])
def test_compare_format(two_tier_result, fmt):
    result = _cli("compare", two_tier_result, "--format", fmt, env={"COLUMNS": "100"})
    out = result.stdout
    if fmt in ("csv", "json"):
        _check_machine_readable(fmt, out, {"decision_summary", "comparison"})
        records = _csv_rows(out) if fmt == "csv" else json.loads(out)["records"]
        metrics = {r["metric"] for r in records if r["table"] == "comparison"}
        assert metrics == {"total_cost", "lost_units", "fill_rate"}
    else:
        for metric in ("total_cost", "lost_units", "fill_rate"):
            assert f"Paired comparison of {metric}" in out
        assert "paired influence functions" in out
    if fmt == "text":
        assert max(len(line) for line in _lines(out)) <= 100
        assert "comparing" not in result.stderr  # no progress bar off a terminal


def test_compare_bootstrap_option(two_tier_result):
    out = _cli("compare", two_tier_result, "--metric", "lost_units", "--interval", "bootstrap")
    assert "paired bootstrap, 200 resamples, seed 0" in " ".join(out.stdout.split())
    out = _cli("compare", two_tier_result, "--metric", "lost_units", "--n-boot", 30, "--seed", 2)
    assert "paired bootstrap, 30 resamples, seed 2" in " ".join(out.stdout.split())


if __name__ == "__main__":  # print the goldens, to review and paste after a deliberate change
    for name, value in _goldens().items():
        print(f'{name} = """\\\n{value}"""\n')
