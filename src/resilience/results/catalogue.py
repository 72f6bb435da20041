"""The variable catalogue: name, units and description of every output variable.

The kernel writes metrics into columns; this table gives each column its name and
metadata, in the kernel's column order (pinned by tests/test_metrics_table.py), and lists
the per-day variables with their dimensions (docs/results-format.md).
"""

from __future__ import annotations

# (name, units, long_name, description) in kernels.simulate column order
PATH_METRICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "demand_units",
        "units",
        "Units demanded",
        "Customer units demanded over the horizon, all DCs.",
    ),
    (
        "filled_units",
        "units",
        "Units filled on time",
        "Units served on the day they were demanded.",
    ),
    (
        "lost_units",
        "units",
        "Lost sales",
        "Demand not served on its day and lost (lost-sales mode; 0 under backorders).",
    ),
    (
        "backlog_units_end",
        "units",
        "Backlog at end",
        "Backlogged units still open at the end of the horizon (backorder mode).",
    ),
    (
        "stockout_days",
        "days",
        "Stockout days",
        "Days on which some customer demand went unmet on its day.",
    ),
    (
        "mean_on_hand",
        "units",
        "Mean on-hand",
        "On-hand over all stock points after serving demand, averaged over days.",
    ),
    (
        "mean_backlog",
        "units",
        "Mean backlog",
        "Backlog over all DCs after serving demand, averaged over days.",
    ),
    ("purchase_cost", "currency", "Purchase cost", "Unit cost x units shipped on each lane."),
    (
        "holding_cost",
        "currency",
        "Holding cost",
        "Holding rate x on-hand after serving, per unit-day.",
    ),
    ("lost_sales_cost", "currency", "Lost-sales cost", "Margin x lost units."),
    ("backlog_cost", "currency", "Backlog penalty", "Penalty x backlogged units, per unit-day."),
    (
        "qualification_cost",
        "currency",
        "Backup qualification cost",
        "Fixed cost per day of keeping each active lane qualified.",
    ),
    (
        "first_disruption_day",
        "day",
        "First disruption day",
        "First day any node was impaired (own outage or regional shock); NaN if none.",
    ),
    (
        "days_to_first_shortage",
        "days",
        "Time-to-survive",
        "First stockout day on or after the first disruption, minus the disruption day; NaN if no shortage followed.",
    ),
    (
        "service_recovery_days",
        "days",
        "Service recovery time",
        "From the first disruption to the first full-service day after the first shortage; NaN if no shortage or no recovery within the horizon.",
    ),
    (
        "on_hand_start",
        "units",
        "On-hand at start",
        "Total on-hand on day -1 (the order-up-to levels).",
    ),
    ("on_hand_end", "units", "On-hand at end", "Total on-hand after the last day."),
    (
        "in_transit_end",
        "units",
        "In transit at end",
        "Units shipped but not yet received after the last day.",
    ),
    ("units_shipped", "units", "Units shipped", "Units shipped on all lanes."),
    ("units_received", "units", "Units received", "Units received at stock points."),
    (
        "units_consumed",
        "units",
        "Units consumed",
        "Units leaving stock points: served to customers, shipped to other DCs, used by plants.",
    ),
    (
        "time_to_survive_days",
        "days",
        "Time-to-survive",
        "Days from the onset of the disruption that caused the first shortage (the latest start among the disruptions upstream of the short DC still active, or ended within its pipeline time) to that shortage; NaN if no shortage was traced to a disruption (censored: the path survived).",
    ),
    (
        "shortage_duration_days",
        "days",
        "Shortage duration",
        "Consecutive days with unmet demand from the first traced shortage on; counts to the end of the horizon when service does not recover (then shortage_start_day + this = horizon); NaN if no traced shortage.",
    ),
    (
        "shortage_start_day",
        "day",
        "First traced shortage day",
        "Day of the first shortage traced to a disruption (time_to_survive_days counts to it); NaN if none.",
    ),
    (
        "first_unmet_day",
        "day",
        "First day with unmet demand",
        "First day on or after the watch day (0; the outage start in resilience stress) with unmet demand, whatever its cause; NaN if none.",
    ),
    # issue-14 push
    (
        "units_produced",
        "units",
        "Units produced to plan",
        "Units push plants made into their finished-goods stock (0 when every plant makes to order, whose units count as shipped).",
    ),
    # issue-14 policy
    (
        "orders_placed",
        "orders",
        "Orders placed",
        "Replenishment orders placed, all stock points: days a stock point ordered and something shipped on the order.",
    ),
    (
        "order_cost",
        "currency",
        "Ordering cost",
        "Fixed cost per order placed x orders placed, per stock point.",
    ),
    # issue-14 quality: expediting, defects and jidoka (0 when the scenario has none)
    (
        "expedite_cost",
        "currency",
        "Expedite cost",
        "Unit premium x units ordered from the emergency sources (their whole cost: not in purchase_cost).",
    ),
    (
        "scrap_cost",
        "currency",
        "Scrap cost",
        "Scrap cost per unit x defective units found at receipt.",
    ),
    (
        "expedited_units",
        "units",
        "Expedited units",
        "Units ordered from the emergency sources (counted in units_shipped and, once arrived, units_received).",
    ),
    (
        "defective_units",
        "units",
        "Defective units",
        "Defective units found at receipt and scrapped (counted in units_received and units_consumed; they never enter stock).",
    ),
    (
        "line_stop_days",
        "days",
        "Line-stop days",
        "Plant-days with the line stopped by jidoka (a stopped plant ships nothing), summed over plants.",
    ),
)

