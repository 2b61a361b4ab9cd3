"""Eval scores on spans: log a comparison's or a suite's scores, read them back.

Phoenix keeps an eval score as a *span annotation*: a name (the metric), a
score, an optional label and explanation, and who made it (``CODE`` for a
computed metric, ``LLM`` for a judge). With the scores beside the calls, a
trace shows what the model saw, what it said and how that answer scored.

Out: `log_eval_scores` takes llmbench's tidy scores (one row per call and
metric, as `llmbench.metrics.score` returns them) and `log_suite_scores` a
`SuiteResult`; a passed/failed verdict becomes the label, the metric's detail
the explanation. In: `annotations_frame` reads the annotations of a set of
spans, joined with the call each one scored; `annotation_summary` averages them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmbench.errors import PhoenixError
from llmbench.trace_frames import DEFAULT_PROJECT, ScoresLogged, log_scores

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.suite_results import SuiteResult
    from llmbench.traces import Tracer

logger = logging.getLogger(__name__)

#: The columns of `annotations_frame`, in order.
ANNOTATION_COLUMNS = (
    "span_id",
    "run_id",
    "case_id",
    "model",
    "prompt_version",
    "metric",
    "score",
    "label",
    "explanation",
    "annotator_kind",
)

#: What names a score row's span for `log_scores`: its id, or the call.
_CALL_COLUMNS = (
    "span_id",
    "run_id",
    "case_id",
    "prompt_version",
    "model",
    "repeat",
    "kind",
)


def as_annotations(
    scores: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    judged: Sequence[str] = (),
) -> pd.DataFrame:
    """Tidy eval scores as the rows `log_scores` logs.

    Args:
        scores: One row per call and metric: the call's run_id, case_id,
            prompt_version, model and repeat (or its span_id), then
            ``metric`` and ``score``,
            optionally ``passed`` (bool or missing) and ``detail`` (text).
        metrics: Only these metrics; None for all.
        judged: Metrics scored by an LLM judge (annotator kind ``LLM``).

    Returns:
        The call columns, metric, score, label (``pass``/``fail`` where a
        threshold decided), explanation and annotator_kind.
    """
    import pandas as pd

    if metrics is not None:
        scores = scores[scores["metric"].isin(list(metrics))]
    rows = pd.DataFrame(
        {name: scores[name] for name in _CALL_COLUMNS if name in scores.columns}
    )
    rows["metric"] = scores["metric"].astype(str)
    rows["score"] = pd.to_numeric(scores["score"], errors="coerce")
    details = scores["detail"] if "detail" in scores.columns else [None] * len(scores)
    rows["label"] = pd.Series(_labels(scores), index=rows.index, dtype=object)
    rows["explanation"] = pd.Series(
        [d if isinstance(d, str) and d else None for d in details],
        index=rows.index,
        dtype=object,
    )
    rows["annotator_kind"] = [
        "LLM" if metric in set(judged) else "CODE" for metric in rows["metric"]
    ]
    return rows.reset_index(drop=True)


def log_eval_scores(
    scores: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    judged: Sequence[str] = (),
    tracer: Tracer | None = None,
    url: str | None = None,
    project: str = DEFAULT_PROJECT,
) -> ScoresLogged:
    """Log eval scores as annotations on the spans of the calls they scored.

    Scores that could not be computed (NaN) are counted, not logged. Logging a
    metric again for a span replaces the earlier annotation.

    Args:
        scores: Tidy scores (see `as_annotations`).
        metrics: Only these metrics; None for all.
        judged: Metrics scored by an LLM judge.
        tracer: The tracer that traced the calls (spans found in its memory).
        url: Phoenix's base URL; default the tracer's, else this project's.
        project: Where to look spans up when no tracer is given.

    Raises:
        PhoenixError: Phoenix is not running or refused the annotations.
    """
    rows = as_annotations(scores, metrics=metrics, judged=judged)
    return log_scores(rows, url=url, project=project, tracer=tracer)


def log_suite_scores(
    result: SuiteResult,
    *,
    tracer: Tracer | None = None,
    url: str | None = None,
    project: str = DEFAULT_PROJECT,
) -> ScoresLogged:
    """Log an eval suite run's scores as annotations on its calls' spans.

    Every suite metric becomes an annotation named by its label, with
    ``pass``/``fail`` against its threshold and the metric's detail as the
    explanation. Metrics skipped for want of a judge count as missing.
    Pass the tracer that observed the suite's engine, or the `url` and
    `project` its spans went to.
    """
    return log_eval_scores(
        result.scores,
        judged=judged_metrics(result),
        tracer=tracer,
        url=url,
        project=project,
    )


def judged_metrics(result: SuiteResult) -> list[str]:
    """The labels of a suite's LLM-judged metrics."""
    from llmbench.metrics import get_metric

    return [
        spec.display_name
        for spec in result.suite.metrics
        if get_metric(spec.name).kind == "judge"
    ]


