"""Per-path figures with a censored value: "no shortage" is an outcome, not a gap.

``time_to_survive_days`` and ``shortage_duration_days`` are NaN on a path without a
traced shortage (docs/model.md, "Time to survive and shortage duration"). Leaving those
paths out would compare strategies on the paths where both failed only, the ones that
favour the weaker strategy, so every paired comparison and the run table read them as:

- ``time_to_survive_days``: the path survived the horizon, counted as ``horizon_days``
  days. Every traced shortage falls inside the horizon (TTS <= T - 1), so a survived path
  ranks above every path that failed, and two survived paths tie: quantiles, VaR and the
  probabilities of better / worse are those of the censored distribution exactly. A mean
  is the mean TTS restricted to the horizon (min(TTS, T), as a restricted mean survival
  time), a lower bound of the unrestricted one.
- ``shortage_duration_days``: no shortage lasted 0 days.

Private by convention: import the public names from :mod:`resilience.risk`.
"""

from __future__ import annotations

import xarray as xr

from resilience.errors import ResultsError
from resilience.risk.base import get_variable

#: variable -> what a path without a traced shortage counts as ("horizon": horizon_days)
CENSORED: dict[str, str | float] = {
    "time_to_survive_days": "horizon",
    "shortage_duration_days": 0.0,
}

#: the note a table prints beside these figures
CENSORED_NOTE = (
    "time_to_survive_days: a path with no traced shortage survived the horizon and counts "
    "as the horizon's length (censored, not dropped); shortage_duration_days: such a path "
    "counts 0 days."
)


def censored_value(ds: xr.Dataset, name: str) -> float | None:
    """What a NaN of ``name`` stands for in ``ds`` (None: the variable is not censored)."""
    rule = CENSORED.get(name)
    if rule is None:
        return None
    if rule != "horizon":
        return float(rule)
    horizon = ds.attrs.get("horizon_days")
    if horizon is None and "day" in ds.sizes:
        horizon = ds.sizes["day"]
    if horizon is None:
        raise ResultsError(
            f"{name!r} needs the run's horizon (attribute horizon_days) to count the paths "
            "without a shortage"
        )
    return float(horizon)


def uncensored(ds: xr.Dataset, name: str) -> xr.DataArray:
    """``ds[name]`` with its NaNs replaced by what they stand for (:data:`CENSORED`);
    any other variable unchanged."""
    da = get_variable(ds, name)
    value = censored_value(ds, name)
    if value is None:
        return da
    out = da.fillna(value)
    out.attrs = {**da.attrs, "censored_as": value}
    out.name = da.name
    return out
