"""The two shapes every part of llmbench agrees on: a call asked for, a call made.

A `ChatRequest` is one chat call the engine should make: a case rendered by a
prompt version, sent to one model, for one repeat. A `CallRecord` is what came
back, flat enough to be one row of a DataFrame and one line of JSONL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Message = dict[str, str]
Status = Literal["ok", "error", "not_run"]
CallKind = Literal["task", "judge"]


@dataclass(frozen=True)
class ChatRequest:
    """One chat call to make.

    Attributes:
        case_id: The dataset case this call answers.
        model: A litellm model string (``openai/gpt-4o-mini``, ``offline/extractive``).
        messages: Chat messages, each ``{"role": ..., "content": ...}``.
        params: Sampling and provider parameters that change the output
            (``temperature``, ``max_tokens``, ``top_p``, ``seed``, ``api_base``...).
            Never an API key: keys come from the environment.
        repeat: The repeat index, 0-based. With sampling (temperature > 0), each
            repeat is its own cache entry.
        prompt_name: The prompt this call was rendered from, if any.
        prompt_version: The prompt version's label, if any.
        kind: ``task`` for the system under test, ``judge`` for an LLM judge.
        metadata: Free-form tags carried into the record (not sent, not cached).
    """

    case_id: str
    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 0
    prompt_name: str | None = None
    prompt_version: str | None = None
    kind: CallKind = "task"
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CallRecord:
    """What one call produced, as stored in a run's ``records.jsonl``.

    Attributes:
        run_id: The run this call belongs to.
        case_id: The dataset case.
        prompt_name: The prompt, or None for calls made without one.
        prompt_version: The prompt version's label, or None.
        model: The litellm model string the call went to.
        repeat: The repeat index, 0-based.
        kind: ``task`` or ``judge``.
        status: ``ok``, ``error`` (after retries) or ``not_run`` (for example
            stopped by the budget; see `error_type`).
        output_text: The model's reply, empty when there is none.
        input_tokens: Prompt tokens as the provider counted them.
        output_tokens: Completion tokens.
        cached_tokens: Prompt tokens the provider served from its prompt cache.
        cost_usd: The price of this response in USD from litellm's price map
            (or a user override): what it cost when it was produced, also on a
            cache hit, where nothing was paid again. 0.0 for offline models;
            None when the model's price is unknown (never shown as free).
        latency_s: Wall-clock seconds of the last attempt: the answer's, or the
            time to failure (0 on a cache hit).
        cache_hit: True when the response came from llmbench's response cache.
        cache_key: The response cache key (hex sha256).
        cache_miss_reason: Why the cache missed (``new model``, ``params
            changed: temperature``...), None on a hit or with the cache off.
        attempts: How many attempts were made (1 without retries, 0 on a hit).
        error_type: The exception class name, or ``budget`` for calls not run.
        error_message: A secret-free message, or None.
        timestamp: UTC ISO-8601 time the call started.
        metadata: Tags from the request.
    """

    run_id: str
    case_id: str
    prompt_name: str | None
    prompt_version: str | None
    model: str
    repeat: int
    kind: CallKind = "task"
    status: Status = "ok"
    output_text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    cache_key: str | None = None
    cache_miss_reason: str | None = None
    attempts: int = 0
    error_type: str | None = None
    error_message: str | None = None
    timestamp: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def paid_usd(self) -> float:
        """What this call cost now: 0 on a cache hit or when the price is unknown."""
        if self.cache_hit or self.cost_usd is None:
            return 0.0
        return self.cost_usd

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with one key per field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """Rebuild a record from `to_dict` output, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


RECORD_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CallRecord))
