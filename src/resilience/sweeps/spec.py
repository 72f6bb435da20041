"""Scenario sweeps: a grid of scenario parameters, every point validated before anything runs.

A sweep names parameters of a scenario by their **path** into the YAML document, the way
``resilience validate`` names places (``strategies.jic.buffer_days``,
``regions.east_asia.shocks[0].mean_duration_days``, ``nodes['odd.name'].capacity_per_day``),
and gives each a list of values. Each **axis** becomes one dimension of the result; an axis
may move several parameters together (a *zipped* axis: value k of every parameter at step
k). The grid is the Cartesian product of the axes, enumerated in C order (last axis
fastest): point p has axis steps ``numpy.unravel_index(p, spec.shape)``.

One pseudo-parameter needs no path: ``shock_scale`` multiplies the per-day **start**
probability (the frequency) of every supply disruption: regional shocks, lane shocks and
node outages (``failure_probability``). Given as a mean (``mean_days_between``,
``mean_days_between_failures``) the probability is 1 / mean, so the scaled document holds
``start_probability`` / ``failure_probability`` = scale / mean instead. Durations,
severities and demand surges are left as written (sweep those by path). It is applied
after every path parameter of the point.

Setting one key of a rate pair (``mean_days_between`` / ``start_probability``,
``mean_duration_days`` / ``end_probability``, ``mean_days_between_failures`` /
``failure_probability``, ``mean_outage_days`` / ``recovery_probability``) removes the other,
so a sweep can give a rate in either form whatever the file uses.

The file format is in docs/cluster.md and src/resilience/examples/automotive-sweep.yaml;
on the command line, ``--grid [NAME:]PATH=v1,v2,...`` adds an axis (repeated ``NAME:``
zips). Paths and the shock scale are in :mod:`resilience.sweeps.paths` (their names are
re-exported here).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from resilience.errors import ScenarioError, SweepError
from resilience.scenario import load_scenario
from resilience.sweeps.paths import (
    IDENTIFIER,
    RATE_PAIRS,
    SHOCK_SCALE,
    Param,
    apply_shock_scale,
    format_path,
    parse_path,
)

__all__ = [
    "RATE_PAIRS",
    "SHOCK_SCALE",
    "Axis",
    "Param",
    "SweepSpec",
    "apply_shock_scale",
    "format_path",
    "load_sweep",
    "parse_grid_option",
    "parse_path",
]

#: Dimensions a results dataset already has; an axis may not take their names.
RESERVED_NAMES = frozenset(
    {
        "strategy",
        "path",
        "node",
        "day",
        "quantile",
        "fill_bin",
        "on_hand_bin",
        "on_hand_edge",
        "point",
        "column",
        "level",
        "node_kind",
        "node_region",
    }
)
SWEEP_KEYS = ("description", "axes")
AXIS_KEYS = ("path", "values", "zip", "labels")


# ----------------------------------------------------------------------------- axes


@dataclass(frozen=True)
class Axis:
    """One dimension of the sweep: one or more parameters moving together.

    ``values[k]`` holds the value of each parameter at step k (one tuple per step).
    """

    name: str
    params: tuple[Param, ...]
    values: tuple[tuple[Any, ...], ...]
    labels: tuple[Any, ...] | None = None

    @property
    def size(self) -> int:
        return len(self.values)

    def coordinate(self) -> np.ndarray:
        """Coordinate values of the dimension: labels, else the (first) parameter's values
        when they are distinct scalars, else the step number."""
        if self.labels is not None:
            return np.asarray(self.labels)
        first = [v[0] for v in self.values]
        if _distinct_scalars(first):
            return np.asarray(first)
        return np.arange(self.size)

    def step_label(self, k: int) -> str:
        """``name=value`` of step k, the value as written (or its label)."""
        value = self.labels[k] if self.labels is not None else self.values[k][0]
        return f"{self.name}={_show(value)}"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "paths": [p.path for p in self.params],
            "values": [list(v) for v in self.values],
            "labels": None if self.labels is None else list(self.labels),
        }


def _distinct_scalars(values: Sequence[Any]) -> bool:
    scalar = all(isinstance(v, (str, numbers.Real)) for v in values)
    kinds = {isinstance(v, str) for v in values}
    return scalar and len(kinds) == 1 and len({json.dumps(v) for v in values}) == len(values)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    if isinstance(value, (str, numbers.Real)):
        return str(value)
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class SweepSpec:
    """A grid of scenario parameters. Points are numbered in C order of ``shape``."""

    axes: tuple[Axis, ...]
    description: str = ""
    source: str = field(default="", compare=False)  # where the spec came from, for messages

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.size for a in self.axes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.axes]

    def steps(self, point: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(point, self.shape))

    def label(self, point: int) -> str:
        return ", ".join(a.step_label(k) for a, k in zip(self.axes, self.steps(point), strict=True))

    def coords(self) -> dict[str, Any]:
        """Dimension coordinates of the axes, plus one coordinate per parameter of a zipped
        axis (named after its path, with the path in its ``path`` attribute)."""
        import xarray as xr

        out: dict[str, Any] = {}
        for axis in self.axes:
            out[axis.name] = xr.Variable(
                axis.name,
                axis.coordinate(),
                {"long_name": axis.name, "sweep_paths": ", ".join(p.path for p in axis.params)},
            )
            if len(axis.params) > 1 or axis.labels is not None:
                for param, short, j in zip(
                    axis.params, _unique_names(axis.params), range(len(axis.params)), strict=True
                ):
                    values = [v[j] for v in axis.values]
                    if not all(isinstance(v, (str, numbers.Real)) for v in values):
                        continue
                    out[f"{axis.name}__{short}"] = xr.Variable(
                        axis.name, np.asarray(values), {"path": param.path}
                    )
        return out

    def to_json(self) -> str:
        return json.dumps(
            {"description": self.description, "axes": [a.to_json() for a in self.axes]},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        data = json.loads(text)
        axes = tuple(
            Axis(
                a["name"],
                tuple(Param(parse_path(p)) for p in a["paths"]),
                tuple(tuple(v) for v in a["values"]),
                None if a["labels"] is None else tuple(a["labels"]),
            )
            for a in data["axes"]
        )
        return cls(axes, data.get("description", ""))

    # -- documents and validation

    def document(self, base: Mapping[str, Any], point: int) -> dict:
        """The scenario document of ``point``: ``base`` with the point's values set."""
        return self._apply(base, dict(zip(range(len(self.axes)), self.steps(point), strict=True)))[
            0
        ]

    def _apply(self, base: Mapping[str, Any], steps: Mapping[int, int]) -> tuple[dict, list[str]]:
        doc = copy.deepcopy(dict(base))
        scale = None
        for a, k in steps.items():
            axis = self.axes[a]
            for param, value in zip(axis.params, axis.values[k], strict=True):
                if param.is_shock_scale:
                    scale = value
                else:
                    param.set(doc, value)
        errors = apply_shock_scale(doc, float(scale)) if scale is not None else []
        return doc, errors

    def check_paths(self, base: Mapping[str, Any]) -> list[str]:
        """Errors of paths that do not exist in ``base`` and of bad shock scales."""
        errors = []
        for axis in self.axes:
            for j, param in enumerate(axis.params):
                if param.is_shock_scale:
                    for k, v in enumerate(axis.values):
                        x = v[j]
                        if (
                            isinstance(x, bool)
                            or not isinstance(x, numbers.Real)
                            or not (0 <= x < math.inf)
                        ):
                            errors.append(
                                f"axis {axis.name}, value {k} ({_show(x)}): shock_scale must "
                                f"be a number >= 0"
                            )
                    continue
                why = param.check(base)
                if why:
                    errors.append(f"axis {axis.name}: {param.path}: {why}")
        return errors

    def scenarios(self, base: Mapping[str, Any], source: str = "") -> list:
        """Validate every point and return its :class:`~resilience.scenario.Scenario`.

        Each axis value is checked on its own first (the others as in ``base``), so a bad
        value is reported once with its axis; then every grid point. Raises
        ``SweepError`` listing every problem, each with its place; nothing is simulated.
        """
        where = f"{source}: " if source else ""
        errors = self.check_paths(base)
        if errors:
            raise SweepError("\n".join(where + e for e in errors))

        def load(steps: Mapping[int, int]):
            doc, errs = self._apply(base, steps)
            if errs:
                return None, errs
            try:
                return load_scenario(doc), []
            except ScenarioError as exc:
                return None, exc.errors

        for a, axis in enumerate(self.axes):
            found = [load({a: k})[1] for k in range(axis.size)]
            for k, errs in enumerate(found):
                for e in errs:
                    if all(e in other for other in found) and axis.size > 1:
                        line = f"axis {axis.name} (every value): {e}"
                    else:
                        line = f"axis {axis.step_label(k)}: {e}"
                    if line not in errors:
                        errors.append(line)
        if errors:
            raise SweepError("\n".join(where + e for e in _first(errors)))
        out = []
        for p in range(self.size):
            scenario, errs = load(dict(enumerate(self.steps(p))))
            errors.extend(f"point {p} ({self.label(p)}): {e}" for e in errs)
            out.append(scenario)
        if errors:
            raise SweepError("\n".join(where + e for e in _first(errors)))
        return out


