"""Reports: papermill runs of tiny fixture notebooks, their pages and index.

One module-wide run renders three notebooks (an echo, a failure, a chart);
most tests read its files. Two more runs cover the gate and a timeout.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from llmbench import config
from llmbench.errors import ConfigError, ReportError
from llmbench.notebook_files import read_notebook
from llmbench.redact import REDACTED
from llmbench.report_pages import redact_deep
from llmbench.reports import (
    NotebookResult,
    ReportRun,
    has_outputs,
    load_params_file,
    render_reports,
    strip_outputs,
)

pytestmark = pytest.mark.notebook

NOTEBOOKS = Path(__file__).parent / "notebooks"
ECHO = NOTEBOOKS / "params_echo.ipynb"
FAILS = NOTEBOOKS / "fails_on_purpose.ipynb"
CHART = NOTEBOOKS / "plots_a_chart.ipynb"

FAKE_KEY = "sk-test-0123456789abcdefghijKLMN"
FAKE_TOKEN = "plain-token-value-9f8e7d6c"
FAKE_SERVICE_KEY = "svc-plainvalue-12345678"


class _Captured(logging.Handler):
    """Keeps the log records of a module-scoped run (caplog is per test)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def mixed_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReportRun, list[str]]]:
    """Render the echo, the failure and the chart in one run, sealed like tests."""
    folder = tmp_path_factory.mktemp("mixed")
    captured = _Captured()
    reports_logger = logging.getLogger("llmbench")
    reports_logger.addHandler(captured)
    with pytest.MonkeyPatch.context() as env:
        for name, value in config.OFFLINE_DEFAULTS.items():
            env.setenv(name, value)
        env.setenv("LLMBENCH_STATE_DIR", str(folder / "state"))
        env.setenv("LLMBENCH_FAKE_API_KEY", FAKE_KEY)
        env.setenv("LLMBENCH_FAKE_TOKEN", FAKE_TOKEN)
        env.setenv("LLMBENCH_SERVICE_KEY", FAKE_SERVICE_KEY)
        parameters = {
            "greeting": "bonjour",
            "greting": "typo",
            "gate": "fail",
            "notebooks": {
                "params_echo": {"repeats": 2},
                "fails_on_purpose": {"resaon": 1},
            },
        }

        run = render_reports(
            [ECHO, FAILS, CHART], parameters, out_dir=folder / "out", progress=False
        )
    reports_logger.removeHandler(captured)
    yield run, captured.messages


def _result(run: ReportRun, stem: str) -> NotebookResult:
    return next(result for result in run.results if result.path.stem == stem)


def _stream_text(path: Path) -> str:
    nb = read_notebook(path)
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.output_type == "stream"
    )


def test_parameters_reach_the_notebook(mixed_run: tuple[ReportRun, list[str]]) -> None:
    run, _ = mixed_run

    echo = _result(run, "params_echo")

    assert echo.status == "ok"
    assert echo.parameters == {"greeting": "bonjour", "gate": "fail", "repeats": 2}
    printed = _stream_text(echo.output_ipynb)
    assert "greeting=bonjour repeats=2" in printed
    assert "cwd folder: notebooks" in printed
    assert echo.headlines["echo"] == "bonjourbonjour"


def test_unknown_parameters_are_reported_with_a_suggestion(
    mixed_run: tuple[ReportRun, list[str]],
) -> None:
    run, messages = mixed_run

    echo, fails, chart = run.results

    assert echo.unknown_parameters == ["greting"]
    assert chart.unknown_parameters == ["greting"]
    assert fails.unknown_parameters == ["greting", "resaon"]
    assert fails.suggestions == {"greting": "greeting", "resaon": "reason"}
    assert run.unknown_parameters["fails_on_purpose"] == ["greting", "resaon"]
    warnings = "\n".join(messages)
    assert "'greting' (did you mean 'greeting'?)" in warnings
    assert "'resaon' (did you mean 'reason'?)" in warnings
    injected = "".join(cell.source for cell in read_notebook(echo.output_ipynb).cells)
    assert "greting" not in injected


def test_a_failing_notebook_still_writes_its_report_and_others_run(
    mixed_run: tuple[ReportRun, list[str]],
) -> None:
    run, _ = mixed_run

    fails = _result(run, "fails_on_purpose")
    cells = read_notebook(fails.output_ipynb).cells

    assert not run.ok
    assert run.failed == [fails]
    assert _result(run, "plots_a_chart").status == "ok"
    assert fails.output_html.is_file()
    assert fails.error == f"ValueError: failed on purpose with key {REDACTED}"
    assert fails.failed_cell is not None
    failing = cells[fails.failed_cell]
    assert failing.outputs[0].ename == "ValueError"
    assert fails.failed_execution_count == failing.execution_count
    assert "papermill-error-cell" in cells[fails.failed_cell - 1].source
    assert cells[-1].outputs == []  # the cell after the failure never ran
    page = fails.output_html.read_text(encoding="utf-8")
    assert 'id="papermill-error-cell"' in page
    assert "failed on purpose with key" in page


def test_pages_embed_charts_and_show_no_code(
    mixed_run: tuple[ReportRun, list[str]],
) -> None:
    run, _ = mixed_run

    chart = _result(run, "plots_a_chart")
    page = chart.output_html.read_text(encoding="utf-8")
    source = read_notebook(CHART)

    assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/]{100}', page)
    assert "Draws one small line chart." in page
    for cell in source.cells:
        if cell.cell_type == "code":
            for line in filter(None, cell.source.splitlines()):
                assert escape(line) not in page and line not in page, line
    for path in run.out_dir.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert '<script src="http' not in text and "https://cdn" not in text, path


