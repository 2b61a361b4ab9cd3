"""Scoring a run: records x metrics -> one tidy row per call and metric.

`score` takes a run's records frame (one row per call, `CallRecord` columns),
joins each call's case fields (``question``, ``answer``, ``contexts``...) by
``case_id``, runs every metric, and returns a long frame:

    run_id, case_id, prompt_name, prompt_version, model, repeat,
    metric, score, passed, detail

``score`` is a float, NaN when the call could not be scored (the call failed,
the case lacks a field the metric needs, the metric or judge failed); the
reason is in ``detail``. ``passed`` is True/False against the threshold, or
<NA> where there is no threshold or no score. NaNs are logged as a warning and
counted by `summarize`; they are never averaged in silently.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from llmbench.errors import MetricError
from llmbench.metrics.base import Metric, MetricSpec, Score, Scores, get_metric
from llmbench.metrics.cases import join_cases
from llmbench.metrics.judge import Judge, require_judge

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = logging.getLogger(__name__)

IDENTITY_COLUMNS = (
    "run_id",
    "case_id",
    "prompt_name",
    "prompt_version",
    "model",
    "repeat",
)
SCORE_COLUMNS = (*IDENTITY_COLUMNS, "metric", "score", "passed", "detail")

MetricsArg = Sequence[str | Mapping[str, Any] | MetricSpec]
Details = list[str | None]
T = TypeVar("T")


class _Planned(NamedTuple):
    """One metric to compute: the suite's spec and the registered metric."""

    spec: MetricSpec
    metric: Metric


def score(
    frame: pd.DataFrame,
    metrics: MetricsArg,
    cases: Any = None,
    *,
    judge: Judge | None = None,
    skip_unjudged: bool = False,
) -> pd.DataFrame:
    """Score every task call of a run with every metric.

    Works in scripts and in notebooks; inside a running event loop the
    LLM-judged metrics run on a helper thread (``await ascore(...)`` avoids it).

    Args:
        frame: A run's records, one row per call (``RunResult.to_frame()``).
            Judge calls (``kind == "judge"``) are left out.
        metrics: Metric names, `MetricSpec` objects, or suite mappings such as
            ``{"name": "regex", "pattern": "^\\\\d+$"}``.
        cases: The dataset the run answered (a `Dataset`, cases, a frame with a
            ``case_id`` column, or a mapping of case id to fields); None when
            `frame` already holds the case fields.
        judge: The LLM judge for judge metrics; None reads LLMBENCH_JUDGE_MODEL.
        skip_unjudged: With no judge configured, score judge metrics NaN with a
            reason instead of raising JudgeNotConfiguredError.

    Returns:
        The tidy scores frame described in the module docstring.

    Raises:
        MetricError: An unknown metric, bad parameters, or duplicate labels.
        JudgeNotConfiguredError: A judge metric was asked for without a judge.
    """
    plan, rows, chosen = _prepare(frame, metrics, cases, judge, skip_unjudged)
    results = {
        p.spec.display_name: _score_local(p, rows) for p in plan if not _judged(p)
    }
    if chosen is not None and any(_judged(p) for p in plan):
        results.update(_run(_score_judged(plan, rows, chosen)))
    return _assemble(plan, rows, results)


async def ascore(
    frame: pd.DataFrame,
    metrics: MetricsArg,
    cases: Any = None,
    *,
    judge: Judge | None = None,
    skip_unjudged: bool = False,
) -> pd.DataFrame:
    """`score`, awaitable: LLM-judged metrics run on the caller's event loop."""
    plan, rows, chosen = _prepare(frame, metrics, cases, judge, skip_unjudged)
    results = {
        p.spec.display_name: _score_local(p, rows) for p in plan if not _judged(p)
    }
    if chosen is not None and any(_judged(p) for p in plan):
        results.update(await _score_judged(plan, rows, chosen))
    return _assemble(plan, rows, results)


def summarize(
    scores: pd.DataFrame, by: Sequence[str] = ("prompt_name", "prompt_version", "model")
) -> pd.DataFrame:
    """Per group and metric: calls, scored, NaN count, mean, std, pass rate.

    The mean and pass rate are over scored calls only; ``n_nan`` says how many
    were left out, so a high mean over few scored calls cannot pass unnoticed.
    """
    import pandas as pd

    keys = [c for c in by if c in scores.columns and scores[c].notna().any()]
    keys.append("metric")
    grouped = scores.groupby(keys, dropna=False, sort=False)
    summary = grouped.agg(
        n=("score", "size"),
        n_scored=("score", "count"),
        mean=("score", "mean"),
        std=("score", "std"),
        n_passed=("passed", lambda s: int(s.fillna(False).astype(bool).sum())),
        n_judged=("passed", "count"),
    ).reset_index()
    summary.insert(len(keys) + 2, "n_nan", summary["n"] - summary["n_scored"])
    judged = summary["n_judged"].where(summary["n_judged"] > 0)
    summary["pass_rate"] = (summary["n_passed"] / judged).astype(pd.Float64Dtype())
    return summary.drop(columns="n_judged")


