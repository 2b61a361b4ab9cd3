"""One report run of all four notebooks, shared by the whole test session.

`make report` renders every notebook with papermill on the project's kernel;
this fixture does the same once (small limits, the session's Phoenix server, a
fresh Phoenix project so the trace explorer makes its own sample first), and
the notebook tests read what it produced. Test modules load it with
``pytest_plugins = ["report_fixtures"]`` and do not import it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from llmbench.phoenix import PhoenixHandle
from llmbench.reports import ReportRun, render_reports

pytest_plugins = ["phoenix_fixtures"]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = [
    NOTEBOOKS_DIR / f"{name}.ipynb"
    for name in ("prompt_comparison", "eval_suite", "cost_analysis", "trace_explorer")
]
TRACE_PROJECT = f"report-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def sample_report(
    tmp_path_factory: pytest.TempPathFactory, phoenix_server: PhoenixHandle
) -> ReportRun:
    """The four notebooks rendered as reports into a temporary folder."""
    parameters = {
        "notebooks": {
            "prompt_comparison": {"limit": 12},
            "cost_analysis": {"limit": 3},
            "trace_explorer": {
                "phoenix_url": phoenix_server.url,
                "project": TRACE_PROJECT,
            },
        }
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMBENCH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        out = tmp_path_factory.mktemp("reports")
        return render_reports(NOTEBOOKS, parameters, out_dir=out, progress=False)
