"""The LLM judge: which model grades outputs, how it is called, what it cost.

A `Judge` names a litellm model (``openai/gpt-4o-mini``, or ``openai/<name>``
with ``api_base`` for any OpenAI-compatible server). llmbench never picks a
judge for you: an LLM-judged metric without one raises JudgeNotConfiguredError
(or is skipped, when asked), so nothing is ever sent to a default provider.

Every judge call is counted. Calls go through a small wrapper that looks up
``litellm.acompletion`` when called (so tracing set up later still sees them)
and tags each call with the case it grades; a litellm ``CustomLogger`` turns
the tagged calls into `CallRecord` objects with ``kind="judge"``, kept in
`Judge.records`, so cost reports can tell the judge's spending from the
task's.

Caching: judge calls go through llmbench's response cache (the same SQLite
file as task calls), keyed on the judge model, the messages and every
parameter, so re-scoring a run replays the verdicts and pays nothing. A hit is
still recorded, with ``cache_hit=True`` and the price it had when it was made.
`Judge.completion` replaces the call itself (an async callable with litellm's
``acompletion`` signature); such calls are neither cached nor counted here.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmbench.errors import JudgeNotConfiguredError
from llmbench.records import CallRecord

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Environment variables read by `Judge.from_env`.
JUDGE_MODEL_ENV = "LLMBENCH_JUDGE_MODEL"
JUDGE_API_BASE_ENV = "LLMBENCH_JUDGE_API_BASE"
JUDGE_API_KEY_ENV = "LLMBENCH_JUDGE_API_KEY"

#: Which call a judge request belongs to; set per scored row by the scorer.
CALL_CONTEXT: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "llmbench_judge_call", default=None
)

_JUDGES: weakref.WeakValueDictionary[str, Judge] = weakref.WeakValueDictionary()
_JUDGE_IDS = itertools.count(1)
_METADATA_KEY = "llmbench_judge"


@dataclass(eq=False)
class Judge:
    """An LLM that grades outputs for the LLM-judged metrics.

    Attributes:
        model: A litellm model string; ``openai/<name>`` with `api_base` for an
            OpenAI-compatible server.
        api_base: The server's base URL, or None for the provider's default.
        api_key: The key, or None to let litellm read the provider's usual
            environment variable. Never shown in records, logs or repr. With
            `api_base` set and no key, a placeholder is sent (local servers
            ignore it).
        max_concurrency: Judge calls in flight at once.
        input_usd_per_million: Price of a million input tokens, to register a
            custom judge name with litellm's price map; None keeps the map's.
        output_usd_per_million: Price of a million output tokens.
        completion: An async callable with ``litellm.acompletion``'s signature
            used instead of it (a cached path, for example), or None.
        timeout_s: Seconds one judge call may take.
        cache: Replay earlier verdicts from the response cache (default on).
        records: One `CallRecord` (``kind="judge"``) per judge call, cache hits
            included.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    max_concurrency: int = 8
    input_usd_per_million: float | None = None
    output_usd_per_million: float | None = None
    completion: Callable[..., Awaitable[Any]] | None = field(default=None, repr=False)
    timeout_s: float = 120.0
    cache: bool = True
    records: list[CallRecord] = field(default_factory=list, init=False, repr=False)
    _id: str = field(default="", init=False, repr=False)
    _calls_made: int = field(default=0, init=False, repr=False)
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.model:
            raise JudgeNotConfiguredError("a Judge needs a model name")
        self._id = f"judge-{next(_JUDGE_IDS)}"
        _JUDGES[self._id] = self

    @classmethod
    def from_env(cls) -> Judge | None:
        """The judge set by LLMBENCH_JUDGE_MODEL (+ _API_BASE, _API_KEY), or None."""
        model = os.environ.get(JUDGE_MODEL_ENV, "").strip()
        if not model:
            return None
        return cls(
            model=model,
            api_base=os.environ.get(JUDGE_API_BASE_ENV) or None,
            api_key=os.environ.get(JUDGE_API_KEY_ENV) or None,
        )

    @property
    def total_cost_usd(self) -> float | None:
        """USD paid for judge calls so far (cache hits are free); None if unknown."""
        costs = [
            r.cost_usd for r in self.records if r.status == "ok" and not r.cache_hit
        ]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    def usage_frame(self) -> pd.DataFrame:
        """The judge's calls, one row per call, in `CallRecord` columns."""
        import pandas as pd

        from llmbench.records import RECORD_COLUMNS

        return pd.DataFrame([r.to_dict() for r in self.records], columns=RECORD_COLUMNS)

    def scrub(self, text: str) -> str:
        """`text` with this judge's key and anything shaped like a secret removed."""
        from llmbench.redact import REDACTED, redact

        if self.api_key:
            text = text.replace(self.api_key, REDACTED)
        return redact(text)

    def ragas_llm(self) -> Any:
        """A ragas LLM (for ``ragas.metrics.collections``) calling this judge."""
        from ragas.llms import llm_factory

        install_usage_logger()
        self._register_price()
        extra: dict[str, Any] = {"timeout": self.timeout_s}
        if self.api_base:
            extra["api_base"] = self.api_base
        key = self.api_key or ("no-key" if self.api_base else None)
        if key:
            extra["api_key"] = key
        return llm_factory(
            self.model, provider="litellm", client=self._acompletion, **extra
        )

    async def _acompletion(self, **kwargs: Any) -> Any:
        """Call the judge model, tagged so the usage logger can count the call."""
        tags = dict(CALL_CONTEXT.get() or {})
        tags["judge_id"] = self._id
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata[_METADATA_KEY] = tags
        kwargs["metadata"] = metadata

        if self.completion is not None:
            self._calls_made += 1
            return await self.completion(**kwargs)

        import litellm

        key = _cache_key(self.model, kwargs) if self.cache else None
        if key is not None:
            entry = _response_cache().get(key)
            if entry is not None:
                self._record_hit(entry, tags)
                return _response_from(entry, self.model)

        self._calls_made += 1
        response = await litellm.acompletion(**kwargs)
        if key is not None:
            _response_cache().put(key, _entry_from(response))
        return response

    async def wait_for_usage(self, timeout_s: float = 5.0) -> None:
        """Wait until the usage logger has seen every call made so far."""
        if self.completion is not None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self._seen) < self._calls_made and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if len(self._seen) < self._calls_made:
            logger.warning(
                "judge %s: %s of %s calls were not reported by litellm; "
                "judge cost may be undercounted",
                self.model,
                self._calls_made - len(self._seen),
                self._calls_made,
            )

    def _register_price(self) -> None:
        """Give a custom judge name a price in litellm's map, when one was set."""
        if self.input_usd_per_million is None and self.output_usd_per_million is None:
            return
        import litellm

        provider, _, name = self.model.partition("/")
        input_cost = (self.input_usd_per_million or 0.0) / 1e6
        entry = {
            "input_cost_per_token": input_cost,
            "output_cost_per_token": (self.output_usd_per_million or 0.0) / 1e6,
            # Cached prompt tokens priced as uncached: never an underestimate.
            "cache_read_input_token_cost": input_cost,
            "litellm_provider": provider if name else "openai",
            "mode": "chat",
        }
        litellm.register_model({self.model: entry})

    def _record_hit(self, entry: Mapping[str, Any], tags: Mapping[str, Any]) -> None:
        """Record a verdict replayed from the cache: counted, not paid again."""
        self.records.append(
            self._judge_record(
                tags,
                output_text=entry["output_text"],
                input_tokens=entry["input_tokens"],
                output_tokens=entry["output_tokens"],
                cost_usd=entry["cost_usd"],
                cache_hit=True,
                timestamp=datetime.now(UTC).isoformat(),
            )
        )

    def _judge_record(self, tags: Mapping[str, Any], **fields: Any) -> CallRecord:
        """A judge `CallRecord` for the scored call `tags` name, with `fields`."""
        return CallRecord(
            run_id=str(tags.get("run_id") or ""),
            case_id=str(tags.get("case_id") or ""),
            prompt_name=tags.get("prompt_name"),
            prompt_version=tags.get("prompt_version"),
            model=self.model,
            repeat=int(tags.get("repeat") or 0),
            kind="judge",
            metadata={k: v for k, v in tags.items() if k in ("metric", "scored_model")},
            **fields,
        )

    def _record(
        self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any, ok: bool
    ) -> None:
        """Turn one logged litellm call into a judge `CallRecord`."""
        call_id = str(kwargs.get("litellm_call_id") or id(response))
        if call_id in self._seen:
            return
        self._seen.add(call_id)

        tags = _tags(kwargs) or {}
        usage = getattr(response, "usage", None) if ok else None
        details = getattr(usage, "prompt_tokens_details", None)
        record = self._judge_record(
            tags,
            status="ok" if ok else "error",
            output_text=_reply_text(response) if ok else "",
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
            cost_usd=kwargs.get("response_cost") if ok else 0.0,
            latency_s=_seconds(start, end),
            attempts=1,
            error_type=None if ok else _error_type(kwargs),
            timestamp=_iso(start),
        )
        self.records.append(record)


