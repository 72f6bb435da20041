"""Shared pieces of :mod:`resilience.risk`: types, orientation, checks, xarray plumbing.

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import xarray as xr

from resilience.errors import ResultsError

Tail = Literal["upper", "lower"]
TailChoice = Literal["auto", "upper", "lower"]
Side = Literal["above", "below"]
SideChoice = Literal["auto", "above", "below"]
IntervalMethod = Literal["asymptotic", "bootstrap"]
RiskMeasure = Literal["mean", "var", "cvar"]
IntervalStyle = Literal["interval", "none"]
QuantileMethod = Literal[
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]

#: Variables whose *low* values are bad. Extend it (``HIGHER_IS_BETTER.add(name)``) or set
#: the attribute ``higher_is_better = 1`` on a variable for metrics of your own.
HIGHER_IS_BETTER: set[str] = {
    "fill_rate",
    "filled_units",
    "node_filled_units",
    "days_to_first_shortage",
    "time_to_survive_days",
    "daily_fill_rate_mean",
}

_FIELDS = ("estimate", "lower", "upper", "se")


# --------------------------------------------------------------------------------------
# checks and small helpers


def _check_fraction(name: str, value: float, *, closed: bool = False) -> float:
    value = float(value)
    ok = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def _z(confidence: float) -> float:
    """Two-sided standard-normal critical value z_{1 - (1 - confidence)/2}."""
    confidence = _check_fraction("confidence", confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_dim(da: xr.DataArray, dim: Hashable) -> None:
    if dim not in da.dims:
        raise ResultsError(
            f"variable {da.name!r} has no dimension {dim!r} (dims: {', '.join(map(str, da.dims))})"
        )


def get_variable(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The data variable ``name`` of ``ds``; :class:`ResultsError` when there is none."""
    if name not in ds.data_vars:
        raise ResultsError(f"results have no variable {name!r}")
    return ds[name]


def check_strategy(ds: xr.Dataset, name: str) -> None:
    """Raise :class:`ResultsError` unless ``ds`` has a ``strategy`` named ``name``."""
    if "strategy" not in ds.dims:
        raise ResultsError("results have no 'strategy' dimension")
    names = [str(s) for s in ds["strategy"].values]
    if name not in names:
        raise ResultsError(f"unknown strategy {name!r}; the results hold: {', '.join(names)}")


def _levels(values: float | Sequence[float], name: str, *, closed: bool) -> tuple[np.ndarray, bool]:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence")
    for v in arr:
        _check_fraction(name, v, closed=closed)
    return arr, np.ndim(values) == 0


def _is_dask(da: xr.DataArray) -> bool:
    return da.chunks is not None


def bad_tail(x: xr.DataArray | str | None, tail: TailChoice = "auto") -> Tail:
    """The tail of a metric where its bad outcomes lie.

    Parameters
    ----------
    x
        A variable, or its name.
    tail
        ``"upper"`` or ``"lower"`` are returned unchanged; ``"auto"`` looks the name up in
        :data:`HIGHER_IS_BETTER` (an attribute ``higher_is_better`` on a DataArray takes
        precedence).

    Returns
    -------
    ``"lower"`` for higher-is-better metrics, ``"upper"`` for losses.
    """
    if tail not in ("auto", "upper", "lower"):
        raise ValueError(f"tail must be 'auto', 'upper' or 'lower', got {tail!r}")
    if tail != "auto":
        return tail
    if isinstance(x, xr.DataArray):
        flag = x.attrs.get("higher_is_better")
        if flag is not None:
            return "lower" if bool(flag) else "upper"
        x = None if x.name is None else str(x.name)
    return "lower" if x in HIGHER_IS_BETTER else "upper"


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", ""))


def _pct(level: float) -> str:
    return f"{100 * level:g}"


# --------------------------------------------------------------------------------------
# xarray plumbing


def _rowwise(kernel: Callable[[np.ndarray], np.ndarray], shape: tuple[int, int]):
    """Lift a 1-D kernel (sorted finite input -> ``shape`` output) to (..., n) arrays."""

    def apply(arr: np.ndarray) -> np.ndarray:
        arr = np.asarray(arr, dtype=np.float64)
        flat = arr.reshape(-1, arr.shape[-1])
        out = np.empty((flat.shape[0],) + shape)
        for i, row in enumerate(flat):
            out[i] = kernel(np.sort(row[~np.isnan(row)]))
        return out.reshape(arr.shape[:-1] + shape)

    return apply


def _apply_along(
    da: xr.DataArray,
    dim: Hashable,
    kernel: Callable[[np.ndarray], np.ndarray],
    out_dim: str,
    out_coord: np.ndarray,
    fields: Sequence[str] = _FIELDS,
) -> xr.Dataset:
    _check_dim(da, dim)
    if _is_dask(da):
        da = da.chunk({dim: -1})
    shape = (out_coord.size, len(fields))
    res = xr.apply_ufunc(
        _rowwise(kernel, shape),
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[out_dim, "_field"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {out_dim: shape[0], "_field": shape[1]}},
    )
    res = res.assign_coords({out_dim: out_coord})
    ds = xr.Dataset({f: res.isel(_field=i, drop=True) for i, f in enumerate(fields)})
    ds["n"] = da.count(dim)
    return ds


def _finish(
    ds: xr.Dataset, da: xr.DataArray, squeeze: str | None, units: str | None, **attrs: Any
) -> xr.Dataset:
    if squeeze is not None:
        ds = ds.squeeze(squeeze)
    unit = _units(da) if units is None else units
    for name in ("estimate", "lower", "upper", "se"):
        if name in ds:
            ds[name].attrs["units"] = unit
    ds.attrs.update({"variable": "" if da.name is None else str(da.name), "units": unit})
    ds.attrs.update({k: v for k, v in attrs.items() if v is not None})
    return ds
