"""Hostile scenario input: every answer is a placed ScenarioError or a scenario that runs.

Values too large for a float, products that overflow only once compiled, nesting a
thousand deep, control characters, impossible dates, devices and huge files as
scenarios, Poisson means that would tabulate gigabytes, path counts whose exact integer
daily sums would wrap, and networks large enough to expose quadratic checks. Each test
failed (a traceback, a MemoryError, a silent wrap or minutes of validation) before the
fix it pins.
"""

from __future__ import annotations

import copy
import math
import os
import time

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from resilience.cli import main
from resilience.compiler import ON_HAND_FIXED_POINT, compile_strategy, on_hand_bound
from resilience.engine.plan import MAX_PATHS, max_paths_for, prepare
from resilience.errors import ExecutionError, ScenarioError
from resilience.scenario.bounds import max_poisson_mean
from resilience.scenario.queries import poisson_table_top
from resilience.scenario.schema import MAX_SCENARIO_BYTES, load_scenario
from resilience.scenario.values import (
    MAX_COST,
    MAX_ON_HAND_UNITS,
    MAX_POISSON_TABLE,
)

# one supplier, one plant (2 parts per unit), one dc: every derived quantity has a source
SMALL = {
    "name": "small",
    "horizon_days": 30,
    "regions": {"r": {}},
    "nodes": {
        "fab": {"kind": "supplier", "region": "r", "item": "part"},
        "plant": {"kind": "plant", "region": "r", "item": "car", "bom": {"part": 2}},
        "dc": {
            "kind": "dc",
            "region": "r",
            "demand": {"distribution": "poisson", "mean_per_day": 5},
        },
    },
    "lanes": [
        {"from": "fab", "to": "plant", "lead_time_days": 3},
        {"from": "plant", "to": "dc", "lead_time_days": 1},
    ],
    "demand_surges": {
        "boom": {"dcs": ["dc"], "mean_days_between": 50, "mean_duration_days": 5, "multiplier": 2}
    },
}


def small(**changes) -> dict:
    doc = copy.deepcopy(SMALL)
    for path, value in changes.items():
        *head, last = path.split("__")
        target = doc
        for step in head:
            target = target[int(step)] if isinstance(target, list) else target[step]
        target[last] = value
    return doc


def errors_of(source) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source)
    return info.value.errors


def runs(scenario) -> None:
    """What `run` does with a scenario before simulating: every strategy compiles, and 64
    paths fit its exact daily sums."""
    prepare(scenario, 64, 0, block_size=64)


# ----------------------------------------------------------------------------- 1. values


@pytest.mark.parametrize(
    "path, message",
    [
        ("lanes__0__unit_cost", "lanes[0].unit_cost: must be a number >= 0, got an integer of about 401 digits"),
        ("lanes__0__capacity_per_day", "lanes[0].capacity_per_day: must be a number >= 0, got an integer of about 401 digits"),
        ("horizon_days", "horizon_days: must be at most 36500 (sanity limit), got an integer of about 401 digits"),
        ("nodes__dc__demand__mean_per_day", "nodes.dc.demand.mean_per_day: must be a number >= 0, got an integer of about 401 digits"),
        ("demand_surges__boom__mean_days_between", "demand_surges.boom.mean_days_between: must be a number >= 1, got an integer of about 401 digits"),
    ],
)  # fmt: skip
def test_integers_beyond_a_float_are_placed_errors(path, message):
    """Was: OverflowError (int too large to convert to float) at float(value)."""
    assert errors_of(small(**{path: 10**400})) == [message]


def test_integers_beyond_a_float_in_a_file(tmp_path):
    path = tmp_path / "big.yaml"
    doc = small(lanes__0__unit_cost=10**400)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert errors_of(path) == [
        "lanes[0].unit_cost: must be a number >= 0, got an integer of about 401 digits"
    ]


