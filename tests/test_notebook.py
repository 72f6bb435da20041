"""src/resilience/examples/risk_curves.ipynb runs top to bottom on a kernel of this interpreter,
and is stored *with* its outputs (so a reader browsing the repository sees the figures),
small enough to keep in git."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = (
    Path(__file__).resolve().parent.parent / "src" / "resilience" / "examples" / "risk_curves.ipynb"
)

#: figures the notebook draws: the frontier, the exceedance curve, a `.sel(...).plot()`
IMAGES = 3


def _outputs(nb) -> tuple[str, int]:
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            elif "image/png" in out.get("data", {}):
                images += 1
    return "".join(text), images


def _check_stdout(stdout: str) -> None:
    assert "Against jit, on the same" in stdout  # the decision summary's paragraph
    assert "buys risk reduction cheapest" in stdout
    assert "P5 fill rate" in stdout  # the same summary on another risk measure
    assert stdout.rstrip().endswith("checks passed")


def test_notebook_is_stored_with_its_outputs_and_small():
    assert NOTEBOOK.stat().st_size < 1_000_000
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(cell.outputs for cell in code[1:])  # every cell after the setup shows something
    stdout, images = _outputs(nb)
    _check_stdout(stdout)
    assert images == IMAGES
    # the Dataset is shown, and no output names the temporary folder of the setup
    shown = [
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in code
        for out in cell.outputs
    ]
    assert any("<xarray.Dataset>" in text for text in shown)
    assert not any("resilience-notebook-" in text for text in shown)


def test_notebook_executes_and_its_checks_pass():
    nb = copy.deepcopy(nbformat.read(NOTEBOOK, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # kernel "python3" runs as sys.executable (jupyter_client swaps in this interpreter
    # for a spec's bare "python"), so the notebook sees the package under test
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    stdout, images = _outputs(nb)
    _check_stdout(stdout)
    assert images == IMAGES
