"""What a trace explorer shows about a set of spans: latency, errors, tokens.

Each function takes the frame `llmbench.traces.spans_frame` returns (one row per
span) and returns a small DataFrame, one row per group. Groups are formed by
`by` (default model and prompt version); a missing prompt version is its own
group, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BY = ("model", "prompt_version")


def latency_percentiles(
    frame: pd.DataFrame,
    by: Sequence[str] = DEFAULT_BY,
    exclude_cache_hits: bool = True,
) -> pd.DataFrame:
    """Latency percentiles per group, in seconds.

    Args:
        frame: Spans, as `spans_frame` returns them.
        by: Columns to group by.
        exclude_cache_hits: Leave out cache hits, whose latency is 0 and would
            pull every percentile down.

    Returns:
        Columns `by`, calls, p50_s, p95_s, p99_s, max_s.
    """
    import pandas as pd

    if exclude_cache_hits and "cache_hit" in frame:
        frame = frame[~frame["cache_hit"].fillna(False).astype(bool)]
    columns = [*by, "calls", "p50_s", "p95_s", "p99_s", "max_s"]
    if frame.empty:
        return pd.DataFrame(columns=columns)

    grouped = frame.groupby(list(by), dropna=False, sort=True)["latency_s"]
    table = pd.DataFrame(
        {
            "calls": grouped.size(),
            "p50_s": grouped.quantile(0.50),
            "p95_s": grouped.quantile(0.95),
            "p99_s": grouped.quantile(0.99),
            "max_s": grouped.max(),
        }
    )
    return table.reset_index()[columns]


def error_summary(frame: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Failed calls per group, and the most frequent error.

    Returns:
        Columns `by`, calls, errors, error_rate (0-1), top_error (the most
        frequent error text, missing without errors), top_error_count.
    """
    import pandas as pd

    columns = [*by, "calls", "errors", "error_rate", "top_error", "top_error_count"]
    if frame.empty:
        return pd.DataFrame(columns=columns)

    rows = []
    for key, group in frame.groupby(list(by), dropna=False, sort=True):
        failed = group[group["status"] == "ERROR"]
        counts = failed["error"].fillna("(no message)").value_counts()
        rows.append(
            (
                *(key if isinstance(key, tuple) else (key,)),
                len(group),
                len(failed),
                len(failed) / len(group),
                counts.index[0] if len(counts) else None,
                int(counts.iloc[0]) if len(counts) else 0,
            )
        )
    return pd.DataFrame(rows, columns=columns)


def token_usage(frame: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Tokens and cost per group.

    Cost is llmbench's recorded price of each response (USD), cache hits
    included at the price they had when produced; spans without a known price
    count as 0 here and are counted in unpriced_calls.

    Returns:
        Columns `by`, calls, input_tokens, output_tokens, total_tokens,
        mean_input_tokens, mean_output_tokens, cost_usd, unpriced_calls.
    """
    import pandas as pd

    columns = [
        *by,
        "calls",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "mean_input_tokens",
        "mean_output_tokens",
        "cost_usd",
        "unpriced_calls",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)

    frame = frame.assign(
        input_tokens=frame["input_tokens"].fillna(0).astype("int64"),
        output_tokens=frame["output_tokens"].fillna(0).astype("int64"),
        unpriced=frame["cost_usd"].isna().astype("int64"),
        cost=frame["cost_usd"].fillna(0.0).astype("float64"),
    )
    grouped = frame.groupby(list(by), dropna=False, sort=True)
    table = pd.DataFrame(
        {
            "calls": grouped.size(),
            "input_tokens": grouped["input_tokens"].sum(),
            "output_tokens": grouped["output_tokens"].sum(),
            "mean_input_tokens": grouped["input_tokens"].mean(),
            "mean_output_tokens": grouped["output_tokens"].mean(),
            "cost_usd": grouped["cost"].sum(),
            "unpriced_calls": grouped["unpriced"].sum(),
        }
    )
    table["total_tokens"] = table["input_tokens"] + table["output_tokens"]
    return table.reset_index()[columns]


def slowest(frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` slowest spans, slowest first, with what identifies each call.

    Returns:
        Columns trace_id, span_id, start_time, latency_s, status, model,
        prompt_version, case_id, run_id, error.
    """
    columns = [
        "trace_id",
        "span_id",
        "start_time",
        "latency_s",
        "status",
        "model",
        "prompt_version",
        "case_id",
        "run_id",
        "error",
    ]
    ordered = frame.sort_values("latency_s", ascending=False, kind="stable")
    return ordered.head(n)[columns].reset_index(drop=True)