@pytest.mark.parametrize(
    "changes, place",
    [
        ({"buffer_days": 1e308}, "buffer_days"),
        ({"nodes__plant__bom": {"part": 1e308}}, "nodes.plant.bom.part"),
        (
            {"nodes__dc__demand": {"distribution": "deterministic", "mean_per_day": 1e308}},
            "nodes.dc.demand.mean_per_day",
        ),
        ({"demand_surges__boom__multiplier": 1e308}, "demand_surges.boom.multiplier"),
        ({"stock": [{"at": "dc", "order_up_to": 1e308}]}, "stock[0].order_up_to"),
        ({"stock": [{"at": "plant", "buffer_days": 1e300}]}, "stock[0].buffer_days"),
        ({"lanes__0__unit_cost": 1e308}, "lanes[0].unit_cost"),
        ({"nodes__dc__lost_sale_margin": 1e300}, "nodes.dc.lost_sale_margin"),
    ],
)
def test_products_that_overflow_once_compiled_are_refused_by_validation(changes, place):
    """Was: `validate` said OK and `run` died in math.ceil (OverflowError: cannot convert
    float infinity to integer), or total_cost came out inf."""
    errors = errors_of(small(**changes))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{place}: "), errors


def test_bound_messages_say_the_limit_and_what_to_do():
    (deterministic,) = errors_of(
        small(nodes__dc__demand={"distribution": "deterministic", "mean_per_day": 2e12})
    )
    assert deterministic == (
        "nodes.dc.demand.mean_per_day: demand mean 2e+12 of dc is 2e+12 units a day; the "
        "limit is 1e+12, count in larger units (kg instead of g, pallets instead of units)"
    )
    (cost,) = errors_of(small(lanes__0__unit_cost=1e16))
    assert cost == (
        "lanes[0].unit_cost: must be at most 1e+15 (larger costs can make total_cost "
        "overflow), got 1e+16"
    )
    (level,) = errors_of(small(buffer_days=1e308))
    assert level.startswith("buffer_days: gives plant/part an order-up-to level of inf units")


def test_values_at_the_bounds_validate_and_run():
    """The other half of the contract: what validates compiles and fits 64 paths."""
    scenario = load_scenario(
        small(
            nodes__dc__demand={"distribution": "deterministic", "mean_per_day": 1e11},
            lanes__0__unit_cost=MAX_COST,
            demand_surges__boom__multiplier=10,
        )
    )
    runs(scenario)


def test_deep_nesting_is_a_placed_error(tmp_path):
    """Was: RecursionError (the pure parser composes nested nodes recursively)."""
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\ndescription: " + "[" * 1000 + "]" * 1000 + "\n")
    (line,) = errors_of(path)
    assert line.startswith(f"{path}:2:"), line
    assert "nested too deeply" in line


def test_deep_nesting_in_a_mapping_source():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    errors = errors_of(small(description=deep))
    assert errors == ["description: must be a string, got a list"]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\ufffe"])
@pytest.mark.parametrize("where", ["key", "value", "comment"])
def test_control_characters_anywhere_are_placed_errors(tmp_path, char, where):
    """Was: yaml.ReaderError raised outside the try (a traceback)."""
    text = {
        "key": f"name: x\nhori{char}zon_days: 3\n",
        "value": f"name: x{char}y\nhorizon_days: 3\n",
        "comment": f"name: x\nhorizon_days: 3  # a {char} here\n",
    }[where]
    path = tmp_path / "ctl.yaml"
    path.write_text(text, encoding="utf-8")
    (line,) = errors_of(path)
    column = text.splitlines()[1 if where != "value" else 0].index(char) + 1
    row = 1 if where == "value" else 2
    assert line.startswith(f"{path}:{row}:{column}: YAML syntax error: unacceptable character")


@pytest.mark.parametrize("text", ["a: 2024-13-45", "name: 2024-02-30", "x: 2024-01-01 25:61:00"])
def test_impossible_dates_are_placed_errors(tmp_path, text):
    """Was: a raw ValueError from YAML's timestamp constructor (month must be in 1..12)."""
    path = tmp_path / "date.yaml"
    path.write_text(text + "\n")
    (line,) = errors_of(path)
    assert line.startswith(f"{path}:1:"), line
    assert "reads as a date or time but is not a valid one" in line


def test_integer_literals_too_long_to_read(tmp_path):
    """Was: a raw ValueError (Python refuses int() of more than 4300 digits)."""
    path = tmp_path / "long.yaml"
    path.write_text("name: x\nhorizon_days: " + "1" * 5000 + "\n")
    (line,) = errors_of(path)
    assert line.startswith(f"{path}:2:15: integer of 5000 characters")


# ----------------------------------------------------------------------------- 2. allocations


