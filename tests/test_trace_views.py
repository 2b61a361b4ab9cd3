"""The trace explorer's tables and sentences, on spans built by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from llmbench import trace_views
from llmbench.trace_source import CallDetail, PhoenixSession, TraceWindow

pytest_plugins = ["trace_fixtures"]


def window_of(spans: pd.DataFrame, run_id: str | None = None) -> TraceWindow:
    return TraceWindow(
        url="http://127.0.0.1:6006",
        project="unit",
        start=datetime(2025, 3, 1, tzinfo=UTC),
        end=datetime(2025, 3, 2, tzinfo=UTC),
        run_id=run_id,
        spans=spans,
    )


def test_latency_counts_only_calls_that_answered(spans: pd.DataFrame) -> None:
    styled = trace_views.latency_table(spans)
    html = styled.to_html()

    table = styled.data
    assert table["calls"].tolist() == [4, 3, 2]
    assert table["p50_s"].tolist() == pytest.approx([0.065, 0.2, 0.35])
    assert table["max_s"].tolist() == pytest.approx([0.5, 3.0, 0.4])
    assert "65 ms" in html and "3.00 s" in html
    assert "p95" in styled.caption


def test_headlines_give_spans_error_rate_and_p95(spans: pd.DataFrame) -> None:
    figures = trace_views.headlines(spans)

    answered = [0.05, 0.06, 0.07, 0.5, 0.1, 0.2, 3.0, 0.3, 0.4]
    assert figures["spans"] == 12
    assert figures["error rate"] == pytest.approx(2 / 12, abs=1e-4)
    assert figures["p95 latency (s)"] == pytest.approx(
        pd.Series(answered).quantile(0.95), abs=1e-3
    )


def test_headlines_of_no_spans_have_no_rates() -> None:
    frame = pd.DataFrame(columns=["status", "cache_hit", "latency_s"])

    figures = trace_views.headlines(frame)

    assert figures == {"spans": 0, "error rate": None, "p95 latency (s)": None}


def test_error_table_shows_rates_as_percentages(spans: pd.DataFrame) -> None:
    styled = trace_views.error_table(spans)
    html = styled.to_html()

    assert styled.data["errors"].tolist() == [0, 2, 0]
    assert "33.3%" in html  # 2 of the 6 stand-in v1 calls
    assert "0.0%" in html
    assert "injected" in html


def test_error_kinds_group_by_type_and_model(spans: pd.DataFrame) -> None:
    kinds = trace_views.error_kinds(spans)

    assert sorted(kinds["error_type"]) == ["HTTP 429", "HTTP 500"]
    assert set(kinds["model"]) == {"openai/stand-in"}
    assert kinds["calls"].tolist() == [1, 1]
    assert set(kinds["versions"]) == {"v1"}
    assert "injected" in kinds["example"].iloc[0]


def test_error_kinds_of_clean_spans_are_empty(spans: pd.DataFrame) -> None:
    clean = spans[spans["status"] == "OK"]

    assert trace_views.error_kinds(clean).empty
    assert trace_views.errors_table(clean).data.empty


def test_token_table_says_unknown_for_unpriced_calls(spans: pd.DataFrame) -> None:
    styled = trace_views.token_table(spans)

    costs = styled.data["cost_usd"].tolist()
    assert costs == ["$0", "$0.004", "unknown"]
    assert styled.data["input_tokens"].tolist() == [100, 450, 230]


def test_slowest_table_cuts_long_inputs(spans: pd.DataFrame) -> None:
    styled = trace_views.slowest_table(spans, n=3)

    table = styled.data
    assert table["latency_s"].tolist() == pytest.approx([3.0, 0.5, 0.4])
    assert table["input"].str.len().max() == trace_views.CELL_CHARS
    assert table["input"].iloc[0].endswith("…")
    assert table["output"].iloc[0] == "Answer 6"


def test_call_cards_show_every_message_and_the_reply(spans: pd.DataFrame) -> None:
    details = {
        "span-06": CallDetail(
            span_id="span-06",
            messages=(("system", "Answer briefly."), ("user", "Use ```code``` here")),
            output="Paris",
            params={"temperature": 0, "api_base": "http://127.0.0.1:9/v1"},
            error=None,
        )
    }

    text = trace_views.calls_markdown(spans, details, n=2)

    first, second = text.split("\n\n#### ")
    assert first.startswith("#### 3.00 s: openai/stand-in, v1, case `case-2` (OK)")
    assert "**system**" in first and "Answer briefly." in first
    assert "````text\nUse ```code``` here\n````" in first
    assert "**reply**" in first and "Paris" in first
    assert "`temperature=0`" in first and "api_base" not in first
    assert "did not return" in second


def test_a_failed_call_card_shows_its_error(spans: pd.DataFrame) -> None:
    failed = spans.iloc[7].to_dict()
    detail = CallDetail("span-07", (("user", "hi"),), None, {}, "HTTP 500: boom")

    text = trace_views.call_markdown(failed, detail)

    assert "**error**" in text and "HTTP 500: boom" in text
    assert "**reply**" not in text


def test_window_markdown_sums_the_window_up(spans: pd.DataFrame) -> None:
    text = trace_views.window_markdown(window_of(spans, run_id="run-b"))

    assert "**12 spans**" in text
    assert "run `run-b`" in text
    assert "12 traces from 2 run(s) on 2 model(s)" in text
    assert "**2 failed** (16.7%)" in text
    assert "1 came from the response cache" in text


def test_window_markdown_of_an_empty_window_says_what_to_change(
    spans: pd.DataFrame,
) -> None:
    text = trace_views.window_markdown(window_of(spans.iloc[0:0]))

    assert text.startswith("No spans in project `unit`")
    assert "window_hours" in text and "make_sample" in text


def test_phoenix_markdown_links_the_ui() -> None:
    session = PhoenixSession("http://127.0.0.1:6006", "started")

    text = trace_views.phoenix_markdown(session, "http://127.0.0.1:6006/projects/x")

    assert "started for this report" in text
    assert "(http://127.0.0.1:6006/projects/x)" in text


def test_annotation_table_formats_scores_and_pass_rates() -> None:
    summary = pd.DataFrame(
        {
            "metric": ["token_f1"],
            "model": ["m"],
            "prompt_version": ["v1"],
            "spans": [3],
            "mean_score": [0.5],
            "min_score": [0.0],
            "max_score": [1.0],
            "pass_rate": [2 / 3],
        }
    )

    html = trace_views.annotation_table(summary).to_html()
    empty = trace_views.annotation_table(summary.iloc[0:0])

    assert "0.500" in html and "66.7%" in html
    assert "No eval scores" in str(empty.caption)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0612, "61 ms"), (1.234, "1.23 s"), (None, ""), (float("nan"), "")],
)
def test_format_seconds(seconds: float | None, shown: str) -> None:
    assert trace_views.format_seconds(seconds) == shown
