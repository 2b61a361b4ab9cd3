"""The pages of a report run: one offline HTML page per notebook, and an index.

A notebook's page is nbconvert's JupyterLab template without code cells or
prompts, with a parameters box on top. The template's script tags that load
require.js, MathJax, Mermaid and the widget manager from CDNs are removed, so
a page opens offline and calls nowhere; plots are already data URIs, and
images a markdown cell links to are embedded. The cost: TeX in markdown shows
as source and widgets are left out (they need a live kernel anyway).

Everything written here goes through `redact_deep` first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.notebook_files import markdown_cell, notebook_from_dict
from llmbench.redact import REDACTED, redact

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from llmbench.reports import NotebookResult

_TEMPLATE_FILE = "llmbench_offline.html.j2"

# Extends the lab template (found as index.html.j2 on its search path).
_OFFLINE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class _WithoutAltTextNotice(logging.Filter):
    """Drops nbconvert's notice that a chart lacks alt text (it adds a generic one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Alternative text is missing")


_nbconvert_log = logging.getLogger(__name__).getChild("nbconvert")
_nbconvert_log.addFilter(_WithoutAltTextNotice())

_INDEX_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .5em; text-align: left;
         vertical-align: top; }
td.seconds { text-align: right; }
tr.failed td.status { color: #b00020; font-weight: bold; }
tr.ok td.status { color: #1b7f3b; font-weight: bold; }
ul { margin: 0; padding-left: 1.2em; }
.muted { color: #666; font-size: .9em; }
.warning { color: #8a5a00; }
"""


def notebook_page(
    nb: NotebookNode, *, title: str, parameters: Mapping[str, Any], base_dir: Path
) -> str:
    """A standalone HTML page of an executed notebook, without its code.

    Args:
        nb: The executed (and already redacted) notebook; it is not changed.
        title: The page title, usually the notebook's stem.
        parameters: The parameters injected, shown in a box above the first
            code cell's outputs.
        base_dir: The notebook's folder, to find images its markdown links.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    page = _page_notebook(nb, parameters)
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        log=_nbconvert_log,
        template_name="lab",
        template_file=_TEMPLATE_FILE,
        extra_loaders=[DictLoader({_TEMPLATE_FILE: _OFFLINE_TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {"metadata": {"name": title, "path": str(base_dir)}}
    body, _ = exporter.from_notebook_node(page, resources=resources)
    return body


def write_index(
    folder: Path, results: Sequence[NotebookResult], started_at: datetime
) -> Path:
    """Write ``index.html`` and ``index.json`` for a run; return the HTML path."""
    failed = sum(result.status == "failed" for result in results)
    summary = (
        f"{len(results)} notebook(s): {len(results) - failed} ok, {failed} failed."
    )
    rows = "\n".join(_index_row(result) for result in results)
    when = started_at.strftime("%Y-%m-%d %H:%M:%S UTC")

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>llmbench reports, {escape(folder.name)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>llmbench reports</h1>
<p>Started {when}. {summary}</p>
<table>
<thead><tr><th>Notebook</th><th>Status</th><th>Seconds</th><th>Parameters</th>
<th>Headlines</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
    index_html = folder / "index.html"
    index_html.write_text(page, encoding="utf-8")

    entries = [_index_entry(result, folder) for result in results]
    document = {"started_at": started_at.isoformat(), "notebooks": entries}
    (folder / "index.json").write_text(
        json.dumps(redact_deep(document)[0], indent=2, default=str) + "\n",
        encoding="utf-8",
    )
    return index_html


def redact_deep(value: Any, secrets: Sequence[str] = ()) -> tuple[Any, int]:
    """A copy of nested dicts, lists and strings with secrets redacted.

    Everything `llmbench.redact.redact` finds is redacted, and so is each of
    `secrets` (longest first). Base64 payloads under binary mime keys (PNG,
    JPEG, PDF) are copied as they are. Returns the copy and how many strings
    changed.
    """
    if isinstance(value, str):
        cleaned = value
        for secret in secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        cleaned = redact(cleaned)
        return cleaned, int(cleaned != value)

    if isinstance(value, list):
        pairs = [redact_deep(item, secrets) for item in value]
        return [item for item, _ in pairs], sum(count for _, count in pairs)

    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        total = 0
        for key, item in value.items():
            if _is_binary_mime(str(key)):
                copy[key] = item
                continue
            copy[key], count = redact_deep(item, secrets)
            total += count
        return copy, total

    return value, 0


def format_value(value: Any) -> str:
    """A short human rendering of a parameter or headline value."""
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)


def _is_binary_mime(key: str) -> bool:
    """True for output mime types whose payload is base64, not text."""
    binary = key.startswith("image/") and key != "image/svg+xml"
    return binary or key == "application/pdf"


def _page_notebook(nb: NotebookNode, parameters: Mapping[str, Any]) -> NotebookNode:
    """A copy of the notebook for its page: widgets out, parameters box in."""
    page = notebook_from_dict(json.loads(json.dumps(nb)))
    page.metadata.pop("widgets", None)
    for cell in page.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                output
                for output in cell.outputs
                if _WIDGET_MIME not in output.get("data", {})
            ]

    if parameters:
        first_code = next(
            (i for i, cell in enumerate(page.cells) if cell.cell_type == "code"),
            len(page.cells),
        )
        page.cells.insert(first_code, markdown_cell(_parameters_box(parameters)))
    return page


def _parameters_box(parameters: Mapping[str, Any]) -> str:
    """The box listing a notebook's parameters at the top of its page."""
    return (
        '<div class="llmbench-parameters" style="border:1px solid #ddd;'
        f'padding:.5em 1em"><strong>Parameters</strong>{_parameter_list(parameters)}'
        "</div>"
    )


def _parameter_list(parameters: Mapping[str, Any]) -> str:
    """An HTML list of parameter names and values (redacted)."""
    items = [
        f"<li><code>{escape(name)}</code> = "
        f"<code>{escape(redact(repr(value)))}</code></li>"
        for name, value in parameters.items()
    ]
    return f"<ul>{''.join(items)}</ul>"


def _index_row(result: NotebookResult) -> str:
    """One table row of the index page."""
    page = escape(result.output_html.name)
    notebook = (
        f'<a href="{page}">{escape(result.path.stem)}</a><br>'
        f'<a class="muted" href="{escape(result.output_ipynb.name)}">'
        "executed notebook</a>"
    )
    return (
        f'<tr class="{result.status}">'
        f"<td>{notebook}</td>"
        f'<td class="status">{_status_text(result)}</td>'
        f'<td class="seconds">{result.seconds:.1f}</td>'
        f"<td>{_parameters_text(result)}</td>"
        f"<td>{_headlines_text(result.headlines)}</td></tr>"
    )


def _status_text(result: NotebookResult) -> str:
    """The status cell: ok, or failed with the cell and error."""
    if result.status == "ok":
        return "ok"

    where = ""
    if result.failed_cell is not None:
        count = result.failed_execution_count
        anchor = f"{escape(result.output_html.name)}#papermill-error-cell"
        label = f"In [{count}]" if count is not None else "the marked cell"
        where = (
            f' at <a href="{anchor}">{label}</a>'
            f' <span class="muted">(cell index {result.failed_cell})</span>'
        )
    error = escape(redact(result.error or "failed"))
    return f'failed{where}<br><span class="muted">{error}</span>'


def _parameters_text(result: NotebookResult) -> str:
    """The parameters cell: injected values, then unknown names with hints."""
    if result.parameters:
        text = _parameter_list(result.parameters)
    else:
        text = '<span class="muted">defaults</span>'

    if result.unknown_parameters:
        unknown = []
        for name in result.unknown_parameters:
            hint = result.suggestions.get(name)
            did_you_mean = (
                f" (did you mean <code>{escape(hint)}</code>?)" if hint else ""
            )
            unknown.append(f"<code>{escape(name)}</code>{did_you_mean}")
        text += f'<p class="warning">not declared, not passed: {", ".join(unknown)}</p>'
    return text


def _headlines_text(headlines: Mapping[str, Any]) -> str:
    """The headlines cell: name and value of each published figure."""
    if not headlines:
        return ""
    items = "".join(
        f"<li>{escape(name)}: "
        f"<strong>{escape(redact(format_value(value)))}</strong></li>"
        for name, value in headlines.items()
    )
    return f"<ul>{items}</ul>"


def _index_entry(result: NotebookResult, folder: Path) -> dict[str, Any]:
    """One notebook's entry in ``index.json``; output paths relative to it."""
    return {
        "notebook": str(result.path),
        "status": result.status,
        "html": result.output_html.relative_to(folder).as_posix(),
        "ipynb": result.output_ipynb.relative_to(folder).as_posix(),
        "seconds": round(result.seconds, 3),
        "parameters": result.parameters,
        "unknown_parameters": result.unknown_parameters,
        "suggestions": result.suggestions,
        "error": result.error,
        "failed_cell": result.failed_cell,
        "failed_execution_count": result.failed_execution_count,
        "headlines": result.headlines,
    }