NODE_METRICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "node_mean_on_hand",
        "units",
        "Mean on-hand at node",
        "Mean on-hand of the node's stock points after serving (0 for suppliers).",
    ),
    (
        "node_impaired_days",
        "days",
        "Impaired days",
        "Days the node was DOWN or limited by a regional shock (a realisation of the inputs; identical across strategies).",
    ),
    (
        "node_demand_units",
        "units",
        "Units demanded at DC",
        "Customer units demanded at this DC (0 for other nodes).",
    ),
    ("node_filled_units", "units", "Units filled at DC", "Units served on their day at this DC."),
    ("node_lost_units", "units", "Lost sales at DC", "Units lost at this DC (lost-sales mode)."),
    ("node_stockout_days", "days", "Stockout days at DC", "Days with unmet demand at this DC."),
)

DERIVED_METRICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "fill_rate",
        "1",
        "Fill rate",
        "filled_units / demand_units per path (1 when there is no demand); the run-level figure is the ratio of sums.",
    ),
    (
        "total_cost",
        "currency",
        "Total cost",
        "purchase + holding + lost sales + backlog + qualification + ordering + expedite + scrap cost.",
    ),
)

COST_PARTS = (
    "purchase_cost",
    "holding_cost",
    "lost_sales_cost",
    "backlog_cost",
    "qualification_cost",
    "order_cost",  # issue-14 policy
    # issue-14 quality
    "expedite_cost",
    "scrap_cost",
)


def attrs(entry: tuple[str, str, str, str]) -> dict[str, str]:
    _, units, long_name, description = entry
    return {"units": units, "long_name": long_name, "description": description}


# per-day variables: their dims after the leading (..., "strategy")
DAILY_DIMS = {
    "daily_fill_rate_fixed_sum": ("day",),
    "daily_on_hand_fixed_sum": ("day",),
    "daily_fill_rate_hist": ("day", "fill_bin"),
    "daily_on_hand_hist": ("day", "on_hand_bin"),
    "daily_fill_rate_mean": ("day",),
    "daily_on_hand_mean": ("day",),
    "daily_fill_rate_band": ("day", "band_quantile"),
    "daily_on_hand_band": ("day", "band_quantile"),
    "on_hand_bin_edges": ("on_hand_edge",),
}

