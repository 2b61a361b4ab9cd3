"""The two ways a chat call leaves llmbench.

``litellm``: `litellm.acompletion`, the universal route. Every provider and
model string litellm knows works here, and so does the offline provider.

``direct``: a lean HTTP route for OpenAI-compatible servers named by an explicit
``api_base`` (vLLM, llama.cpp, LM Studio, a gateway, the local test server).
litellm still resolves the model string and the engine still prices the call
from litellm's map; only the request itself skips litellm's per-call machinery
(logging objects, pydantic responses, cost fallbacks), which costs about 4-5 ms
of CPU per call and caps a 2-core machine near 200 calls/s.

Both raise `CallFailed`, which says whether a retry could help.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger(__name__)

#: HTTP statuses worth another attempt: timeouts, rate limits, server trouble.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})

#: Providers whose chat endpoint speaks the OpenAI protocol.
OPENAI_COMPATIBLE = frozenset({"openai", "hosted_vllm", "openai_like", "custom_openai"})

#: Request parameters that steer the route, never sent in the body.
_ROUTE_PARAMS = frozenset({"api_base", "timeout", "num_retries", "max_retries"})


@dataclass(frozen=True)
class Completion:
    """What a successful call returned: text and token counts."""

    text: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int


class CallFailed(Exception):
    """A call failed; `retryable` says whether trying again could help.

    Attributes:
        error_type: A short class name (``RateLimitError``, ``HTTP 500``...).
        status: The HTTP status, when there was one.
        retry_after_s: Seconds the provider asked us to wait, if it said.
        retryable: True for timeouts, dropped connections, 408/429/5xx.
    """

    def __init__(
        self,
        message: str,
        *,
        error_type: str,
        status: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status
        self.retry_after_s = retry_after_s
        self.retryable = retryable


class Transport(Protocol):
    """Sends one chat call and returns its completion or raises `CallFailed`."""

    async def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        params: Mapping[str, Any],
    ) -> Completion: ...

    async def close(self) -> None: ...


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare for these APIs, fall back to backoff


class LiteLLMTransport:
    """Calls `litellm.acompletion`, looked up at call time so tracing sees it."""

    def __init__(self) -> None:
        import litellm

        from llmbench.offline import register_offline_provider

        register_offline_provider()
        litellm.suppress_debug_info = True
        self._litellm = litellm

    async def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        params: Mapping[str, Any],
    ) -> Completion:
        """One call through litellm, with its own retries turned off."""
        extra: dict[str, Any] = {}
        if supports_direct(model, params):
            # Self-hosted OpenAI-compatible servers often need no key at all.
            extra["api_key"] = _resolve(model, str(params["api_base"])).api_key
        try:
            response = await self._litellm.acompletion(
                model=model,
                messages=list(messages),
                num_retries=0,
                max_retries=0,
                **params,
                **extra,
            )
        except Exception as error:
            raise _litellm_failure(error) from None

        usage = getattr(response, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(
            text=response.choices[0].message.content or "",
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        )

    async def close(self) -> None:
        """Nothing to close: litellm owns its clients."""


def _litellm_failure(error: Exception) -> CallFailed:
    from llmbench.redact import redact

    status = getattr(error, "status_code", None)
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or getattr(
        error, "litellm_response_headers", None
    )
    error_type = type(error).__name__
    connection_trouble = error_type in {"Timeout", "APIConnectionError"}
    return CallFailed(
        redact(str(error))[:500],
        error_type=error_type,
        status=status if isinstance(status, int) else None,
        retry_after_s=_retry_after(headers),
        retryable=connection_trouble or status in RETRYABLE_STATUS,
    )


@dataclass(frozen=True)
class _Target:
    url: str
    model_name: str
    provider: str
    dynamic_key: str | None

    @property
    def api_key(self) -> str:
        """The key from the model string or the environment, read at call time."""
        env_key = os.environ.get(f"{self.provider.upper()}_API_KEY")
        return self.dynamic_key or env_key or "none"

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.api_key}",
        }


@cache
def _resolve(model: str, api_base: str) -> _Target:
    """Where a model string goes; litellm resolves it once per model."""
    import litellm

    model_name, provider, dynamic_key, _ = litellm.get_llm_provider(
        model, api_base=api_base
    )
    url = api_base.rstrip("/") + "/chat/completions"
    return _Target(url, model_name, provider, dynamic_key)


def supports_direct(model: str, params: Mapping[str, Any]) -> bool:
    """True when the direct route can carry this call (OpenAI-compatible + api_base)."""
    if not params.get("api_base"):
        return False
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    return provider in OPENAI_COMPATIBLE


class DirectTransport:
    """POSTs to an OpenAI-compatible ``/chat/completions`` with one aiohttp session."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        params: Mapping[str, Any],
    ) -> Completion:
        """One call over HTTP; non-2xx, bad JSON and dropped sockets raise."""
        import aiohttp

        target = _resolve(model, str(params["api_base"]))
        body = {k: v for k, v in params.items() if k not in _ROUTE_PARAMS}
        body["model"] = target.model_name
        body["messages"] = list(messages)

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0)
            )
        try:
            async with self._session.post(
                target.url, data=json.dumps(body), headers=target.headers
            ) as response:
                raw = await response.read()
                status = response.status
                headers = response.headers
        except aiohttp.ClientError as error:
            raise CallFailed(
                f"connection to {target.url} failed: {error}",
                error_type=type(error).__name__,
                retryable=True,
            ) from None

        if status >= 400:
            raise CallFailed(
                f"HTTP {status} from {target.url}: "
                + raw[:300].decode(errors="replace"),
                error_type=f"HTTP {status}",
                status=status,
                retry_after_s=_retry_after(headers),
                retryable=status in RETRYABLE_STATUS,
            )
        return _parse_completion(raw, target.url)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _parse_completion(raw: bytes, url: str) -> Completion:
    try:
        data = json.loads(raw)
        usage = data.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return Completion(
            text=data["choices"][0]["message"].get("content") or "",
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise CallFailed(
            f"malformed response from {url}: {error}",
            error_type="MalformedResponse",
            retryable=True,
        ) from None
