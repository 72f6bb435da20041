"""``resilience examples [DIR]``: copy the example scenarios and notebook shipped with the
package into a folder, to run and edit."""

from __future__ import annotations

import shlex
from importlib.resources import files
from pathlib import Path

import click

from resilience.cli.boundary import command
from resilience.errors import ResilienceError

#: what each shipped example is, in the order they are listed
DESCRIPTIONS = {
    "automotive.yaml": "car maker, EU and NA plants, single-sourced chips; 4 strategies",
    "automotive-sweep.yaml": "sweep grid on automotive.yaml: chip buffer days x shock severity",
    "automotive-optimize.yaml": "optimisation on automotive.yaml: least cost at P95 lost cars <= target",
    "lean-levers.yaml": "e-bike maker: kanban, mass production, heijunka, expediting, buffers; quality",
    "two-tier.yaml": "small two-tier network: the example of the scenario-format docs",
    "risk_curves.ipynb": "notebook: the decision summary, cost-risk frontier, risk curves",
}
SUFFIXES = (".yaml", ".ipynb")


def shipped_examples() -> list:
    """The example files installed with the package (importlib.resources traversables)."""
    folder = files("resilience") / "examples"
    found = [f for f in folder.iterdir() if f.is_file() and f.name.endswith(SUFFIXES)]
    order = list(DESCRIPTIONS)
    return sorted(
        found, key=lambda f: (order.index(f.name) if f.name in order else len(order), f.name)
    )


@click.command()
@command
@click.argument(
    "directory",
    metavar="[DIR]",
    required=False,
    default="resilience-examples",
    type=click.Path(file_okay=False, path_type=Path),
)
def examples(directory: Path, quiet: bool) -> None:
    """Copy the example scenarios, sweep grid and notebook into DIR (default
    ``resilience-examples``), creating it if needed. Never overwrites a file."""
    sources = shipped_examples()
    if not sources:
        raise ResilienceError("no example files found in the installed package (a broken install?)")
    targets = [directory / src.name for src in sources]
    for target in targets:
        if target.exists() or target.is_symlink():
            raise ResilienceError(
                f"{target} already exists; remove it or choose another folder "
                "(resilience examples DIR)"
            )
    directory.mkdir(parents=True, exist_ok=True)
    width = max(len(str(t)) for t in targets)
    for src, target in zip(sources, targets, strict=True):
        with open(target, "xb") as out:  # "x": refuse a file that appeared meanwhile
            out.write(src.read_bytes())
        about = DESCRIPTIONS.get(src.name, "")
        click.echo(f"wrote {str(target).ljust(width)}  {about}".rstrip())
    scenario = shlex.quote(str(directory / "automotive.yaml"))
    click.echo(f"Next: resilience run {scenario} --paths 20000")
