"""One notebook executed headlessly with papermill, and where it failed.

Papermill writes the executed notebook after every cell, here into memory
rather than onto disk, so that nothing is stored before secrets are redacted
and the latest state survives a crash. Two kinds of failure are told apart:

- a cell raised: papermill marks the cell and the notebook holds the error
  output (``ename``, ``evalue``, traceback);
- the run crashed (a cell timed out, the kernel died): no marker and often no
  error output, so the cell that was running is marked here.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.errors import ReportError
from llmbench.notebook_files import (
    ERROR_MARKER_TAG,
    markdown_cell,
    notebook_from_text,
    read_notebook,
)
from llmbench.redact import redact

if TYPE_CHECKING:
    from nbformat import NotebookNode

logger = logging.getLogger(__name__)

#: Where papermill writes executed notebooks: a dict in this process.
_MEMORY_SCHEME = "llmbench-memory://"


@dataclass(frozen=True)
class Failure:
    """Where and how a notebook failed.

    Attributes:
        cell_index: Index of the failing cell in the executed notebook (after
            the marker cells), or None when no cell ran.
        execution_count: The failing cell's ``In [n]``, if it ran.
        error: ``"<ename>: <evalue>"``, first line only; not yet redacted.
    """

    cell_index: int | None
    execution_count: int | None
    error: str


@dataclass(frozen=True)
class ExecutedNotebook:
    """A notebook after its run: its cells with outputs, time taken, failure."""

    nb: NotebookNode
    seconds: float
    failure: Failure | None


def kernel_arguments(kernel_name: str) -> list[str]:
    """Extra command-line arguments for the kernel; raise if it is missing.

    An IPython kernel's own log is silenced to keep terminals and CI logs
    readable: it warns about unencrypted loopback TCP at every start and may
    log the interrupt jupyter_client sends at every shutdown. Errors in cells
    are outputs, not log lines, so nothing a report needs is lost.

    Raises:
        ReportError: No kernel of that name is installed.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as exc:
        raise ReportError(
            f"Jupyter kernel {kernel_name!r} is not installed; run `make setup` or "
            f"`python -m ipykernel install --sys-prefix --name {kernel_name}`"
        ) from exc

    if any("ipykernel" in part for part in spec.argv):
        return ["--IPKernelApp.log_level=CRITICAL"]
    return []


def execute_notebook(
    path: Path,
    parameters: Mapping[str, Any],
    *,
    kernel_name: str,
    kernel_args: list[str],
    timeout_s: int | None,
) -> ExecutedNotebook:
    """Run a notebook in its own folder with the caller's environment.

    Args:
        path: The notebook; its folder is the working directory.
        parameters: Values to inject after its ``parameters`` cell.
        kernel_name: The Jupyter kernel to run on.
        kernel_args: Extra kernel arguments (see `kernel_arguments`).
        timeout_s: Seconds one cell may run; None for no limit.

    Returns:
        The executed notebook, also when it failed; never raises for a
        failure inside the notebook or its kernel.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    store = _memory_store()
    target = f"{_MEMORY_SCHEME}{uuid.uuid4().hex}/executed.ipynb"
    crash = None
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path),
            target,
            parameters=dict(parameters),
            kernel_name=kernel_name,
            progress_bar=False,
            cwd=str(path.parent),
            execution_timeout=timeout_s,
            extra_arguments=kernel_args,
        )
    except PapermillExecutionError:
        pass  # papermill saved the notebook with the error marked
    except Exception as exc:  # a timeout or a dead kernel must not stop the run
        crash = f"{type(exc).__name__}: {_first_line(str(exc))}"
        details = "".join(traceback.format_exception(exc))
        logger.debug("executing %s crashed: %s", path, redact(details))
    seconds = time.perf_counter() - started

    saved = store.pop(target, None)
    if saved is None:  # papermill stopped before the first cell
        nb = read_notebook(path)
        return ExecutedNotebook(nb, seconds, Failure(None, None, crash or "not run"))
    nb = notebook_from_text(saved)
    return ExecutedNotebook(nb, seconds, _find_failure(nb, crash))


class _MemoryHandler:
    """A papermill I/O handler that keeps written notebooks in a dict."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def read(self, path: str) -> str:
        return self.saved[path]

    def write(self, buf: str, path: str) -> None:
        self.saved[path] = buf

    def listdir(self, path: str) -> list[str]:
        return [name for name in self.saved if name.startswith(path)]

    def pretty_path(self, path: str) -> str:
        return path


_memory_handler: _MemoryHandler | None = None


def _memory_store() -> dict[str, str]:
    """The in-memory notebook store, registered with papermill on first use."""
    global _memory_handler
    if _memory_handler is None:
        from papermill.iorw import papermill_io

        _memory_handler = _MemoryHandler()
        papermill_io.register(_MEMORY_SCHEME, _memory_handler)
    return _memory_handler.saved


def _find_failure(nb: NotebookNode, crash: str | None) -> Failure | None:
    """Where the notebook failed, if it did; marks the cell after a crash.

    After a crash the crash explains the failure better than the cell's own
    output (a timed-out cell shows only the KeyboardInterrupt that stopped it).
    """
    failing: Failure | None = None
    last_started: int | None = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        error = _error_output(cell)
        if error is not None:
            failing = Failure(index, cell.execution_count, error)
            break
        if cell.metadata.get("papermill", {}).get("start_time"):
            last_started = index

    if crash is None:
        return failing
    at = failing.cell_index if failing else last_started
    if at is None:
        return Failure(None, None, crash)
    _mark_failure(nb, at, crash)
    return Failure(at + 1, nb.cells[at + 1].execution_count, crash)


def _error_output(cell: NotebookNode) -> str | None:
    """``"ename: evalue"`` of a code cell's error output, if it has one."""
    for output in cell.get("outputs", []):
        if output.output_type != "error":
            continue
        if output.ename == "SystemExit" and output.evalue in ("", "0"):
            continue  # sys.exit(0) ends a notebook early on purpose
        return f"{output.ename}: {_first_line(output.evalue)}"
    return None


def _mark_failure(nb: NotebookNode, index: int, message: str) -> None:
    """Put papermill's kind of marker before the cell at index."""
    marker = markdown_cell(
        '<span id="papermill-error-cell" style="color:red; font-size:1.5em">'
        f"Execution stopped at this cell: {escape(message)}</span>",
        tags=[ERROR_MARKER_TAG],
    )
    nb.cells.insert(index, marker)


def _first_line(text: str, limit: int = 300) -> str:
    """The first line of a message, cut to limit characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
