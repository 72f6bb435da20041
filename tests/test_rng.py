"""The keyed generator (resilience.kernels.rng) against SplitMix64 as published.

Reference: S. Vigna's C SplitMix64 (prng.di.unimi.it/splitmix64.c), transcribed to Python
ints masked to 64 bits:

    state += 0x9E3779B97F4A7C15; z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
    return z ^ (z >> 31);

``rng.uniform(key, day)`` must be output number day + 1 of the generator whose state is
``key``, shifted to its top 53 bits and scaled by 2**-53. Then: uniformity, independence
of neighbouring streams, and keyed (order-free) addressing.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from resilience.kernels import rng
from tests import reference

MASK = (1 << 64) - 1
KEYS = [0, 1, 42, 0x9E3779B97F4A7C15, (1 << 63) + 12345, MASK]


class SplitMix64:
    """Sequential SplitMix64, exactly as the reference C code."""

    def __init__(self, state: int) -> None:
        self.state = state & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def test_reference_transcription_gives_the_published_outputs():
    gen = SplitMix64(0)
    assert [gen.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


@pytest.mark.parametrize("key", KEYS)
def test_uniform_is_splitmix_output_day_plus_one(key):
    gen = SplitMix64(key)
    for day in range(64):
        want = (gen.next() >> 11) * 2.0**-53
        assert rng.uniform(np.uint64(key), day) == want
        assert reference.uniform(key, day) == want  # the reference simulator's copy
    # far positions are read directly, not by stepping
    far = 10**12
    state = (key + far * 0x9E3779B97F4A7C15) & MASK
    assert rng.uniform(np.uint64(key), far) == (SplitMix64(state).next() >> 11) * 2.0**-53


def test_path_and_stream_keys_match_the_reference_transcription():
    """The keying documented in rng.py: path key = SplitMix64 output path + 1 of ``seed``;
    stream key = mix64(path key ^ (purpose x PURPOSE_MULT + (entity + 1) x ENTITY_MULT))."""
    purposes = [
        rng.REGION_SHOCK,
        rng.NODE_CHAIN,
        rng.NODE_DURATION,
        rng.NODE_DURATION_2,
        rng.LANE_SHOCK,
        rng.DEMAND_SURGE,
        rng.DEMAND,
    ]
    assert len(set(purposes)) == len(purposes)
    assert purposes == [
        reference.REGION_SHOCK,
        reference.NODE_CHAIN,
        reference.NODE_DURATION,
        reference.NODE_DURATION_2,
        reference.LANE_SHOCK,
        reference.DEMAND_SURGE,
        reference.DEMAND,
    ]
    for seed in KEYS:
        stepped = SplitMix64(seed)
        outputs = [stepped.next() for _ in range(8)]
        for path in (0, 1, 7, 10**9):
            # output number path + 1 of the generator seeded `seed`
            start = (seed + path * 0x9E3779B97F4A7C15) & MASK
            want = SplitMix64(start).next()
            if path < len(outputs):
                assert want == outputs[path]
            pkey = int(rng.path_key(np.uint64(seed), path))
            assert pkey == want == reference.path_key(seed, path)
            for purpose in purposes:
                for entity in (0, 1, 5):
                    got = int(rng.stream_key(np.uint64(pkey), purpose, entity))
                    assert got == reference.stream_key(pkey, purpose, entity)


@njit(cache=False)
def _stream_days(skey, n):
    out = np.empty(n)
    for day in range(n):
        out[day] = rng.uniform(skey, day)
    return out


@njit(cache=False)
def _across_paths(seed, purpose, entity, day, first_path, n):
    """Draw ``day`` of stream (purpose, entity) on paths first_path .. first_path + n - 1."""
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.uniform(
            rng.stream_key(rng.path_key(seed, first_path + i), purpose, entity), day
        )
    return out


SEED = np.uint64(20260101)


@pytest.mark.parametrize(
    "draws",
    [
        pytest.param(lambda n: _stream_days(np.uint64(0x5EED), n), id="one-stream-over-days"),
        pytest.param(lambda n: _across_paths(SEED, rng.DEMAND, 0, 3, 0, n), id="day-3-over-paths"),
    ],
)
def test_uniform_on_a_million_draws(draws):
    u = draws(1_000_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # 53 random bits: every draw is a multiple of 2**-53
    scaled = u * 2.0**53
    assert np.array_equal(scaled, np.floor(scaled))


N_PAIRS = 200_000
# |r| of independent samples is about N(0, 1/n): 6 standard deviations
MAX_CORRELATION = 6 / np.sqrt(N_PAIRS)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # (purpose, entity, day, first path) of two neighbouring streams
        pytest.param((rng.DEMAND, 0, 0, 0), (rng.DEMAND, 0, 0, 1), id="neighbouring-paths"),
        pytest.param((rng.DEMAND, 0, 0, 0), (rng.DEMAND, 1, 0, 0), id="neighbouring-entities"),
        pytest.param((rng.NODE_CHAIN, 2, 0, 0), (rng.NODE_DURATION, 2, 0, 0), id="purposes-2-3"),
        pytest.param(
            (rng.NODE_DURATION, 2, 0, 0), (rng.NODE_DURATION_2, 2, 0, 0), id="box-muller-pair"
        ),
        pytest.param((rng.DEMAND_SURGE, 0, 0, 0), (rng.DEMAND, 0, 0, 0), id="purposes-6-7"),
        pytest.param((rng.LANE_SHOCK, 4, 0, 0), (rng.LANE_SHOCK, 4, 1, 0), id="neighbouring-days"),
    ],
)
def test_neighbouring_streams_are_uncorrelated(a, b):
    x = _across_paths(SEED, a[0], a[1], a[2], a[3], N_PAIRS)
    y = _across_paths(SEED, b[0], b[1], b[2], b[3], N_PAIRS)
    assert abs(np.corrcoef(x, y)[0, 1]) < MAX_CORRELATION
    # and no coincidences of the whole 53 bits
    assert not np.any(x == y)


def test_a_draw_does_not_depend_on_which_other_days_were_drawn():
    skey = np.uint64(int(rng.stream_key(rng.path_key(SEED, 17), rng.NODE_CHAIN, 3)))
    sequential = _stream_days(skey, 500)
    order = np.random.default_rng(7).permutation(500)
    shuffled = {int(day): rng.uniform(skey, int(day)) for day in order}
    assert all(shuffled[day] == sequential[day] for day in range(500))
    # reading only a few far-apart days gives the same values as the full sequence
    for day in (0, 1, 250, 499):
        assert rng.uniform(skey, day) == sequential[day]
    assert _stream_days(skey, 3).tolist() == sequential[:3].tolist()
