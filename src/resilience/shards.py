"""Array-job shard identity: which part of a run (by paths) or a sweep (by points) a
result is, and the attributes that mark it. Merging lives in ``resilience.merge``.

``--shard i/N`` (0-based i, so ``--shard $SLURM_ARRAY_TASK_ID/N`` with ``--array=0-(N-1)``)
runs one N-th of the work and writes an ordinary result carrying shard attributes:
``shard`` ("i/N"), ``shard_index``, ``shard_count``, ``shard_of`` ("paths" or "points"),
``total_paths`` and ``run_fingerprint`` (a hash of what makes two shards parts of one
run: scenario text, seed, paths, strategies, sweep).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from resilience.errors import SweepError

__all__ = ["SHARD_ATTRS", "Shard", "fingerprint", "parse_shard", "path_shard_attributes"]

SHARD_ATTRS = ("shard", "shard_index", "shard_count", "shard_of", "path_start", "shard_points")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def range(self, total: int, what: str = "paths") -> tuple[int, int]:
        """[start, stop) of this shard's part of ``total`` items (contiguous, balanced)."""
        if self.count > total:
            raise SweepError(
                f"cannot split {total} {what} into {self.count} shards; use at most {total} shards"
            )
        return total * self.index // self.count, total * (self.index + 1) // self.count


def parse_shard(text: str | Shard | None) -> Shard | None:
    """``"7/100"`` -> Shard(7, 100). The index is 0-based: 0 <= i < N."""
    if text is None or isinstance(text, Shard):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise SweepError(f"--shard {text!r}: must be I/N, e.g. 0/10 (0-based I, 0 <= I < N)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or index >= count:
        raise SweepError(
            f"--shard {text}: need 0 <= I < N (I is 0-based, like SLURM_ARRAY_TASK_ID with "
            f"--array=0-{max(count - 1, 0)})"
        )
    return Shard(index, count)


def fingerprint(**identity) -> str:
    """A short hash of what must agree between shards (and parts) of one run."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_identity(
    scenario_sha256: str, seed: int, paths: int, strategies: Sequence[str], **extra
) -> dict:
    return {
        "scenario_sha256": scenario_sha256,
        "seed": int(seed),
        "paths": int(paths),
        "strategies": list(strategies),
        **extra,
    }


def shard_attributes(shard: Shard, of: str, identity: dict, **extra) -> dict:
    return {
        "shard": str(shard),
        "shard_index": shard.index,
        "shard_count": shard.count,
        "shard_of": of,
        "total_paths": int(identity["paths"]),
        "run_fingerprint": fingerprint(**identity),
        **extra,
    }


def path_shard_attributes(
    shard: Shard,
    *,
    scenario_text: str,
    seed: int,
    total_paths: int,
    strategies: Sequence[str],
    path_start: int,
    options: dict | None = None,
) -> dict:
    """Attributes marking a result of one path range as shard ``shard`` of a run;
    ``options``: what else the run was given that changes its bits (e.g.
    ``--no-random-disruptions``), part of its identity."""
    identity = run_identity(
        hashlib.sha256(scenario_text.encode()).hexdigest(),
        seed,
        total_paths,
        strategies,
        **(options or {}),
    )
    return shard_attributes(shard, "paths", identity, path_start=path_start)
