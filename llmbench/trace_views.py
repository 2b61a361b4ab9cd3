"""The trace explorer's tables and sentences, as a reader sees them.

Each function takes spans as `llmbench.traces.spans_frame` returns them (or a
`llmbench.trace_source.TraceWindow`) and returns what a notebook displays and a
static HTML report keeps: pandas Stylers without the index, latencies in ms or
s, rates as percentages, token counts with thousands separators, and Markdown
for the window's overview and the slowest calls' prompts and replies.

Latency tables count calls that answered: a failed call's span carries no
duration (llmbench records the latency of a successful attempt), and a cache
hit's is zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmbench.cells import as_float
from llmbench.estimates import format_usd
from llmbench.trace_summaries import (
    DEFAULT_BY,
    error_summary,
    latency_percentiles,
    slowest,
    token_usage,
)

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

    from llmbench.trace_source import CallDetail, PhoenixSession, TraceWindow

#: Characters of a prompt or reply shown in a table cell.
CELL_CHARS = 120

#: Characters of one message shown in a call's card.
MESSAGE_CHARS = 1500

_CELL = "text-align:left;vertical-align:top;padding:0 .6em;max-width:32em"
_STARTED = {
    "given": "at the URL given",
    "reused": "already running for this project",
    "started": "started for this report",
}


def answered(spans: pd.DataFrame) -> pd.DataFrame:
    """The spans of calls that got an answer from the model (not from the cache)."""
    ok = spans["status"] == "OK"
    hit = spans["cache_hit"].fillna(False).astype(bool)
    return spans[ok & ~hit]


def phoenix_markdown(session: PhoenixSession, ui_url: str) -> str:
    """Where Phoenix runs and where its page of these spans is."""
    return (
        f"Phoenix at {session.url} ({_STARTED[session.how]}); this project's "
        f"spans in its UI: [{ui_url}]({ui_url})."
    )


def window_markdown(window: TraceWindow) -> str:
    """The window in a few sentences: spans, runs, models, failures, time range."""
    spans = window.spans
    since = (
        f"since {window.start:%Y-%m-%d %H:%M} UTC" if window.start else "of all time"
    )
    scope = f"run `{window.run_id}`" if window.run_id else "every run"
    lines = []
    if window.sample is not None:
        lines.append(f"{window.sample.describe()}\n")
    if spans.empty:
        lines.append(
            f"No spans in project `{window.project}` {since} for {scope}: widen "
            "`window_hours`, pick another `run_id`, or set `make_sample = True`."
        )
        return "\n".join(lines)

    failed = int((spans["status"] == "ERROR").sum())
    hits = int(spans["cache_hit"].fillna(False).astype(bool).sum())
    first, last = spans["start_time"].min(), spans["start_time"].max()
    lines.append(
        f"**{len(spans):,} spans** in project `{window.project}` {since} "
        f"({scope}): {spans['trace_id'].nunique():,} traces from "
        f"{spans['run_id'].nunique():,} run(s) on "
        f"{spans['model'].nunique():,} model(s), between {first:%Y-%m-%d %H:%M:%S} "
        f"and {last:%H:%M:%S} UTC. **{failed:,} failed** "
        f"({_percent(failed / len(spans))}); {hits:,} came from the response cache."
    )
    return "\n".join(lines)


def headlines(spans: pd.DataFrame) -> dict[str, Any]:
    """The report index's figures: spans, error rate (0-1), p95 latency (s)."""
    timed = answered(spans)["latency_s"]
    error_rate = float((spans["status"] == "ERROR").mean()) if len(spans) else None
    return {
        "spans": len(spans),
        "error rate": None if error_rate is None else round(error_rate, 4),
        "p95 latency (s)": round(float(timed.quantile(0.95)), 3)
        if len(timed)
        else None,
    }


