"""The trace explorer's charts, on spans built by hand."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.figure import Figure

from llmbench import trace_plots

pytest_plugins = ["trace_fixtures"]


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def texts(fig: Figure) -> list[str]:
    """Every piece of text drawn in the figure's axes."""
    found = []
    for ax in fig.axes:
        found += [t.get_text() for t in ax.texts]
        found += [t.get_text() for t in ax.get_yticklabels()]
        found += [t.get_text() for t in ax.get_xticklabels()]
        found.append(ax.get_title())
    return found


def test_latency_chart_has_a_row_per_group_and_marks_percentiles(
    spans: pd.DataFrame,
) -> None:
    fig = trace_plots.latency_chart(spans)
    (ax,) = fig.axes

    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "openai/stand-in · v2",
        "openai/stand-in · v1",
        "offline/extractive · v1",
    ]
    dots = sum(len(c.get_offsets()) for c in ax.collections)
    assert dots == 9  # answered calls only: no errors, no cache hit
    marks = {line.get_label() for line in ax.lines}
    assert {"p50", "p95", "p99"} <= marks
    assert ax.get_xscale() == "log"  # 0.05 s to 3 s spans 60x
    assert png(fig).startswith(b"\x89PNG")


def test_latency_chart_stays_linear_for_a_narrow_spread(spans: pd.DataFrame) -> None:
    narrow = spans[spans["latency_s"].between(0.1, 0.5)]

    (ax,) = trace_plots.latency_chart(narrow).axes

    assert ax.get_xscale() == "linear"


def test_latency_timeline_marks_failures_on_the_zero_line(spans: pd.DataFrame) -> None:
    fig = trace_plots.latency_timeline(spans)
    (ax,) = fig.axes

    failed = [c for c in ax.collections if c.get_label().startswith("failed")]
    assert len(failed) == 1
    assert failed[0].get_label() == "failed (2)"
    assert failed[0].get_offsets()[:, 1].tolist() == [0.0, 0.0]
    assert png(fig).startswith(b"\x89PNG")


def test_token_chart_stacks_input_and_output(spans: pd.DataFrame) -> None:
    fig = trace_plots.token_chart(spans)
    total, mean = fig.axes

    widths = [bar.get_width() for bar in total.patches]
    assert widths[:3] == [100, 450, 230]  # input tokens, first model first
    assert widths[3:] == [20, 20, 10]  # output tokens: 5 per call that answered
    assert mean.patches[0].get_width() == pytest.approx(25.0)
    assert "Tokens per call" in mean.get_title()
    assert png(fig).startswith(b"\x89PNG")


def test_annotation_chart_is_a_grid_of_mean_scores(annotations: pd.DataFrame) -> None:
    fig = trace_plots.annotation_chart(annotations)

    shown = texts(fig)
    assert "0.75" in shown  # token_f1 on offline v1: (0.5 + 1.0) / 2
    assert "contains" in shown and "token_f1" in shown
    assert "openai/stand-in · v2" in shown
    assert png(fig).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "chart",
    [
        trace_plots.latency_chart,
        trace_plots.latency_timeline,
        trace_plots.token_chart,
    ],
)
def test_charts_of_no_spans_say_so(spans: pd.DataFrame, chart: object) -> None:
    fig = chart(spans.iloc[0:0])  # type: ignore[operator]

    assert any(text.startswith("No ") for text in texts(fig))
    assert png(fig).startswith(b"\x89PNG")


def test_annotation_chart_without_scores_says_so(annotations: pd.DataFrame) -> None:
    fig = trace_plots.annotation_chart(annotations.iloc[0:0])

    assert "No eval scores are logged on these spans." in texts(fig)


def test_group_labels_name_missing_parts() -> None:
    assert trace_plots.group_label(("m", None)) == "m · (none)"
    assert trace_plots.group_label(("m", float("nan"))) == "m · (none)"
    assert trace_plots.group_label(("m", pd.NA)) == "m · (none)"
