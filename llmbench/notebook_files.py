"""Notebook files: typed reading and writing, and storing them without outputs.

A stored notebook must not hold cell outputs or execution counts, the timing
metadata Jupyter and papermill add to cells (``execution``, ``ExecuteTime``,
``papermill``), papermill's run metadata and error marker cells, or saved
widget state. Everything else (sources, tags, ids, kernelspec) is kept as it
is. The test suite and a pre-commit hook use `has_outputs` and `strip_outputs`.

The readers and writers here are the one place llmbench calls nbformat, which
has no type hints.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: Cell metadata written by running a notebook, not by writing it.
_RUN_CELL_METADATA = ("execution", "ExecuteTime", "papermill")

#: Notebook metadata written by running a notebook.
_RUN_NOTEBOOK_METADATA = ("papermill", "widgets")

#: The tag papermill puts on the markdown cells that mark a failure.
ERROR_MARKER_TAG = "papermill-error-cell-tag"


def has_outputs(path: Path | str) -> bool:
    """True when a notebook file holds anything `strip_outputs` would remove."""
    nb = read_notebook(path)
    return _stripped(nb) != nb


def strip_outputs(path: Path | str) -> bool:
    """Remove outputs, execution counts and run metadata from a notebook file.

    The file is rewritten (in nbformat's standard layout) only when something
    was removed.

    Returns:
        True when the file changed.
    """
    nb = read_notebook(path)
    stripped = _stripped(nb)
    if stripped == nb:
        return False

    write_notebook(stripped, path)
    return True


def read_notebook(path: Path | str) -> NotebookNode:
    """Read a notebook file as nbformat 4."""
    import nbformat

    nb: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return nb


def notebook_from_text(text: str) -> NotebookNode:
    """Parse a notebook's JSON text as nbformat 4."""
    import nbformat

    nb: NotebookNode = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    return nb


def notebook_from_dict(data: Mapping[str, Any]) -> NotebookNode:
    """A notebook node (attribute access) from plain nested dicts and lists."""
    import nbformat

    nb: NotebookNode = nbformat.from_dict(data)  # type: ignore[no-untyped-call]
    return nb


def write_notebook(nb: NotebookNode, path: Path | str) -> None:
    """Write a notebook file in nbformat's standard layout."""
    import nbformat

    nbformat.write(nb, path)  # type: ignore[no-untyped-call]


def markdown_cell(source: str, tags: Sequence[str] = ()) -> NotebookNode:
    """A new markdown cell, optionally tagged."""
    from nbformat.v4 import new_markdown_cell

    cell: NotebookNode = new_markdown_cell(source)  # type: ignore[no-untyped-call]
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _stripped(nb: NotebookNode) -> NotebookNode:
    """A copy of the notebook with outputs and run metadata removed."""
    clean = copy.deepcopy(nb)
    for name in _RUN_NOTEBOOK_METADATA:
        clean.metadata.pop(name, None)

    clean.cells = [
        cell
        for cell in clean.cells
        if ERROR_MARKER_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    for cell in clean.cells:
        for name in _RUN_CELL_METADATA:
            cell.metadata.pop(name, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return clean
