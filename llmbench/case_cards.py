"""Cases and prompts side by side, as HTML for notebooks and static reports.

A case card shows one case of a comparison: the question and reference, then
version A's and version B's outputs next to each other with the words that
differ marked (``<del>`` red in A, ``<ins>`` green in B), and under each its
score, tokens, cost and latency. `prompt_diff_html` shows what changed between
two prompt versions. The explorer in `llmbench.widgets` draws its cases here.

Cards are plain HTML with inline styles that wrap long words and flex-wrap the
two columns, so they fit any notebook width and survive a static page.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from llmbench.cells import as_float
from llmbench.compare_views import ADDED_BG, REMOVED_BG, format_seconds
from llmbench.estimates import format_usd

if TYPE_CHECKING:
    from llmbench.compare import Comparison
    from llmbench.prompts import Prompt

#: Text that wraps anywhere it must and keeps the output's own line breaks.
WRAP = "overflow-wrap:anywhere;word-break:break-word;white-space:pre-wrap"


def side_by_side_html(
    comparison: Comparison,
    a: str,
    b: str,
    *,
    model: str | None = None,
    metric: str | None = None,
    case_ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> str:
    """Case cards for some cases (all, or `case_ids`, at most `limit`)."""
    rows = comparison.side_by_side(a, b, model=model, metric=metric)
    if case_ids is not None:
        rows = rows.set_index("case_id").loc[list(case_ids)].reset_index()
    if limit is not None:
        rows = rows.head(limit)
    cards = [case_card_html(row, a, b) for row in rows.to_dict("records")]
    return "\n".join(cards) or "<p>No cases to show.</p>"


def case_card_html(
    row: Mapping[str, Any],
    a: str,
    b: str,
    *,
    heading: str = "",
    repeat_scores: tuple[Sequence[float], Sequence[float]] | None = None,
) -> str:
    """One case as HTML: inputs, then A's and B's outputs side by side.

    Args:
        row: A row of `Comparison.side_by_side` (as a mapping).
        a: A's version label.
        b: B's version label.
        heading: Text after the case id (a position, a filter).
        repeat_scores: A's and B's score in each repeat, shown when given.
    """
    text_a = _text(row.get("output_text_a")) or _failure(row, "a")
    text_b = _text(row.get("output_text_b")) or _failure(row, "b")
    marked_a, marked_b = word_diff_html(text_a, text_b)
    delta = as_float(row.get("delta"))
    outcome = (
        "tie"
        if delta is None or abs(delta) < 1e-9
        else "B wins"
        if delta > 0
        else "B loses"
    )
    scores = repeat_scores or (None, None)
    sides = [
        _side_html("A", a, marked_a, row, "a", scores[0], "#888"),
        _side_html("B", b, marked_b, row, "b", scores[1], _outcome_colour(delta)),
    ]
    return (
        f'<div class="llmbench-case" style="max-width:100%;box-sizing:border-box;'
        f'border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:8px 0">'
        f"<div><strong>{escape(str(row['case_id']))}</strong> {escape(heading)} "
        f'<span style="color:#555">· {outcome}</span></div>'
        f'<div style="{WRAP}"><strong>Question:</strong> '
        f"{escape(_text(row.get('question')))}</div>"
        f'<div style="{WRAP}"><strong>Reference:</strong> '
        f"{escape(_text(row.get('reference')))}</div>"
        f'<div style="display:flex;flex-wrap:wrap;gap:12px;margin-top:6px">'
        f"{''.join(sides)}</div></div>"
    )


def word_diff_html(a: str, b: str, min_similarity: float = 0.3) -> tuple[str, str]:
    """Both texts as HTML with the words that differ marked.

    Words only in `a` are wrapped in ``<del>`` (red), words only in `b` in
    ``<ins>`` (green); the rest is escaped text. Two texts with less than
    `min_similarity` of their words in common are returned unmarked: marking
    nearly every word says nothing that reading them does not.
    """
    words_a, words_b = _words(a), _words(b)
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    if matcher.ratio() < min_similarity:
        return escape(a), escape(b)

    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        chunk_a = escape("".join(words_a[i1:i2]))
        chunk_b = escape("".join(words_b[j1:j2]))
        if op == "equal":
            left.append(chunk_a)
            right.append(chunk_b)
            continue
        if chunk_a:
            left.append(f'<del style="background:{REMOVED_BG}">{chunk_a}</del>')
        if chunk_b:
            inserted = f"background:{ADDED_BG};text-decoration:none"
            right.append(f'<ins style="{inserted}">{chunk_b}</ins>')
    return "".join(left), "".join(right)


def prompt_diff_html(prompt: Prompt, a: str, b: str) -> str:
    """The unified diff of two versions as HTML, removed lines red, added green."""
    from llmbench.prompts import diff_versions

    diff = diff_versions(prompt.version(a), prompt.version(b))
    if not diff:
        return f"<p>{escape(a)} and {escape(b)} have the same content.</p>"

    lines = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++", "@@")):
            style = "color:#555;font-weight:bold"
        elif line.startswith("-"):
            style = f"background:{REMOVED_BG}"
        elif line.startswith("+"):
            style = f"background:{ADDED_BG}"
        else:
            style = ""
        lines.append(f'<div style="{style}">{escape(line) or "&nbsp;"}</div>')
    return (
        '<div class="llmbench-diff" style="font-family:monospace;font-size:90%;'
        f'{WRAP};border:1px solid #ddd;padding:6px">{"".join(lines)}</div>'
    )


def _side_html(
    side: str,
    label: str,
    marked: str,
    row: Mapping[str, Any],
    suffix: str,
    repeat_scores: Sequence[float] | None,
    border: str,
) -> str:
    """One output column of a case card, with its score and spend."""
    score = as_float(row.get(f"score_{suffix}"))
    facts = [
        f"score {score:.2f}" if score is not None else "score n/a",
        f"{_count(row.get(f'input_tokens_{suffix}'))} in / "
        f"{_count(row.get(f'output_tokens_{suffix}'))} out tokens",
        format_usd(as_float(row.get(f"cost_usd_{suffix}"))),
        format_seconds(row.get(f"latency_s_{suffix}")),
    ]
    if repeat_scores is not None and len(repeat_scores) > 1:
        facts.append("repeats " + ", ".join(f"{s:.2f}" for s in repeat_scores))
    return (
        f'<div style="flex:1 1 280px;min-width:0;border-left:4px solid {border};'
        f'padding-left:8px"><div><strong>{side}: {escape(label)}</strong></div>'
        f'<div style="{WRAP};margin:4px 0">{marked}</div>'
        f'<div style="color:#555;font-size:90%">{escape(" · ".join(facts))}</div></div>'
    )


def _words(text: str) -> list[str]:
    """Words, each with the whitespace after it, so joining gives the text back."""
    return re.findall(r"\s+|\S+\s*", text)


def _outcome_colour(delta: float | None) -> str:
    """Green when B scores higher, red when lower, grey for a tie."""
    if delta is None or abs(delta) < 1e-9:
        return "#888"
    return "#2e7d32" if delta > 0 else "#c62828"


def _failure(row: Mapping[str, Any], suffix: str) -> str:
    """What to show for a call without output."""
    status = _text(row.get(f"status_{suffix}"))
    message = _text(row.get(f"error_message_{suffix}"))
    if status == "error":
        return f"(call failed: {message})" if message else "(call failed)"
    return "(no output)" if status else "(not run)"


def _text(value: Any) -> str:
    """A cell as text: None and NaN become empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _count(value: Any) -> str:
    """A token count for reading; "?" when missing."""
    number = as_float(value)
    return "?" if number is None else f"{number:,.0f}"
