"""Where the trace explorer's spans come from.

`attach_phoenix` finds the Phoenix server to read from (a URL given, else this
project's server, started when none runs). `aload_traces` reads the spans of a
time window, optionally of one run, and makes sample traces first when the
window is empty (see `llmbench.trace_sample`), so a report on a fresh clone
has something to show. `call_details` fetches what the model saw in a few
calls: every message of the prompt, not only the last user message the spans
frame keeps.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from llmbench.errors import ConfigError, PhoenixError
from llmbench.trace_frames import DEFAULT_PROJECT, spans_frame

if TYPE_CHECKING:
    import pandas as pd

    from llmbench.trace_sample import SampleTraces

logger = logging.getLogger(__name__)

MakeSample = bool | Literal["auto"]

_MESSAGE_KEY = re.compile(r"^llm\.input_messages\.(\d+)\.message\.(role|content)$")


class PhoenixSession(NamedTuple):
    """The Phoenix server a report reads from.

    Attributes:
        url: Its base URL.
        how: ``given`` (a URL was passed), ``reused`` (this project's server
            was running) or ``started`` (started for this report).
    """

    url: str
    how: Literal["given", "reused", "started"]


@dataclass
class TraceWindow:
    """The spans a report looks at, and how they were chosen.

    Attributes:
        url: Phoenix's base URL.
        project: The Phoenix project.
        start: Spans started at or after this time (UTC); None for no bound.
        end: The time the spans were read (UTC).
        run_id: The run the spans were narrowed to, None for every run.
        spans: One row per span (`llmbench.traces.SPAN_COLUMNS`).
        sample: The sample traces made first, if any.
    """

    url: str
    project: str
    start: datetime | None
    end: datetime
    run_id: str | None
    spans: pd.DataFrame
    sample: SampleTraces | None = None


class CallDetail(NamedTuple):
    """What one traced call sent and got back.

    Attributes:
        span_id: The span.
        messages: The prompt's messages as (role, content), in order.
        output: The reply, None when the call failed.
        params: The call's parameters (credentials were never traced).
        error: The span's status message when it failed, else None.
    """

    span_id: str
    messages: tuple[tuple[str, str], ...]
    output: str | None
    params: Mapping[str, Any]
    error: str | None


def attach_phoenix(url: str | None = None) -> PhoenixSession:
    """The Phoenix to read from: `url` if given, else this project's server.

    This project's server is started when none runs (15-30 s); it keeps
    running afterwards for the next report or notebook session.

    Raises:
        PhoenixError: No URL was given and the server could not be started.
    """
    if url:
        return PhoenixSession(url.rstrip("/"), "given")
    from llmbench.phoenix import start_phoenix

    handle = start_phoenix()
    return PhoenixSession(handle.url, "reused" if handle.reused else "started")


def project_ui_url(url: str, project: str = DEFAULT_PROJECT) -> str:
    """The Phoenix UI page of `project`'s spans; the projects list if unknown."""
    import httpx
    from phoenix.client import Client

    try:
        found = Client(base_url=url).projects.get(project_name=project)
    except (httpx.HTTPError, ValueError) as exc:
        logger.info("project %s not found at %s (%s)", project, url, exc)
        return f"{url}/projects"
    return f"{url}/projects/{found['id']}"


