"""Shared test configuration: hypothesis profiles and common fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# 'ci' keeps property tests inside CI's budget; 'dev' explores more locally.
settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
# A plain `pytest` uses 'ci' too: hypothesis's default 200 ms deadline fails the first
# example of a kernel test, which includes compiling the kernel. --hypothesis-profile wins.
settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def two_tier_path() -> Path:
    return REPO / "src" / "resilience" / "examples" / "two-tier.yaml"
