"""Choosing the spans to explore: the Phoenix to read, the window, the run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from llmbench.errors import ConfigError
from llmbench.phoenix import PhoenixHandle
from llmbench.trace_source import (
    aload_traces,
    attach_phoenix,
    call_details,
    project_ui_url,
)
from llmbench.traces import Tracer, wait_for_spans

pytest_plugins = ["phoenix_fixtures", "trace_fixtures"]


def test_a_given_url_is_used_as_it_is() -> None:
    session = attach_phoenix("http://127.0.0.1:6123/")

    assert session == ("http://127.0.0.1:6123", "given")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"make_sample": "yes"}, "make_sample must be"),
        ({"window_hours": 0}, "window_hours must be above 0"),
    ],
)
def test_bad_parameters_are_refused_before_phoenix_is_asked(
    arguments: dict[str, object], message: str
) -> None:
    closed = "http://127.0.0.1:9"

    with pytest.raises(ConfigError, match=message):
        asyncio.run(aload_traces(closed, **arguments))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def traced(phoenix_server: PhoenixHandle) -> tuple[str, str]:
    """Two runs a minute apart and one call two days old, in a fresh project."""
    from trace_fixtures import traced_call

    project = f"source-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    calls = [
        traced_call(0, run_id="run-old", started=now - timedelta(days=2)),
        traced_call(1, run_id="run-a", started=now - timedelta(minutes=2)),
        traced_call(2, run_id="run-a", started=now - timedelta(minutes=2)),
        traced_call(3, run_id="run-b", started=now - timedelta(minutes=1)),
        traced_call(
            4, run_id="run-b", started=now - timedelta(minutes=1), status="error"
        ),
    ]
    with Tracer(phoenix_server.url, project=project) as tracer:
        for request, record in calls:
            tracer.on_call(request, record)
    wait_for_spans(5, project=project, url=phoenix_server.url, timeout_s=30, poll_s=0.3)
    return phoenix_server.url, project


@pytest.mark.phoenix
def test_the_window_leaves_older_spans_out(traced: tuple[str, str]) -> None:
    url, project = traced

    recent = asyncio.run(aload_traces(url, project, window_hours=24, make_sample=False))
    every = asyncio.run(
        aload_traces(url, project, window_hours=None, make_sample=False)
    )

    assert sorted(recent.spans["run_id"].unique()) == ["run-a", "run-b"]
    assert len(every.spans) == 5
    assert recent.start is not None and every.start is None
    assert recent.sample is None and recent.run_id is None


@pytest.mark.phoenix
def test_latest_picks_the_most_recent_run(traced: tuple[str, str]) -> None:
    url, project = traced

    latest = asyncio.run(aload_traces(url, project, run_id="latest", make_sample=False))
    named = asyncio.run(aload_traces(url, project, run_id="run-a", make_sample=False))

    assert latest.run_id == "run-b"
    assert set(latest.spans["run_id"]) == {"run-b"}
    assert len(named.spans) == 2


@pytest.mark.phoenix
def test_an_empty_window_stays_empty_without_a_sample(
    phoenix_server: PhoenixHandle,
) -> None:
    project = f"empty-{uuid.uuid4().hex[:8]}"

    window = asyncio.run(aload_traces(phoenix_server.url, project, make_sample=False))

    assert window.spans.empty
    assert window.sample is None


@pytest.mark.phoenix
def test_call_details_give_every_message_and_the_error(
    traced: tuple[str, str],
) -> None:
    url, project = traced
    window = asyncio.run(aload_traces(url, project, run_id="run-b", make_sample=False))
    ids = window.spans.sort_values("case_id")["span_id"].tolist()

    details = call_details(ids, url=url, project=project)

    answered, failed = details[ids[0]], details[ids[1]]
    assert answered.messages == (
        ("system", "Answer briefly."),
        ("user", "Question 3?"),
    )
    assert answered.output == "Answer 3"
    assert answered.params == {"max_tokens": 16, "temperature": 0.0}
    assert answered.error is None
    assert failed.output is None
    assert failed.error == "HTTP 500: injected server error"


@pytest.mark.phoenix
def test_the_ui_link_points_at_the_project(traced: tuple[str, str]) -> None:
    url, project = traced

    page = project_ui_url(url, project)
    unknown = project_ui_url(url, f"missing-{uuid.uuid4().hex[:8]}")

    assert page.startswith(f"{url}/projects/") and page != f"{url}/projects/"
    assert unknown == f"{url}/projects"