def _unique_names(params: Sequence[Param]) -> list[str]:
    """The shortest name suffixes (last key, then with parents) that tell params apart."""
    candidates = [p.short_names() for p in params]
    longest = max(len(c) for c in candidates)
    for n in range(longest):
        names = [c[min(n, len(c) - 1)] for c in candidates]
        if len(set(names)) == len(names):
            return names
    return [f"{c[-1]}_{j}" for j, c in enumerate(candidates)]


def _first(errors: list[str], limit: int = 30) -> list[str]:
    if len(errors) <= limit:
        return errors
    return [*errors[:limit], f"... and {len(errors) - limit} more"]


# ----------------------------------------------------------------------------- building


def _values_list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise SweepError(f"{where}: must be a non-empty list of values, got {_show(raw)}")
    return raw


def _axis(
    name: str | None, params: list[Param], columns: list[list[Any]], labels: Any, where: str
) -> dict:
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        sizes = ", ".join(f"{p.path}: {len(c)}" for p, c in zip(params, columns, strict=True))
        raise SweepError(f"{where}: zipped parameters need as many values each, got {sizes}")
    if labels is not None:
        labels = _values_list(labels, f"{where}.labels")
        if len(labels) != len(columns[0]):
            raise SweepError(f"{where}.labels: {len(labels)} labels for {len(columns[0])} values")
        if not _distinct_scalars(labels):
            raise SweepError(f"{where}.labels: must be distinct strings or numbers")
        labels = tuple(labels)
    values = tuple(zip(*columns, strict=True))
    if (
        labels is None
        and len(params) == 1
        and len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values)
    ):
        raise SweepError(f"{where}: values repeat; every point of an axis must differ")
    return {
        "name": name,
        "params": tuple(params),
        "values": values,
        "labels": labels,
        "where": where,
    }


