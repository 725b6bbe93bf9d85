"""docs/example.ipynb runs, as a user's Jupyter runs it, and says what the stored run says.

Executed with nbclient (Jupyter's own executor, the one behind ``jupyter nbconvert --execute``):
the stored ``.ipynb`` goes cell by cell through a real IPython kernel, so what a reader meets is
what is tested: ``%matplotlib inline``, the rich display of the last expression (the claim
table from ``Run._repr_html_``, a DataFrame, a Figure as PNG) and the notebook's working folder
(``docs/``, for its relative spec path). jupytext would run a converted script in plain Python,
where none of that display path runs, and would add a paired file to keep in step.

The kernel is ``python3`` as this interpreter's ipykernel provides it (jupyter_client starts a
kernelspec whose command is ``python`` with ``sys.executable``); an extra cell, added in memory
only, checks that the kernel really runs in this environment. The parameters cell (tag
``parameters``) is given a smaller model and fewer steps, as papermill would, so the test costs
one tiny smoke run (about 10 s, most of it JAX compiling).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "example.ipynb"
# the notebook asks only for fft_error: the other metrics would cost 3 s of compiling
TINY = {"train.steps": 40, "model.hidden": [16, 16], "metrics": [{"kind": "fft_error"}]}
PROBE = "import sys, runner\nprint(sys.prefix)\nprint(runner.__file__)"


def test_notebook_is_stored_without_outputs():
    """Outputs and execution counts would make every diff of the notebook unreadable."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == [], "".join(cell["source"])[:60]
        assert cell["execution_count"] is None
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def _parameters(notebook) -> int:
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "the notebook needs one cell tagged 'parameters'"
    return tagged[0]


def _text(cell) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stdout":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def _cell(notebook, fragment: str):
    (found,) = [c for c in notebook.cells if c.cell_type == "code" and fragment in c.source]
    return found


def test_example_notebook_runs(tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = _parameters(notebook)
    assert "SET = {}" in notebook.cells[index].source
    notebook.cells[index].source += f"\nSET = {TINY!r}"
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's tempfile.mkdtemp lands here
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()

    prefix, module = _text(notebook.cells[-1]).split()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(module).resolve().is_relative_to(ROOT)

    found = tmp_path.glob("pgdlab-*/*/manifest.json")
    (run_dir,) = [p.parent for p in found if not p.parent.is_symlink()]  # not reports/latest
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["profile"] == "smoke"
    assert manifest["overrides"] == [
        "train.steps=40",
        "model.hidden=[16, 16]",
        "metrics=[{kind: fft_error}]",
    ]
    assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()

    # the claim table: one row per claim of the run, escaped HTML from Run._repr_html_
    shown = _cell(notebook, "run = api.run(").outputs[-1].data["text/html"]
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    assert shown.count("<tr>") == len(claims) + 1
    for claim in claims:
        assert f"<code>{claim['id']}</code></td><td>{claim['verdict']}" in shown

    # the slowest GD mode the notebook printed, computed here from the stored arrays
    (gd,) = [c for c in manifest["cells"] if c["optimizer"] == "gd"]
    with np.load(run_dir / "cells" / gd["cell_id"] / "metrics.npz") as arrays:
        errors = arrays["eval/fft_error"]
    kept = errors[-1, 1:] / errors[0, 1:]
    slowest = 1 + int(np.argmax(kept))
    printed = _text(_cell(notebook, "slowest mode under GD"))
    assert f"slowest mode under GD: {slowest} (keeps {kept.max():.1%} of its error)" in printed

    figure = _cell(notebook, "run.figure(").outputs
    assert any("image/png" in output.get("data", {}) for output in figure)
    assert _text(_cell(notebook, "again.verdicts == run.verdicts")).strip() == "True"
