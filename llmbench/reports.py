"""Notebooks rendered as reports: papermill runs, offline HTML pages, an index.

`render_reports` executes each notebook on the project's kernel, with the
notebook's own folder as working directory and the caller's environment, and
writes one folder, ``reports/<UTC timestamp>/`` by default:

    <stem>.ipynb   the executed notebook, secrets redacted
    <stem>.html    a standalone page without code cells; plots are embedded
                   and nothing is fetched from the network to read it
    index.html     every notebook's status (and failing cell), parameters,
                   run time and headline figures, linked to its page
    index.json     the same, for scripts and CI

A notebook that fails still gets its executed notebook and page, with the
failing cell marked, and the other notebooks still run; `ReportRun.ok` says
whether all of them passed. Only parameters a notebook's ``parameters`` cell
declares are injected; the others are listed in the results and logged, with
a "did you mean" when a declared name is close.

Parameters (global or per notebook, from a dict or a YAML file read by
`load_params_file`) are described in `llmbench.report_params`.

Headline figures: a notebook calls `publish_headline` (a gate verdict, a total
cost); the index collects them from the executed notebook's outputs.

This module is imported inside notebooks for `publish_headline`, so papermill
and nbconvert load only when a report is rendered.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llmbench.config import project_root
from llmbench.errors import ReportError
from llmbench.notebook_files import (
    has_outputs,
    notebook_from_dict,
    strip_outputs,
    write_notebook,
)
from llmbench.redact import REDACTED, is_secret_name
from llmbench.report_pages import format_value, redact_deep
from llmbench.report_params import ParameterPlan, load_params_file, plan_parameters

if TYPE_CHECKING:
    from nbformat import NotebookNode

logger = logging.getLogger(__name__)

__all__ = [
    "HEADLINE_MIME",
    "NotebookResult",
    "ReportRun",
    "has_outputs",
    "load_params_file",
    "publish_headline",
    "render_reports",
    "strip_outputs",
]

#: The mime type of a headline figure in a notebook's outputs.
HEADLINE_MIME = "application/vnd.llmbench.headline+json"

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class NotebookResult:
    """What happened to one notebook in a report run.

    Attributes:
        path: The source notebook.
        status: ``"ok"``, or ``"failed"`` when a cell raised, the kernel died or
            timed out, or (with ``fail_on_gate``) its gate headline failed.
        output_ipynb: The executed notebook, secrets redacted.
        output_html: The standalone page without code cells.
        seconds: Wall-clock time of the execution, kernel start included.
        parameters: The parameters injected (only those the notebook declares).
        unknown_parameters: Parameters offered to this notebook that it does not
            declare, not injected.
        suggestions: For unknown parameters close to a declared name: that name.
        error: ``"<ename>: <evalue>"`` of the failure, redacted, or None.
        failed_cell: Index of the failing cell in ``output_ipynb``, if any.
        failed_execution_count: Its ``In [n]`` number, if it ran.
        headlines: Headline figures the notebook published, by name.
    """

    path: Path
    status: Status
    output_ipynb: Path
    output_html: Path
    seconds: float
    parameters: dict[str, Any]
    unknown_parameters: list[str] = field(default_factory=list)
    suggestions: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    failed_cell: int | None = None
    failed_execution_count: int | None = None
    headlines: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportRun:
    """The outcome of `render_reports`: one result per notebook, in order.

    Attributes:
        out_dir: The folder holding every file of the run.
        index_html: The index page linking the notebooks' pages.
        results: One entry per notebook, in the order given.
        started_at: When the run started (UTC).
    """

    out_dir: Path
    index_html: Path
    results: list[NotebookResult]
    started_at: datetime

    @property
    def ok(self) -> bool:
        """True when every notebook ran (and passed its gate, if asked)."""
        return all(result.status == "ok" for result in self.results)

    @property
    def failed(self) -> list[NotebookResult]:
        """The results whose status is ``"failed"``."""
        return [result for result in self.results if result.status == "failed"]

    @property
    def unknown_parameters(self) -> dict[str, list[str]]:
        """Unknown parameters by notebook stem, for notebooks that had any."""
        return {
            result.path.stem: result.unknown_parameters
            for result in self.results
            if result.unknown_parameters
        }


def publish_headline(name: str, value: Any) -> None:
    """Show a headline figure in a notebook and publish it to the report index.

    Call it in a notebook for the few numbers a reader of the index should see
    without opening the page: a gate verdict, a total cost in USD, a pass rate.
    A headline named ``gate`` whose value is ``"fail"`` (or a mapping with
    ``passed`` false) fails the notebook in runs with ``fail_on_gate``.

    Args:
        name: Short name shown in the index (``cost_usd``, ``gate``).
        value: A number, string, bool, or a list or mapping of those; numpy
            and pandas values are converted, anything else becomes its str.
    """
    from IPython.display import display

    clean = _jsonable(value)
    shown = format_value(clean)
    bundle = {
        HEADLINE_MIME: {"name": name, "value": clean},
        "text/plain": f"{name}: {shown}",
        "text/html": (
            '<div class="llmbench-headline" style="margin:.2em 0">'
            f'<span style="color:#555">{escape(name)}</span> '
            f"<strong>{escape(shown)}</strong></div>"
        ),
    }
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


def render_reports(
    notebooks: Sequence[Path | str],
    parameters: Mapping[str, Any] | None = None,
    out_dir: Path | str | None = None,
    kernel_name: str = "llmbench",
    progress: bool = True,
    fail_on_gate: bool = False,
    timeout_s: int | None = 1800,
) -> ReportRun:
    """Execute notebooks with papermill and write their reports and an index.

    Args:
        notebooks: The notebooks to run, in order.
        parameters: Values for the notebooks' parameters cells; top-level keys
            go to every notebook that declares them, and ``notebooks: {stem:
            {...}}`` holds per-notebook values (see `load_params_file`).
        out_dir: Where to write; default ``reports/<UTC timestamp>/`` under the
            project root.
        kernel_name: The Jupyter kernel to execute on.
        progress: Show a progress bar over notebooks.
        fail_on_gate: Count a notebook as failed when it publishes a failing
            ``gate`` headline.
        timeout_s: Seconds one cell may run before its notebook fails; None
            for no limit.

    Returns:
        The run; ``run.ok`` is False when any notebook failed.

    Raises:
        ReportError: A notebook does not exist or the kernel is not installed.
        ConfigError: ``parameters`` has the wrong shape.
    """
    from tqdm.auto import tqdm

    from llmbench.notebook_runs import kernel_arguments
    from llmbench.report_pages import write_index

    paths = [Path(notebook).resolve() for notebook in notebooks]
    _check_notebooks(paths)
    settings = _Settings(
        kernel_name, kernel_arguments(kernel_name), timeout_s, fail_on_gate
    )

    plans = plan_parameters(paths, dict(parameters or {}))

    started_at = datetime.now(UTC)
    folder = _make_out_dir(out_dir, started_at)
    names = _output_names(paths)

    results: list[NotebookResult] = []
    with tqdm(plans, desc="reports", unit="notebook", disable=not progress) as bar:
        for plan, name in zip(bar, names, strict=True):
            bar.set_postfix_str(plan.notebook.name)
            result = _render_one(plan, folder / name, settings)
            results.append(result)
            logger.info(
                "report %s: %s in %.1f s",
                plan.notebook.name,
                result.status,
                result.seconds,
            )

    index = write_index(folder, results, started_at)
    return ReportRun(
        out_dir=folder, index_html=index, results=results, started_at=started_at
    )


@dataclass(frozen=True)
class _Settings:
    """How every notebook of a run is executed."""

    kernel_name: str
    kernel_args: list[str]
    timeout_s: int | None
    fail_on_gate: bool


def _check_notebooks(paths: Sequence[Path]) -> None:
    """Fail before running anything when a notebook is missing."""
    if not paths:
        raise ReportError("no notebooks to render")
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ReportError(f"notebook(s) not found: {', '.join(missing)}")


def _make_out_dir(out_dir: Path | str | None, started_at: datetime) -> Path:
    """Create the run folder; a new timestamped one unless out_dir is given."""
    if out_dir is not None:
        folder = Path(out_dir).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    base = project_root() / "reports"
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 100):
        folder = base / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        return folder
    raise ReportError(f"cannot create a new report folder under {base}")


def _output_names(paths: Sequence[Path]) -> list[str]:
    """File stems for the outputs: the notebooks' stems, numbered if repeated."""
    names: list[str] = []
    for path in paths:
        name, number = path.stem, 1
        while name in names:
            number += 1
            name = f"{path.stem}-{number}"
        names.append(name)
    return names


