"""resilience: Monte Carlo disruption risk for supply networks (JIT vs JIC vs regionalized)."""

from resilience._version import __version__
from resilience.errors import (
    ClusterError,
    ExecutionError,
    ResilienceError,
    ResultsError,
    ScenarioError,
    SweepError,
)

# Registers the ds.risk accessor (numpy and xarray only); the heavy API below stays lazy.
from resilience.risk import accessor as _risk_accessor  # noqa: F401

__all__ = [
    "ClusterError",
    "ExecutionError",
    "ResilienceError",
    "ResultsError",
    "ScenarioError",
    "SweepError",
    "__version__",
    "load_scenario",
    "open_results",
    "simulate",
]

_API = {"load_scenario", "open_results", "simulate", "run_to_file", "Execution"}


def __getattr__(name):
    # Lazy so `import resilience` does not pay for numba/dask until a run needs them.
    if name in _API:
        from resilience import api

        return getattr(api, name)
    if name == "risk":
        import importlib

        return importlib.import_module("resilience.risk")
    raise AttributeError(f"module 'resilience' has no attribute {name!r}")
