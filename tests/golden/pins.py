"""Golden results: hashes that pin every compiled network and every data variable.

A refactor must change no output bit. This module computes, for every shipped scenario,
a hash of each compiled network array per strategy and a hash of each data variable of a
small fixed-seed run; ``tests/test_golden.py`` compares them with ``golden.json``.

Regenerate (only when a change is *meant* to alter results, and say so in the commit):
    python -m tests.golden.pins --write
Pin a newly added scenario file, leaving every existing pin as it is:
    python -m tests.golden.pins --add-missing
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
PINS = Path(__file__).with_name("golden.json")
PATHS = 2048
SEED = 20261201


#: where scenario files live: the examples shipped in the package, the validation cases
FOLDERS = (ROOT / "src" / "resilience" / "examples", ROOT / "scenarios")


def shipped_scenarios() -> list[Path]:
    """Every scenario file in FOLDERS: YAML documents with nodes (not sweep grids or
    optimisation files)."""
    files = sorted(f for folder in FOLDERS for f in folder.rglob("*.yaml"))
    return [f for f in files if "nodes" in (yaml.safe_load(f.read_text()) or {})]


def array_hash(value) -> str:
    arr = np.ascontiguousarray(np.asarray(value))
    digest = hashlib.sha256()
    digest.update(f"{arr.dtype.str}|{arr.shape}|".encode())
    if arr.dtype.kind in "OUS":
        digest.update(json.dumps(arr.tolist()).encode())
    else:
        digest.update(arr.tobytes())
    return digest.hexdigest()[:20]


def compiled_hashes(scenario) -> dict[str, dict[str, str]]:
    from resilience.compiler import compile_strategy

    out = {}
    for name in scenario.strategy_names:
        network = compile_strategy(scenario, name).network
        out[name] = {field: array_hash(getattr(network, field)) for field in network._fields}
    return out


def result_hashes(path: Path) -> dict[str, str]:
    import resilience

    # node_detail="paths": the pins hold the per-path per-node variables, whatever the default
    ds = resilience.simulate(path, paths=PATHS, seed=SEED, threads=1, node_detail="paths")
    return {name: array_hash(ds[name].values) for name in sorted(ds.data_vars)}


def compute(only: set[str] | None = None) -> dict:
    """Pins of every shipped scenario, or of those whose key is in ``only``."""
    import resilience

    pins = {}
    for path in shipped_scenarios():
        key = path.relative_to(ROOT).as_posix()
        if only is not None and key not in only:
            continue
        scenario = resilience.load_scenario(path)
        pins[key] = {"networks": compiled_hashes(scenario), "results": result_hashes(path)}
    return pins


if __name__ == "__main__":
    if "--write" in sys.argv:
        PINS.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {PINS}")
    elif "--add-missing" in sys.argv:
        pinned = json.loads(PINS.read_text())
        keys = {p.relative_to(ROOT).as_posix() for p in shipped_scenarios()} - set(pinned)
        pinned.update(compute(keys))
        PINS.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n")
        print(f"pinned {len(keys)} new scenario(s): {', '.join(sorted(keys)) or 'none'}")
    else:
        sys.exit("usage: python -m tests.golden.pins --write | --add-missing")
