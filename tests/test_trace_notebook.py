"""The trace explorer notebook, executed headlessly as a report would be."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from notebook_outputs import executed, outputs, shown
from notebook_outputs import headlines as published

from llmbench.reports import ReportRun

pytest_plugins = ["report_fixtures"]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "trace_explorer.ipynb"


def test_the_notebook_has_its_title_and_parameters() -> None:
    nb = json.loads(NOTEBOOK.read_text())

    cells = nb["cells"]
    tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert "".join(cells[0]["source"]).startswith("# Trace explorer")
    source = "".join(tagged[0]["source"])
    for name in (
        "project",
        "run_id",
        "window_hours",
        "phoenix_url",
        "make_sample",
        "limit",
    ):
        assert re.search(rf"^{name} = .+  # \S", source, re.MULTILINE), name


@pytest.mark.notebook
@pytest.mark.notebook
@pytest.mark.phoenix
def test_the_notebook_makes_traces_first_and_shows_them(
    sample_report: ReportRun,
) -> None:
    every = outputs(executed(sample_report, "trace_explorer"))
    assert not [o for o in every if o["output_type"] == "error"]
    html = [shown(o, "text/html") for o in every]
    markdown = "\n".join(shown(o, "text/markdown") for o in every)
    assert "Made 90 sample calls" in markdown
    percentiles = next(h for h in html if "Latency per model and prompt version" in h)
    for column in ("p50_s", "p95_s", "p99_s"):
        assert column in percentiles
    assert "openai/stand-in" in percentiles and "v2-full-context" in percentiles
    assert any("What failed" in h and "HTTP 500" in h for h in html)
    assert any("Tokens per model and prompt version" in h for h in html)
    scores = next(h for h in html if "Eval scores logged on the spans" in h)
    assert "token_f1" in scores and "grounded" in scores  # comparison and suite
    # The slowest calls are shown in full: what was sent, what came back.
    assert "**user**" in markdown and "**reply**" in markdown
    frames = [h for h in html if "<iframe" in h]
    assert len(frames) == 1
    assert re.search(r'src="http://127\.0\.0\.1:\d+/projects/\w+', frames[0])
    images = [o["data"]["image/png"] for o in every if "image/png" in o.get("data", {})]
    assert len(images) >= 2
    assert all(base64.b64decode(image)[:4] == b"\x89PNG" for image in images)
    headlines = published(executed(sample_report, "trace_explorer"))
    assert headlines["spans"] == 90
    assert 0 < headlines["error rate"] < 0.5
    assert headlines["p95 latency (s)"] > 0
