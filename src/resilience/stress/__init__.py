"""The per-node stress test (``resilience stress``): a scripted full outage of each node
in turn for its time-to-recover, compared path for path with the run without it.

``run`` plans and runs it on a ``simulate`` callable (resilience.api passes its own) and
assembles the dataset: the per-path figures, then the summaries of ``summarise_stress``
(which a merge of shards calls on the joined paths); ``table`` ranks the nodes and
renders the text and json output.
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
    stress_paths,
    stressed_scenario,
    summarise_stress,
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
    "stress_paths",
    "stress_section",
    "stressed_scenario",
    "summarise_stress",
]
