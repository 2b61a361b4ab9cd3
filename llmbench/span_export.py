"""Send spans to Phoenix over OTLP/HTTP, without secrets and without failing.

`PhoenixSpanExporter` posts protobuf batches to ``<phoenix>/v1/traces``. When
Phoenix is not running or stops answering, it logs one warning, drops the batch
and stops trying for a while, so a run goes on at full speed without a trace
server; when Phoenix answers again, export resumes.

`Redactor` removes credentials from what goes into a span: values of
secret-named parameters and attributes, user and password in URLs, strings
shaped like keys, and the values of secret-named environment variables. The
`Tracer` applies it as it makes llmbench's spans; `ScrubbingExporter` applies it
to spans other instrumentation made (litellm's judge calls).

This module imports the OpenTelemetry SDK; `llmbench.traces` imports it only
when a `Tracer` is created.
"""

from __future__ import annotations

import http.client
import logging
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes

from llmbench.redact import Redactor, strip_url_credentials

logger = logging.getLogger(__name__)

#: The instrumentation scope of llmbench's own spans, which need no scrubbing.
LLMBENCH_SCOPE = "llmbench"


class PhoenixSpanExporter(SpanExporter):
    """OTLP/HTTP protobuf export that degrades to dropping spans.

    Args:
        endpoint: The OTLP traces URL, ``http://127.0.0.1:6006/v1/traces``.
        timeout_s: Seconds to wait for one POST.
        retry_after_s: After a failure, batches are dropped without trying
            for this many seconds, then one attempt is made again.

    Attributes:
        exported: Spans Phoenix accepted.
        dropped: Spans lost because Phoenix did not accept them.
    """

    def __init__(
        self, endpoint: str, *, timeout_s: float = 5.0, retry_after_s: float = 30.0
    ) -> None:
        self.endpoint = endpoint
        self._shown = strip_url_credentials(endpoint)  # for log lines
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self.exported = 0
        self.dropped = 0
        self._down_until: float | None = None
        self._warned = False
        self._closed = False
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._headers = {"Content-Type": "application/x-protobuf"}
        if api_key := os.environ.get("PHOENIX_API_KEY"):
            self._headers["Authorization"] = f"Bearer {api_key}"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Post one batch; on any failure count it as dropped and carry on."""
        if self._closed:
            self.dropped += len(spans)
            return SpanExportResult.FAILURE
        now = time.monotonic()
        if self._down_until is not None and now < self._down_until:
            self.dropped += len(spans)
            return SpanExportResult.FAILURE

        try:
            self._post(encode_spans(spans).SerializeToString())
        except (OSError, http.client.HTTPException) as exc:
            self._on_failure(exc, len(spans), now)
            return SpanExportResult.FAILURE

        if self._down_until is not None:
            logger.info("Phoenix at %s answers again; tracing resumed", self._shown)
            self._down_until = None
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Refuse further batches."""
        self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here; the batch processor holds the queue."""
        return True

    def _post(self, body: bytes) -> None:
        """POST `body` to the endpoint; raise on anything but a 2xx answer."""
        request = urllib.request.Request(
            self.endpoint, data=body, headers=self._headers, method="POST"
        )
        with self._opener.open(request, timeout=self.timeout_s) as response:
            response.read()

    def _on_failure(self, exc: BaseException, count: int, now: float) -> None:
        """Count the loss; warn the first time only, then back off."""
        self.dropped += count
        self._down_until = now + self.retry_after_s
        reason = f"{type(exc).__name__}: {exc}"
        if self._warned:
            logger.debug(
                "Phoenix export failed again (%s); %d spans dropped", reason, count
            )
            return
        self._warned = True
        logger.warning(
            "Phoenix is not accepting spans at %s (%s): tracing is paused and the "
            "run goes on; spans are dropped until it answers again. Start it with "
            "`llmbench phoenix start`",
            self._shown,
            reason,
        )


class ScrubbingExporter(SpanExporter):
    """Redact credentials from other instrumentations' spans, then export.

    Args:
        inner: The exporter that sends the spans on.
        redactor: What counts as a secret.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export `spans`, foreign ones redacted."""
        clean = [
            span
            if span.instrumentation_scope is not None
            and span.instrumentation_scope.name == LLMBENCH_SCOPE
            else self._scrubbed(span)
            for span in spans
        ]
        return self.inner.export(clean)

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        return self.inner.force_flush(timeout_millis)

    def _scrubbed(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of `span` with redacted attributes, events and status."""
        events = [
            Event(event.name, self._attributes(event.attributes), event.timestamp)
            for event in span.events
        ]
        status = span.status
        if status.description:
            status = Status(status.status_code, self.redactor.text(status.description))
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=events,
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _attributes(self, attributes: Attributes) -> Attributes:
        """Attributes with secret-named keys and secret-shaped strings redacted."""
        if not attributes:
            return attributes
        return {
            name: self.redactor.attribute(name, value)
            for name, value in attributes.items()
        }
