"""``resilience report RESULTS``: figures and a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from resilience.errors import ResilienceError


def _one_line(exc: BaseException) -> str:
    return (
        "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        or type(exc).__name__
    )


@click.command("report")
@click.argument("results", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for report.html and the PNGs  [default: <RESULTS stem>_report beside RESULTS]",
)
@click.option("--baseline", default="jit", show_default=True, help="Strategy to compare against.")
@click.option(
    "--n-boot",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap resamples for the paired VaR/CVaR intervals (0: none).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
def report(results: Path, out_dir: Path | None, baseline: str, n_boot: int, seed: int) -> None:
    """Write plots and a self-contained HTML report of the results dataset RESULTS."""
    # Imported here so `resilience --help` does not pay for xarray and matplotlib.
    from resilience.report import write_report
    from resilience.results import open_results

    if out_dir is None:
        out_dir = results.parent / f"{results.stem}_report"
    try:
        try:
            ds = open_results(results)
        except (OSError, ValueError, KeyError) as exc:
            if isinstance(exc, ResilienceError):
                raise
            raise click.ClickException(f"cannot open {results}: {_one_line(exc)}") from None
        from resilience.sweep_run import is_sweep

        if is_sweep(ds):
            # a sweep: metric-vs-parameter curves and the frontier over every point
            from resilience.sweep_plots import write_sweep_report

            path = write_sweep_report(ds, out_dir)
        else:
            path = write_report(ds, out_dir, baseline=baseline, n_boot=n_boot, seed=seed)
    except (ResilienceError, OSError) as exc:
        raise click.ClickException(_one_line(exc)) from None
    click.echo(f"Report written to {path}")