def _cache_key(model: str, kwargs: Mapping[str, Any]) -> Any:
    """The response-cache key of one judge request (credentials left out)."""
    from llmbench.cache import cache_key
    from llmbench.records import ChatRequest

    skipped = {"model", "messages", "metadata", "api_key", "api_base"}
    params = {k: v for k, v in kwargs.items() if k not in skipped}
    request = ChatRequest(
        case_id="judge",
        model=model,
        messages=tuple(kwargs.get("messages") or ()),
        params=params,
        kind="judge",
    )
    return cache_key(request)


def _response_cache() -> Any:
    """The response cache judge calls share with the engine's state folder."""
    from llmbench.config import state_dir

    return _open_cache(state_dir() / "cache.sqlite")


@cache
def _open_cache(path: Path) -> Any:
    """One open cache per file for the whole process."""
    from llmbench.cache import ResponseCache

    return ResponseCache(path)


def _entry_from(response: Any) -> dict[str, Any]:
    """What the cache keeps of a judge reply: text, tokens and price."""
    usage = getattr(response, "usage", None)
    hidden = getattr(response, "_hidden_params", None) or {}
    return {
        "output_text": _reply_text(response),
        "input_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "output_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "cost_usd": hidden.get("response_cost"),
    }


def _response_from(entry: Mapping[str, Any], model: str) -> Any:
    """A litellm chat response rebuilt from a cache entry."""
    import litellm

    return litellm.ModelResponse(
        model=model,
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": entry["output_text"]},
            }
        ],
        usage=litellm.Usage(
            prompt_tokens=entry["input_tokens"],
            completion_tokens=entry["output_tokens"],
            total_tokens=entry["input_tokens"] + entry["output_tokens"],
        ),
    )


