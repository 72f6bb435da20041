"""Results: kernel output <-> xarray datasets and files.

``catalogue`` names every variable, ``dataset`` builds a Dataset from a ``RunLayout``,
``chunks`` lays it out in a file (one chunk size per dimension, the codecs), ``sinks``
receive blocks from the engine (in memory, whole Zarr chunks, NetCDF), and ``store``
writes atomically and opens stored results, on top of ``formats`` (what a result file
is), ``integrity`` (whole and readable?) and ``locks`` (one writer per result, what a
killed one leaves). Never imports the engine, risk or shards.
"""

from resilience.results.dataset import (
    BANDS,
    NODE_DTYPE,
    RunLayout,
    build_dataset,
    daily_variables,
    derived_variables,
    histogram_quantiles,
    run_attributes,
)
from resilience.results.sinks import MemorySink, NetCDFSink, ZarrSink, sink_for
from resilience.results.store import (
    ZARR_FORMAT,
    atomic_output,
    open_results,
    output_format,
    strategy_definitions,
    write_dataset,
)

__all__ = [
    "BANDS",
    "NODE_DTYPE",
    "ZARR_FORMAT",
    "MemorySink",
    "NetCDFSink",
    "RunLayout",
    "ZarrSink",
    "atomic_output",
    "build_dataset",
    "daily_variables",
    "derived_variables",
    "histogram_quantiles",
    "open_results",
    "output_format",
    "run_attributes",
    "sink_for",
    "strategy_definitions",
    "write_dataset",
]
