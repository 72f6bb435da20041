"""Issue-14 variability keys: time-varying and overdispersed demand, stochastic lead times.

Read as part of pass 1 (:mod:`resilience.scenario.read`), each problem placed::

    demand: {distribution: poisson | negative_binomial | deterministic,
             mean_per_day: 800,                      # or mean_series / mean_csv
             variance_to_mean: 2.5,                  # negative_binomial only, > 1
             seasonality: {monthly: [12 x m], weekly: [7 x m]},
             trend_per_year: 0.05}
    lead_time_days: 7 | {distribution: discrete, values: [5, 7, 12], probs: [.2, .7, .1]}
                      | {distribution: lognormal, mean_days: 9, sd_days: 3, max_days: 30}

``mean_csv: FILE`` (a table, one row per day, column ``mean_per_day``, relative to the
scenario file) is expanded into ``mean_series`` when the file is loaded
(:func:`expand_mean_csv`), as the CSV tables of :mod:`resilience.scenario.tables` are.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from statistics import NormalDist
from typing import Any

from resilience.scenario.model import LeadTime
from resilience.scenario.values import (
    _BAD,
    DAYS,
    MAX_HORIZON_DAYS,
    NON_NEGATIVE,
    POSITIVE,
    Reader,
    _at,
    _Choice,
    _Number,
    _show,
)

__all__ = [
    "DEMAND_DISTRIBUTIONS",
    "DEMAND_KEYS",
    "expand_mean_csv",
    "read_demand_variability",
    "read_lead_time",
]

DEMAND_DISTRIBUTIONS = ("poisson", "deterministic", "negative_binomial")
DEMAND_KEYS = (
    "distribution",
    "mean_per_day",
    "variance_to_mean",
    "seasonality",
    "trend_per_year",
    "mean_series",
    "mean_csv",
)
SEASON_LENGTHS = {"monthly": 12, "weekly": 7}
#: A multiplier or a variance-to-mean ratio beyond this is a typo, not a season.
MAX_MULTIPLIER = 1e6
MULTIPLIER = _Number(lo=0.0, cap=MAX_MULTIPLIER)
VARIANCE_TO_MEAN = _Number(lo=1.0, lo_open=True, cap=MAX_MULTIPLIER)
TREND = _Number(lo=-1e3, hi=1e3, noun="a number (relative change per 365 days)")
#: Values of one discrete lead-time distribution (its table is searched per shipment).
MAX_LEAD_VALUES = 1000
#: A lognormal lead time is cut where its upper tail falls below this.
LEAD_TAIL = 1e-6
PROB_TOLERANCE = 1e-9
LEAD_DISTRIBUTIONS = ("discrete", "lognormal")
LEAD_KEYS = {
    "discrete": ("values", "probs"),
    "lognormal": ("mean_days", "sd_days", "max_days"),
}
MAX_DAYS = _Number(lo=1, integer=True, cap=MAX_HORIZON_DAYS)
#: A mean_csv table larger than this is not a demand series.
MAX_SERIES_BYTES = 64 * 2**20


# ----------------------------------------------------------------------------- demand


def read_demand_variability(
    r: Reader, demand: Mapping[Any, Any], where: str, dist: Any
) -> dict[str, Any] | Any:
    """The issue-14 fields of a dc's demand (``dist``: its distribution, maybe _BAD):
    a dict of :class:`~resilience.scenario.model.Demand` keyword arguments, or _BAD
    (reported)."""
    out: dict[str, Any] = {}
    ok = True
    if "mean_csv" in demand:
        r.error(
            _at(where, "mean_csv"),
            "a CSV path needs the scenario loaded from its file (the path is relative to "
            "it); from a mapping, give the days as mean_series",
        )
        ok = False
    if dist == "negative_binomial":
        v = r.value(demand, "variance_to_mean", where, VARIANCE_TO_MEAN, required=True)
        ok &= v is not _BAD
        out["variance_to_mean"] = v
    elif "variance_to_mean" in demand:
        r.error(_at(where, "variance_to_mean"), "only for distribution: negative_binomial")
        ok = False
    if "seasonality" in demand:
        season = _read_seasonality(r, demand["seasonality"], _at(where, "seasonality"))
        if season is _BAD:
            ok = False
        else:
            out.update(season)
    trend = r.value(demand, "trend_per_year", where, TREND, default=0.0)
    ok &= trend is not _BAD
    out["trend_per_year"] = trend
    if "mean_series" in demand:
        series = _read_series(r, demand["mean_series"], _at(where, "mean_series"))
        ok &= series is not _BAD
        out["mean_series"] = series
    return out if ok else _BAD


def _read_seasonality(r: Reader, raw: Any, place: str) -> dict[str, Any] | Any:
    body = r.mapping(raw, place, "a mapping (monthly: 12 multipliers, weekly: 7)")
    if body is None:
        return _BAD
    r.keys(body, place, tuple(SEASON_LENGTHS))
    if not body:
        r.error(place, "must give monthly (12 multipliers) or weekly (7), got an empty mapping")
        return _BAD
    out: dict[str, Any] = {}
    ok = True
    for key, length in SEASON_LENGTHS.items():
        if key not in body:
            continue
        at = _at(place, key)
        values = r.sequence(body[key], at, f"a list of {length} multipliers")
        if values is None:
            ok = False
            continue
        if len(values) != length:
            r.error(at, f"must list exactly {length} multipliers, got {len(values)}")
            ok = False
            continue
        mults = [r.value({i: v}, i, at, MULTIPLIER) for i, v in enumerate(values)]
        if _BAD in mults:
            ok = False
            continue
        out[key] = tuple(float(m) for m in mults)
    return out if ok else _BAD


def _read_series(r: Reader, raw: Any, place: str) -> tuple[float, ...] | Any:
    values = r.sequence(raw, place, "a list of daily means (day 0 first)")
    if values is None:
        return _BAD
    if not values:
        r.error(place, "must list at least one day, got an empty list")
        return _BAD
    if len(values) > MAX_HORIZON_DAYS:
        r.error(place, f"lists {len(values)} days; at most {MAX_HORIZON_DAYS} are used")
        return _BAD
    means = []
    for i, v in enumerate(values):
        x = NON_NEGATIVE.convert(v)
        if x is _BAD:
            r.error(f"{place}[{i}]", f"must be {NON_NEGATIVE.describe()}, got {_show(v)}")
            return _BAD
        means.append(float(x))
    return tuple(means)


def expand_mean_csv(data: Any, folder: Path) -> tuple[Any, list[str]]:
    """``data`` with every ``nodes.X.demand.mean_csv: FILE`` replaced by ``mean_series``
    read from FILE (beside the scenario file), and the placed errors of reading them."""
    errors: list[str] = []
    nodes = data.get("nodes") if isinstance(data, Mapping) else None
    if not isinstance(nodes, Mapping):
        return data, errors
    changed = {}
    for name, node in nodes.items():
        demand = node.get("demand") if isinstance(node, Mapping) else None
        if not isinstance(demand, Mapping) or "mean_csv" not in demand:
            continue
        place = _at(_at(_at("nodes", name), "demand"), "mean_csv")
        if "mean_series" in demand:
            errors.append(f"{place}: give mean_csv or mean_series, not both")
            continue
        series = _read_mean_csv(demand["mean_csv"], folder, place, errors)
        if series is not None:
            body = {k: v for k, v in demand.items() if k != "mean_csv"}
            body["mean_series"] = series
            changed[name] = {**node, "demand": body}
    if changed:
        data = {**data, "nodes": {n: changed.get(n, b) for n, b in nodes.items()}}
    return data, errors


def _read_mean_csv(ref: Any, folder: Path, place: str, errors: list[str]) -> list | None:
    if not isinstance(ref, str) or not ref.strip():
        errors.append(f"{place}: must be a CSV file name, got {_show(ref)}")
        return None
    path = folder / ref
    try:
        if not path.is_file():
            errors.append(f"{place}: {ref}: no such table beside the scenario file")
            return None
        if path.stat().st_size > MAX_SERIES_BYTES:
            errors.append(f"{place}: {ref}: larger than {MAX_SERIES_BYTES >> 20} MiB")
            return None
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(text.splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        errors.append(f"{place}: {ref}: cannot read the table ({exc})")
        return None
    header = [h.strip() for h in rows[0]] if rows else []
    if "mean_per_day" not in header:
        errors.append(f"{place}: {ref} row 1: header needs a column mean_per_day")
        return None
    col = header.index("mean_per_day")
    series: list[Any] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        cell = cells[col].strip() if col < len(cells) else ""
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0.0):
            errors.append(
                f"{place}: {ref} row {number}, column mean_per_day: must be a number >= 0, "
                f"got {cell!r}"
            )
            return None
        series.append(value)
    return series


# ----------------------------------------------------------------------------- lead times


def read_lead_time(r: Reader, lane: Mapping[Any, Any], place: str) -> tuple[Any, Any]:
    """(lead_time_days, LeadTime or None) of a lane: an int, or a distribution whose
    longest value becomes lead_time_days. (_BAD, _BAD) when invalid (reported)."""
    raw = lane.get("lead_time_days")
    if not isinstance(raw, Mapping):
        return r.value(lane, "lead_time_days", place, DAYS, required=True), None
    where = _at(place, "lead_time_days")
    dist = r.value(raw, "distribution", where, _Choice(LEAD_DISTRIBUTIONS), required=True)
    if dist is _BAD:
        r.keys(raw, where, ("distribution", *(k for ks in LEAD_KEYS.values() for k in ks)))
        return _BAD, _BAD
    elsewhere = {
        k: f"not a {dist} parameter ({dist} takes {', '.join(LEAD_KEYS[dist])})"
        for other in LEAD_KEYS.values()
        for k in other
        if k not in LEAD_KEYS[dist]
    }
    r.keys(raw, where, ("distribution", *LEAD_KEYS[dist]), elsewhere)
    lead = _discrete(r, raw, where) if dist == "discrete" else _lognormal(r, raw, where)
    if lead is _BAD:
        return _BAD, _BAD
    return max(lead.values), lead


def _discrete(r: Reader, raw: Mapping[Any, Any], where: str) -> LeadTime | Any:
    lists = {}
    for key in ("values", "probs"):
        if key not in raw:
            r.error(_at(where, key), "required key missing, must be a list")
            return _BAD
        seq = r.sequence(raw[key], _at(where, key), "a list")
        if seq is None:
            return _BAD
        lists[key] = seq
    values, probs = lists["values"], lists["probs"]
    if not 1 <= len(values) <= MAX_LEAD_VALUES:
        r.error(_at(where, "values"), f"must list 1 to {MAX_LEAD_VALUES} days, got {len(values)}")
        return _BAD
    if len(probs) != len(values):
        r.error(
            _at(where, "probs"),
            f"must list one probability per value ({len(values)}), got {len(probs)}",
        )
        return _BAD
    days = [r.value({i: v}, i, _at(where, "values"), DAYS) for i, v in enumerate(values)]
    ps = [
        r.value({i: p}, i, _at(where, "probs"), _Number(lo=0.0, hi=1.0, noun="a probability"))
        for i, p in enumerate(probs)
    ]
    if _BAD in days or _BAD in ps:
        return _BAD
    if len(set(days)) != len(days):
        r.error(_at(where, "values"), "must be distinct days")
        return _BAD
    total = math.fsum(ps)
    if abs(total - 1.0) > PROB_TOLERANCE:
        r.error(_at(where, "probs"), f"must sum to 1, got {total:.12g}")
        return _BAD
    return LeadTime(tuple(int(d) for d in days), tuple(float(p) for p in ps), "discrete")


def _lognormal(r: Reader, raw: Mapping[Any, Any], where: str) -> LeadTime | Any:
    mean = r.value(raw, "mean_days", where, POSITIVE, required=True)
    sd = r.value(raw, "sd_days", where, POSITIVE, required=True)
    cap = r.value(raw, "max_days", where, MAX_DAYS, default=None)
    if _BAD in (mean, sd, cap):
        return _BAD
    if mean > MAX_HORIZON_DAYS or sd > MAX_HORIZON_DAYS:
        r.error(where, f"mean_days and sd_days must be at most {MAX_HORIZON_DAYS}")
        return _BAD
    sigma2 = math.log1p((sd / mean) ** 2)
    mu = math.log(mean) - sigma2 / 2.0
    sigma = math.sqrt(sigma2)
    if cap is None:
        top = math.exp(mu + sigma * NormalDist().inv_cdf(1.0 - LEAD_TAIL))
        if not top <= MAX_HORIZON_DAYS:
            r.error(
                where,
                f"its upper tail (P(L > x) = {LEAD_TAIL:g}) reaches {top:.3g} days, beyond "
                f"{MAX_HORIZON_DAYS}: give max_days (longer draws are cut to it)",
            )
            return _BAD
        cap = max(1, math.ceil(top))

    def below(k: float) -> float:  # P(X <= k)
        return 0.5 * math.erfc(-(math.log(k) - mu) / (sigma * math.sqrt(2.0)))

    cdf = [below(k) for k in range(1, cap)] + [1.0]
    probs = [cdf[0]] + [b - a for a, b in zip(cdf, cdf[1:], strict=False)]
    return LeadTime(tuple(range(1, cap + 1)), tuple(probs), "lognormal")
