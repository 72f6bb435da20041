"""Every shipped scenario compiles to the same arrays and simulates to the same bits.

The pins in tests/golden/golden.json were taken before the one-way-architecture refactor;
a change that is meant to alter results regenerates them and says why in its commit.
Variables or network fields added later are allowed; a pinned one may not change or vanish.
"""

import json

import pytest

from tests.golden import pins

GOLDEN = json.loads(pins.PINS.read_text())
SCENARIOS = {p.relative_to(pins.ROOT).as_posix(): p for p in pins.shipped_scenarios()}


def test_every_shipped_scenario_is_pinned():
    assert sorted(GOLDEN) == sorted(SCENARIOS)


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_compiled_networks_unchanged(key):
    import resilience

    scenario = resilience.load_scenario(SCENARIOS[key])
    got = pins.compiled_hashes(scenario)
    want = GOLDEN[key]["networks"]
    assert sorted(got) == sorted(want)
    for strategy, fields in want.items():
        changed = {f for f, h in fields.items() if got[strategy].get(f) != h}
        assert not changed, f"{key} / {strategy}: network arrays changed: {sorted(changed)}"


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_results_unchanged(key):
    got = pins.result_hashes(SCENARIOS[key])
    want = GOLDEN[key]["results"]
    changed = {name for name, h in want.items() if got.get(name) != h}
    assert not changed, f"{key}: data variables changed: {sorted(changed)}"
