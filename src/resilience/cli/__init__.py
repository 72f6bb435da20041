"""Command-line interface: one module per command; no simulation logic lives here."""

from __future__ import annotations

import importlib

import click

from resilience._version import __version__

# name -> "module:attribute"; imported lazily so `resilience --help` stays fast.
COMMANDS = {
    "validate": "resilience.cli.validate:validate",
    "run": "resilience.cli.run:run",
    "report": "resilience.cli.report:report",
    "compare": "resilience.cli.compare:compare",
    "sweep": "resilience.cli.sweep:sweep",
    "merge": "resilience.cli.merge:merge",
    "examples": "resilience.cli.examples:examples",
    "generate-network": "resilience.cli.generate:generate_network",
    "optimize": "resilience.cli.optimize:optimize",
    "stress": "resilience.cli.stress:stress",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx, name):
        return self._load(name)

    @staticmethod
    def _load(name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command not written yet
                return None
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resilience")
def main():
    """Supply-chain disruption risk: simulate disruption paths, compare sourcing strategies."""
