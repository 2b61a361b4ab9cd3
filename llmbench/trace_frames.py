"""Read llmbench's spans back from Phoenix, and attach eval scores to them.

`spans_frame` returns a project's spans as a tidy DataFrame, one row per span,
with llmbench's fields (run, case, prompt version, model, tokens, cost) as
columns. `log_scores` logs eval scores as Phoenix span annotations on the spans
of the calls they scored, found through a `Tracer`'s memory or by querying
Phoenix for the run.

Importing this module is light: the Phoenix client and pandas load when used.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from llmbench.errors import PhoenixError

if TYPE_CHECKING:
    import pandas as pd
    from phoenix.client import Client

    from llmbench.traces import Tracer

logger = logging.getLogger(__name__)

DEFAULT_PROJECT = "llmbench"

#: Seconds to wait for just-flushed spans to be stored before annotating them.
_SPAN_ARRIVAL_S = 10.0


#: The columns of `spans_frame`, in order.
SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "name",
    "start_time",
    "end_time",
    "latency_s",
    "status",
    "error",
    "model",
    "prompt_name",
    "prompt_version",
    "case_id",
    "run_id",
    "repeat",
    "kind",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "cache_hit",
    "input",
    "output",
)


class CallKey(NamedTuple):
    """What identifies one call of a run, to find its span."""

    run_id: str
    case_id: str
    prompt_version: str | None
    model: str
    repeat: int
    kind: str = "task"


class ScoresLogged(NamedTuple):
    """What `log_scores` did with each score row."""

    logged: int
    unmatched: int
    missing_score: int


def spans_frame(
    project: str = DEFAULT_PROJECT,
    url: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    run_id: str | None = None,
    limit: int = 100_000,
    timeout_s: float = 60.0,
) -> pd.DataFrame:
    """A project's spans from Phoenix, one row per span (see `SPAN_COLUMNS`).

    Args:
        project: The Phoenix project.
        url: Phoenix's base URL; default this project's running Phoenix.
        start: Only spans that started at or after this time.
        end: Only spans that started before this time.
        run_id: Only the spans of this llmbench run.
        limit: At most this many spans.
        timeout_s: Seconds to wait for Phoenix's answer (large projects on a
            busy machine take a while).

    Returns:
        Columns trace_id, span_id, name, start_time, end_time (UTC), latency_s
        (seconds), status (OK, ERROR, UNSET), error, model, prompt_name,
        prompt_version, case_id, run_id, repeat, kind, input_tokens,
        output_tokens, cost_usd, cache_hit, input, output. Spans that llmbench
        did not make (instrumented litellm calls) have no llmbench fields.

    Raises:
        PhoenixError: Phoenix is not running or refused the query.
    """
    import httpx
    from phoenix.client import Client
    from phoenix.client.types.spans import SpanQuery

    base_url = url or running_url()
    if base_url is None:
        raise PhoenixError(
            "Phoenix is not running for this project; start it with "
            "`llmbench phoenix start`, or pass url="
        )

    query = SpanQuery()
    if run_id is not None:
        query = query.where(f"llmbench.run_id == {run_id!r}")
    try:
        raw = Client(base_url=base_url).spans.get_spans_dataframe(
            query=query,
            start_time=start,
            end_time=end,
            limit=limit,
            project_identifier=project,
            timeout=math.ceil(timeout_s),
        )
    except httpx.HTTPError as exc:
        raise PhoenixError(
            f"could not read spans of project {project!r} from {base_url}: {exc}"
        ) from exc
    return tidy_spans(raw)


def wait_for_spans(
    count: int,
    *,
    project: str = DEFAULT_PROJECT,
    url: str | None = None,
    run_id: str | None = None,
    timeout_s: float = 120.0,
    poll_s: float = 2.0,
) -> pd.DataFrame:
    """`spans_frame` once at least `count` spans are stored, or at the timeout.

    Phoenix accepts spans at once but stores them in the background; on a busy
    2-core machine it stored about 50 spans per second, so the spans of a
    large run appear over tens of seconds. Call `Tracer.flush` first.

    Returns:
        The spans found; fewer than `count` (with a warning) at the timeout.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        frame = spans_frame(project=project, url=url, run_id=run_id)
        if len(frame) >= count:
            return frame
        if time.monotonic() >= deadline:
            logger.warning(
                "Phoenix has stored %d of %d span(s) after %.0f s",
                len(frame),
                count,
                timeout_s,
            )
            return frame
        time.sleep(poll_s)


