"""What the local stub server does: its latency, replies and injected faults.

One `ServerSettings` value describes the server's behaviour. It travels as JSON
(to a subprocess on its command line, to a running server through
``POST /control``), so every field is a plain JSON value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from llmbench.errors import ConfigError

FaultKind = Literal["429", "500", "timeout", "malformed", "drop"]

#: Every fault the server can inject, in the order rates are drawn.
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "timeout", "malformed", "drop")

#: Scripted replies: a list cycled in order, or a mapping from a substring of the
#: last user message to a reply (a string, or a JSON object sent as JSON text).
Replies = list[str] | dict[str, str | dict[str, Any]]


@dataclass(frozen=True)
class ServerSettings:
    """How the stub server behaves; every field can change at run time.

    Attributes:
        latency_s: Seconds every answer waits before it is sent (faults too),
            spent in ``asyncio.sleep`` so it costs no CPU.
        replies: Scripted replies, or None for the default echo reply. A list
            is cycled in arrival order; a mapping answers with the value of the
            first key found in the last user message (keys in insertion order).
            A mapping value that is a dict is sent as JSON text, for scripted
            judge verdicts. Requests no script matches fall back to judge mode
            or the echo reply.
        faults: Injection rate per fault kind (``429``, ``500``, ``timeout``,
            ``malformed``, ``drop``), each in [0, 1], summing to at most 1.
        seed: Seed of the random generator that draws faults; the same seed
            gives the same fault sequence over arriving requests.
        retry_after_s: Seconds announced in the ``Retry-After`` header of 429s.
        hang_s: Seconds a ``timeout`` fault waits before answering normally.
        fail_first: Fail the first N requests for each distinct last user
            message (embedding input for embeddings) with `fail_first_fault`,
            so retry tests are deterministic under any concurrency.
        fail_first_fault: The fault `fail_first` injects.
        cached_fraction: Fraction of prompt tokens reported as
            ``usage.prompt_tokens_details.cached_tokens`` (rounded down); the
            field is sent only when this is above 0.
        embedding_dim: Length of the vectors ``/v1/embeddings`` returns when
            the request does not ask for ``dimensions``.
    """

    latency_s: float = 0.0
    replies: Replies | None = None
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after_s: float = 1.0
    hang_s: float = 30.0
    fail_first: int = 0
    fail_first_fault: FaultKind = "429"
    cached_fraction: float = 0.0
    embedding_dim: int = 64

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with one key per field."""
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> ServerSettings:
        """A copy with `changes` applied and checked.

        Raises:
            ConfigError: A key is not a setting, or a value is out of range.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(
                f"unknown stub server setting(s) {unknown}; known: {sorted(names)}"
            )

        values = dict(changes)
        if isinstance(values.get("replies"), tuple):
            values["replies"] = list(values["replies"])
        if isinstance(values.get("faults"), Mapping):
            values["faults"] = dict(values["faults"])
        settings = dataclasses.replace(self, **values)
        settings.check()
        return settings

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ServerSettings:
        """Settings from a JSON-like mapping; missing keys keep their default."""
        return cls().updated(values)

    def check(self) -> None:
        """Raise `ConfigError` unless every field is in range."""
        for name in ("latency_s", "retry_after_s", "hang_s", "cached_fraction"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}")
        if self.cached_fraction > 1:
            raise ConfigError(
                f"cached_fraction must be <= 1, got {self.cached_fraction}"
            )
        for name in ("seed", "fail_first", "embedding_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if self.embedding_dim < 1:
            raise ConfigError("embedding_dim must be at least 1")
        if self.fail_first_fault not in FAULT_KINDS:
            raise ConfigError(
                f"fail_first_fault must be one of {FAULT_KINDS}, "
                f"got {self.fail_first_fault!r}"
            )

        _check_faults(self.faults)
        _check_replies(self.replies)


def parse_fault(value: object) -> FaultKind | None:
    """The fault kind `value` names, or None when it names none."""
    if value in FAULT_KINDS:
        return value
    return None


def _check_faults(faults: object) -> None:
    if not isinstance(faults, dict):
        raise ConfigError(f"faults must be a mapping of kind to rate, got {faults!r}")
    for kind, rate in faults.items():
        if kind not in FAULT_KINDS:
            raise ConfigError(f"unknown fault {kind!r}; known: {FAULT_KINDS}")
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigError(f"fault rate for {kind} must be in [0, 1], got {rate!r}")
    if sum(faults.values()) > 1:
        raise ConfigError(f"fault rates sum to more than 1: {faults}")


def _check_replies(replies: object) -> None:
    if replies is None:
        return
    if isinstance(replies, list):
        if not replies or not all(isinstance(r, str) for r in replies):
            raise ConfigError("a reply list must hold at least one string")
        return
    if isinstance(replies, dict):
        for key, reply in replies.items():
            if not isinstance(key, str) or not isinstance(reply, str | dict):
                raise ConfigError(
                    "a reply mapping goes from a substring to a string or a JSON "
                    f"object; got {key!r}: {reply!r}"
                )
        return
    raise ConfigError(f"replies must be a list, a mapping or None, got {replies!r}")
