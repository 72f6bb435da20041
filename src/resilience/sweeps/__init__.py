"""Sweeps: a grid of scenario variants run with the same seed into one dataset.

``spec`` reads a grid file or ``--grid`` options (paths into the scenario); ``run`` plans
the distinct networks, simulates them through the engine into a resumable part store, and
assembles the grid dataset.
"""

from resilience.sweeps.run import (
    SUMMARY_COLUMNS,
    SweepPlan,
    grid_dataset,
    is_sweep,
    merge_point_shards,
    plan_sweep,
    run_sweep,
    summarize,
    sweep_spec,
    sweep_table,
)
from resilience.sweeps.spec import SweepSpec, grid_shape_text, load_sweep, parse_grid_option

__all__ = [
    "SUMMARY_COLUMNS",
    "SweepPlan",
    "SweepSpec",
    "grid_dataset",
    "grid_shape_text",
    "is_sweep",
    "load_sweep",
    "merge_point_shards",
    "parse_grid_option",
    "plan_sweep",
    "run_sweep",
    "summarize",
    "sweep_spec",
    "sweep_table",
]