def test_poisson_mean_too_large_to_tabulate_is_refused():
    """Was: compile built a 1e7-entry table (with its guide, ~720 MB; 1e12: 7 TiB) and
    died with MemoryError, or took minutes."""
    (line,) = errors_of(small(nodes__dc__demand={"distribution": "poisson", "mean_per_day": 1e7}))
    assert line.startswith(
        "nodes.dc.demand.mean_per_day: demand mean 1e+07 of dc needs a Poisson table"
    )
    assert "the limit is 1e+06" in line
    assert "use distribution: deterministic or a smaller unit" in line
    (line,) = errors_of(
        small(
            nodes__dc__demand={"distribution": "poisson", "mean_per_day": 4e5},
            demand_surges__boom__multiplier=3,
        )
    )
    assert line.startswith(
        "demand_surges.boom.multiplier: demand mean 400000 of dc x surge boom 3 needs a Poisson table"
    )


def test_largest_poisson_mean_allowed_compiles_within_the_limit():
    mean = math.floor(max_poisson_mean())
    assert poisson_table_top(mean) + 1 <= MAX_POISSON_TABLE < poisson_table_top(mean + 100) + 1
    scenario = load_scenario(
        small(
            nodes__dc__demand={"distribution": "poisson", "mean_per_day": mean},
            demand_surges__boom__multiplier=1,
        )
    )
    network = compile_strategy(scenario, "base").network
    assert np.diff(network.table_cdf_ptr).max() <= MAX_POISSON_TABLE


def test_paths_beyond_the_fill_sums_are_refused_up_front():
    """Was: 10**12 paths planned 2.4e8 blocks (and the int64 fill sums would wrap)."""
    started = time.process_time()
    with pytest.raises(ExecutionError, match=r"at most 2147483647 paths a run, got 1000000000000"):
        prepare(small(), 10**12, 0)
    assert time.process_time() - started < 5
    assert MAX_PATHS * 2**32 < 2**63 <= (MAX_PATHS + 1) * 2**32


def test_cli_refuses_a_trillion_paths(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small(), sort_keys=False))
    result = CliRunner().invoke(main, ["run", str(path), "--paths", str(10**12), "-q"])
    assert result.exit_code == 1, result.output
    assert "at most 2147483647 paths a run" in result.output


def test_devices_and_pipes_are_refused_without_reading(tmp_path):
    """Was: /dev/zero read until memory ran out; a pipe blocked forever."""
    assert errors_of("/dev/zero") == [
        "is not a regular file (a device, pipe or socket), expected a scenario file"
    ]
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert errors_of(fifo) == [
        "is not a regular file (a device, pipe or socket), expected a scenario file"
    ]
    result = CliRunner().invoke(main, ["run", "/dev/zero", "--paths", "64", "-q"])
    assert result.exit_code == 1
    assert "/dev/zero: is not a regular file" in result.output


