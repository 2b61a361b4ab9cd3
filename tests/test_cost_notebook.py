"""The cost analysis notebook, executed headlessly as a report would be."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from notebook_outputs import executed, outputs
from notebook_outputs import headlines as published
from notebook_outputs import shown as shown_text

from llmbench.reports import ReportRun

pytest_plugins = ["report_fixtures"]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "cost_analysis.ipynb"


def test_the_notebook_has_its_title_and_parameters() -> None:
    nb = json.loads(NOTEBOOK.read_text())

    cells = nb["cells"]
    tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert "".join(cells[0]["source"]).startswith("# Cost analysis")
    source = "".join(tagged[0]["source"])
    for name in (
        "run_ids",
        "project_models",
        "budget_usd",
        "prompt",
        "dataset",
        "limit",
    ):
        assert f"{name} = " in source


@pytest.mark.notebook
def test_the_notebook_runs_headless_and_shows_money_charts_and_the_front(
    sample_report: ReportRun,
) -> None:
    shown = outputs(executed(sample_report, "cost_analysis"))
    assert not [o for o in shown if o["output_type"] == "error"]
    html = [shown_text(o, "text/html") for o in shown]
    for caption in (
        "Estimated cost per model, and in total",
        "What the budget let run, per model and prompt version",
        "Cost per model and prompt version; the judge",
        "Estimate vs actual per model",
        "Pareto front: no other choice is both cheaper and better",
    ):
        table = next((h for h in html if caption in h), None)
        assert table is not None, caption
        assert "$" in table
    images = [o["data"]["image/png"] for o in shown if "image/png" in o.get("data", {})]
    assert len(images) >= 3
    assert all(base64.b64decode(image)[:4] == b"\x89PNG" for image in images)
    headlines = published(executed(sample_report, "cost_analysis"))
    assert headlines["total cost (USD)"] > 0
    assert " on " in headlines["cheapest version at best quality"]
    stop = "".join(
        "".join(o["data"]["text/markdown"])
        for o in shown
        if "text/markdown" in o.get("data", {})
    )
    assert "stopped run" in stop
    assert "came from the response cache" in stop
