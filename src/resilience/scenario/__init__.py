"""Scenario: YAML -> a validated, typed ``Scenario`` (every error placed in the file).

``model`` holds the typed objects, ``schema`` reads and checks a file or dict.
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
