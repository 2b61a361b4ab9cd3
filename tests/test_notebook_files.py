"""The notebooks as stored: no outputs, one parameters cell, the project's kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmbench.jupyter_setup import KERNEL_NAME
from llmbench.notebook_files import has_outputs

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = {"prompt_comparison", "eval_suite", "cost_analysis", "trace_explorer"}


def test_every_face_of_the_product_has_its_notebook() -> None:
    assert {path.stem for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path) -> None:
    notebook = json.loads(path.read_text())
    tagged = [
        cell
        for cell in notebook["cells"]
        if "parameters" in cell.get("metadata", {}).get("tags", [])
    ]

    assert not has_outputs(path), f"strip it: llmbench strip {path}"
    assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"
    assert notebook["metadata"]["kernelspec"]["name"] == KERNEL_NAME
    assert notebook["cells"][0]["cell_type"] == "markdown"
    assert notebook["cells"][0]["source"][0].startswith("# ")
