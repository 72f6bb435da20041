"""Scenario files -> validated :class:`resilience.scenario.Scenario`.

This is the only module that validates scenarios (docs/scenario-format.md is the format).
Every problem found is collected and raised together as one
:class:`~resilience.errors.ScenarioError`; each of its ``errors`` is one line
``place: problem, what is allowed, got X`` where ``place`` reads like a path into the file
(``lanes[2].lead_time_days``, ``nodes.chip_fab.outage.failure_probability``).

Validation runs in two passes over an explicit drafts record
(:mod:`resilience.scenario.drafts`). The first (:mod:`~resilience.scenario.read`) reads
every field on its own (types, ranges, unknown and missing keys, references to declared
names); the second (:mod:`~resilience.scenario.check`) checks the network as a whole
(items carried by lanes, cycles, sources, sourcing shares, strategies). The second pass
only judges what the first one read cleanly, so a single typo gives a single error rather
than a cascade. A third (:mod:`~resilience.scenario.bounds`) bounds what compiling the
sound scenario would compute, so that a file that validates also runs. This module
loads the YAML (refusing, placed, what PyYAML would raise raw: control characters,
nesting too deep for its parser, impossible dates, over-long integers; and files that
are not regular or too large), runs the passes and builds the Scenario.
"""

from __future__ import annotations

import numbers
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from resilience.errors import ScenarioError
from resilience.scenario.bounds import check_bounds
from resilience.scenario.check import check_drafts
from resilience.scenario.drafts import Drafts
from resilience.scenario.model import Node, Scenario, Strategy
from resilience.scenario.production import check_production
from resilience.scenario.queries import candidate_sources, resolve_sourcing, stock_points
from resilience.scenario.read import read_document
from resilience.scenario.read_variability import expand_mean_csv
from resilience.scenario.tables import expand_tables, uses_tables
from resilience.scenario.values import (
    MAX_HORIZON_DAYS,
    MAX_SURGES_PER_DC,
    SHARE_TOLERANCE,
    Errors,
    _at,
)

__all__ = [
    "MAX_HORIZON_DAYS",
    "MAX_SURGES_PER_DC",
    "SHARE_TOLERANCE",
    "MAX_SCENARIO_BYTES",
    "candidate_sources",
    "load_scenario",
    "read_yaml",
    "resolve_sourcing",
    "stock_points",
]

# libyaml's parser where PyYAML has it: several times faster. It reads a few inputs
# otherwise than the pure-Python parser (it accepts tabs, '?' inside flow scalars and '#'
# right after a block-scalar header, which the pure one rejects; it reads a '!' tag on an
# empty value as '' rather than null, and a BOM inside the text otherwise), so text with
# any of those goes to the pure parser, as does text libyaml fails on: every document
# read and every message is the pure parser's.
_PURE_ONLY = re.compile(r"[\t?!\ufeff\x85\u2028\u2029]|[|>][-+0-9]*#")

#: Largest scenario file read (a network of ~100,000 lanes is a few MiB): a bigger file,
#: or one that is not a regular file (/dev/zero, a pipe), is refused before it is read.
MAX_SCENARIO_BYTES = 64 * 2**20
#: Longest integer literal read: Python's own limit for int(str) (a longer literal is a
#: raw ValueError there). Beyond 309 digits a number does not fit a float anyway, and the
#: checks say so at the value's key.
_MAX_INT_CHARS = 4300


class _BadScalar(yaml.MarkedYAMLError):
    """A plain scalar YAML resolves to an int or timestamp it cannot construct."""


def _construct_int(loader: Any, node: yaml.ScalarNode) -> Any:
    if len(node.value) > _MAX_INT_CHARS:
        raise _BadScalar(
            None,
            None,
            f"integer of {len(node.value)} characters, the most read is {_MAX_INT_CHARS} "
            "(and any beyond 1.8e308 does not fit a float)",
            node.start_mark,
        )
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError as exc:
        raise _BadScalar(None, None, f"not a valid integer ({exc})", node.start_mark) from None


def _construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    # YAML reads 2024-13-45 as a date and Python refuses it (a raw ValueError); no
    # scenario value is a date, so the value is refused either way, here with its place.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise _BadScalar(
            None,
            None,
            f"{node.value!r} reads as a date or time but is not a valid one ({exc}); "
            "quote it if it is meant as text",
            node.start_mark,
        ) from None


class _PureLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing bad integers and dates with their place."""


_PureLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_PureLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

_FAST_LOADER: Any = None
if hasattr(yaml, "CSafeLoader"):

    class _FastLoader(yaml.CSafeLoader):  # type: ignore[name-defined,misc]
        """libyaml's safe loader, with the constructors of :class:`_PureLoader`."""

    _FastLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    _FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    _FAST_LOADER = _FastLoader


