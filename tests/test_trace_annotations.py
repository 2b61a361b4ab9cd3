"""Eval scores as span annotations: shaping them, logging them, reading them back."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from llmbench.phoenix import PhoenixHandle
from llmbench.trace_annotations import (
    ANNOTATION_COLUMNS,
    annotation_summary,
    annotations_frame,
    as_annotations,
    log_eval_scores,
)
from llmbench.traces import Tracer, spans_frame, wait_for_spans

pytest_plugins = ["phoenix_fixtures", "trace_fixtures"]


def tidy_scores(run_id: str = "run-1") -> pd.DataFrame:
    """Scores as llmbench.metrics.score returns them: two metrics, three calls."""
    rows = []
    for index in range(3):
        for metric, score, passed, detail in (
            (
                "token_f1",
                [0.8, 0.1, float("nan")][index],
                [True, False, pd.NA][index],
                [None, None, "the call failed"][index],
            ),
            ("faithful", 1.0, pd.NA, "judge: supported"),
        ):
            rows.append(
                {
                    "run_id": run_id,
                    "case_id": f"case-{index}",
                    "prompt_name": "qa",
                    "prompt_version": "v1",
                    "model": "openai/stand-in",
                    "repeat": 0,
                    "metric": metric,
                    "score": score,
                    "passed": passed,
                    "detail": detail,
                }
            )
    frame = pd.DataFrame(rows)
    frame["passed"] = frame["passed"].astype("boolean")
    return frame


def test_scores_become_annotation_rows_with_labels_and_kinds() -> None:
    rows = as_annotations(tidy_scores(), judged=["faithful"])

    f1 = rows[rows["metric"] == "token_f1"]
    assert f1["label"].tolist() == ["pass", "fail", None]
    assert f1["explanation"].tolist() == [None, None, "the call failed"]
    assert set(f1["annotator_kind"]) == {"CODE"}
    faithful = rows[rows["metric"] == "faithful"]
    assert set(faithful["annotator_kind"]) == {"LLM"}
    assert set(faithful["explanation"]) == {"judge: supported"}
    assert {"run_id", "case_id", "prompt_version", "model", "repeat"} <= set(rows)


def test_only_the_metrics_asked_for_are_kept() -> None:
    rows = as_annotations(tidy_scores(), metrics=["token_f1"])

    assert set(rows["metric"]) == {"token_f1"}
    assert len(rows) == 3


def test_annotation_summary_averages_per_metric_and_group(
    annotations: pd.DataFrame,
) -> None:
    table = annotation_summary(annotations)

    f1 = table[table["metric"] == "token_f1"].set_index("prompt_version")
    assert f1.loc["v1", "spans"] == 2
    assert f1.loc["v1", "mean_score"] == pytest.approx(0.75)
    assert f1.loc["v1", "pass_rate"] == pytest.approx(1.0)
    assert f1.loc["v2", "pass_rate"] == pytest.approx(0.0)
    contains = table[table["metric"] == "contains"]
    assert contains["pass_rate"].isna().all()  # no label, no pass rate


def test_annotation_summary_of_nothing_is_empty() -> None:
    empty = pd.DataFrame(columns=list(ANNOTATION_COLUMNS))

    assert annotation_summary(empty).empty


@pytest.mark.phoenix
def test_logged_scores_come_back_on_the_calls_they_scored(
    phoenix_server: PhoenixHandle,
) -> None:
    from trace_fixtures import traced_call

    project = f"annotate-{uuid.uuid4().hex[:8]}"
    tracer = Tracer(phoenix_server.url, project=project)
    for index in range(3):
        tracer.on_call(*traced_call(index, status="error" if index == 2 else "ok"))
    tracer.flush()
    wait_for_spans(3, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3)

    logged = log_eval_scores(tidy_scores(), judged=["faithful"], tracer=tracer)
    tracer.shutdown()
    spans = spans_frame(project, phoenix_server.url)
    found = annotations_frame(spans, url=phoenix_server.url, project=project)

    assert logged == (5, 0, 1)  # the failed call's token_f1 is NaN
    assert list(found.columns) == list(ANNOTATION_COLUMNS)
    assert len(found) == 5
    f1 = found[found["metric"] == "token_f1"].set_index("case_id")
    assert f1.loc["case-0", "score"] == pytest.approx(0.8)
    assert f1.loc["case-0", "label"] == "pass"
    assert f1.loc["case-1", "label"] == "fail"
    assert set(f1["model"]) == {"openai/stand-in"}
    judged = found[found["metric"] == "faithful"]
    assert set(judged["annotator_kind"]) == {"LLM"}
    assert set(judged["explanation"]) == {"judge: supported"}


@pytest.mark.phoenix
def test_spans_without_annotations_give_an_empty_frame(
    phoenix_server: PhoenixHandle,
) -> None:
    from trace_fixtures import traced_call

    project = f"bare-{uuid.uuid4().hex[:8]}"
    with Tracer(phoenix_server.url, project=project) as tracer:
        tracer.on_call(*traced_call(0))
    spans = wait_for_spans(
        1, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3
    )

    found = annotations_frame(spans, url=phoenix_server.url, project=project)

    assert found.empty
    assert list(found.columns) == list(ANNOTATION_COLUMNS)
