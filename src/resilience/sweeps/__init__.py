"""Sweeps: a grid of scenario variants run with the same seed into one dataset.

``spec`` reads a grid file or ``--grid`` options (``paths`` into the scenario); ``plan``
validates every point and finds the distinct networks (jobs); ``run`` simulates them
through the engine into a resumable part store (``parts``) and ``assemble`` builds the grid
dataset; ``summary`` holds the per-point risk figures.
"""

from resilience.sweeps.assemble import grid_dataset, merge_point_shards
from resilience.sweeps.plan import SweepPlan, plan_sweep
from resilience.sweeps.run import run_sweep
from resilience.sweeps.spec import SweepSpec, grid_shape_text, load_sweep, parse_grid_option
from resilience.sweeps.summary import SUMMARY_COLUMNS, is_sweep, summarize, sweep_spec, sweep_table

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