def _render_one(
    plan: ParameterPlan, output: Path, settings: _Settings
) -> NotebookResult:
    """Execute one notebook, redact it, and write ``output`` .ipynb and .html."""
    from llmbench.notebook_runs import execute_notebook
    from llmbench.report_pages import notebook_page

    run = execute_notebook(
        plan.notebook,
        plan.passed,
        kernel_name=settings.kernel_name,
        kernel_args=settings.kernel_args,
        timeout_s=settings.timeout_s,
    )

    secrets = _secrets_beyond_redact(plan.passed)
    cleaned, redacted = redact_deep(run.nb, secrets)
    nb = notebook_from_dict(cleaned)
    if redacted:
        logger.info("redacted %d secret(s) from %s", redacted, plan.notebook.name)
    parameters = redact_deep(_hide_secret_parameters(plan.passed), secrets)[0]
    headlines = _collect_headlines(nb)

    status: Status = "ok"
    error = None
    if run.failure is not None:
        status, error = "failed", redact_deep(run.failure.error, secrets)[0]
    elif settings.fail_on_gate and _gate_failed(headlines):
        status, error = "failed", f"gate failed: {format_value(headlines['gate'])}"

    output_ipynb = output.with_name(f"{output.name}.ipynb")
    output_html = output.with_name(f"{output.name}.html")
    write_notebook(nb, output_ipynb)
    page = notebook_page(
        nb,
        title=plan.notebook.stem,
        parameters=parameters,
        base_dir=plan.notebook.parent,
    )
    output_html.write_text(page, encoding="utf-8")

    return NotebookResult(
        path=plan.notebook,
        status=status,
        output_ipynb=output_ipynb,
        output_html=output_html,
        seconds=run.seconds,
        parameters=parameters,
        unknown_parameters=plan.unknown,
        suggestions=plan.suggestions,
        error=error,
        failed_cell=run.failure.cell_index if run.failure else None,
        failed_execution_count=run.failure.execution_count if run.failure else None,
        headlines=headlines,
    )