def test_huge_files_are_refused_without_reading(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: nothing is written
    started = time.process_time()
    assert errors_of(path) == [
        f"is {MAX_SCENARIO_BYTES + 1} bytes, the limit for a scenario file is "
        f"{MAX_SCENARIO_BYTES} (64 MiB)"
    ]
    assert time.process_time() - started < 1


# ----------------------------------------------------------------------------- 3. daily sums


def grain(**changes) -> dict:
    """Grain counted in grams: 1e11 g a day, 30 days of cover (correct at 8,000 paths,
    -2.9e12 at 12,000 before the limit)."""
    doc = {
        "name": "grain in grams",
        "horizon_days": 30,
        "buffer_days": 30,
        "regions": {"r": {}},
        "nodes": {
            "farm": {"kind": "supplier", "region": "r", "item": "grain"},
            "silo": {
                "kind": "dc",
                "region": "r",
                "demand": {"distribution": "deterministic", "mean_per_day": 1e11},
            },
        },
        "lanes": [{"from": "farm", "to": "silo", "lead_time_days": 2}],
    }
    doc.update(changes)
    return doc


def test_runs_whose_on_hand_sums_could_wrap_are_refused():
    """Was: at 12,000 paths the int64 sum of round(on hand x 256) wrapped and the daily
    on-hand mean came out -2.9e12, silently."""
    scenario = load_scenario(grain())
    network = compile_strategy(scenario, "base").network
    limit = max_paths_for(network)
    assert 8000 < limit < 12000
    assert limit * on_hand_bound(network) * ON_HAND_FIXED_POINT < 2**63
    with pytest.raises(ExecutionError) as info:
        prepare(scenario, 12000, 0)
    message = str(info.value)
    assert message.startswith(
        f"at most {limit} paths for this scenario, got 12000: on hand can reach 3.2e+12 units"
    )
    assert "count in larger units (kg instead of g)" in message
    prepare(scenario, 8000, 0)


def test_the_limit_is_on_a_run_s_total_paths_shards_included():
    """`merge` adds the shards' int64 sums, so a shard is judged by the whole run."""
    scenario = load_scenario(grain())
    prepare(scenario, 6000, 0, path_start=0)
    with pytest.raises(ExecutionError, match="got 12000"):
        prepare(scenario, 6000, 0, path_start=0, total_paths=12000)
    with pytest.raises(ExecutionError, match="got 12000"):
        prepare(scenario, 6000, 0, path_start=6000)  # the last shard knows the end


def test_on_hand_bound_counts_the_backlog_an_impaired_dc_is_restocked_for():
    """Backorder mode: a dc that serves less than asked keeps ordering its backlog, so on
    hand passes the sum of the levels (here by far), and the bound must say so."""
    from resilience.api import simulate

    doc = grain(
        demand_mode="backorder",
        buffer_days=0,
        nodes={
            "farm": {"kind": "supplier", "region": "r", "item": "grain"},
            "silo": {
                "kind": "dc",
                "region": "r",
                "capacity_per_day": 5,
                "demand": {"distribution": "deterministic", "mean_per_day": 10},
            },
        },
    )
    scenario = load_scenario(doc)
    network = compile_strategy(scenario, "base").network
    ds = simulate(scenario, 32, 0, progress=False)
    reached = float(ds["mean_on_hand"].max())
    assert reached > network.on_hand_max
    assert on_hand_bound(network) >= reached
    lost_sales = compile_strategy(load_scenario({**doc, "demand_mode": "lost_sales"}), "base")
    assert on_hand_bound(lost_sales.network) == lost_sales.network.on_hand_max


def test_on_hand_limit_keeps_a_thousand_paths():
    """What validates can always run 1,000 paths (the plan's limit at the scenario bound)."""
    assert (2**63 - 1) // (MAX_ON_HAND_UNITS * ON_HAND_FIXED_POINT * (1 + 1e-6) + 1) >= 1000
    (line,) = errors_of(grain(buffer_days=400))  # 1e11 x 402 days = 4e13 > 3.5e13
    assert line.startswith("buffer_days: gives silo/grain an order-up-to level of 4.02e+13 units")


# ----------------------------------------------------------------------------- 4. large networks


def _many_lanes_into_one_dc(n: int) -> dict:
    nodes = {f"s{i}": {"kind": "supplier", "region": f"r{i % 100}", "item": "x"} for i in range(n)}
    nodes["dc"] = {
        "kind": "dc",
        "region": "r0",
        "demand": {"distribution": "poisson", "mean_per_day": 5},
    }
    shares = {f"s{i}": 0.0 for i in range(n)}
    shares["s0"] = 1.0
    return {
        "name": "one dc, many suppliers",
        "horizon_days": 30,
        "regions": {f"r{i}": {} for i in range(100)},
        "nodes": nodes,
        "lanes": [{"from": f"s{i}", "to": "dc", "lead_time_days": 1 + i % 7} for i in range(n)],
        "sourcing": [{"at": "dc", "item": "x", "mode": "failover", "shares": shares}],
        "lane_shocks": {"strike": {"lanes": [f"s{i}->dc" for i in range(n)], "start_probability": 0.01, "end_probability": 0.5, "extra_lead_time_days": 2}},
    }  # fmt: skip


def _many_components_into_one_plant(n: int) -> dict:
    nodes = {f"s{i}": {"kind": "supplier", "region": "r", "item": f"c{i}"} for i in range(n)}
    nodes["plant"] = {
        "kind": "plant",
        "region": "r",
        "item": "car",
        "bom": {f"c{i}": 1 for i in range(n)},
    }
    nodes["dc"] = {
        "kind": "dc",
        "region": "r",
        "demand": {"distribution": "poisson", "mean_per_day": 5},
    }
    return {
        "name": "one plant, many parts",
        "horizon_days": 30,
        "regions": {"r": {}},
        "nodes": nodes,
        "lanes": [{"from": f"s{i}", "to": "plant", "lead_time_days": 2} for i in range(n)]
        + [{"from": "plant", "to": "dc", "lead_time_days": 1}],
        "sourcing": [{"at": "plant", "item": f"c{i}", "mode": "split", "shares": {f"s{i}": 1.0}} for i in range(n)],
        "stock": [{"at": "plant", "item": f"c{i}", "buffer_days": 1} for i in range(n)],
    }  # fmt: skip


@pytest.mark.timeout(60)
def test_eight_thousand_lanes_into_one_dc_validate(tmp_path):
    """Membership tests in tuples and lists (node names, regions, a lane shock's lanes)
    and the processing order were quadratic in nodes: 8 s here, now 2-3."""
    path = tmp_path / "lanes.yaml"
    path.write_text(yaml.safe_dump(_many_lanes_into_one_dc(8000), sort_keys=False))
    scenario = load_scenario(path)
    assert len(scenario.lanes) == 8000
    assert compile_strategy(scenario, "base").network.src_lane.tolist() == [0]


@pytest.mark.timeout(60)
def test_twelve_thousand_lanes_into_one_plant_validate_and_compile(tmp_path):
    """Lanes into one plant, one per component (each its own stock point): was 42 s to
    validate and 17 s to compile at 8,000 (candidate lanes and stock policies looked up by
    scanning every lane and entry once per stock point; the processing order by scanning
    every node once per node placed), over two minutes at 12,000; now a few seconds."""
    path = tmp_path / "parts.yaml"
    path.write_text(yaml.safe_dump(_many_components_into_one_plant(12000), sort_keys=False))
    run = prepare(str(path), 64, 0)
    assert len(run.scenario.lanes) == 12001
    assert len(run.compiled[0].positions) == 12001


@pytest.mark.timeout(60)
def test_a_long_chain_of_dcs_declared_downstream_first_infers_every_item():
    """dcs without an item, each fed by the next, the last by the supplier, declared from
    the customer end: each pass over the pending dcs resolved one, so 12,000 took 75 s;
    now a worklist, a few seconds."""
    n = 12000
    nodes = {f"d{i}": {"kind": "dc", "region": "r"} for i in range(n)}
    nodes["d0"]["demand"] = {"distribution": "deterministic", "mean_per_day": 1}
    nodes["s"] = {"kind": "supplier", "region": "r", "item": "x"}
    lanes = [{"from": "s", "to": f"d{n - 1}", "lead_time_days": 0}]
    lanes += [{"from": f"d{i + 1}", "to": f"d{i}", "lead_time_days": 0} for i in range(n - 1)]
    doc = {"name": "chain", "horizon_days": 5, "regions": {"r": {}}, "nodes": nodes, "lanes": lanes}
    scenario = load_scenario(doc)
    assert {n.item for n in scenario.nodes} == {"x"}


def test_pipeline_too_large_for_the_kernel_is_refused():
    """Lead times and lane shocks make the kernel's ring of pipeline days x stock points
    x 64 paths per thread: 73,001 days x 101 stock points would be 3.8 GB a thread."""
    doc = _many_components_into_one_plant(100)
    for lane in doc["lanes"][:-1]:
        lane["lead_time_days"] = 36500
    doc["stock"] = [{"at": "plant", "order_up_to": 10}]
    doc["lane_shocks"] = {
        "canal": {
            "lanes": [f"s{i}->plant" for i in range(100)],
            "start_probability": 0.001,
            "end_probability": 0.5,
            "extra_lead_time_days": 36500,
        }
    }
    assert errors_of(doc) == [
        "lanes[0]: its 73000 days in transit (lane shocks included) make the simulation's "
        "pipeline 73001 days x 101 stock points = 7373101 slots; the limit is 2097152 "
        "(1 GiB a thread): shorten the lead time or the lane shocks' extra days, or split "
        "the network"
    ]


def test_a_csv_table_cell_over_the_csv_limit_is_a_placed_error(tmp_path):
    """Was: a raw _csv.Error (field larger than field limit) from a node table."""
    (tmp_path / "nodes.csv").write_text(
        "name,kind,region,item\nfab,supplier,r," + "x" * 200_000 + "\ndc,dc,r,x\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nhorizon_days: 3\nregions: {r: {}}\nnodes: {csv: nodes.csv}\n"
        "lanes: [{from: fab, to: dc, lead_time_days: 1}]\n"
    )
    assert errors_of(path) == [
        "nodes.csv row 2: cannot read the table (field larger than field limit (131072))"
    ]
