"""Networks from spreadsheets: a scenario's nodes, lanes and sourcing read from CSV tables.

Supply-chain teams keep their networks in spreadsheets and ERP exports. A scenario file
may name a CSV table instead of writing a section out::

    nodes: {csv: nodes.csv}        # one row per node: name, kind, region, item, ...
    lanes: {csv: lanes.csv}        # one row per lane: from, to, lead_time_days, ...
    sourcing: {csv: sourcing.csv}  # one row per (stock point, source): at, item, mode, source, share

Paths are relative to the scenario file. A column is a scenario key; a dotted column name
is a nested key (``outage.mean_days_between_failures``, ``demand.mean_per_day``,
``bom.chip``); an empty cell means "not given". Numbers are read as numbers, ``true`` /
``false`` as booleans, anything else as text, so the ordinary checks apply, and each of
their messages names the table, row and column it came from
(``nodes.csv row 3, column capacity_per_day (nodes.fab.capacity_per_day): ...``).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resilience.errors import ScenarioError

#: section -> columns every row needs
REQUIRED = {"nodes": ("name", "kind"), "lanes": ("from", "to"), "sourcing": ("at", "source")}
#: a table larger than this is not a network (a wrong file, or an export of everything)
MAX_TABLE_BYTES = 64 * 2**20
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass
class Origins:
    """Where each place of the expanded document came from: place -> (table, row, column)."""

    places: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)

    def locate(self, line: str) -> str:
        """An error line ``place: message`` rewritten to name its table, row and column."""
        place, sep, message = line.partition(": ")
        if not sep:
            return line
        matches = [
            known
            for known in self.places
            if place == known or place.startswith((known + ".", known + "["))
        ]
        if not matches:
            return line
        best = max(matches, key=len)
        table, row, column = self.places[best]
        where = f"{table} row {row}" + (f", column {column}" if column else "")
        return f"{where} ({place}): {message}"


def uses_tables(data: Any) -> bool:
    """Whether a scenario document names a CSV table for any section."""
    return isinstance(data, dict) and any(_table_ref(data.get(key)) for key in REQUIRED)


def _table_ref(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"csv"} and isinstance(value["csv"], str):
        return value["csv"]
    return None


def expand_tables(data: dict, folder: Path) -> tuple[dict, Origins]:
    """The document with every ``{csv: FILE}`` section replaced by the table's entries."""
    out = dict(data)
    origins = Origins()
    errors: list[str] = []
    for section in REQUIRED:
        ref = _table_ref(data.get(section))
        if ref is None:
            continue
        rows = _read_table(folder / ref, ref, section, errors)
        if rows is None:
            continue
        if section == "nodes":
            out[section] = _nodes(rows, ref, origins, errors)
        elif section == "lanes":
            out[section] = _entries(rows, ref, section, origins)
        else:
            out[section] = _sourcing(rows, ref, origins, errors)
    if errors:
        raise ScenarioError(errors)
    return out, origins


def _read_table(path: Path, shown: str, section: str, errors: list[str]) -> list | None:
    """[(row number, {column: value})] of a CSV file, header checked."""
    try:
        if not path.is_file():
            errors.append(f"{section}.csv: {shown}: no such table beside the scenario file")
            return None
        if path.stat().st_size > MAX_TABLE_BYTES:
            errors.append(f"{section}.csv: {shown}: larger than {MAX_TABLE_BYTES >> 20} MiB")
            return None
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets often write a BOM
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{section}.csv: {shown}: cannot read the table ({exc})")
        return None
    parser = csv.reader(text.splitlines())
    try:
        parsed = list(parser)
    except csv.Error as exc:  # e.g. a cell over the csv module's 128 KiB field limit
        errors.append(f"{shown} row {parser.line_num}: cannot read the table ({exc})")
        return None
    reader = iter(parsed)
    header = next(reader, None)
    if not header:
        errors.append(f"{section}.csv: {shown}: empty, needs a header row")
        return None
    header = [h.strip() for h in header]
    bad = [h for h in header if not h or h.count("..")]
    if bad or len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        what = f"columns named twice: {', '.join(twice)}" if twice else "an empty column name"
        errors.append(f"{shown} row 1: header has {what}")
        return None
    missing = [c for c in REQUIRED[section] if c not in header]
    if missing:
        errors.append(f"{shown} row 1: header needs column(s) {', '.join(missing)}")
        return None
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines between blocks of a spreadsheet
        if len(cells) > len(header):
            errors.append(f"{shown} row {number}: {len(cells)} cells, the header has {len(header)}")
            continue
        values = {h: _value(c) for h, c in zip(header, cells, strict=False) if c.strip()}
        rows.append((number, values))
    return rows


def _value(cell: str) -> Any:
    text = cell.strip()
    if _NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number) and number == int(number) and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return number
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted column names -> nested mappings (``outage.duration.sigma``)."""
    out: dict[str, Any] = {}
    for column, value in values.items():
        keys = column.split(".")
        at = out
        for key in keys[:-1]:
            at = at.setdefault(key, {})
            if not isinstance(at, dict):
                break
        else:
            at[keys[-1]] = value
    return out


def _nodes(rows, table: str, origins: Origins, errors: list[str]) -> dict:
    nodes: dict[str, Any] = {}
    for number, values in rows:
        name = values.pop("name", None)
        if not isinstance(name, str) or not name:
            errors.append(f"{table} row {number}, column name: needs a node name")
            continue
        if name in nodes:
            errors.append(f"{table} row {number}, column name: node {name!r} given twice")
            continue
        nodes[name] = _nested(values)
        origins.places[f"nodes.{name}"] = (table, number, None)
        for column in values:
            origins.places[f"nodes.{name}.{column}"] = (table, number, column)
    return nodes


def _entries(rows, table: str, section: str, origins: Origins) -> list:
    entries = []
    for k, (number, values) in enumerate(rows):
        entries.append(_nested(values))
        origins.places[f"{section}[{k}]"] = (table, number, None)
        for column in values:
            origins.places[f"{section}[{k}].{column}"] = (table, number, column)
    return entries


def _sourcing(rows, table: str, origins: Origins, errors: list[str]) -> list:
    """One entry per (at, item, mode), its shares gathered from the rows of its sources."""
    entries: list[dict] = []
    index: dict[tuple, int] = {}
    for number, values in rows:
        key = (values.get("at"), values.get("item"), values.get("mode", "split"))
        source = values.get("source")
        if key not in index:
            index[key] = len(entries)
            entry = {k: v for k, v in (("at", key[0]), ("item", key[1])) if v is not None}
            entry["mode"] = key[2]
            entry["shares"] = {}
            entries.append(entry)
            k = index[key]
            origins.places[f"sourcing[{k}]"] = (table, number, None)
            for column in ("at", "item", "mode"):
                origins.places[f"sourcing[{k}].{column}"] = (table, number, column)
        k = index[key]
        shares = entries[k]["shares"]
        if source in shares:
            errors.append(f"{table} row {number}, column source: {source!r} given twice")
            continue
        shares[source] = values.get("share", 1.0)
        origins.places[f"sourcing[{k}].shares.{source}"] = (table, number, "share")
    return entries