async def aload_traces(
    url: str,
    project: str = DEFAULT_PROJECT,
    *,
    run_id: str | None = None,
    window_hours: float | None = 24,
    make_sample: MakeSample = "auto",
    sample_limit: int | None = None,
    max_spans: int = 100_000,
) -> TraceWindow:
    """Read a window of spans, making sample traces first when it is empty.

    Args:
        url: Phoenix's base URL.
        project: The Phoenix project.
        run_id: One run's spans; ``"latest"`` for the run with the most recent
            span in the window; None for every run in the window.
        window_hours: How far back to look, in hours; None for all time.
        make_sample: ``"auto"`` makes sample traces when the window has no
            spans at all (not when only a named run has none), True always,
            False never.
        sample_limit: Cases per prompt version in the sample; None for
            `llmbench.trace_sample.SAMPLE_CASES` (10).
        max_spans: At most this many spans are read (the most recent).

    Returns:
        The window, its spans narrowed to `run_id`.

    Raises:
        ConfigError: `make_sample` or `window_hours` is not a valid value.
        PhoenixError: Phoenix is not running or refused the query.
    """
    if make_sample not in (True, False, "auto"):
        raise ConfigError(
            f"make_sample must be True, False or 'auto', got {make_sample!r}"
        )
    if window_hours is not None and not window_hours > 0:
        raise ConfigError(f"window_hours must be above 0 or None, got {window_hours}")
    start = None
    if window_hours is not None:
        start = datetime.now(UTC) - timedelta(hours=float(window_hours))
    wanted = None if run_id in (None, "latest") else run_id

    def read() -> pd.DataFrame:
        return spans_frame(project, url, start=start, run_id=wanted, limit=max_spans)

    spans = read()
    sample = None
    empty = spans.empty and wanted is None  # a sample cannot fill a named run
    if make_sample is True or (make_sample == "auto" and empty):
        from llmbench.trace_sample import SAMPLE_CASES, amake_sample_traces

        cases = sample_limit or SAMPLE_CASES
        sample = await amake_sample_traces(url, project, limit=cases)
        logger.info("%s", sample.describe())
        spans = read()

    chosen = _latest_run(spans) if run_id == "latest" else wanted
    if chosen is not None:
        spans = spans[spans["run_id"] == chosen].reset_index(drop=True)
    return TraceWindow(url, project, start, datetime.now(UTC), chosen, spans, sample)


def call_details(
    span_ids: Sequence[str],
    *,
    url: str,
    project: str = DEFAULT_PROJECT,
    timeout_s: float = 30.0,
) -> dict[str, CallDetail]:
    """The full prompt, reply and parameters of a few traced calls, by span id.

    Raises:
        PhoenixError: Phoenix did not answer.
    """
    import httpx
    from phoenix.client import Client

    if not span_ids:
        return {}
    try:
        spans = Client(base_url=url).spans.get_spans(
            project_identifier=project,
            span_ids=list(span_ids),
            limit=len(span_ids),
            timeout=math.ceil(timeout_s),
        )
    except httpx.HTTPError as exc:
        raise PhoenixError(f"could not read spans from {url}: {exc}") from exc

    details = {}
    for span in spans:
        span_id = str(span["context"]["span_id"])
        attributes: Mapping[str, Any] = span.get("attributes") or {}
        failed = span.get("status_code") == "ERROR"
        details[span_id] = CallDetail(
            span_id=span_id,
            messages=_messages(attributes),
            output=None if failed else _text(attributes.get("output.value")),
            params=_params(attributes.get("llm.invocation_parameters")),
            error=str(span.get("status_message") or "") if failed else None,
        )
    return details


def _latest_run(spans: pd.DataFrame) -> str | None:
    """The run id of the most recent span that has one."""
    runs = spans.dropna(subset=["run_id"])
    if runs.empty:
        return None
    return str(runs.sort_values("start_time").iloc[-1]["run_id"])


def _messages(attributes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """OpenInference's flattened input messages as (role, content), in order."""
    found: dict[int, dict[str, str]] = {}
    for key, value in attributes.items():
        match = _MESSAGE_KEY.match(key)
        if match:
            found.setdefault(int(match[1]), {})[match[2]] = str(value)
    return tuple(
        (found[i].get("role", ""), found[i].get("content", "")) for i in sorted(found)
    )


def _params(raw: Any) -> Mapping[str, Any]:
    """Invocation parameters from their JSON text; empty when unreadable."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(str(raw)) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """A string attribute, None when absent."""
    return None if value is None else str(value)
