"""Scripted events, exactly: a scripted outage is the same outage the random process could
have caused, and events leave every random number where it was.

- An outage scripted on days [a, b) gives, output for output and bit for bit, the
  trajectories the reference simulator gives when the node's own chain is forced DOWN on
  exactly those days (tests/reference.py ``force_down``), random processes and all.
- Events on top of the random processes keep common random numbers: on the same path the
  random chains (own outages, regional and lane shocks, surges) take the same states day
  by day with and without the events, the demand draws are the same, and nodes no event
  touches are impaired on the same days.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from resilience.kernels import simulate as k
from resilience.results.catalogue import NODE_METRICS, PATH_METRICS
from resilience.scenario.schema import load_scenario
from tests.kernel_helpers import network, run_kernel
from tests.reference import simulate_path
from tests.strategies import scenario_docs, seeds


def _same(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b))


@st.composite
def _outage_cases(draw):
    """A random network (random disruptions on) and one node outage of days [a, b)."""
    d = draw(scenario_docs())
    T = d["horizon_days"]
    node = draw(st.sampled_from(sorted(d["nodes"])))
    a = draw(st.integers(0, T - 1))
    b = draw(st.integers(a + 1, T + 5))  # may run past the horizon: cut there
    return d, node, a, b


@given(case=_outage_cases(), seed=seeds, path=st.integers(0, 10**6))
def test_a_scripted_outage_is_the_forced_outage(case, seed, path):
    d, node, a, b = case
    plain = load_scenario(d)
    scripted = copy.deepcopy(d)
    scripted["events"] = [
        {"type": "node_outage", "node": node, "start_day": a, "duration_days": b - a}
    ]
    scripted = load_scenario(scripted)
    for strategy in plain.strategy_names:
        out = run_kernel(network(scripted, strategy), seed, path, 1)
        ref = simulate_path(plain, strategy, seed, path, force_down={node: range(a, b)})
        for col, (name, *_) in enumerate(PATH_METRICS):
            got, want = float(out.path_out[0, col]), ref[name]
            assert _same(got, want), f"{name}: scripted {got!r} != forced {want!r}"
        for col, (name, *_) in enumerate(NODE_METRICS):
            assert out.node_out[0, :, col].tolist() == ref[name], name


@given(d=scenario_docs(events=True), seed=seeds, path=st.integers(0, 10**6))
def test_events_keep_common_random_numbers(d, seed, path):
    with_events = load_scenario(d)
    bare = copy.deepcopy(d)
    bare.pop("events", None)
    for body in bare["strategies"].values():
        body.pop("events", None)
    bare = load_scenario(bare)
    for strategy in with_events.strategy_names:
        events = with_events.events_of(strategy)
        a = simulate_path(with_events, strategy, seed, path)
        b = simulate_path(bare, strategy, seed, path)
        assert a["random_states"] == b["random_states"]
        ka = run_kernel(network(with_events, strategy), seed, path, 1)
        kb = run_kernel(network(bare, strategy), seed, path, 1)
        if not any(e.kind == "demand_surge" for e in events):
            assert ka.path_out[0, k.DEMAND] == kb.path_out[0, k.DEMAND]
        hit_nodes = {e.node for e in events if e.kind == "node_outage"}
        hit_regions = {e.region for e in events if e.kind == "regional_shock"}
        for i, node in enumerate(with_events.nodes):
            if node.name not in hit_nodes and node.region not in hit_regions:
                assert ka.node_out[0, i, k.N_IMPAIRED] == kb.node_out[0, i, k.N_IMPAIRED]