#: values a sweep file may expand to: aliases are expanded (and hashed) in full, so a
#: handful of nested aliases ("billion laughs") could otherwise exhaust memory
MAX_EXPANDED_NODES = 1_000_000


def expanded_size(root: yaml.Node | None) -> int:
    """How many YAML nodes ``root`` becomes once every alias is expanded, counted on the
    composed graph (where an alias is a shared node) without expanding anything."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key not in sizes:
            sizes[key] = 1  # a cycle (not valid YAML for safe_load) counts once
            if isinstance(node, yaml.SequenceNode):
                sizes[key] = 1 + sum(size(child) for child in node.value)
            elif isinstance(node, yaml.MappingNode):
                sizes[key] = 1 + sum(size(k) + size(v) for k, v in node.value)
            sizes[key] = min(sizes[key], 10 * MAX_EXPANDED_NODES)  # no huge ints
        return sizes[key]

    return 0 if root is None else size(root)


def _read_file(path: Path) -> tuple[list[dict], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepError(f"{path}: cannot read sweep file ({exc.strerror or exc})") from exc
    try:
        size = expanded_size(yaml.compose(text, Loader=yaml.SafeLoader))
        if size > MAX_EXPANDED_NODES:
            raise SweepError(
                f"{path}: its YAML aliases (*name) expand to {size:,} values; at most "
                f"{MAX_EXPANDED_NODES:,} are allowed (each alias is expanded in full)"
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise SweepError(f"{path}{at}: YAML syntax error: {getattr(exc, 'problem', exc)}") from exc
    except RecursionError:
        raise SweepError(f"{path}: nested too deeply to be a sweep file") from None
    if not isinstance(data, dict):
        raise SweepError(f"{path}: a sweep file is a mapping with an 'axes' key, got {_show(data)}")
    for key in data:
        if key not in SWEEP_KEYS:
            guess = difflib.get_close_matches(str(key), SWEEP_KEYS, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else "allowed: " + ", ".join(SWEEP_KEYS)
            raise SweepError(f"{path}: {key}: unknown key ({hint})")
    axes = data.get("axes")
    if not isinstance(axes, dict) or not axes:
        raise SweepError(f"{path}: axes: must be a mapping of axis name -> axis")
    out = []
    for name, body in axes.items():
        where = f"{path}: axes.{name}"
        if isinstance(body, list):  # shorthand `PATH: [values]`
            param = Param(_parse(str(name), where))
            out.append(_axis(None, [param], [_values_list(body, where)], None, where))
            continue
        if not isinstance(body, dict):
            raise SweepError(
                f"{where}: must be a mapping (path + values, or zip), got {_show(body)}"
            )
        for key in body:
            if key not in AXIS_KEYS:
                guess = difflib.get_close_matches(str(key), AXIS_KEYS, n=1)
                hint = (
                    f"did you mean {guess[0]!r}?" if guess else "allowed: " + ", ".join(AXIS_KEYS)
                )
                raise SweepError(f"{where}.{key}: unknown key ({hint})")
        if ("zip" in body) == ("path" in body):
            raise SweepError(f"{where}: give either path + values, or zip (path -> values)")
        if "zip" in body:
            if "values" in body:
                raise SweepError(f"{where}.values: a zipped axis takes its values under zip")
            zipped = body["zip"]
            if not isinstance(zipped, dict) or not zipped:
                raise SweepError(f"{where}.zip: must be a mapping of path -> list of values")
            params = [Param(_parse(str(p), f"{where}.zip")) for p in zipped]
            columns = [_values_list(v, f"{where}.zip.{p}") for p, v in zipped.items()]
        else:
            params = [Param(_parse(str(body["path"]), f"{where}.path"))]
            columns = [_values_list(body.get("values"), f"{where}.values")]
        out.append(_axis(str(name), params, columns, body.get("labels"), where))
    return out, str(data.get("description") or "")


def _parse(path: str, where: str) -> tuple[str | int, ...]:
    try:
        return parse_path(path)
    except SweepError as exc:
        raise SweepError(f"{where}: {exc}") from None


def parse_grid_option(text: str) -> tuple[str | None, tuple[str | int, ...], list[Any]]:
    """``[NAME:]PATH=v1,v2,...`` (or ``PATH=[v1, v2]`` in YAML flow form) -> parts.

    Values are read as YAML scalars (``14`` an integer, ``0.5`` a float, ``split`` a
    string). Raises ``SweepError`` on bad syntax.
    """
    m = re.match(r"^\s*([A-Za-z_]\w*)\s*:(?!\s*\[)", text)
    name = None
    rest = text
    if m and "=" in text[m.end() :]:
        name, rest = m.group(1), text[m.end() :]
    depth, quote, eq = 0, None, -1
    for i, ch in enumerate(rest):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "=" and depth == 0:
            eq = i
            break
    if eq < 0 and "=" in rest:
        parse_path(rest[: rest.index("=")])  # says what is wrong with the path
    if eq < 0:
        raise SweepError(
            f"{text!r}: expected [NAME:]PATH=v1,v2,... e.g. strategies.jic.buffer_days=0,7,14"
        )
    keys = parse_path(rest[:eq])
    raw = rest[eq + 1 :].strip()
    try:
        if raw.startswith("["):
            values = yaml.safe_load(raw)
        else:
            values = [yaml.safe_load(tok.strip()) for tok in raw.split(",")] if raw else []
    except yaml.YAMLError as exc:
        raise SweepError(f"{text!r}: cannot read the values ({exc})") from None
    if not isinstance(values, list) or not values or any(v is None for v in values):
        raise SweepError(f"{text!r}: give at least one value after '=', separated by commas")
    return name, keys, values


def load_sweep(file: str | Path | None = None, grid: Sequence[str] = ()) -> SweepSpec:
    """A sweep from a YAML file and/or ``--grid`` options (file axes first).

    A ``--grid`` without ``NAME:`` is named after its path's last key (with parent keys
    prepended when two axes would clash); ``--grid`` options sharing a ``NAME:`` form one
    zipped axis.
    """
    drafts: list[dict] = []
    description = ""
    source = ""
    if file is not None:
        drafts, description = _read_file(Path(file))
        source = str(file)
    grouped: dict[str, dict] = {}
    for text in grid:
        name, keys, values = parse_grid_option(text)
        where = f"--grid {text}"
        if name is not None and name in grouped:
            g = grouped[name]
            g["params"].append(Param(keys))
            g["columns"].append(values)
            continue
        g = {"name": name, "params": [Param(keys)], "columns": [values], "where": where}
        drafts.append(g)
        if name is not None:
            grouped[name] = g
    drafts = [
        _axis(d["name"], d["params"], d["columns"], None, d["where"]) if "columns" in d else d
        for d in drafts
    ]
    if not drafts:
        raise SweepError("no sweep axes: give a sweep file or --grid PATH=v1,v2,...")
    names = _name_axes(drafts)
    axes = []
    seen_params: dict[tuple, str] = {}
    for d, name in zip(drafts, names, strict=True):
        if not IDENTIFIER.match(name):
            raise SweepError(f"{d['where']}: axis name {name!r} must be letters, digits and '_'")
        if name in RESERVED_NAMES:
            raise SweepError(f"{d['where']}: axis name {name!r} is taken by the results; rename it")
        for p in d["params"]:
            if p.keys in seen_params:
                raise SweepError(
                    f"{d['where']}: {p.path} is already swept by {seen_params[p.keys]}"
                )
            seen_params[p.keys] = d["where"]
        axes.append(Axis(name, d["params"], d["values"], d["labels"]))
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SweepError(f"axis {dup!r} is defined twice")
    return SweepSpec(tuple(axes), description, source)


def _name_axes(drafts: list[dict]) -> list[str]:
    """Explicit names as given; others from their first path, lengthened until unique."""
    taken = {d["name"] for d in drafts if d["name"]}
    names = []
    for d in drafts:
        if d["name"]:
            names.append(d["name"])
            continue
        candidates = d["params"][0].short_names()
        others = [
            c
            for o in drafts
            if o is not d and not o["name"]
            for c in o["params"][0].short_names()[:1]
        ]
        name = next((c for c in candidates if c not in taken and c not in others), candidates[-1])
        taken.add(name)
        names.append(name)
    return names


def grid_shape_text(spec: SweepSpec) -> str:
    """``buffer_days (5) x severity (3) = 15 points``."""
    dims = " x ".join(f"{a.name} ({a.size})" for a in spec.axes)
    return f"{dims} = {spec.size} point{'s' if spec.size != 1 else ''}"
