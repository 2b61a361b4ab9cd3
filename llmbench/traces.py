"""Trace llmbench's calls into Phoenix, and read the spans back.

Out: a `Tracer` is an engine observer. Each call the engine makes (cache hits
and failures too) becomes one OpenInference LLM span with the call's real start
time and latency, its model, messages, token counts and llmbench's own
attributes (``llmbench.run_id``, ``llmbench.case_id``, ``llmbench.prompt_version``,
``llmbench.cost_usd``...). Spans go to the Phoenix project ``llmbench`` and a
run's spans share a session (``session.id`` = run id). Tracing never fails a
run: without Phoenix, the tracer warns once and the run goes on. Credentials
never reach a span (see `llmbench.redact.Redactor`).

In: `spans_frame` reads a project's spans into a tidy DataFrame and
`log_scores` attaches eval scores to the spans of the calls they scored (both
from `llmbench.trace_frames`); `latency_percentiles`, `error_summary`,
`token_usage` and `slowest` summarise such a frame (`llmbench.trace_summaries`).

Importing this module is light: the OpenTelemetry SDK loads when a `Tracer` is
made, the Phoenix client and pandas when spans are read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from llmbench.records import CallRecord, ChatRequest
from llmbench.trace_frames import (
    DEFAULT_PROJECT,
    SPAN_COLUMNS,
    CallKey,
    ScoresLogged,
    log_scores,
    running_url,
    spans_frame,
    tidy_spans,
    wait_for_spans,
)
from llmbench.trace_summaries import (
    error_summary,
    latency_percentiles,
    slowest,
    token_usage,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "DEFAULT_PROJECT",
    "SPAN_COLUMNS",
    "CallKey",
    "ScoresLogged",
    "TraceStats",
    "Tracer",
    "error_summary",
    "instrument_litellm",
    "latency_percentiles",
    "log_scores",
    "slowest",
    "spans_frame",
    "tidy_spans",
    "token_usage",
    "wait_for_spans",
]

logger = logging.getLogger(__name__)


class TraceStats(NamedTuple):
    """How many spans a tracer made, and what became of them."""

    spans: int
    exported: int
    dropped: int


class Tracer:
    """An engine observer that turns each call into a Phoenix span.

    Args:
        url: Phoenix's base URL. Default: this project's running Phoenix
            (`llmbench phoenix start`). When none runs, the tracer warns once
            and does nothing.
        project: The Phoenix project the spans land in.
        exporter: Where spans go instead of Phoenix (tests, other backends).
        schedule_delay_s: Longest wait before a batch of spans is sent.
        max_queue_size: Spans held while waiting; beyond it spans are dropped.

    Use ``engine = Engine(observers=[tracer])``, then `flush` before reading the
    spans back, and `shutdown` when done (also at interpreter exit).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        project: str = DEFAULT_PROJECT,
        exporter: SpanExporter | None = None,
        schedule_delay_s: float = 1.0,
        max_queue_size: int = 8192,
    ) -> None:
        from openinference.semconv.resource import ResourceAttributes
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from llmbench.redact import Redactor
        from llmbench.span_export import (
            LLMBENCH_SCOPE,
            PhoenixSpanExporter,
            ScrubbingExporter,
        )

        self.project = project
        self.url = url if url is not None or exporter is not None else running_url()
        self._redactor = Redactor()
        self._span_ids: dict[CallKey, str] = {}
        self._spans = 0
        self._failed = False
        self._closed = False

        self._sink: Any = exporter
        if exporter is None and self.url is not None:
            self._sink = PhoenixSpanExporter(f"{self.url.rstrip('/')}/v1/traces")
        self.enabled = self._sink is not None
        if not self.enabled:
            logger.warning(
                "Phoenix is not running for this project: calls are not traced. "
                "Start it with `llmbench phoenix start`, or pass url="
            )

        resource = Resource.create({ResourceAttributes.PROJECT_NAME: project})
        self.provider: TracerProvider = TracerProvider(resource=resource)
        if self._sink is not None:
            processor = BatchSpanProcessor(
                ScrubbingExporter(self._sink, self._redactor),
                max_queue_size=max_queue_size,
                schedule_delay_millis=schedule_delay_s * 1000,
                max_export_batch_size=512,
            )
            self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer(LLMBENCH_SCOPE)

    def on_call(self, request: ChatRequest, record: CallRecord) -> None:
        """Record one call as a span; never raises.

        Calls that were not made (``status == "not_run"``) make no span.
        """
        if not self.enabled or self._closed:
            return
        try:
            if record.status != "not_run":
                self._trace(request, record)
        except Exception as exc:  # tracing must never break a run
            if not self._failed:
                self._failed = True
                logger.warning(
                    "tracing call %s failed (%s); the run goes on",
                    getattr(record, "case_id", "?"),
                    type(exc).__name__,
                )

    def span_id(
        self,
        run_id: str,
        case_id: str,
        prompt_version: str | None,
        model: str,
        repeat: int = 0,
        kind: str = "task",
    ) -> str | None:
        """The span id (16 hex digits) of a traced call, or None."""
        key = CallKey(run_id, case_id, prompt_version, model, repeat, kind)
        return self._span_ids.get(key)

    @property
    def span_ids(self) -> dict[CallKey, str]:
        """Every traced call's span id, by call."""
        return dict(self._span_ids)

    @property
    def stats(self) -> TraceStats:
        """Spans made, exported to Phoenix, and dropped (exporter permitting)."""
        exported = int(getattr(self._sink, "exported", 0))
        dropped = int(getattr(self._sink, "dropped", 0))
        return TraceStats(self._spans, exported, dropped)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Export every span made so far, waiting for it; False after shutdown."""
        if self._closed:
            return False
        return self.provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Flush, then stop exporting. Later calls are not traced."""
        if not self._closed:
            self._closed = True
            self.provider.shutdown()

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def _trace(self, request: ChatRequest, record: CallRecord) -> None:
        """Make, fill and end the span of one call."""
        from opentelemetry.context import Context
        from opentelemetry.trace import Status, StatusCode

        start_ns = _start_ns(record.timestamp, record.latency_s)
        end_ns = start_ns + int(record.latency_s * 1e9)
        span = self._tracer.start_span(
            f"llmbench.{record.kind}",
            context=Context(),  # each call is the root of its own trace
            attributes=self._attributes(request, record),
            start_time=start_ns,
        )

        if record.status == "error":
            error_type = record.error_type or "Error"
            message = self._redactor.text(record.error_message or "")
            span.add_event(
                "exception",
                {"exception.type": error_type, "exception.message": message},
                timestamp=end_ns,
            )
            span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}"))
        else:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=end_ns)

        self._spans += 1
        context = span.get_span_context()
        if context.is_valid:
            key = CallKey(
                record.run_id,
                record.case_id,
                record.prompt_version,
                record.model,
                record.repeat,
                record.kind,
            )
            self._span_ids[key] = format(context.span_id, "016x")

    def _attributes(self, request: ChatRequest, record: CallRecord) -> dict[str, Any]:
        """OpenInference and llmbench attributes of one call, secrets redacted."""
        text = self._redactor.text
        messages = request.messages
        attributes: dict[str, Any] = {
            "openinference.span.kind": "LLM",
            "session.id": record.run_id,
            "llm.model_name": record.model,
            "llm.token_count.prompt": record.input_tokens,
            "llm.token_count.completion": record.output_tokens,
            "llm.token_count.total": record.input_tokens + record.output_tokens,
            "llm.token_count.prompt_details.cache_read": record.cached_tokens,
            "llm.invocation_parameters": json.dumps(
                self._redactor.params(request.params), default=str, sort_keys=True
            ),
            "input.value": text(_last_user_text(messages)),
            "input.mime_type": "text/plain",
            "llmbench.run_id": record.run_id,
            "llmbench.case_id": record.case_id,
            "llmbench.repeat": record.repeat,
            "llmbench.kind": record.kind,
            "llmbench.cache_hit": record.cache_hit,
            "llmbench.attempts": record.attempts,
        }
        if "/" in record.model:
            attributes["llm.provider"] = record.model.split("/", 1)[0]
        for index, message in enumerate(messages):
            prefix = f"llm.input_messages.{index}.message"
            attributes[f"{prefix}.role"] = str(message.get("role", ""))
            attributes[f"{prefix}.content"] = text(str(message.get("content", "")))
        if record.status == "ok":
            attributes["output.value"] = text(record.output_text)
            attributes["output.mime_type"] = "text/plain"
            attributes["llm.output_messages.0.message.role"] = "assistant"
            attributes["llm.output_messages.0.message.content"] = text(
                record.output_text
            )

        optional = {
            "llmbench.prompt_name": record.prompt_name,
            "llmbench.prompt_version": record.prompt_version,
            "llmbench.cost_usd": record.cost_usd,
            "llmbench.cache_miss_reason": record.cache_miss_reason,
            "llmbench.error_type": record.error_type,
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        if record.metadata:
            attributes["metadata"] = json.dumps(
                self._redactor.params(record.metadata), default=str
            )
        return attributes


def instrument_litellm(tracer_provider: TracerProvider) -> bool:
    """Trace litellm calls llmbench does not make itself (ragas' judge calls).

    Uses the OpenInference litellm instrumentor. Call it before the judge is
    created: code holding an earlier reference to ``litellm.acompletion`` is
    not traced. Idempotent: a second call changes nothing.

    Returns:
        True when this call instrumented litellm, False when it already was.
    """
    from openinference.instrumentation.litellm import LiteLLMInstrumentor

    instrumentor = LiteLLMInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return False
    instrumentor.instrument(tracer_provider=tracer_provider)
    return True


def _start_ns(timestamp: str, latency_s: float) -> int:
    """A record's start in ns since the epoch; now minus latency if unknown."""
    if timestamp:
        try:
            started = datetime.fromisoformat(timestamp)
        except ValueError:
            started = None
        if started is not None:
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            return int(started.timestamp() * 1e9)
    return time.time_ns() - int(latency_s * 1e9)


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The content of the last user message: what varies from case to case."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return str(messages[-1].get("content", "")) if messages else ""