def latency_table(spans: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> Styler:
    """Latency percentiles per group, of the calls that answered."""
    table = latency_percentiles(answered(spans), by=by, exclude_cache_hits=False)
    seconds = [c for c in table.columns if str(c).endswith("_s")]
    caption = (
        "Latency per model and prompt version: median (p50), p95, p99 and the "
        "slowest, over calls that answered (failures and cache hits left out)"
    )
    return _styled(table, caption, {c: format_seconds for c in seconds})


def error_table(spans: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> Styler:
    """Failed calls and the error rate per group, with the most frequent error."""
    table = error_summary(spans, by=by)
    table["top_error"] = [_cut(e, CELL_CHARS) for e in table["top_error"]]
    caption = "Errors per model and prompt version (rate over every traced call)"
    return _styled(table, caption, {"error_rate": _percent})


def error_kinds(spans: pd.DataFrame) -> pd.DataFrame:
    """The errors that happened, one row per error type and model.

    Returns:
        Columns error_type (the text before the status message's first colon),
        model, calls, versions (the prompt versions it hit), example (one
        message), last_seen; most frequent first.
    """
    import pandas as pd

    columns = ["error_type", "model", "calls", "versions", "example", "last_seen"]
    failed = spans[spans["status"] == "ERROR"]
    if failed.empty:
        return pd.DataFrame(columns=columns)

    message = failed["error"].fillna("(no message)").astype(str)
    failed = failed.assign(
        error_type=message.str.split(": ", n=1).str[0], message=message
    )
    rows = []
    for (kind, model), group in failed.groupby(["error_type", "model"], dropna=False):
        versions = sorted(group["prompt_version"].dropna().astype(str).unique())
        rows.append(
            (
                kind,
                model,
                len(group),
                ", ".join(versions),
                group["message"].iloc[-1],
                group["start_time"].max(),
            )
        )
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["calls", "error_type"], ascending=[False, True])


def errors_table(spans: pd.DataFrame) -> Styler:
    """`error_kinds` for reading: messages shortened, times to the second."""
    table = error_kinds(spans)
    table["example"] = [_cut(e, 2 * CELL_CHARS) for e in table["example"]]
    caption = "What failed: each error type per model, with one of its messages"
    return _styled(table, caption, {"last_seen": "{:%Y-%m-%d %H:%M:%S}"})


def token_table(spans: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> Styler:
    """Input and output tokens per group, in total and per call, and their cost."""
    table = token_usage(spans, by=by)
    table["cost_usd"] = [
        _cost(cost, unpriced)
        for cost, unpriced in zip(
            table["cost_usd"], table["unpriced_calls"], strict=True
        )
    ]
    table = table.drop(columns="total_tokens")
    counts = [c for c in table.columns if "tokens" in str(c) or "calls" in str(c)]
    caption = (
        "Tokens per model and prompt version (failed calls count what the "
        "provider reported, usually none); cost is llmbench's recorded price, "
        "unknown for models without one"
    )
    return _styled(table, caption, {c: _count for c in counts})


def slowest_table(spans: pd.DataFrame, n: int = 10) -> Styler:
    """The `n` slowest calls with the start of their input and output."""
    table = slowest(spans, n)
    texts = spans.set_index("span_id")[["input", "output"]]
    table["input"] = [_cut(texts.at[s, "input"], CELL_CHARS) for s in table["span_id"]]
    table["output"] = [
        _cut(texts.at[s, "output"], CELL_CHARS) for s in table["span_id"]
    ]
    shown = table[
        ["latency_s", "status", "model", "prompt_version", "case_id", "input", "output"]
    ]
    caption = f"The {len(shown)} slowest calls, slowest first"
    return _styled(shown, caption, {"latency_s": format_seconds})


def calls_markdown(
    spans: pd.DataFrame, details: Mapping[str, CallDetail], n: int = 3
) -> str:
    """The `n` slowest calls in full: each message the model saw, and its reply."""
    cards = []
    for row in slowest(spans, n).itertuples(index=False):
        detail = details.get(str(row.span_id))
        cards.append(call_markdown(row._asdict(), detail))
    return "\n\n".join(cards) if cards else "No calls to show."


def call_markdown(span: Mapping[str, Any], detail: CallDetail | None) -> str:
    """One call as Markdown: who, how long, the messages, the reply or error."""
    title = (
        f"#### {format_seconds(span['latency_s'])}: {span['model']}, "
        f"{span['prompt_version'] or 'no prompt version'}, case "
        f"`{span['case_id']}` ({span['status']})"
    )
    where = f"span `{span['span_id']}` in trace `{span['trace_id']}`"
    if detail is None:
        return f"{title}\n\n{where}\n\n_(Phoenix did not return this span's details)_"

    params = ", ".join(
        f"`{k}={v}`" for k, v in sorted(detail.params.items()) if k != "api_base"
    )
    lines = [title, "", f"{where}; parameters {params}" if params else where]
    for role, content in detail.messages:
        lines += ["", f"**{role}**", "", _fenced(_cut(content, MESSAGE_CHARS))]
    if detail.error is not None:
        lines += ["", "**error**", "", _fenced(_cut(detail.error, MESSAGE_CHARS))]
    else:
        lines += ["", "**reply**", "", _fenced(_cut(detail.output, MESSAGE_CHARS))]
    return "\n".join(lines)


def annotation_table(summary: pd.DataFrame) -> Styler:
    """`llmbench.trace_annotations.annotation_summary` for reading."""
    scores = {c: "{:.3f}" for c in ("mean_score", "min_score", "max_score")}
    formats: dict[str, Any] = {**scores, "pass_rate": _percent, "spans": _count}
    caption = (
        "Eval scores logged on the spans, per metric, model and prompt version "
        "(pass rate over those with a threshold)"
    )
    if summary.empty:
        caption = (
            "No eval scores are logged on these spans (see "
            "llmbench.trace_annotations.log_eval_scores)"
        )
    return _styled(summary, caption, formats)


def format_seconds(value: Any) -> str:
    """A duration for people: ms below a second, else seconds; blank if missing."""
    seconds = as_float(value)
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _styled(
    frame: pd.DataFrame, caption: str, formats: Mapping[str, Any] | None = None
) -> Styler:
    """A Styler without the index, wrapping long text, with a caption."""
    present = {k: v for k, v in (formats or {}).items() if k in frame.columns}
    return (
        frame.style.hide(axis="index")
        .format(present, na_rep="")
        .set_caption(caption)
        .set_table_styles(
            [
                {"selector": "caption", "props": "caption-side:top;text-align:left"},
                {"selector": "td", "props": _CELL},
                {"selector": "th", "props": "text-align:left;padding:0 .6em"},
            ]
        )
    )


def _cut(text: Any, limit: int) -> str:
    """`text` up to `limit` characters, with an ellipsis when cut; blank if None."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _fenced(text: str) -> str:
    """Text as a Markdown code block, its fence longer than any run inside."""
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}text\n{text}\n{fence}"


def _longest_backticks(text: str) -> int:
    """The longest run of backticks in `text`."""
    best = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        best = max(best, run)
    return best


def _cost(cost_usd: float, unpriced_calls: int) -> str:
    """A group's cost in USD; "unknown" for the part of unpriced calls."""
    if not unpriced_calls:
        return format_usd(float(cost_usd))
    if not cost_usd:
        return "unknown"
    return f"{format_usd(float(cost_usd))} + unknown"


def _percent(value: Any) -> str:
    """A fraction as a percentage; blank when missing."""
    number = as_float(value)
    return "" if number is None else f"{number:.1%}"


def _count(value: Any) -> str:
    """A whole number with thousands separators; blank when missing."""
    number = as_float(value)
    return "" if number is None else f"{number:,.0f}"
