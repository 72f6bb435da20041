"""Exception hierarchy: one base, each subclass also a builtin so callers can catch either.

Every mistake a user can make (a bad scenario, option, result file or cluster) raises a
``ResilienceError`` subclass; anything else escaping the package is a bug, and the CLI
reports it as one.
"""


class ResilienceError(Exception):
    """Base of every error the package raises on purpose."""


class ScenarioError(ResilienceError, ValueError):
    """A scenario file or dict is invalid. ``errors`` holds one message per problem."""

    def __init__(self, errors, source: str | None = None):
        if isinstance(errors, str):
            errors = [errors]
        self.errors = list(errors)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + e for e in self.errors))


class ResultsError(ResilienceError, ValueError):
    """A results dataset is missing, malformed, or cannot be written where asked."""


class SweepError(ResilienceError, ValueError):
    """A sweep specification or shard set is invalid."""


class ExecutionError(ResilienceError, ValueError):
    """How to run was asked for wrongly: unknown strategy, bad path count, seed or block
    size, or execution settings that contradict each other."""


class ClusterError(ResilienceError, RuntimeError):
    """A Dask cluster could not be started or reached."""