DAILY_ATTRS = {
    "daily_fill_rate_hist": (
        "count",
        "Paths per daily fill-rate bin",
        "Number of paths whose network fill rate of the day falls in each bin.",
    ),
    "daily_on_hand_hist": (
        "count",
        "Paths per daily on-hand bin",
        "Number of paths whose total on-hand after serving falls in each bin.",
    ),
    "daily_fill_rate_fixed_sum": (
        "2**-32",
        "Daily fill-rate sum (fixed point)",
        "Sum over paths of the daily fill rate x 2**32, rounded: an exact integer, so shards merge bit-identically.",
    ),
    "daily_on_hand_fixed_sum": (
        "units x 2**-8",
        "Daily on-hand sum (fixed point)",
        "Sum over paths of total on-hand x 2**8, rounded: an exact integer, so shards merge bit-identically.",
    ),
    "daily_fill_rate_mean": (
        "1",
        "Mean daily fill rate",
        "Mean over paths of the network fill rate of the day.",
    ),
    "daily_on_hand_mean": (
        "units",
        "Mean daily on-hand",
        "Mean over paths of total on-hand after serving.",
    ),
    "daily_fill_rate_band": (
        "1",
        "Daily fill-rate quantiles",
        "P5/P50/P95 over paths of the network fill rate of the day (from the histogram, within one bin).",
    ),
    "daily_on_hand_band": (
        "units",
        "Daily on-hand quantiles",
        "P5/P50/P95 over paths of total on-hand after serving (from the histogram, within one bin).",
    ),
    "on_hand_bin_edges": (
        "units",
        "On-hand bin edges",
        "Edges of the on-hand histogram bins for each strategy.",
    ),
}

# Per-node summaries (node detail "summary"): for each NODE_METRICS name, variables of
# these suffixes and dims after (..., "strategy", "node"), and the attributes built
# from the metric's own (units, long name) by node_summary_attrs.
NODE_SUMMARY_DIMS = {
    "hist": ("node_bin",),
    "fixed_sum": (),
    "hist_max": (),
    "mean": (),
    "quantile": ("node_quantile",),
}
#: the integer summaries that merge adds (the rest is computed from them)
NODE_SUMMARY_ADDED = ("hist", "fixed_sum")
NODE_SHORTAGE_DIMS = {"node_shortage_paths": (), "node_shortage_probability": ()}
NODE_SHORTAGE_ATTRS = {
    "node_shortage_paths": (
        "count",
        "Paths with a stockout at the node",
        "Number of paths with at least one day of unmet demand at this node (DCs; 0 for other nodes).",
    ),
    "node_shortage_probability": (
        "1",
        "Probability of a stockout at the node",
        "node_shortage_paths / paths: the share of paths with at least one day of unmet demand at this node.",
    ),
}


def node_summary_attrs(entry: tuple[str, str, str, str], suffix: str) -> dict[str, str]:
    """The attributes of the per-node summary ``{entry name}_{suffix}``."""
    name, units, long_name, _ = entry
    texts = {
        "hist": (
            "count",
            f"{long_name}: paths per bin",
            f"Paths whose {name} falls in each bin; bin k holds [hi (k/B)**2, hi ((k+1)/B)**2) "
            f"with hi = {name}_hist_max and B bins (the last bin includes hi).",
        ),
        "fixed_sum": (
            f"{units} x 2**-8",
            f"{long_name}: sum (fixed point)",
            f"Sum over paths of {name} x 2**8, rounded: an exact integer, so blocks and shards "
            "merge bit-identically.",
        ),
        "hist_max": (
            units,
            f"{long_name}: top of the histogram",
            f"The most {name} can be on a path (a bound from the scenario): the top edge of "
            f"{name}_hist.",
        ),
        "mean": (
            units,
            f"{long_name}: mean over paths",
            f"{name}_fixed_sum / 2**8 / paths: the mean over paths, within 2**-9 {units}.",
        ),
        "quantile": (
            units,
            f"{long_name}: quantiles over paths",
            f"Quantiles over paths of {name} read from {name}_hist (linear within a bin: "
            "within one bin width of the quantile of the per-path values).",
        ),
    }
    u, ln, d = texts[suffix]
    return {"units": u, "long_name": ln, "description": d}