def require_judge(judge: Judge | None, metric_names: list[str]) -> Judge:
    """The judge to use: `judge`, else LLMBENCH_JUDGE_MODEL's, else an error."""
    chosen = judge or Judge.from_env()
    if chosen is None:
        raise JudgeNotConfiguredError(
            f"metric(s) {', '.join(metric_names)} need an LLM judge and none is "
            f"configured; pass judge=Judge('openai/<model>', api_base=...) or set "
            f"{JUDGE_MODEL_ENV}. llmbench never falls back to a default provider"
        )
    return chosen


def install_usage_logger() -> Any:
    """Put llmbench's judge usage logger in ``litellm.callbacks`` (once)."""
    import litellm

    usage_logger = _usage_logger()
    if usage_logger not in litellm.callbacks:
        litellm.callbacks.append(usage_logger)
    return usage_logger


@cache
def _usage_logger() -> Any:
    """The one judge usage logger of this process."""
    from litellm.integrations.custom_logger import CustomLogger

    class JudgeUsageLogger(CustomLogger):  # type: ignore[misc]
        """Counts judge calls (tagged in their metadata) into their `Judge`."""

        # litellm passes these by keyword: the parameter names must match.
        def log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _dispatch(kwargs, response_obj, start_time, end_time, ok=True)

        async def async_log_success_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _dispatch(kwargs, response_obj, start_time, end_time, ok=True)

        def log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _dispatch(kwargs, response_obj, start_time, end_time, ok=False)

        async def async_log_failure_event(
            self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
        ) -> None:
            _dispatch(kwargs, response_obj, start_time, end_time, ok=False)

    return JudgeUsageLogger()


def _dispatch(kwargs: Any, response: Any, start: Any, end: Any, *, ok: bool) -> None:
    """Hand a logged call to the judge that made it; ignore other calls."""
    tags = _tags(kwargs)
    judge = _JUDGES.get(str(tags.get("judge_id"))) if tags else None
    if judge is None:
        return
    try:
        judge._record(kwargs, response, start, end, ok)
    except Exception:  # a logging failure must never break scoring
        logger.exception("could not record a judge call for %s", judge.model)


def _tags(kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """llmbench's tags from a logged call's metadata, or None."""
    params = kwargs.get("litellm_params") or {}
    metadata = params.get("metadata") or kwargs.get("metadata") or {}
    tags = metadata.get(_METADATA_KEY) if isinstance(metadata, Mapping) else None
    return tags if isinstance(tags, Mapping) else None


def _reply_text(response: Any) -> str:
    """The first choice's message text of a chat response, or ''."""
    try:
        return str(response.choices[0].message.content or "")
    except (AttributeError, IndexError):
        return ""


def _error_type(kwargs: Mapping[str, Any]) -> str:
    """The exception class name litellm logged for a failed call."""
    exception = kwargs.get("exception")
    return type(exception).__name__ if exception is not None else "error"


def _seconds(start: Any, end: Any) -> float:
    """Seconds between two datetimes (or floats); 0.0 when unknown."""
    try:
        delta = end - start
        return float(
            delta.total_seconds() if hasattr(delta, "total_seconds") else delta
        )
    except TypeError:
        return 0.0


def _iso(moment: Any) -> str:
    """A UTC ISO-8601 time for a datetime, or now."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.astimezone()
        return aware.astimezone(UTC).isoformat()
    return datetime.now(UTC).isoformat()
