"""The prompt comparison notebook: stored clean, and run headless with papermill
on the project's kernel as a report would run it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_outputs import executed, outputs
from notebook_outputs import shown as text

from llmbench.notebook_files import read_notebook
from llmbench.reports import ReportRun

pytest_plugins = ["report_fixtures"]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "prompt_comparison.ipynb"


def test_the_notebook_has_its_title_and_parameters() -> None:
    nb = read_notebook(NOTEBOOK)

    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert nb.cells[0].source.startswith("# Prompt comparison")
    lines = parameters[0].source.splitlines()
    for name in ("prompt", "versions", "models", "dataset", "repeats", "metrics",
                 "judge_model", "baseline_version", "limit"):  # fmt: skip
        assert any(line.startswith(f"{name} = ") for line in lines), name


@pytest.mark.notebook
def test_the_notebook_runs_headless_and_answers_the_question(
    sample_report: ReportRun,
) -> None:
    shown = outputs(executed(sample_report, "prompt_comparison"))

    assert not [o for o in shown if o["output_type"] == "error"]
    markdown = "\n".join(text(o, "text/markdown") for o in shown)
    verdict = re.search(
        r"v2-full-context scores higher than v1-no-context on (\d+) of 12 cases.*"
        r"(is unlikely to be noise|could be noise)",
        markdown,
    )
    assert verdict, markdown
    assert int(verdict.group(1)) > 6
    images = [o for o in shown if "image/png" in o.get("data", {})]
    assert len(images) >= 3
    html = "\n".join(text(o, "text/html") for o in shown)
    assert "llmbench-case" in html  # the static side-by-side cards
    assert "llmbench-diff" in html  # the prompt diff
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown
    )
