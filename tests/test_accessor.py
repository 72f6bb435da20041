"""The ``ds.risk`` accessor: registered by ``import resilience``, real signatures, VaR name."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import xarray as xr

import resilience
from resilience import risk
from tests.synthetic import make_results

_METHODS = [
    name
    for name, member in inspect.getmembers(risk.RiskAccessor, inspect.isfunction)
    if not name.startswith("_")
]


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_results(n_paths=200, n_days=20, seed=2)


def test_import_resilience_alone_registers_the_accessor():
    code = (
        "import sys, xarray as xr\n"
        "assert not hasattr(xr.Dataset, 'risk')\n"
        "import resilience\n"
        "assert hasattr(xr.Dataset, 'risk')\n"
        "heavy = [m for m in ('numba', 'dask', 'scipy', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "ds = xr.Dataset({'total_cost': ('path', [1.0, 2.0, 3.0])})\n"
        "assert type(ds.risk).__name__ == 'RiskAccessor'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_the_accessor_is_the_one_in_risk():
    assert resilience.risk.RiskAccessor is risk.accessor.RiskAccessor
    assert xr.Dataset.risk is risk.RiskAccessor


@pytest.mark.parametrize("name", _METHODS)
def test_methods_have_real_signatures_and_docstrings(name):
    method = getattr(risk.RiskAccessor, name)
    params = inspect.signature(method).parameters.values()
    assert all(p.kind is not p.VAR_KEYWORD for p in params), name
    assert all(p.kind is not p.VAR_POSITIONAL for p in params), name
    doc = inspect.getdoc(method) or ""
    assert "Returns\n-------" in doc, name
    if len(params) > 1:  # more than self
        assert "Parameters\n----------" in doc, name


def test_methods_expose_the_function_keywords():
    """Every keyword of the function behind a method is a parameter of the method."""
    behind = {
        "quantile": risk.quantile,
        "value_at_risk": risk.value_at_risk,
        "cvar": risk.cvar,
        "mean": risk.mean,
        "exceedance": risk.exceedance,
        "breach_probability": risk.breach_probability,
        "compare": risk.compare,
        "frontier": risk.frontier,
        "table": risk.risk_table,
    }
    for name, func in behind.items():
        method = inspect.signature(getattr(risk.RiskAccessor, name)).parameters
        for p in inspect.signature(func).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                assert p.name in method, (name, p.name)
                assert method[p.name].default == p.default, (name, p.name)


def test_value_at_risk_equals_the_old_var(ds):
    for variable in ("fill_rate", "total_cost"):
        new = ds.risk.value_at_risk(variable, [0.9, 0.95])
        with pytest.warns(DeprecationWarning, match="value_at_risk"):
            old = ds.risk.var(variable, [0.9, 0.95])
        xr.testing.assert_identical(new, old)
        xr.testing.assert_identical(new, risk.value_at_risk(ds[variable], [0.9, 0.95]))


def test_var_warns_and_points_at_the_caller(ds):
    with pytest.warns(DeprecationWarning) as record:
        ds.risk.var("lost_units", 0.95, confidence=0.9)
    assert record[0].filename == __file__


def test_accessor_keywords_reach_the_functions(ds):
    got = ds.risk.cvar("total_cost", 0.9, interval="bootstrap", n_boot=50, seed=3)
    want = risk.cvar(ds.total_cost, 0.9, interval="bootstrap", n_boot=50, seed=3)
    xr.testing.assert_identical(got, want)
    got = ds.risk.convergence(0.02, 0.9, columns=[("total_cost", "CVaR95")])
    want = risk.convergence(
        risk.risk_table(ds, columns=[("total_cost", "CVaR95")], confidence=0.9), 0.02, 0.9
    )
    xr.testing.assert_identical(got, want)