def test_index_links_every_notebook_with_its_status(
    mixed_run: tuple[ReportRun, list[str]],
) -> None:
    run, _ = mixed_run

    index = run.index_html.read_text(encoding="utf-8")
    entries = json.loads((run.out_dir / "index.json").read_text(encoding="utf-8"))

    assert run.index_html == run.out_dir / "index.html"
    for stem in ("params_echo", "fails_on_purpose", "plots_a_chart"):
        assert f'href="{stem}.html"' in index and f'href="{stem}.ipynb"' in index
    assert 'href="fails_on_purpose.html#papermill-error-cell"' in index
    assert "ValueError: failed on purpose with key" in index
    assert "3 notebook(s): 2 ok, 1 failed." in index
    assert "<code>greeting</code> = <code>&#x27;bonjour&#x27;</code>" in index
    assert "cost_usd: <strong>0.0125</strong>" in index
    assert "(did you mean <code>greeting</code>?)" in index
    assert "Traceback" not in index
    assert [entry["status"] for entry in entries["notebooks"]] == ["ok", "failed", "ok"]


def test_secrets_are_redacted_from_every_file(
    mixed_run: tuple[ReportRun, list[str]],
) -> None:
    run, _ = mixed_run

    files = sorted(path for path in run.out_dir.iterdir() if path.is_file())
    printed = _stream_text(_result(run, "params_echo").output_ipynb)

    assert len(files) == 8  # 3 notebooks, 3 pages, index.html, index.json
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in (FAKE_KEY, FAKE_TOKEN, FAKE_SERVICE_KEY):
            assert secret not in text, path
    assert f"key in use: {REDACTED}" in printed
    assert f"token in use: {REDACTED}" in printed
    assert f"service key: {REDACTED}" in printed


def test_fail_on_gate_fails_a_notebook_whose_gate_failed(
    mixed_run: tuple[ReportRun, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMBENCH_PROJECT_ROOT", str(tmp_path))

    run = render_reports([ECHO], {"gate": "fail"}, progress=False, fail_on_gate=True)

    assert _result(mixed_run[0], "params_echo").status == "ok"  # flag off there
    assert not run.ok
    assert run.results[0].status == "failed"
    assert run.results[0].error == "gate failed: fail"
    assert run.out_dir.parent == tmp_path / "reports"
    assert re.fullmatch(r"\d{8}T\d{6}Z", run.out_dir.name)


def test_a_cell_that_times_out_fails_its_notebook(tmp_path: Path) -> None:
    run = render_reports(
        [ECHO], {"sleep_s": 60}, out_dir=tmp_path, progress=False, timeout_s=1
    )

    result = run.results[0]
    cells = read_notebook(result.output_ipynb).cells
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("CellTimeoutError")
    assert result.failed_cell is not None
    assert "time.sleep(sleep_s)" in cells[result.failed_cell].source
    assert "Execution stopped at this cell" in cells[result.failed_cell - 1].source
    assert result.seconds < 30


def test_strip_outputs_round_trip(
    mixed_run: tuple[ReportRun, list[str]], tmp_path: Path
) -> None:
    executed = _result(mixed_run[0], "fails_on_purpose").output_ipynb
    copy = tmp_path / "executed.ipynb"
    shutil.copy(executed, copy)

    had_outputs = has_outputs(copy)
    changed = strip_outputs(copy)
    changed_again = strip_outputs(copy)

    assert had_outputs and changed and not changed_again
    assert not has_outputs(copy)
    stripped = read_notebook(copy)
    assert "papermill" not in stripped.metadata
    assert all(cell.get("outputs", []) == [] for cell in stripped.cells)
    assert all(cell.get("execution_count") is None for cell in stripped.cells)
    assert [cell.source for cell in stripped.cells if cell.cell_type == "code"] == [
        cell.source
        for cell in read_notebook(executed).cells
        if cell.cell_type == "code"
    ]


def test_fixture_notebooks_are_stored_without_outputs() -> None:
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))

    assert len(notebooks) == 3
    assert not any(has_outputs(path) for path in notebooks)


def test_load_params_file_reads_globals_and_sections(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text(
        "model: offline/extractive\nsince: 2026-12-01\n"
        "notebooks:\n  eval_suite:\n    suite: qa_smoke\n",
        encoding="utf-8",
    )

    params = load_params_file(path)

    assert params == {
        "model": "offline/extractive",
        "since": "2026-12-01",
        "notebooks": {"eval_suite": {"suite": "qa_smoke"}},
    }


def test_load_params_file_rejects_a_bad_sections_key(tmp_path: Path) -> None:
    path = tmp_path / "report.yaml"
    path.write_text("notebooks: [eval_suite]\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="must map notebook stems"):
        load_params_file(path)


def test_a_missing_kernel_fails_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not installed"):
        render_reports([ECHO], out_dir=tmp_path, kernel_name="no-such-kernel")

    assert list(tmp_path.iterdir()) == []


def test_redact_deep_scrubs_text_and_leaves_images_alone() -> None:
    bundle = {
        "text/plain": ["using sk-live-abcdefghijklmnop1234 and hunter2-long-secret"],
        "image/png": "iVBORw0KGgo-sk-notreally-but-left-alone",
        "metadata": {"parameters": {"password": "hunter2-long-secret"}},
    }

    cleaned, count = redact_deep(bundle, ["hunter2-long-secret"])

    assert cleaned["text/plain"] == [f"using {REDACTED} and {REDACTED}"]
    assert cleaned["image/png"] == bundle["image/png"]
    assert cleaned["metadata"]["parameters"]["password"] == REDACTED
    assert count == 2
