"""All four notebooks rendered as reports, as `make report` does, then nbval.

The report run (the session's `sample_report`) executes each notebook with
papermill on the project's kernel, with small `limit`s. nbval then re-runs
each executed notebook in a fresh kernel with a fresh state folder and checks
that every cell marked ``# NBVAL_CHECK_OUTPUT`` gives the same output again
(run ids, timings, ports and styler ids sanitized by ``nbval_sanitize.cfg``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmbench.reports import ReportRun

pytest_plugins = ["report_fixtures"]

pytestmark = [pytest.mark.notebook, pytest.mark.phoenix]

TESTS = Path(__file__).resolve().parent


def test_every_notebook_renders_as_a_report(sample_report: ReportRun) -> None:
    failed = {r.path.name: r.error for r in sample_report.results if r.status != "ok"}
    index = sample_report.index_html.read_text()

    assert failed == {}
    for result in sample_report.results:
        assert result.output_html.stat().st_size > 10_000
        assert result.output_html.name in index


def test_marked_outputs_hold_on_a_rerun(
    sample_report: ReportRun, tmp_path: Path
) -> None:
    executed = [str(r.output_ipynb) for r in sample_report.results]
    env = os.environ | {"LLMBENCH_STATE_DIR": str(tmp_path / "rerun-state")}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "no:phoenix", "--nbval-lax", "--nbval-kernel-name", "llmbench",
        "--nbval-sanitize-with", str(TESTS / "nbval_sanitize.cfg"), *executed,
    ]  # fmt: skip

    checked = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )

    assert checked.returncode == 0, checked.stdout[-4000:]
    assert " passed" in checked.stdout
