"""``resilience validate FILE...``: check scenario files without simulating anything."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli.boundary import command
from resilience.errors import ScenarioError
from resilience.scenario import load_scenario


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
def validate(files: tuple[Path, ...], quiet: bool) -> None:
    """Check scenario FILEs and list every problem found in each.

    Prints ``OK FILE (N nodes, M lanes, K strategies)`` for each valid file, and one
    line ``FILE: place: problem`` on stderr per problem. Exits with 1 if any file is bad.
    """
    bad = 0
    for path in files:
        try:
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
                f"OK {path} ({len(scenario.nodes)} nodes, {len(scenario.lanes)} lanes, "
                f"{len(scenario.strategies)} strategies)"
            )
    if bad:
        raise SystemExit(1)
