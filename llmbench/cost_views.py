"""Cost tables and sentences as a reader sees them: money, tokens, the budget's story.

Everything here turns cost frames (from `llmbench.costs` and
`llmbench.cost_tables`) into what a notebook displays and a static HTML report
keeps: pandas Stylers with USD formatted as money (``$0.0012``, ``$1.23``,
"unknown" for a missing price) and token counts with thousands separators,
and Markdown sentences for the estimate's assumptions and the budget's stop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmbench.cells import as_float
from llmbench.estimates import format_usd

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

    from llmbench.errors import BudgetExceededError
    from llmbench.estimates import CostEstimate
    from llmbench.runs import RunResult

#: Columns holding token counts or call counts, shown as whole numbers.
_COUNT_MARKERS = ("tokens", "calls", "hits", "errors", "not_run", "ok")

#: The columns of `llmbench.costs.estimate_vs_actual` worth showing at a glance.
VERSUS_COLUMNS = (
    "model",
    "estimated_calls",
    "actual_calls",
    "estimated_low_usd",
    "estimated_usd",
    "estimated_high_usd",
    "actual_usd",
    "paid_usd",
    "relative_error",
    "within_range",
)


def money_table(
    frame: pd.DataFrame, caption: str, percent: Sequence[str] = ()
) -> Styler:
    """A table for reading: USD as money, counts as whole numbers, no index.

    Columns ending in ``_usd`` are formatted as USD; columns naming tokens,
    calls, hits, errors or calls not run as whole numbers; ``percent``
    columns as signed percentages; floats elsewhere with three digits.

    Args:
        frame: The table.
        caption: Shown above the table: say what it answers.
        percent: Columns holding fractions to show as percentages.
    """
    formats: dict[str, Any] = {}
    for column in frame.columns:
        name = str(column)
        if name.endswith("_usd"):
            formats[column] = format_usd
        elif name in percent:
            formats[column] = _percent
        elif frame[column].dtype.kind not in "iuf":
            continue
        elif any(marker in name for marker in _COUNT_MARKERS):
            formats[column] = _count
        elif frame[column].dtype.kind == "f":
            formats[column] = "{:.3g}"
    return (
        frame.style.hide(axis="index")
        .format(formats)
        .set_caption(caption)
        .set_table_styles(
            [
                {"selector": "caption", "props": "caption-side:top;text-align:left"},
                {
                    "selector": "td",
                    "props": "text-align:right;padding:0 .6em;white-space:nowrap",
                },
                {"selector": "th", "props": "text-align:right;padding:0 .6em"},
            ]
        )
    )


def estimate_markdown(estimate: CostEstimate) -> str:
    """The estimate in sentences: the total range, unpriced models, assumptions."""
    models = len({row.model for row in estimate.rows})
    lines = [
        f"**{estimate.calls:,} calls on {models} model(s): expected "
        f"{format_usd(estimate.expected_usd)}**, between "
        f"{format_usd(estimate.low_usd)} and {format_usd(estimate.high_usd)}.",
    ]
    if estimate.unknown_models:
        lines.append(
            f"No price is known for {', '.join(estimate.unknown_models)}: "
            "left out of the totals."
        )
    lines += ["", "Assumptions:", ""]
    lines += [f"- {sentence}" for sentence in estimate.assumptions]
    return markdown_text("\n".join(lines))


def budget_markdown(
    stopped: RunResult,
    error: BudgetExceededError | None,
    resumed: RunResult | None = None,
) -> str:
    """What a budget did to a run, and what running it again cost.

    Args:
        stopped: The run the budget applied to (``error.result`` when it
            stopped).
        error: The `BudgetExceededError` raised, or None when the run ended
            within its budget.
        resumed: The same requests run again with a larger budget, if any.
    """
    total = len(stopped.records)
    if error is None:
        text = (
            f"Run `{stopped.run_id}` finished within its budget: {total} calls, "
            f"{format_usd(stopped.paid_usd)} paid."
        )
    else:
        made = total - error.not_run
        text = (
            f"The budget of **{format_usd(error.budget_usd)}** stopped run "
            f"`{stopped.run_id}` after **{made} of {total} calls**, having spent "
            f"{format_usd(error.spent_usd)}. The engine stops before a call could "
            "cross the line (it reserves a pessimistic cost for calls in flight), "
            f"lets calls in flight finish, and records the other {error.not_run} "
            "as `not_run`: nothing done is lost."
        )
    if resumed is None:
        return markdown_text(text)

    hits = resumed.cache_hits
    saved = sum(r.cost_usd or 0.0 for r in resumed.records if r.cache_hit)
    both = stopped.paid_usd + resumed.paid_usd
    return markdown_text(
        f"{text}\n\nRun again with a larger budget as `{resumed.run_id}`: "
        f"**{hits} calls came from the response cache** for nothing "
        f"({format_usd(saved)} saved), and only the remaining "
        f"{len(resumed.records) - hits} were paid, {format_usd(resumed.paid_usd)}. "
        f"Both runs together paid {format_usd(both)}: each call once."
    )


def bullet_markdown(sentences: Sequence[str]) -> str:
    """Sentences as a Markdown bullet list."""
    return markdown_text("\n".join(f"- {sentence}" for sentence in sentences))


def markdown_text(text: str) -> str:
    """Text for a Markdown cell: dollar signs escaped, so no math is typeset."""
    return text.replace("$", r"\$")


def _count(value: Any) -> str:
    """A whole number with thousands separators; blank when missing."""
    number = as_float(value)
    return "" if number is None else f"{number:,.0f}"


def _percent(value: Any) -> str:
    """A fraction as a signed percentage; blank when missing."""
    number = as_float(value)
    return "" if number is None else f"{number:+.0%}"


def spend_summary(frame: pd.DataFrame) -> str:
    """What a run's calls cost, in sentences: task and judge apart, savings, gaps.

    Args:
        frame: Records of one or more runs, one row per call.
    """
    from llmbench.cost_tables import cache_savings
    from llmbench.costs import accounting

    table = accounting(frame, by=())
    savings = cache_savings(frame, by=())
    parts = []
    for row in table.itertuples(index=False):
        who = "task" if row.kind == "task" else f"{row.kind}"
        parts.append(
            f"{format_usd(_number(row.cost_usd))} paid for {row.calls:,} {who} "
            f"call(s) ({row.cache_hits:,} from the response cache)"
        )
    lines = ["; ".join(parts) + "." if parts else "No calls."]

    response = float(savings["response_cache_saved_usd"].sum())
    prompt = float(savings["prompt_cache_saved_usd"].sum())
    lines.append(
        f"Saved {format_usd(response)} by llmbench's response cache and "
        f"{format_usd(prompt)} by the provider's prompt cache."
    )
    not_run = int(table["not_run"].sum())
    errors = int(table["errors"].sum())
    unknown = int(table["unknown_price_calls"].sum())
    if not_run or errors:
        lines.append(f"{not_run} call(s) not run (budget), {errors} failed.")
    if unknown:
        lines.append(
            f"{unknown} call(s) went to models with no known price and are not "
            "in these figures."
        )
    return " ".join(lines)


def text_table(frame: pd.DataFrame) -> str:
    """A table as plain text for a terminal: USD as money, counts whole."""
    shown = frame.copy()
    for column in shown.columns:
        name = str(column)
        if name.endswith("_usd"):
            shown[column] = [format_usd(_number(v)) for v in shown[column]]
        elif shown[column].dtype.kind == "f" and any(
            marker in name for marker in _COUNT_MARKERS
        ):
            shown[column] = [_count(v) for v in shown[column]]
    return str(shown.to_string(index=False))


def _number(value: Any) -> float | None:
    """A float, or None for a missing value."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def projection_table(table: pd.DataFrame, caption: str) -> Styler:
    """Projected USD per version (rows) and model (columns), quality beside it.

    Args:
        table: `llmbench.cost_tables.cost_vs_quality` output (or `project`
            output, without the quality column).
        caption: Shown above the table.
    """
    wide = table.pivot_table(
        index="prompt_version", columns="model", values="projected_usd", sort=False
    )
    models = list(dict.fromkeys(table["model"]))
    wide = wide.reindex(columns=models)
    if "quality" in table.columns:
        wide.insert(0, "quality", table.groupby("prompt_version")["quality"].mean())
    wide = wide.reset_index()

    formats: dict[Any, Any] = {model: format_usd for model in models}
    formats["quality"] = "{:.3f}"
    return (
        wide.style.hide(axis="index")
        .format(formats, na_rep="unknown", subset=[c for c in formats if c in wide])
        .set_caption(caption)
        .set_table_styles(
            [{"selector": "caption", "props": "caption-side:top;text-align:left"}]
        )
    )