def validate(data: Any, errors: Errors) -> Scenario | None:
    """Every pass over a parsed document; the Scenario, or None when anything was wrong.

    The third (:mod:`~resilience.scenario.bounds`) runs on a scenario the first two found
    sound, and bounds what compiling and simulating it would compute, so that a scenario
    that validates also runs.
    """
    drafts = read_document(data, errors)
    if drafts is None:
        return None
    items = check_drafts(drafts, errors)
    if errors:
        return None
    scenario = _build(drafts, items)
    check_bounds(scenario, drafts, errors)
    if not errors:
        check_production(scenario, errors)  # issue-14 push: finished goods within bounds
    return None if errors else scenario


def _build(drafts: Drafts, items: Mapping[str, str]) -> Scenario:
    """The Scenario of drafts that passed every check (``items``: every node's item)."""
    nodes = drafts.nodes
    return Scenario(
        name=drafts.name,
        horizon_days=drafts.horizon,
        nodes=tuple(Node(name=n, item=items[n], **nodes.fields[n]) for n in nodes.declared),
        lanes=tuple(d.lane for d in drafts.lanes.lanes if d.lane is not None),
        regions=drafts.regions,
        description=drafts.description,
        demand_mode=drafts.demand_mode,
        buffer_days=drafts.buffer_days,
        baseline=drafts.baseline,
        currency=drafts.currency,
        sourcing=tuple(e.value for e in drafts.sourcing),  # type: ignore[misc]
        stock=tuple(e.value for e in drafts.stock),  # type: ignore[misc]
        lane_shocks=drafts.lane_shocks,
        demand_surges=drafts.surges,
        strategies=tuple(s.strategy for s in drafts.strategies) or (Strategy("base"),),
        events=tuple(e.event for e in drafts.events),  # type: ignore[misc]
        random_disruptions=drafts.random_disruptions is not False,
        expedite=drafts.expedite,
    )


# ----------------------------------------------------------------------------- loading


