"""resilience: Monte Carlo disruption risk for supply networks (JIT vs JIC vs regionalized)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("resilience")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

from resilience.errors import ClusterError, ResilienceError, ResultsError, ScenarioError, SweepError

__all__ = [
    "ClusterError",
    "ResilienceError",
    "ResultsError",
    "ScenarioError",
    "SweepError",
    "__version__",
    "load_scenario",
    "open_results",
    "simulate",
]


def __getattr__(name):
    # Lazy so `import resilience` does not pay for numba/xarray until needed.
    if name == "load_scenario":
        from resilience.schema import load_scenario

        return load_scenario
    if name == "simulate":
        from resilience.engine import simulate

        return simulate
    if name == "open_results":
        from resilience.results import open_results

        return open_results
    if name == "risk":
        import importlib

        return importlib.import_module("resilience.risk")
    raise AttributeError(f"module 'resilience' has no attribute {name!r}")
