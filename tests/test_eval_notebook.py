"""notebooks/eval_suite.ipynb, run headlessly with papermill on the sample suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notebook_outputs import executed, headlines

from llmbench.reports import ReportRun

pytest_plugins = ["report_fixtures"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "eval_suite.ipynb"


def test_the_notebook_has_its_title() -> None:
    notebook = json.loads(NOTEBOOK.read_text())

    assert notebook["cells"][0]["source"][0].startswith("# Eval suite")


@pytest.mark.notebook
def test_the_notebook_runs_the_sample_suite_headlessly(
    sample_report: ReportRun,
) -> None:
    notebook = executed(sample_report, "eval_suite")

    shown = headlines(notebook)
    assert shown["gate"] == "pass"
    assert shown["regressions"] == 0
    assert shown["mean token_f1"] == pytest.approx(0.301, abs=0.001)
    pages = json.dumps(notebook, ensure_ascii=False)
    assert "PASS: suite qa_offline" in pages
    assert "qa_answer@v4-top-passage" in pages  # the checked-in baseline was compared
    assert "pass → fail" in pages
    assert pages.count("image/png") >= 2
