"""The notebooks as stored: no outputs, one commented parameters cell first,
a title, the project's kernel. Each notebook's own test names its title and
parameters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llmbench.jupyter_setup import KERNEL_DISPLAY_NAME, KERNEL_NAME
from llmbench.notebook_files import has_outputs

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = {"prompt_comparison", "eval_suite", "cost_analysis", "trace_explorer"}
KERNELSPEC = {
    "name": KERNEL_NAME,
    "display_name": KERNEL_DISPLAY_NAME,
    "language": "python",
}


def test_every_face_of_the_product_has_its_notebook() -> None:
    assert {path.stem for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path) -> None:
    notebook = json.loads(path.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]

    assert not has_outputs(path), f"strip it: llmbench strip {path}"
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert tagged == [code[0]], "one parameters cell, the first code cell"
    assert notebook["metadata"]["kernelspec"] == KERNELSPEC
    assert notebook["cells"][0]["cell_type"] == "markdown"
    assert notebook["cells"][0]["source"][0].startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_is_explained(path: Path) -> None:
    notebook = json.loads(path.read_text())
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    lines = "".join(cell["source"]).splitlines()

    for at, line in enumerate(lines):
        if re.match(r"\w+ = ", line):
            # At the end of its line, or on the comment line just above it.
            explained = "  # " in line or (at > 0 and lines[at - 1].startswith("# "))
            assert explained, f"{path.name}: {line}"