def _prepare(
    frame: pd.DataFrame,
    metrics: MetricsArg,
    cases: Any,
    judge: Judge | None,
    skip_unjudged: bool,
) -> tuple[list[_Planned], pd.DataFrame, Judge | None]:
    """Check the metrics, pick the task rows, join cases, find the judge."""
    if "output_text" not in frame.columns or "case_id" not in frame.columns:
        raise MetricError("the records frame needs 'output_text' and 'case_id' columns")

    plan = [_plan(item) for item in metrics]
    labels = [p.spec.display_name for p in plan]
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        raise MetricError(
            f"metric(s) {', '.join(duplicates)} appear twice; give each a 'label'"
        )

    tasks = frame[frame["kind"] != "judge"] if "kind" in frame.columns else frame
    rows = join_cases(tasks, cases)

    judged = [p.spec.display_name for p in plan if _judged(p)]
    chosen = None
    if judged:
        try:
            chosen = require_judge(judge, judged)
        except MetricError:
            if not skip_unjudged:
                raise
            logger.warning("no judge configured: %s not scored", ", ".join(judged))
    return plan, rows, chosen


def _plan(item: str | Mapping[str, Any] | MetricSpec) -> _Planned:
    """Resolve one metrics entry to its spec and registered metric."""
    spec = MetricSpec.parse(item)
    found = get_metric(spec.name)
    found.check_params(spec.params)
    return _Planned(spec, found)


def _judged(planned: _Planned) -> bool:
    """Whether a planned metric needs the LLM judge."""
    return planned.metric.kind == "judge"


def _unscorable(planned: _Planned, rows: pd.DataFrame) -> list[str | None]:
    """Per row, why it cannot be scored (a failed call, a missing field) or None."""
    reasons: list[str | None] = [None] * len(rows)
    if "status" in rows.columns:
        for i, (status, error) in enumerate(
            zip(_column(rows, "status"), _column(rows, "error_type"), strict=True)
        ):
            if status != "ok":
                reasons[i] = f"call {status}" + (f" ({error})" if error else "")

    for need in planned.metric.needs:
        values = _column(rows, need)
        for i, value in enumerate(values):
            if reasons[i] is None and _missing(value):
                reasons[i] = f"case has no {need!r}"
    return reasons


def _score_local(planned: _Planned, rows: pd.DataFrame) -> Scores:
    """Compute a row or vectorized metric over the rows it can score."""
    import numpy as np

    reasons = _unscorable(planned, rows)
    eligible = np.flatnonzero([r is None for r in reasons])
    values = np.full(len(rows), np.nan)
    details = list(reasons)
    if len(eligible) == 0:
        return Scores(values, details)

    subset = rows.iloc[eligible].reset_index(drop=True)
    call = _call_vectorized if planned.metric.kind == "vectorized" else _call_rows
    got, got_details = call(planned, subset)
    values[eligible] = got
    for position, detail in zip(eligible, got_details, strict=True):
        details[position] = detail
    return Scores(values, details)


