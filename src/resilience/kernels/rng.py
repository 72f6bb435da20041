"""Keyed counter-based random numbers: U(seed, path, purpose, entity, day).

Each (seed, path, purpose, entity) names a SplitMix64 stream (Steele, Lea & Flood 2014;
reference C by S. Vigna): state_n = key + n * GOLDEN, output_n = mix64(state_n). SplitMix64
is counter-based, so the draw for ``day`` is read directly at position day + 1 — no
sequential state, no dependence on which draws other code made, on the block a path is
in, or on the thread that runs it. tests/test_rng.py checks the outputs against a plain
Python transcription of the reference algorithm and its published first outputs, and
tests uniformity and stream independence.
"""

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
# Odd constants that spread purpose and entity over the key (from the xxhash64 primes).
PURPOSE_MULT = np.uint64(0xC2B2AE3D27D4EB4F)
ENTITY_MULT = np.uint64(0x165667B19E3779F9)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Purposes: one stream family per kind of random event (docs/model-notes.md).
REGION_SHOCK = 1
NODE_CHAIN = 2
NODE_DURATION = 3
NODE_DURATION_2 = 4
LANE_SHOCK = 5
DEMAND_SURGE = 6
DEMAND = 7
LEAD_TIME = 8  # issue-14: a stochastic lead time, one draw per lane and day (entity: lane)
# issue-14 quality: defects and jidoka (docs/model.md, "Quality and jidoka")
DEFECT = 9  # Binomial defect draw of a lane's shipment (entity: lane)
QUALITY_INCIDENT = 10  # quality-incident chain (entity: lane, or lanes + node for a plant's)
JIDOKA = 11  # line-stop recovery chain (entity: node)


@njit(inline="always", nogil=True, cache=True)
def mix64(z):
    """SplitMix64 output function (a bijection on uint64 with full avalanche)."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", nogil=True, cache=True)
def path_key(seed, path):
    """Key of one path: SplitMix64 output number ``path + 1`` of the stream seeded ``seed``."""
    return mix64(np.uint64(seed) + GOLDEN * (np.uint64(path) + np.uint64(1)))


@njit(inline="always", nogil=True, cache=True)
def stream_key(pkey, purpose, entity):
    """Key of the stream (path, purpose, entity) given the path's key."""
    return mix64(
        pkey
        ^ (np.uint64(purpose) * PURPOSE_MULT + (np.uint64(entity) + np.uint64(1)) * ENTITY_MULT)
    )


@njit(inline="always", nogil=True, cache=True)
def uniform(skey, day):
    """Draw number ``day`` of stream ``skey``: a float64 in [0, 1) with 53 random bits."""
    x = mix64(skey + GOLDEN * (np.uint64(day) + np.uint64(1)))
    return np.float64(x >> np.uint64(11)) * TO_UNIT