def _secrets_beyond_redact(parameters: Mapping[str, Any]) -> list[str]:
    """Secret values `redact` does not look for, scrubbed from reports too.

    Those are string values of parameters with secret-looking names, and of
    environment variables whose names merely contain KEY, TOKEN or SECRET
    (``MISTRAL_KEY``, ``GITHUBTOKEN``): a report may over-redact, never leak.
    Values under 8 characters are too likely to occur by chance to search for.
    """
    named = [
        value
        for name, value in parameters.items()
        if isinstance(value, str) and is_secret_name(name)
    ]
    named += [value for name, value in os.environ.items() if _hints_secret(name)]
    return sorted({value for value in named if len(value) >= 8}, key=len, reverse=True)


def _hints_secret(name: str) -> bool:
    """True when a name contains KEY, TOKEN or SECRET anywhere."""
    upper = name.upper()
    return any(word in upper for word in ("KEY", "TOKEN", "SECRET"))


def _hide_secret_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters, with values of secret-looking names replaced."""
    return {
        name: REDACTED if is_secret_name(name) else value
        for name, value in parameters.items()
    }


def _collect_headlines(nb: NotebookNode) -> dict[str, Any]:
    """Headline figures published in a notebook's outputs; the last one wins."""
    headlines: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(HEADLINE_MIME)
            if isinstance(payload, Mapping) and "name" in payload:
                headlines[str(payload["name"])] = payload.get("value")
    return headlines


def _gate_failed(headlines: Mapping[str, Any]) -> bool:
    """True when the ``gate`` headline says the notebook's gate failed."""
    gate = headlines.get("gate")
    if isinstance(gate, str):
        return gate.strip().lower() in ("fail", "failed")
    if isinstance(gate, Mapping):
        return gate.get("passed") is False
    return gate is False


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of a headline value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, pandas series
        return _jsonable(value.tolist())
    return str(value)
