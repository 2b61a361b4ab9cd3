"""Reading executed notebooks: their outputs, the text they show, their headlines."""

from __future__ import annotations

import json
from typing import Any

from llmbench.reports import HEADLINE_MIME, ReportRun


def executed(report: ReportRun, stem: str) -> dict[str, Any]:
    """The executed notebook named `stem`, as JSON."""
    result = next(r for r in report.results if r.path.stem == stem)
    return dict(json.loads(result.output_ipynb.read_text()))


def outputs(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """Every output of every code cell, in order."""
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]


def shown(output: dict[str, Any], mime: str) -> str:
    """The text an output shows in `mime`, or an empty string."""
    text = output.get("data", {}).get(mime, "")
    return "".join(text) if isinstance(text, list) else str(text)


def headlines(nb: dict[str, Any]) -> dict[str, Any]:
    """The headline figures a notebook published, by name."""
    return {
        o["data"][HEADLINE_MIME]["name"]: o["data"][HEADLINE_MIME]["value"]
        for o in outputs(nb)
        if HEADLINE_MIME in o.get("data", {})
    }