def tidy_spans(raw: pd.DataFrame) -> pd.DataFrame:
    """Flatten Phoenix's spans DataFrame into `SPAN_COLUMNS`."""
    import pandas as pd

    if raw.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SPAN_COLUMNS})

    def column(path: str) -> pd.Series:
        return _attribute(raw, path)

    status = raw["status_code"].astype(str)
    start = pd.to_datetime(raw["start_time"], utc=True)
    end = pd.to_datetime(raw["end_time"], utc=True)
    frame = pd.DataFrame(
        {
            "trace_id": raw["context.trace_id"],
            "span_id": raw["context.span_id"],
            "name": raw["name"],
            "start_time": start,
            "end_time": end,
            "latency_s": (end - start).dt.total_seconds(),
            "status": status,
            "error": raw["status_message"].where(status == "ERROR", None),
            "model": column("llm.model_name"),
            "prompt_name": column("llmbench.prompt_name"),
            "prompt_version": column("llmbench.prompt_version"),
            "case_id": column("llmbench.case_id"),
            "run_id": column("llmbench.run_id"),
            "repeat": column("llmbench.repeat").astype("Int64"),
            "kind": column("llmbench.kind"),
            "input_tokens": column("llm.token_count.prompt").astype("Int64"),
            "output_tokens": column("llm.token_count.completion").astype("Int64"),
            "cost_usd": column("llmbench.cost_usd").astype("Float64"),
            "cache_hit": column("llmbench.cache_hit").astype("boolean"),
            "input": column("input.value"),
            "output": column("output.value"),
        }
    )
    return frame.sort_values("start_time", kind="stable").reset_index(drop=True)


def log_scores(
    scores: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    url: str | None = None,
    project: str = DEFAULT_PROJECT,
    tracer: Tracer | None = None,
    annotator_kind: Literal["CODE", "LLM", "HUMAN"] = "CODE",
) -> ScoresLogged:
    """Attach eval scores to the spans of the calls they scored.

    Each score becomes a Phoenix span annotation named after its metric
    (logging the same metric again for a span replaces it).

    Args:
        scores: One row per call and metric with columns ``metric`` and
            ``score`` (optional ``label``, ``explanation``); or, with
            `metrics`, one row per call and one column per metric. Rows name
            their span with ``span_id``, or with run_id, case_id,
            prompt_version, model and repeat (and kind, default ``task``).
        metrics: The metric columns of a wide `scores` frame.
        url: Phoenix's base URL; default this project's running Phoenix.
        project: The project to look spans up in when `tracer` is not given.
        tracer: The tracer that traced the calls: spans are found in its
            memory, without a query.
        annotator_kind: ``CODE`` for computed metrics, ``LLM`` for judges.

    Returns:
        How many scores were logged, matched no span, or were missing (NaN).

    Raises:
        PhoenixError: Phoenix is not running or refused the annotations.
    """
    from phoenix.client import Client

    rows = _score_rows(scores, metrics)
    base_url = url or (tracer.url if tracer is not None else None) or running_url()
    if base_url is None:
        raise PhoenixError(
            "Phoenix is not running; start it with `llmbench phoenix start`"
        )

    if tracer is not None:
        tracer.flush()
    span_ids = _span_lookup(rows, tracer, base_url, project)
    annotations: list[dict[str, Any]] = []
    unmatched = missing = 0
    for row in rows:
        score = row.get("score")
        if score is None or (isinstance(score, float) and math.isnan(score)):
            missing += 1
            continue
        span_id = row.get("span_id") or span_ids.get(_row_key(row))
        if span_id is None:
            unmatched += 1
            continue
        result: dict[str, Any] = (
            {"label": score} if isinstance(score, str) else {"score": float(score)}
        )
        for field in ("label", "explanation"):
            if isinstance(row.get(field), str):
                result[field] = row[field]
        annotations.append(
            {
                "span_id": span_id,
                "name": str(row["metric"]),
                "annotator_kind": row.get("annotator_kind") or annotator_kind,
                "result": result,
            }
        )

    _send_annotations(Client(base_url=base_url), annotations, base_url)
    if unmatched:
        logger.warning(
            "%d score(s) matched no traced call and were not logged", unmatched
        )
    return ScoresLogged(len(annotations), unmatched, missing)