def _call_vectorized(planned: _Planned, rows: pd.DataFrame) -> tuple[Any, Details]:
    """Run a vectorized metric and check what it returned."""
    import numpy as np

    name = planned.spec.display_name
    try:
        result = planned.metric.func(rows, **planned.spec.params)
    except MetricError:
        raise
    except Exception as exc:
        raise MetricError(
            f"metric {name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc

    if isinstance(result, Scores):
        raw, details = result.values, list(result.details)
    else:
        raw, details = result, [None] * len(rows)
    try:
        values = np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise MetricError(f"metric {name!r} returned non-numeric scores") from exc
    if len(values) != len(rows) or len(details) != len(rows):
        raise MetricError(
            f"metric {name!r} returned {len(values)} scores for {len(rows)} rows"
        )
    explained: Details = [
        d if d is not None or not math.isnan(v) else "metric gave no score"
        for v, d in zip(values, details, strict=True)
    ]
    return values, explained


def _call_rows(planned: _Planned, rows: pd.DataFrame) -> tuple[Any, Details]:
    """Run a row metric on each row; a row that raises scores NaN."""
    func, params = planned.metric.func, planned.spec.params
    values: list[float] = []
    details: list[str | None] = []
    failures = 0
    for row in rows.to_dict("records"):
        output = row.get("output_text")
        try:
            result = func(output if isinstance(output, str) else "", row, **params)
            value, detail = _row_value(result)
        except Exception as exc:  # one bad row must not sink the batch
            failures += 1
            value, detail = math.nan, f"{type(exc).__name__}: {exc}"[:300]
        values.append(value)
        details.append(detail)
    if failures:
        logger.warning(
            "metric %s raised on %s of %s rows; see the detail column",
            planned.spec.display_name,
            failures,
            len(values),
        )
    return values, details


def _row_value(result: Any) -> tuple[float, str | None]:
    """A row metric's return value as (score, detail)."""
    detail = None
    if isinstance(result, Score):
        result, detail = result.value, result.detail
    if result is None:
        return math.nan, detail or "metric gave no score"
    value = float(result)
    return value, detail if detail or not math.isnan(value) else "metric gave no score"


async def _score_judged(
    plan: list[_Planned], rows: pd.DataFrame, judge: Judge
) -> dict[str, Scores]:
    """Compute every judge metric over the rows each can score."""
    import numpy as np

    from llmbench.metrics.judge_metrics import JudgeMetric, score_with_judge

    results: dict[str, Scores] = {}
    for planned in plan:
        if not _judged(planned) or not isinstance(planned.metric, JudgeMetric):
            continue
        reasons = _unscorable(planned, rows)
        eligible = np.flatnonzero([r is None for r in reasons])
        values = np.full(len(rows), np.nan)
        details = list(reasons)
        if len(eligible):
            got = await score_with_judge(
                planned.metric,
                rows.iloc[eligible].reset_index(drop=True),
                judge,
                params=planned.spec.params,
                label=planned.spec.display_name,
            )
            values[eligible] = got.values
            for position, detail in zip(eligible, got.details, strict=True):
                details[position] = detail
        results[planned.spec.display_name] = Scores(values, details)
    return results


def _assemble(
    plan: list[_Planned], rows: pd.DataFrame, results: Mapping[str, Scores]
) -> pd.DataFrame:
    """Stack per-metric scores into the tidy frame, with pass/fail and NaN counts."""
    import numpy as np
    import pandas as pd

    n = len(rows)
    identity = {c: _column(rows, c) for c in IDENTITY_COLUMNS}
    parts = []
    not_scored: list[str] = []
    for planned in plan:
        label = planned.spec.display_name
        scores = results.get(label) or Scores(
            np.full(n, np.nan), ["not scored: no judge model configured"] * n
        )
        values = np.asarray(scores.values, dtype=np.float64)
        parts.append(
            pd.DataFrame(
                {
                    **identity,
                    "metric": label,
                    "score": values,
                    "passed": _passed(planned, values),
                    "detail": pd.Series(scores.details, dtype=object),
                }
            )
        )
        missing = int(np.isnan(values).sum())
        if missing:
            not_scored.append(f"{label} {missing} of {n}")

    if not_scored:
        logger.warning(
            "calls not scored (NaN; the detail column says why): %s",
            ", ".join(not_scored),
        )

    if not parts:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(SCORE_COLUMNS)]


def _passed(planned: _Planned, values: np.ndarray) -> pd.arrays.BooleanArray:
    """Pass/fail per score against the threshold; <NA> without one or a score."""
    import numpy as np
    import pandas as pd

    threshold = planned.spec.threshold
    if threshold is None:
        threshold = planned.metric.threshold
    missing = np.isnan(values)
    if threshold is None:
        return pd.array([None] * len(values), dtype="boolean")
    with np.errstate(invalid="ignore"):
        ok = (
            values >= threshold
            if planned.metric.higher_is_better
            else values <= threshold
        )
    return pd.arrays.BooleanArray(ok, missing)


def _column(rows: pd.DataFrame, name: str) -> list[Any]:
    """A column's values as a list, or Nones when the frame lacks it."""
    return rows[name].tolist() if name in rows.columns else [None] * len(rows)


def _missing(value: Any) -> bool:
    """Whether a field value counts as absent (None, NaN, <NA>)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ == "NAType"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)

    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="llmbench-judge")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
