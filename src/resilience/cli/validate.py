"""``resilience validate FILE...``: check scenario and sweep files without simulating anything."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from resilience.cli.boundary import command
from resilience.errors import ResilienceError, ScenarioError
from resilience.scenario import load_scenario
from resilience.scenario.schema import read_yaml


def _kind_of(path: Path) -> str:
    """ "sweep" (a mapping with ``axes`` and no ``nodes``), "optimization" (with
    ``base_strategy`` or ``variables`` and no ``nodes``) or "scenario".

    (A scenario with a stray ``axes`` key has nodes, and the scenario checks report the
    key; a grid with a stray key has no nodes, and the sweep checks report it.) Anything
    unreadable is left to the scenario checks, which say what is wrong with it.
    """
    try:
        # the scenario loader's own reading: size and file-type limits, depth, placed errors
        data = read_yaml(path)
    except ScenarioError:
        return "scenario"  # load_scenario says what is wrong with it
    if not isinstance(data, dict) or "nodes" in data:
        return "scenario"
    if "axes" in data:
        return "sweep"
    if "base_strategy" in data or "variables" in data:
        return "optimization"
    return "scenario"


def is_sweep_file(path: Path) -> bool:
    """Whether ``path`` holds a sweep grid (see ``_kind_of``)."""
    return _kind_of(path) == "sweep"


def _echo_errors(path: Path, exc: Exception) -> None:
    """One stderr line per problem, each starting with the file it is about."""
    for line in str(exc).splitlines():
        click.echo(line if line.startswith(f"{path}") else f"{path}: {line}", err=True)


class _Base:
    """The ``--scenario`` a sweep is checked against, loaded (and reported) once."""

    def __init__(self, path: Path | None):
        self.path = path
        self._loaded = False
        self.scenario = None

    def load(self):
        if not self._loaded:
            self._loaded = True
            try:
                self.scenario = load_scenario(self.path)
            except ScenarioError as exc:
                _echo_errors(self.path, exc)
        return self.scenario


def _validate_sweep(path: Path, base: _Base) -> bool:
    # imported only for a sweep file: the sweeps package loads the engine (numba)
    from resilience.sweeps import load_sweep

    try:
        spec = load_sweep(path)
    except ResilienceError as exc:
        _echo_errors(path, exc)
        return False
    points = f"{spec.size} point{'s' if spec.size != 1 else ''}"
    axes = f"ax{'es' if len(spec.axes) != 1 else 'is'} {', '.join(spec.names)}"
    if base.path is None:
        click.echo(
            f"OK {path} (sweep: {points} over {axes}; "
            "validate against its scenario with --scenario SCENARIO)"
        )
        return True
    scenario = base.load()
    if scenario is None:
        click.echo(f"{path}: not checked against {base.path}: the scenario is invalid", err=True)
        return False
    try:
        spec.scenarios(yaml.safe_load(scenario.source_text), source=str(path))
    except ResilienceError as exc:
        _echo_errors(path, exc)
        return False
    click.echo(f"OK {path} (sweep: {points} over {axes}; every point valid on {base.path})")
    return True


def _validate_optimization(path: Path, base: _Base) -> bool:
    # imported only for an optimisation file: it loads Optuna's spec helpers
    from resilience.optimize.spec import load_optimization

    try:
        spec = load_optimization(path)
    except ResilienceError as exc:
        _echo_errors(path, exc)
        return False
    n = len(spec.variables)
    what = f"optimisation: {n} decision variable{'s' if n != 1 else ''}"
    if base.path is None:
        click.echo(f"OK {path} ({what}; validate against its scenario with --scenario SCENARIO)")
        return True
    scenario = base.load()
    if scenario is None:
        click.echo(f"{path}: not checked against {base.path}: the scenario is invalid", err=True)
        return False
    try:
        spec.prepare(yaml.safe_load(scenario.source_text))
    except ResilienceError as exc:
        _echo_errors(path, exc)
        return False
    click.echo(f"OK {path} ({what}; every variable valid on {base.path})")
    return True


@click.command()
@command
@click.argument(
    "files",
    nargs=-1,
    required=True,
    metavar="FILE...",
    # Not exists=True: a missing file is reported like any other bad file (one line,
    # exit 1) and the remaining files are still checked.
    type=click.Path(dir_okay=True, path_type=Path),
)
@click.option(
    "--scenario",
    "scenario_path",
    metavar="SCENARIO",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check the sweep grids and optimisation files among FILEs against this scenario: "
    "every point of a grid, and every decision variable at each end of its range, must "
    "give a valid scenario (nothing is simulated).",
)
def validate(files: tuple[Path, ...], scenario_path: Path | None, quiet: bool) -> None:
    """Check scenario FILEs (and sweep grid files) and list every problem found in each.

    Prints ``OK FILE (N nodes, M lanes, K strategies)`` for each valid scenario, and one
    line ``FILE: place: problem`` on stderr per problem. A sweep grid (a file with
    ``axes``) is checked on its own, and with ``--scenario`` point by point against that
    scenario. Exits with 1 if any file is bad.
    """
    bad = 0
    base = _Base(scenario_path)
    for path in files:
        try:
            kind = _kind_of(path)
            if kind == "sweep":
                bad += not _validate_sweep(path, base)
                continue
            if kind == "optimization":
                bad += not _validate_optimization(path, base)
                continue
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            # The message is already one line per error, each prefixed with the path.
            for line in str(exc).splitlines():
                click.echo(line, err=True)
        except Exception as exc:
            # A bug in the checks must not hide the other files' results behind a traceback.
            bad += 1
            click.echo(
                f"{path}: internal error while validating ({type(exc).__name__}: {exc}); "
                "please report it",
                err=True,
            )
        else:
            click.echo(
                f"OK {path} ({_count(scenario.nodes, 'node')}, "
                f"{_count(scenario.lanes, 'lane')}, {_count(scenario.strategies, 'strategy')})"
            )
    if bad:
        raise SystemExit(1)


def _count(items, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{len(items)} {noun if len(items) == 1 else plural}"
