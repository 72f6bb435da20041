"""The per-node stress test (``resilience stress``): a scripted full outage of each node
in turn for its time-to-recover, compared path for path with the run without it.

``run`` plans and runs it on a ``simulate`` callable (resilience.api passes its own) and
assembles the dataset; ``table`` ranks the nodes and renders the text and json output.
"""

from resilience.stress.run import (
    DEFAULT_START_DAY,
    DEFAULT_TTR_DAYS,
    TTS_QUANTILES,
    NodeTTR,
    deterministic_scenario,
    node_ttr,
    outage_p90,
    run_stress,
    stressed_scenario,
)
from resilience.stress.table import stress_records, stress_section

__all__ = [
    "DEFAULT_START_DAY",
    "DEFAULT_TTR_DAYS",
    "TTS_QUANTILES",
    "NodeTTR",
    "deterministic_scenario",
    "node_ttr",
    "outage_p90",
    "run_stress",
    "stress_records",
    "stress_section",
    "stressed_scenario",
]
