"""Tracing calls into spans, reading them back, and summarising them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmbench.phoenix import PhoenixHandle, free_port
from llmbench.records import CallRecord, ChatRequest
from llmbench.redact import Redactor, is_secret_param, strip_url_credentials
from llmbench.traces import (
    SPAN_COLUMNS,
    Tracer,
    error_summary,
    instrument_litellm,
    latency_percentiles,
    log_scores,
    slowest,
    spans_frame,
    token_usage,
    wait_for_spans,
)

pytest_plugins = ["phoenix_fixtures"]

ENV_SECRET = "plain-env-secret-value-42"
SHAPED_KEY = "sk-proj-abcdefghijklmnopqrstuvwx"
START = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_call(
    index: int = 0,
    *,
    run_id: str = "run-1",
    model: str = "openai/gpt-4o-mini",
    prompt_version: str | None = "v1",
    status: str = "ok",
    latency_s: float = 0.5,
    cache_hit: bool = False,
    content: str = "What is the capital of France?",
    params: dict[str, object] | None = None,
) -> tuple[ChatRequest, CallRecord]:
    """One request and the record the engine would make of it."""
    request = ChatRequest(
        case_id=f"case-{index}",
        model=model,
        messages=(
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": content},
        ),
        params=params if params is not None else {"temperature": 0.0, "max_tokens": 64},
        prompt_name="qa",
        prompt_version=prompt_version,
    )
    failed = status == "error"
    record = CallRecord(
        run_id=run_id,
        case_id=request.case_id,
        prompt_name="qa",
        prompt_version=prompt_version,
        model=model,
        repeat=0,
        status=status,  # type: ignore[arg-type]
        output_text="" if failed else "Paris",
        input_tokens=20 + index,
        output_tokens=0 if failed else 3,
        cost_usd=0.0002,
        latency_s=latency_s,
        cache_hit=cache_hit,
        attempts=3 if failed else 1,
        error_type="RateLimitError" if failed else None,
        error_message="rate limited, retry later" if failed else None,
        timestamp=(START + timedelta(seconds=index)).isoformat(),
    )
    return request, record


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(memory: InMemorySpanExporter) -> Iterator[Tracer]:
    with Tracer(exporter=memory, project="unit") as made:
        yield made


def finished(tracer: Tracer, memory: InMemorySpanExporter) -> list[ReadableSpan]:
    tracer.flush()
    return list(memory.get_finished_spans())


def span_text(span: ReadableSpan) -> str:
    """Everything a span carries, as one string."""
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    parts = [dict(span.attributes or {}), events, span.status.description, span.name]
    return json.dumps(parts, default=str)


def test_a_call_becomes_one_openinference_llm_span(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    request, record = make_call()

    tracer.on_call(request, record)
    (span,) = finished(tracer, memory)
    attributes = dict(span.attributes or {})

    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["llm.model_name"] == "openai/gpt-4o-mini"
    assert attributes["llm.provider"] == "openai"
    assert attributes["llm.token_count.prompt"] == 20
    assert attributes["llm.token_count.completion"] == 3
    assert attributes["llm.token_count.total"] == 23
    assert attributes["input.value"] == "What is the capital of France?"
    assert attributes["output.value"] == "Paris"
    assert attributes["llm.input_messages.0.message.role"] == "system"
    assert attributes["llm.input_messages.1.message.content"].startswith("What is")
    assert attributes["llm.output_messages.0.message.content"] == "Paris"
    params = json.loads(str(attributes["llm.invocation_parameters"]))
    assert params == {"max_tokens": 64, "temperature": 0.0}
    assert attributes["session.id"] == "run-1"
    assert attributes["llmbench.run_id"] == "run-1"
    assert attributes["llmbench.case_id"] == "case-0"
    assert attributes["llmbench.prompt_name"] == "qa"
    assert attributes["llmbench.prompt_version"] == "v1"
    assert attributes["llmbench.repeat"] == 0
    assert attributes["llmbench.kind"] == "task"
    assert attributes["llmbench.cache_hit"] is False
    assert attributes["llmbench.cost_usd"] == pytest.approx(0.0002)
    assert span.resource.attributes["openinference.project.name"] == "unit"
    assert span.parent is None
    assert span.status.is_ok


def test_span_times_are_the_calls_own(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    request, record = make_call(index=7, latency_s=1.25)

    tracer.on_call(request, record)
    (span,) = finished(tracer, memory)

    assert span.start_time == int((START + timedelta(seconds=7)).timestamp() * 1e9)
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time == 1_250_000_000


def test_a_failed_call_is_an_error_span_with_its_exception(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    request, record = make_call(status="error")

    tracer.on_call(request, record)
    (span,) = finished(tracer, memory)
    attributes = dict(span.attributes or {})

    assert not span.status.is_ok
    assert span.status.description == "RateLimitError: rate limited, retry later"
    assert span.events[0].name == "exception"
    assert dict(span.events[0].attributes or {})["exception.type"] == "RateLimitError"
    assert attributes["llmbench.error_type"] == "RateLimitError"
    assert "output.value" not in attributes


def test_calls_not_made_make_no_span(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    request, record = make_call()
    record.status = "not_run"

    tracer.on_call(request, record)

    assert finished(tracer, memory) == []


def test_span_ids_are_remembered_per_call(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    request, record = make_call(index=3, prompt_version="v2")

    tracer.on_call(request, record)
    (span,) = finished(tracer, memory)

    assert span.context is not None
    expected = format(span.context.span_id, "016x")
    assert tracer.span_id("run-1", "case-3", "v2", "openai/gpt-4o-mini", 0) == expected
    assert tracer.span_id("run-1", "case-3", "v1", "openai/gpt-4o-mini", 0) is None


def test_no_secret_reaches_a_span(
    memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_API_KEY", ENV_SECRET)
    tracer = Tracer(exporter=memory)
    params = {
        "temperature": 0.2,
        "max_tokens": 32,
        "api_key": "short-but-secret",
        "api_base": "https://user:hunter2pass@llm.example.com:8443/v1?api-key=qwerty123",
        "extra_headers": {
            "Authorization": "Bearer abcdefghijklmnop1234",
            "X-Trace": "1",
        },
        "aws_secret_access_key": "AWSSECRETVALUE000",
        "access_token": "tok-1234567890",
    }
    content = f"my key is {SHAPED_KEY} and {ENV_SECRET}"
    request, record = make_call(content=content, params=params, status="error")
    record.error_message = f"401: invalid key {SHAPED_KEY}"
    record.metadata = {"session_token": "metadata-secret-999", "team": "search"}

    tracer.on_call(request, record)
    (span,) = finished(tracer, memory)
    text = span_text(span)
    tracer.shutdown()

    for secret in (
        SHAPED_KEY,
        ENV_SECRET,
        "short-but-secret",
        "hunter2pass",
        "qwerty123",
        "abcdefghijklmnop1234",
        "AWSSECRETVALUE000",
        "tok-1234567890",
        "metadata-secret-999",
    ):
        assert secret not in text
    params_seen = json.loads(
        str(dict(span.attributes or {})["llm.invocation_parameters"])
    )
    assert params_seen["max_tokens"] == 32
    assert params_seen["api_base"] == "https://llm.example.com:8443/v1"
    assert params_seen["extra_headers"]["X-Trace"] == "1"
    assert "search" in text


def test_spans_from_other_instrumentation_are_scrubbed_on_export(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    other = tracer.provider.get_tracer("openinference.instrumentation.litellm")
    invocation = json.dumps({"api_key": "judge-secret-123", "temperature": 0.01})

    with other.start_as_current_span("completion") as span:
        span.set_attribute("llm.invocation_parameters", invocation)
        span.set_attribute("input.value", f"use {SHAPED_KEY}")
        span.set_attribute("llm.token_count.prompt", 12)
    (exported,) = finished(tracer, memory)
    attributes = dict(exported.attributes or {})

    assert "judge-secret-123" not in span_text(exported)
    assert SHAPED_KEY not in span_text(exported)
    assert (
        json.loads(str(attributes["llm.invocation_parameters"]))["temperature"] == 0.01
    )
    assert attributes["llm.token_count.prompt"] == 12


def test_secret_names_and_urls() -> None:
    redactor = Redactor(environ={})

    assert is_secret_param("api_key") and is_secret_param("Authorization")
    assert is_secret_param("aws_session_token")
    assert not is_secret_param("max_tokens") and not is_secret_param("temperature")
    assert strip_url_credentials("http://a:b@h:1/p?k=v#f") == "http://h:1/p"
    assert strip_url_credentials("not a url") == "not a url"
    assert redactor.text("nothing to see") == "nothing to see"
    assert "AKIAABCDEFGHIJKLMNOP" not in redactor.text("id AKIAABCDEFGHIJKLMNOP")


def test_without_phoenix_the_tracer_warns_once_and_stays_out_of_the_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        tracer = Tracer()
        for index in range(5):
            tracer.on_call(*make_call(index))
        tracer.shutdown()

    assert not tracer.enabled
    assert tracer.stats.spans == 0
    assert len(caplog.records) == 1
    assert "llmbench phoenix start" in caplog.records[0].getMessage()


def test_a_closed_port_costs_one_warning_and_loses_no_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracer = Tracer(f"http://127.0.0.1:{free_port()}", schedule_delay_s=0.05)
    calls = [make_call(i) for i in range(30)]

    with caplog.at_level(logging.WARNING):
        for request, record in calls[:15]:
            tracer.on_call(request, record)
        tracer.flush()
        for request, record in calls[15:]:
            tracer.on_call(request, record)
        tracer.shutdown()

    assert len(caplog.records) == 1
    assert "tracing is paused and the run goes on" in caplog.records[0].getMessage()
    assert tracer.stats == (30, 0, 30)
    assert [record.output_text for _, record in calls] == ["Paris"] * 30


def test_a_broken_call_never_reaches_the_engine(
    tracer: Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    _, record = make_call()

    with caplog.at_level(logging.WARNING):
        tracer.on_call(None, record)  # type: ignore[arg-type]
        tracer.on_call(None, record)  # type: ignore[arg-type]

    assert len(caplog.records) == 1


def test_the_engine_reports_every_call_to_the_tracer(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    from llmbench.engine import Engine

    context = "Context: Paris is the capital of France."
    requests = [
        ChatRequest(
            case_id=f"case-{i}",
            model="offline/extractive",
            messages=({"role": "user", "content": f"{context} Question {i}?"},),
        )
        for i in range(4)
    ]
    engine = Engine(observers=[tracer], cache=False, store=False, progress=False)

    result = engine.run(requests)
    spans = finished(tracer, memory)
    by_case = {dict(s.attributes or {})["llmbench.case_id"]: s for s in spans}

    assert len(spans) == 4
    for record in result.records:
        span = by_case[record.case_id]
        assert span.start_time is not None and span.end_time is not None
        started = datetime.fromisoformat(record.timestamp)
        assert span.start_time == int(started.timestamp() * 1e9)
        assert dict(span.attributes or {})["output.value"] == record.output_text
        assert dict(span.attributes or {})["session.id"] == result.run_id


def test_instrument_litellm_is_idempotent_and_its_spans_are_clean(
    tracer: Tracer, memory: InMemorySpanExporter
) -> None:
    import litellm
    from openinference.instrumentation.litellm import LiteLLMInstrumentor

    try:
        first = instrument_litellm(tracer.provider)
        second = instrument_litellm(tracer.provider)
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            mock_response="hi there",
            api_key=SHAPED_KEY,
        )
    finally:
        LiteLLMInstrumentor().uninstrument()
    spans = finished(tracer, memory)

    assert (first, second) == (True, False)
    assert len(spans) == 1
    assert dict(spans[0].attributes or {})["output.value"] == "hi there"
    assert SHAPED_KEY not in span_text(spans[0])


def summary_frame() -> pd.DataFrame:
    """Eight spans of two models with known latencies, errors and tokens."""
    rows = []
    for index, latency in enumerate([0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0, 4.0]):
        model = "a" if index < 4 else "b"
        rows.append(
            {
                "trace_id": f"t{index}",
                "span_id": f"s{index}",
                "start_time": START + timedelta(seconds=index),
                "latency_s": latency,
                "status": "ERROR" if index in (5, 6) else "OK",
                "error": "Timeout: slow" if index in (5, 6) else None,
                "model": model,
                "prompt_version": None,
                "case_id": f"c{index}",
                "run_id": "r",
                "input_tokens": 10,
                "output_tokens": 2,
                "cost_usd": None if index == 0 else 0.5,
                "cache_hit": index == 3,
            }
        )
    return pd.DataFrame(rows)


def test_latency_percentiles_leave_cache_hits_out() -> None:
    table = latency_percentiles(summary_frame())

    assert list(table["model"]) == ["a", "b"]
    assert list(table["calls"]) == [3, 4]
    assert table["p50_s"].tolist() == pytest.approx([0.2, 2.5])
    assert table["max_s"].tolist() == pytest.approx([0.3, 4.0])
    assert table["p95_s"].iloc[1] == pytest.approx(3.85)


def test_error_summary_counts_and_names_the_top_error() -> None:
    table = error_summary(summary_frame(), by=("model",))

    assert table["errors"].tolist() == [0, 2]
    assert table["error_rate"].tolist() == [0.0, 0.5]
    assert pd.isna(table["top_error"].iloc[0])
    assert table["top_error"].iloc[1] == "Timeout: slow"
    assert table["top_error_count"].tolist() == [0, 2]


def test_token_usage_sums_and_counts_unpriced_calls() -> None:
    table = token_usage(summary_frame(), by=("model",))

    assert table["input_tokens"].tolist() == [40, 40]
    assert table["total_tokens"].tolist() == [48, 48]
    assert table["cost_usd"].tolist() == pytest.approx([1.5, 2.0])
    assert table["unpriced_calls"].tolist() == [1, 0]


def test_slowest_puts_the_slowest_first() -> None:
    table = slowest(summary_frame(), n=3)

    assert table["span_id"].tolist() == ["s7", "s6", "s5"]


def test_summaries_of_no_spans_are_empty() -> None:
    empty = pd.DataFrame(columns=list(SPAN_COLUMNS))

    assert latency_percentiles(empty).empty
    assert error_summary(empty).empty
    assert token_usage(empty).empty
    assert slowest(empty).empty


@pytest.mark.phoenix
def test_spans_arrive_in_phoenix_with_llmbench_columns(
    phoenix_server: PhoenixHandle,
) -> None:
    project = f"arrive-{uuid.uuid4().hex[:8]}"
    tracer = Tracer(phoenix_server.url, project=project)
    calls = [make_call(i, run_id="run-a", latency_s=0.1 * (i + 1)) for i in range(6)]
    calls.append(make_call(6, run_id="run-a", status="error"))
    calls.append(make_call(7, run_id="run-b", cache_hit=True, prompt_version="v2"))

    for request, record in calls:
        tracer.on_call(request, record)
    tracer.shutdown()
    frame = wait_for_spans(
        8, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3
    )
    only_a = spans_frame(project=project, url=phoenix_server.url, run_id="run-a")

    assert tracer.stats == (8, 8, 0)
    assert list(frame.columns) == list(SPAN_COLUMNS)
    assert len(frame) == 8
    assert len(only_a) == 7
    first = frame.iloc[0]
    assert first["case_id"] == "case-0"
    assert first["model"] == "openai/gpt-4o-mini"
    assert first["prompt_name"] == "qa"
    assert first["input_tokens"] == 20 and first["output_tokens"] == 3
    assert first["latency_s"] == pytest.approx(0.1)
    assert first["start_time"] == pd.Timestamp(START)
    assert first["cost_usd"] == pytest.approx(0.0002)
    assert first["output"] == "Paris"
    failed = frame[frame["status"] == "ERROR"]
    assert failed["error"].tolist() == ["RateLimitError: rate limited, retry later"]
    hit = frame[frame["cache_hit"].astype(bool)]
    assert hit["prompt_version"].tolist() == ["v2"]
    assert latency_percentiles(frame, by=("run_id",))["calls"].tolist() == [7]


@pytest.mark.phoenix
def test_secrets_are_absent_from_what_phoenix_stored(
    phoenix_server: PhoenixHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phoenix.client import Client

    monkeypatch.setenv("ACME_API_KEY", ENV_SECRET)
    project = f"secrets-{uuid.uuid4().hex[:8]}"
    tracer = Tracer(phoenix_server.url, project=project)
    params = {"api_key": "param-secret-77", "max_tokens": 8}

    tracer.on_call(*make_call(content=f"{SHAPED_KEY} {ENV_SECRET}", params=params))
    tracer.shutdown()
    wait_for_spans(1, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3)
    raw = Client(base_url=phoenix_server.url).spans.get_spans_dataframe(
        project_identifier=project
    )
    stored = raw.to_json(default_handler=str, date_format="iso")

    assert len(raw) == 1
    for secret in (SHAPED_KEY, ENV_SECRET, "param-secret-77"):
        assert secret not in stored


@pytest.mark.phoenix
def test_scores_become_annotations_on_the_right_spans(
    phoenix_server: PhoenixHandle,
) -> None:
    from phoenix.client import Client

    project = f"scores-{uuid.uuid4().hex[:8]}"
    tracer = Tracer(phoenix_server.url, project=project)
    for index in range(4):
        tracer.on_call(*make_call(index, run_id="run-s"))
    scores = pd.DataFrame(
        {
            "run_id": "run-s",
            "case_id": [f"case-{i}" for i in range(4)],
            "prompt_version": "v1",
            "model": "openai/gpt-4o-mini",
            "repeat": 0,
            "exact_match": [1.0, 0.0, 1.0, float("nan")],
        }
    )

    by_tracer = log_scores(scores, metrics=["exact_match"], tracer=tracer)
    tracer.shutdown()
    wait_for_spans(4, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3)
    long = scores.assign(metric="f1", score=[0.5, 0.25, 1.0, 0.75]).drop(
        columns="exact_match"
    )
    by_lookup = log_scores(long, url=phoenix_server.url, project=project)
    client = Client(base_url=phoenix_server.url)
    spans = client.spans.get_spans_dataframe(project_identifier=project)
    annotations = client.spans.get_span_annotations_dataframe(
        spans_dataframe=spans, project_identifier=project
    )
    case_of = dict(
        zip(
            spans.index,
            spans["attributes.llmbench"].map(lambda a: a["case_id"]),
            strict=True,
        )
    )
    seen = {
        (case_of[span_id], row["annotation_name"], row["result.score"])
        for span_id, row in annotations.iterrows()
    }

    assert by_tracer == (3, 0, 1)
    assert by_lookup == (4, 0, 0)
    assert ("case-1", "exact_match", 0.0) in seen
    assert ("case-3", "f1", 0.75) in seen
    assert len(seen) == 7
