"""Scenario: YAML -> a validated, typed ``Scenario`` (every error placed in the file).

``model`` holds the typed objects and ``schema`` loads a file or dict: ``read`` (with
``read_entries``) reads it into the ``drafts`` record, ``check`` judges the network as a
whole, ``values`` holds the value specs and message helpers both passes use. ``queries``
answers questions about a validated scenario (stock points, candidate lanes, the sourcing
and stock policy in force, processing order) for the compiler and the checks alike.
"""

from resilience.scenario.model import (
    Demand,
    DemandSurge,
    Lane,
    LaneShock,
    Node,
    Outage,
    OutageDuration,
    Region,
    RegionShock,
    Scenario,
    Shock,
    Sourcing,
    StockPolicy,
    Strategy,
)
from resilience.scenario.schema import load_scenario

__all__ = [
    "Demand",
    "DemandSurge",
    "Lane",
    "LaneShock",
    "Node",
    "Outage",
    "OutageDuration",
    "Region",
    "RegionShock",
    "Scenario",
    "Shock",
    "Sourcing",
    "StockPolicy",
    "Strategy",
    "load_scenario",
]