def annotations_frame(
    spans: pd.DataFrame,
    *,
    url: str,
    project: str = DEFAULT_PROJECT,
    timeout_s: float = 30.0,
) -> pd.DataFrame:
    """The annotations of `spans`, one row per span and annotation name.

    Args:
        spans: Spans as `llmbench.traces.spans_frame` returns them.
        url: Phoenix's base URL.
        project: The spans' Phoenix project.
        timeout_s: Seconds to wait for each of Phoenix's answers.

    Returns:
        `ANNOTATION_COLUMNS`: the span and its call, metric (the annotation's
        name), score (NaN for label-only annotations), label, explanation and
        annotator_kind (``CODE``, ``LLM`` or ``HUMAN``). Empty without any.

    Raises:
        PhoenixError: Phoenix did not answer.
    """
    import httpx
    import pandas as pd
    from phoenix.client import Client

    empty = pd.DataFrame({name: pd.Series(dtype=object) for name in ANNOTATION_COLUMNS})
    if spans.empty:
        return empty
    try:
        raw = Client(base_url=url).spans.get_span_annotations_dataframe(
            span_ids=[str(s) for s in spans["span_id"]],
            project_identifier=project,
            timeout=math.ceil(timeout_s),
        )
    except httpx.HTTPError as exc:
        raise PhoenixError(
            f"could not read annotations of project {project!r} from {url}: {exc}"
        ) from exc
    if raw.empty:
        return empty

    raw = raw.reset_index()
    found = pd.DataFrame(
        {
            "span_id": raw["span_id"].astype(str),
            "metric": raw["annotation_name"].astype(str),
            "score": pd.to_numeric(_column(raw, "result.score"), errors="coerce"),
            "label": _column(raw, "result.label"),
            "explanation": _column(raw, "result.explanation"),
            "annotator_kind": _column(raw, "annotator_kind"),
        }
    )
    calls = spans[["span_id", "run_id", "case_id", "model", "prompt_version"]]
    joined = found.merge(calls.astype({"span_id": str}), on="span_id", how="left")
    return joined[list(ANNOTATION_COLUMNS)].sort_values(
        ["metric", "model", "prompt_version", "case_id"], kind="stable"
    )


def annotation_summary(
    annotations: pd.DataFrame,
    by: Sequence[str] = ("metric", "model", "prompt_version"),
) -> pd.DataFrame:
    """Mean score per group, with how many spans carry the annotation.

    Returns:
        Columns `by`, spans, mean_score, min_score, max_score, pass_rate (the
        share labelled ``pass`` among those with a pass/fail label; NaN
        without labels).
    """
    import pandas as pd

    columns = [*by, "spans", "mean_score", "min_score", "max_score", "pass_rate"]
    if annotations.empty:
        return pd.DataFrame(columns=columns)

    frame = annotations.assign(
        passed=annotations["label"].map({"pass": 1.0, "fail": 0.0}).astype(float)
    )
    grouped = frame.groupby(list(by), dropna=False, sort=True)
    table = pd.DataFrame(
        {
            "spans": grouped.size(),
            "mean_score": grouped["score"].mean(),
            "min_score": grouped["score"].min(),
            "max_score": grouped["score"].max(),
            "pass_rate": grouped["passed"].mean(),
        }
    )
    return table.reset_index()[columns]


def _labels(scores: pd.DataFrame) -> list[str | None]:
    """``pass``/``fail`` from a ``passed`` column; None where it is missing."""
    if "passed" not in scores.columns:
        return [None] * len(scores)
    verdicts = {"True": "pass", "False": "fail"}
    return [verdicts.get(str(value)) for value in scores["passed"].astype(object)]


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """Column `name` of Phoenix's frame, or all None when it is absent."""
    import pandas as pd

    if name in raw.columns:
        return raw[name].astype(object).where(raw[name].notna(), None)
    return pd.Series([None] * len(raw), index=raw.index, dtype=object)
