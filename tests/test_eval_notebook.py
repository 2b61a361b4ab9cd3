"""notebooks/eval_suite.ipynb, run headlessly with papermill on the sample suite."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from llmbench.reports import HEADLINE_MIME

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "eval_suite.ipynb"


def headlines(executed: dict[str, Any]) -> dict[str, Any]:
    """The headline figures an executed notebook published."""
    found = {}
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(HEADLINE_MIME)
            if payload:
                found[payload["name"]] = payload["value"]
    return found


def test_the_notebook_is_stored_clean_on_the_project_kernel() -> None:
    notebook = json.loads(NOTEBOOK.read_text())

    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert notebook["metadata"]["kernelspec"] == {
        "name": "llmbench", "display_name": "Python (llmbench)", "language": "python"
    }  # fmt: skip
    assert all(
        cell["outputs"] == [] and cell["execution_count"] is None for cell in code
    )
    assert [c for c in code if "parameters" in c["metadata"].get("tags", [])] == [
        code[0]
    ]
    assert notebook["cells"][0]["source"][0].startswith("# Eval suite")


@pytest.mark.notebook
def test_the_notebook_runs_the_sample_suite_headlessly(tmp_path: Path) -> None:
    import papermill

    started = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "eval_suite.ipynb"),
        kernel_name="llmbench",
        cwd=str(NOTEBOOKS),
        progress_bar=False,
    )
    seconds = time.perf_counter() - started

    executed = json.loads((tmp_path / "eval_suite.ipynb").read_text())
    shown = headlines(executed)
    assert shown["gate"] == "pass"
    assert shown["regressions"] == 0
    assert shown["mean token_f1"] == pytest.approx(0.301, abs=0.001)
    pages = json.dumps(executed, ensure_ascii=False)
    assert "PASS: suite qa_offline" in pages
    assert "qa_answer@v4-top-passage" in pages  # the checked-in baseline was compared
    assert "pass → fail" in pages
    assert pages.count("image/png") >= 2
    assert seconds < 120, f"the notebook took {seconds:.0f} s"
