"""Engine: runs blocks of paths of compiled networks and hands each result to a sink.

It knows nothing of files, shards or sweeps: ``plan`` turns a scenario into networks and
tasks, ``blocks`` is the only caller of the kernel, ``execution`` holds the settings and
the executors (threads or a Dask cluster, ``distributed``), and ``execute`` drives them.
"""

from resilience.engine.blocks import NODE_DETAILS, BlockResult, run_block
from resilience.engine.execution import (
    DEFAULT_BLOCK_SIZE,
    Execution,
    Executor,
    Progress,
    ThreadedExecutor,
    default_threads,
    execute,
    make_executor,
)
from resilience.engine.plan import (
    PreparedRun,
    Task,
    plan_blocks,
    prepare,
    resolve_node_detail,
    resolve_strategies,
)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "NODE_DETAILS",
    "BlockResult",
    "Execution",
    "Executor",
    "PreparedRun",
    "Progress",
    "Task",
    "ThreadedExecutor",
    "default_threads",
    "execute",
    "make_executor",
    "plan_blocks",
    "prepare",
    "resolve_node_detail",
    "resolve_strategies",
    "run_block",
]
