"""Span and annotation frames built by hand, as Phoenix would return them.

Test modules load these with ``pytest_plugins = ["trace_fixtures"]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from llmbench.records import CallRecord, ChatRequest
from llmbench.trace_annotations import ANNOTATION_COLUMNS
from llmbench.traces import SPAN_COLUMNS

START = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

#: (model, prompt_version, latency_s, status, error, cache_hit, cost_usd)
CALLS: list[tuple[str, str, float, str, str | None, bool, float | None]] = [
    ("offline/extractive", "v1", 0.05, "OK", None, False, 0.0),
    ("offline/extractive", "v1", 0.06, "OK", None, False, 0.0),
    ("offline/extractive", "v1", 0.07, "OK", None, False, 0.0),
    ("offline/extractive", "v1", 0.50, "OK", None, False, 0.0),
    ("openai/stand-in", "v1", 0.10, "OK", None, False, 0.001),
    ("openai/stand-in", "v1", 0.20, "OK", None, False, 0.001),
    ("openai/stand-in", "v1", 3.00, "OK", None, False, 0.001),
    (
        "openai/stand-in",
        "v1",
        0.0,
        "ERROR",
        "HTTP 500: injected server error",
        False,
        0.0,
    ),
    (
        "openai/stand-in",
        "v1",
        0.0,
        "ERROR",
        "HTTP 429: injected rate limit",
        False,
        0.0,
    ),
    ("openai/stand-in", "v1", 0.0, "OK", None, True, 0.001),
    ("openai/stand-in", "v2", 0.30, "OK", None, False, None),
    ("openai/stand-in", "v2", 0.40, "OK", None, False, None),
]


def span_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A spans frame with `SPAN_COLUMNS` and the dtypes `tidy_spans` gives."""
    frame = pd.DataFrame(rows, columns=list(SPAN_COLUMNS))
    return frame.astype(
        {
            "repeat": "Int64",
            "input_tokens": "Int64",
            "output_tokens": "Int64",
            "cost_usd": "Float64",
            "cache_hit": "boolean",
        }
    )


@pytest.fixture
def spans() -> pd.DataFrame:
    """Twelve calls on two models: a slow tail, two errors, a cache hit."""
    rows = []
    for index, (model, version, latency, status, error, hit, cost) in enumerate(CALLS):
        start = START + timedelta(seconds=index)
        rows.append(
            {
                "trace_id": f"trace-{index:02d}",
                "span_id": f"span-{index:02d}",
                "name": "llmbench.task",
                "start_time": pd.Timestamp(start),
                "end_time": pd.Timestamp(start + timedelta(seconds=latency)),
                "latency_s": latency,
                "status": status,
                "error": error,
                "model": model,
                "prompt_name": "qa",
                "prompt_version": version,
                "case_id": f"case-{index % 4}",
                "run_id": "run-b" if index >= 4 else "run-a",
                "repeat": 0,
                "kind": "task",
                "input_tokens": 10 * (index + 1),
                "output_tokens": 0 if status == "ERROR" else 5,
                "cost_usd": cost,
                "cache_hit": hit,
                "input": f"Question {index}: " + "word " * 60,
                "output": None if status == "ERROR" else f"Answer {index}",
            }
        )
    return span_frame(rows)


@pytest.fixture
def annotations() -> pd.DataFrame:
    """token_f1 on three spans of two versions, and a pass/fail label."""
    rows = [
        ("span-00", "offline/extractive", "v1", "token_f1", 0.5, "pass"),
        ("span-01", "offline/extractive", "v1", "token_f1", 1.0, "pass"),
        ("span-10", "openai/stand-in", "v2", "token_f1", 0.0, "fail"),
        ("span-10", "openai/stand-in", "v2", "contains", 1.0, None),
    ]
    return pd.DataFrame(
        [
            {
                "span_id": span_id,
                "run_id": "run-a",
                "case_id": "case-0",
                "model": model,
                "prompt_version": version,
                "metric": metric,
                "score": score,
                "label": label,
                "explanation": None,
                "annotator_kind": "CODE",
            }
            for span_id, model, version, metric, score, label in rows
        ],
        columns=list(ANNOTATION_COLUMNS),
    )


def traced_call(
    index: int,
    *,
    run_id: str = "run-1",
    started: datetime | None = None,
    status: str = "ok",
    prompt_version: str = "v1",
    latency_s: float = 0.25,
) -> tuple[ChatRequest, CallRecord]:
    """One request and the record the engine would make of it, started `started`."""
    request = ChatRequest(
        case_id=f"case-{index}",
        model="openai/stand-in",
        messages=(
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": f"Question {index}?"},
        ),
        params={"temperature": 0.0, "max_tokens": 16},
        prompt_name="qa",
        prompt_version=prompt_version,
    )
    failed = status == "error"
    record = CallRecord(
        run_id=run_id,
        case_id=request.case_id,
        prompt_name="qa",
        prompt_version=prompt_version,
        model=request.model,
        repeat=0,
        status=status,  # type: ignore[arg-type]
        output_text="" if failed else f"Answer {index}",
        input_tokens=12,
        output_tokens=0 if failed else 2,
        latency_s=0.0 if failed else latency_s,
        attempts=1,
        error_type="HTTP 500" if failed else None,
        error_message="injected server error" if failed else None,
        timestamp=(started or datetime.now(UTC)).isoformat(),
    )
    return request, record