def _send_annotations(
    client: Client, annotations: Sequence[Mapping[str, Any]], url: str
) -> None:
    """Post annotations 100 at a time, waiting for spans still being stored.

    Phoenix answers 404 when a span id is unknown; spans flushed a moment ago
    may still be on their way into its database, so a 404 is retried for a
    few seconds before it is an error.
    """
    import httpx

    for start in range(0, len(annotations), 100):
        chunk = list(annotations[start : start + 100])
        deadline = time.monotonic() + _SPAN_ARRIVAL_S
        while True:
            try:
                client.spans.log_span_annotations(
                    span_annotations=chunk,  # type: ignore[arg-type]
                    sync=True,
                )
                break
            except httpx.HTTPError as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status != 404 or time.monotonic() > deadline:
                    message = f"Phoenix at {url} refused the scores: {exc}"
                    raise PhoenixError(message) from exc
                time.sleep(0.25)


def _score_rows(
    scores: pd.DataFrame, metrics: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Long-format score rows as dicts, NaN as None."""
    if metrics is not None:
        keep = [c for c in scores.columns if c not in metrics]
        scores = scores.melt(
            id_vars=keep,
            value_vars=list(metrics),
            var_name="metric",
            value_name="score",
        )
    missing = {"metric", "score"} - set(scores.columns)
    if missing:
        raise ValueError(
            f"scores need columns {sorted(missing)}; pass metrics= for a frame "
            "with one column per metric"
        )
    records = scores.astype(object).where(scores.notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in records]


def _row_key(row: Mapping[str, Any]) -> CallKey | None:
    """The call a score row names, or None when it lacks a field."""
    try:
        return CallKey(
            str(row["run_id"]),
            str(row["case_id"]),
            None if row.get("prompt_version") is None else str(row["prompt_version"]),
            str(row["model"]),
            int(row.get("repeat") or 0),
            str(row.get("kind") or "task"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _span_lookup(
    rows: Iterable[Mapping[str, Any]],
    tracer: Tracer | None,
    url: str,
    project: str,
) -> dict[CallKey | None, str]:
    """Span ids by call, from the tracer's memory or else from Phoenix."""
    if tracer is not None:
        return {key: span_id for key, span_id in tracer.span_ids.items()}

    found: dict[CallKey | None, str] = {}
    run_ids = {
        row["run_id"] for row in rows if not row.get("span_id") and row.get("run_id")
    }
    for run_id in sorted(map(str, run_ids)):
        frame = spans_frame(project=project, url=url, run_id=run_id)
        for span in frame.astype(object).where(frame.notna(), None).to_dict("records"):
            found[_row_key(span)] = str(span["span_id"])
    return found


def _attribute(raw: pd.DataFrame, path: str) -> pd.Series:
    """Attribute `path` from Phoenix's columns, flat or nested in dicts."""
    import pandas as pd

    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        name = "attributes." + ".".join(parts[:cut])
        if name in raw.columns:
            values = raw[name]
            if cut < len(parts):
                values = values.map(partial(_dig, keys=parts[cut:]))
            return values.astype(object).where(values.notna(), None)
    return pd.Series([None] * len(raw), index=raw.index, dtype=object)


def _dig(value: Any, keys: Sequence[str]) -> Any:
    """``value[k1][k2]...``, or None where a level is missing."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def running_url() -> str | None:
    """The URL of this project's running Phoenix, or None."""
    from llmbench.phoenix import phoenix_status

    handle = phoenix_status()
    return handle.url if handle is not None else None
