"""``resilience generate-network N --out FILE.yaml``: write a synthetic layered network of
N nodes (resilience.scenario.synthetic) as a scenario file, for benchmarks and scaling
studies. Never overwrites a file."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.cli.boundary import command
from resilience.errors import ResilienceError

#: mirrors resilience.scenario.synthetic.MIN_NODES (kept literal so --help imports no numpy)
MIN_NODES = 4


@click.command()
@command
@click.argument("nodes", type=click.IntRange(min=MIN_NODES))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The scenario file to write (YAML); refused if it exists.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=0,
    show_default=True,
    help="Seed of the network's parameters (lead times, rates, demand, costs).",
)
def generate_network(nodes: int, out: Path, seed: int, quiet: bool) -> None:
    """Write a synthetic layered network of NODES nodes (suppliers -> tier-1 plants ->
    assembly plants -> DCs, with regional shocks, mixed outages, lane shocks, demand
    surges and two strategies, lean and buffered) to the scenario file OUT.

    The same NODES and --seed give the same file. The tiers and every parameter are
    described in docs/scenario-format.md, "Synthetic networks for benchmarks".
    """
    # imported when the command runs, so `resilience --help` does not load numpy
    from resilience.scenario import load_scenario
    from resilience.scenario.synthetic import layered_network, tier_sizes, to_yaml

    if out.exists() or out.is_symlink():
        raise ResilienceError(f"{out} already exists; remove it or choose another --out")
    doc = layered_network(nodes, seed=seed)
    load_scenario(doc)  # a generated network that does not validate is a bug: fail here
    text = to_yaml(doc)
    with open(out, "x", encoding="utf-8") as f:  # "x": refuse a file that appeared meanwhile
        f.write(text)
    if not quiet:
        sizes = tier_sizes(nodes)
        click.echo(
            f"wrote {out}: {nodes} nodes ({sizes['suppliers']} suppliers, {sizes['tier1']} "
            f"tier-1 plants, {sizes['assembly']} assembly plants, {sizes['dcs']} DCs), "
            f"strategies {', '.join(doc['strategies'])}, seed {seed}"
        )