def _duplicate_keys(root: yaml.Node) -> list[str]:
    """Keys given twice in one YAML mapping (PyYAML would silently keep the last)."""
    found: list[tuple[int, str]] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, place = stack.pop()
        if id(node) in seen:  # aliases share nodes, and may even be recursive
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults` is meant to be overridden
                key = key_node.value
                line = key_node.start_mark.line + 1
                child = _at(place, key)
                if key in first:
                    found.append(
                        (
                            line,
                            f"{child}: duplicate key (lines {first[key]} and {line}), "
                            "each key may appear once",
                        )
                    )
                else:
                    first[key] = line
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{place}[{i}]") for i, item in enumerate(node.value))
    return [message for _, message in sorted(found)]


def _parse_yaml(text: str, path: str) -> tuple[Any, list[str]]:
    if _FAST_LOADER is not None and not _PURE_ONLY.search(text):
        try:
            return _compose(_FAST_LOADER(text))
        except (yaml.YAMLError, RecursionError):
            pass  # libyaml words errors otherwise: the pure parser reports them
    loader = None
    try:
        loader = _PureLoader(text)  # its reader refuses control characters at once
        return _compose(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        kind = "" if isinstance(exc, _BadScalar) else "YAML syntax error: "
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise _placed(f"{where}: {kind}{problem}", path) from None
    except yaml.reader.ReaderError as exc:
        # a character YAML does not allow (NUL, other control characters), anywhere
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        shown = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a character"
        raise _placed(
            f"{path}:{line}:{column}: YAML syntax error: unacceptable character {shown}: "
            f"{exc.reason} (control characters such as NUL cannot appear in YAML)",
            path,
        ) from None
    except RecursionError:
        # the pure parser composes nested lists and mappings recursively
        where = path if loader is None else f"{path}:{loader.line + 1}:{loader.column + 1}"
        raise _placed(
            f"{where}: YAML syntax error: lists or mappings nested too deeply for the "
            "parser (a scenario needs a few levels)",
            path,
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"YAML syntax error: {exc}"], source=path) from None


def _placed(line: str, path: str) -> ScenarioError:
    """An error whose line already starts with the path (compiler style, so editors can
    jump to it); ``source`` is set afterwards so the message does not repeat it."""
    error = ScenarioError([line])
    error.source = path
    return error


def _compose(loader: Any) -> tuple[Any, list[str]]:
    """The document (None when empty) and its duplicate-key errors; disposes ``loader``."""
    try:
        root = loader.get_single_node()
        if root is None:
            return None, []
        return loader.construct_document(root), _duplicate_keys(root)
    finally:
        loader.dispose()


def _plain(obj: Any) -> Any:
    """Plain Python containers and numbers (e.g. from numpy) so ``yaml.safe_dump`` accepts them."""
    if isinstance(obj, Mapping):
        return {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return obj


def load_scenario(source: str | os.PathLike[str] | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    source : str, os.PathLike or Mapping
        Path of a YAML scenario file (docs/scenario-format.md), or the already-parsed
        document as a mapping. YAML text itself is not accepted: write it to a file.

    Returns
    -------
    Scenario
        The validated scenario with every default filled in: ``mean_*`` rates converted to
        per-day probabilities (1 / mean), absent capacities as ``math.inf``, dc items
        inferred from their incoming lanes, and one strategy ``"base"`` when the file
        names none. ``source_text`` holds the file's text (for a mapping, its
        ``yaml.safe_dump``); ``source_path`` the path given (None for a mapping).

    Raises
    ------
    ScenarioError
        With one entry in ``errors`` per problem found (all of them, not just the first),
        each ``place: problem``; ``source`` is the path. A missing or unreadable file,
        or YAML that does not parse (``path:line:column: YAML syntax error: ...``), is a
        single error.
    TypeError
        If ``source`` is neither a path nor a mapping.
    """
    origins = None  # where the entries of CSV tables came from, for error messages
    if isinstance(source, Mapping):
        path = None
        duplicates: list[str] = []
        data: Any = source
        try:
            text = yaml.safe_dump(_plain(source), sort_keys=False, allow_unicode=True)
        except (yaml.YAMLError, RecursionError):
            text = None  # some value is not plain data (or nested absurdly deep)
    elif isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and "\n" in source:
            raise TypeError("load_scenario takes a path or a mapping, not YAML text")
        path = os.fspath(source)
        text = _read_text(Path(path), path)
        data, duplicates = _parse_yaml(text, path)
        if uses_tables(data):
            try:
                data, origins = expand_tables(data, Path(path).parent)
            except ScenarioError as exc:
                raise ScenarioError(exc.errors, source=path) from None
            # the tables are part of the scenario: provenance (and sweeps, which re-read
            # the text) get the whole network, not the file that names the tables
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        expanded, series_errors = expand_mean_csv(data, Path(path).parent)  # issue-14
        if series_errors:
            raise ScenarioError(series_errors, source=path)
        if expanded is not data:  # provenance holds the series, as it holds the tables
            data = expanded
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        raise TypeError(f"load_scenario takes a path or a mapping, got {type(source).__name__}")

    errors = Errors(duplicates)
    if data is None:
        errors.add(
            "scenario", "file is empty, must be a mapping of scenario keys (name, nodes, ...)"
        )
        scenario = None
    else:
        scenario = validate(data, errors)
    if text is None and scenario is not None:
        errors.add(
            "scenario", "cannot be written as YAML, use plain dicts, lists, strings and numbers"
        )
    if errors or scenario is None:
        lines = [origins.locate(line) for line in errors.lines] if origins else errors.lines
        raise ScenarioError(lines, source=path)
    return replace(scenario, source_text=text or "", source_path=path)


def read_yaml(source: str | os.PathLike[str]) -> Any:
    """The parsed YAML document of a file, read as :func:`load_scenario` reads it (None
    when empty), for callers that look at a file before loading it (is it a sweep grid?).

    Raises
    ------
    ScenarioError
        For what :func:`load_scenario` refuses before validating: a missing, unreadable,
        oversized or non-regular file, or YAML that does not parse (placed).
    """
    path = os.fspath(source)
    return _parse_yaml(_read_text(Path(path), path), path)[0]


def _read_text(path: Path, shown: str) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            problem = "is not a regular file (a device, pipe or socket), expected a scenario file"
        elif info.st_size > MAX_SCENARIO_BYTES:
            problem = (
                f"is {info.st_size} bytes, the limit for a scenario file is "
                f"{MAX_SCENARIO_BYTES} ({MAX_SCENARIO_BYTES // 2**20} MiB)"
            )
        else:
            # text mode, as Path.read_text: newlines read the same; at most the limit,
            # should the file grow once its size was looked at
            with path.open(encoding="utf-8") as stream:
                text = stream.read(MAX_SCENARIO_BYTES + 1)
            if len(text) <= MAX_SCENARIO_BYTES:
                return text
            problem = f"is more than {MAX_SCENARIO_BYTES} bytes, the limit for a scenario file"
    except FileNotFoundError:
        problem = "file not found"
    except IsADirectoryError:
        problem = "is a directory, expected a scenario file"
    except UnicodeDecodeError:
        problem = "cannot read: not UTF-8 text"
    except OSError as exc:
        problem = f"cannot read: {exc.strerror or exc}"
    raise ScenarioError([problem], source=shown)
