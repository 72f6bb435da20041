"""src/resilience/examples/risk_curves.ipynb runs top to bottom on a kernel of this interpreter, and is
stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = (
    Path(__file__).resolve().parent.parent / "src" / "resilience" / "examples" / "risk_curves.ipynb"
)


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None


def test_notebook_executes_and_its_checks_pass():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # kernel "python3" runs as sys.executable (jupyter_client swaps in this interpreter
    # for a spec's bare "python"), so the notebook sees the package under test
    client = NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            elif "image/png" in out.get("data", {}):
                images += 1
    stdout = "".join(text)
    assert "risk by strategy" in stdout and "Paired comparison of total_cost" in stdout
    assert stdout.rstrip().endswith("checks passed")
    assert images == 5  # two exceedance curves, fan chart, paired differences, frontier
