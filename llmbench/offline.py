"""An offline model provider for litellm: a baseline for pipelines and CI.

This is NOT a language model. It generates nothing: it copies sentences out of
the context that the prompt itself carries, picked by similarity to the
question with the static embeddings of `llmbench.embeddings`. It exists so that
every part of llmbench (runs, caching, metrics, suites, costs, traces, the
notebooks) can run end to end without keys or network, and so that a prompt
version's effect on what context reaches the model shows up in the scores.

After `register_offline_provider()`, these model names work wherever litellm
takes a model name (``litellm.completion``, ``litellm.acompletion``, streaming,
``litellm.completion_cost``):

    offline/extractive   answers with the context sentence most similar to the
                         question (``top_k`` sentences, best first, with the
                         ``top_k`` parameter; default 1); answers exactly
                         `NO_CONTEXT_ANSWER` when the prompt carries no context.
    offline/echo         replies with the last user message.

Where the extractive model finds context, in system and user messages:

    * between tags: ``<context>...</context>``; also ``contexts``, ``document(s)``
      and ``passage(s)`` tags;
    * under a header line: ``Context:``, ``Contexts:``, ``Passages:``,
      ``Documents:``, ``Sources:`` (up to three words may precede it, as in
      ``Retrieved context:``; text after the colon counts), or the same word
      as a Markdown heading (``## Context``, ``**Context**``). The block runs
      to the next label line (``Question:``, ``Query:``, ``Answer:``,
      ``Instructions:``, ``Task:``, in the same forms) or the end of the
      message;
    * numbered passages: lines starting ``[1]``, ``[2]``... anywhere, each
      running to the next blank line.

Context not marked in one of these ways is not context: the model then says
it does not know. The question is the text after the last ``Question:`` or
``Query:`` label (to the next blank line); without one, the last user message
minus its context. Sentences end at ``.``, ``!`` or ``?`` before a capital or
a digit, and at line ends; list markers and ``[n]`` markers are dropped.

Both models are deterministic: temperature, seed and ``n`` change nothing.
``max_tokens`` (or ``max_completion_tokens``) cuts the reply to that many
tokens with ``finish_reason="length"``. When the request asks for JSON (a
``response_format`` of ``json_object`` or ``json_schema``, or the word
``JSON`` in a system message) the extractive reply is ``{"answer": "..."}``;
like a real model's, a JSON reply cut by ``max_tokens`` is no longer valid.

Usage is counted for real with tiktoken's ``o200k_base`` (the gpt-4o family's
encoding, from the files bundled with litellm, never downloaded): input tokens
as litellm counts the messages for ``gpt-4o-mini``, output tokens of the reply.
Both models are registered in litellm's price map at 0.0 USD per token, so
cost is 0.0 and litellm's cost calculation neither fails nor logs errors.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from llmbench.errors import ConfigError

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM
    from tiktoken import Encoding

logger = logging.getLogger(__name__)

PROVIDER = "offline"
EXTRACTIVE_MODEL = "offline/extractive"
ECHO_MODEL = "offline/echo"
MODELS: tuple[str, ...] = (EXTRACTIVE_MODEL, ECHO_MODEL)

#: The extractive model's whole reply when the prompt carries no context.
NO_CONTEXT_ANSWER = "I don't know: the prompt gives no context to answer from."

#: The model litellm counts input tokens for, and its tiktoken encoding.
TOKEN_COUNT_MODEL = "gpt-4o-mini"
TOKEN_ENCODING = "o200k_base"

_BLOCK_TAG = re.compile(
    r"<(?P<tag>contexts?|documents?|passages?)\b[^>]*>(?P<body>.*?)</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^>]*)?>")


def _section(words: str, lead: str = "") -> tuple[re.Pattern[str], ...]:
    """Line patterns that open a section: ``Word: text``, ``## Word``, ``**Word**``."""
    return (
        re.compile(
            rf"^[#>*_\s]*{lead}(?P<label>{words})[*_\s]*:[*_\s]*(?P<rest>.*)$",
            re.IGNORECASE,
        ),
        re.compile(
            rf"^\s*(?:#{{1,6}}|\*\*|__)[*_\s]*{lead}(?P<label>{words})[*_\s]*:?\s*$",
            re.IGNORECASE,
        ),
    )


_CONTEXT_HEADER = _section(
    "contexts?|passages?|documents?|sources?", lead=r"(?:[A-Za-z]+\s+){0,3}"
)
_LABEL = _section("question|query|answer|instructions?|task")
_PASSAGE = re.compile(r"^\s*\[\d+\]\s*(?P<rest>.*)$")
_LINE_MARKER = re.compile(r"^\s*(?:\[\d+\]|[-*•]|\d{1,3}[.)])\s+")
_SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])"
)
_JSON_WORD = re.compile(r"\bJSON\b")


@dataclass(frozen=True)
class PromptParts:
    """What the extractive model reads from a prompt.

    Attributes:
        contexts: The context blocks and passages, in prompt order.
        question: The question to answer; empty when none could be found.
    """

    contexts: tuple[str, ...]
    question: str


class OfflineReply(NamedTuple):
    """One reply of an offline model, before litellm wraps it."""

    text: str
    finish_reason: str


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message, joining the text parts of multi-part content."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, Mapping)]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def _opening(
    patterns: tuple[re.Pattern[str], ...], line: str
) -> tuple[str, str] | None:
    """The section label and the text after it, when the line opens a section."""
    for pattern in patterns:
        match = pattern.match(line)
        if match:
            return match.group("label").lower(), match.groupdict().get("rest") or ""
    return None


def _read_message(text: str) -> tuple[list[str], str | None, str]:
    """One message's context blocks, last labelled question and leftover text."""
    contexts = [_TAG.sub("\n", m.group("body")) for m in _BLOCK_TAG.finditer(text)]
    text = _BLOCK_TAG.sub("\n", text)

    question: str | None = None
    leftover: list[str] = []
    current: list[str] = []
    mode = "plain"

    def close() -> None:
        nonlocal question
        joined = "\n".join(current).strip()
        if mode in ("context", "passage") and joined:
            contexts.append(joined)
        elif mode == "question":
            question = joined
        current.clear()

    for line in text.splitlines():
        header = _opening(_CONTEXT_HEADER, line)
        label = _opening(_LABEL, line)
        passage = _PASSAGE.match(line)

        if label:
            close()
            asks = label[0] in ("question", "query")
            mode = "question" if asks else "plain"
            if asks:
                current.append(label[1])
        elif header:
            close()
            mode = "context"
            current.append(header[1])
        elif passage and mode != "context":
            close()
            mode = "passage"
            current.append(passage.group("rest"))
        elif mode in ("passage", "question") and not line.strip():
            close()
            mode = "plain"
        elif mode == "plain":
            leftover.append(line)
        else:
            current.append(line)
    close()

    return contexts, question, "\n".join(leftover).strip()


def parse_prompt(messages: Sequence[Mapping[str, Any]]) -> PromptParts:
    """Find the context and the question in a chat prompt.

    Reads system, developer and user messages (never assistant turns) by the
    conventions in this module's docstring.

    Args:
        messages: Chat messages, each ``{"role": ..., "content": ...}``.

    Returns:
        The context blocks in prompt order, and the question: the last labelled
        one, else the last user message without its context.
    """
    contexts: list[str] = []
    question: str | None = None
    last_user_leftover = ""

    for message in messages:
        role = message.get("role")
        if role not in ("system", "developer", "user"):
            continue
        found, asked, leftover = _read_message(message_text(message))
        contexts.extend(found)
        if asked is not None:
            question = asked
        if role == "user":
            last_user_leftover = leftover

    return PromptParts(tuple(contexts), question or last_user_leftover)


def split_sentences(text: str) -> list[str]:
    """Split context text into sentences, dropping list and ``[n]`` markers."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _LINE_MARKER.sub("", line).strip()
        sentences.extend(s.strip() for s in _SENTENCE_BREAK.split(line) if s.strip())
    return sentences


def extractive_answer(messages: Sequence[Mapping[str, Any]], top_k: int = 1) -> str:
    """The extractive baseline's answer: context sentences closest to the question.

    Args:
        messages: The chat prompt, carrying its own context.
        top_k: How many sentences to answer with, best first, joined by spaces.

    Returns:
        The ``top_k`` distinct context sentences most similar to the question,
        verbatim; ties go to the earlier sentence. `NO_CONTEXT_ANSWER` when the
        prompt has no context.
    """
    from llmbench.embeddings import similarity_matrix

    parts = parse_prompt(messages)
    sentences = list(
        dict.fromkeys(s for c in parts.contexts for s in split_sentences(c))
    )
    if not sentences:
        return NO_CONTEXT_ANSWER

    scores = similarity_matrix([parts.question], sentences)[0]
    ranked = sorted(range(len(sentences)), key=lambda i: (-float(scores[i]), i))
    return " ".join(sentences[i] for i in ranked[:top_k])


@cache
def _encoding() -> Encoding:
    """The o200k_base encoding, read from the tiktoken files bundled with litellm."""
    # Importing it points TIKTOKEN_CACHE_DIR at litellm's bundled files.
    import litellm.litellm_core_utils.default_encoding  # noqa: F401
    import tiktoken

    return tiktoken.get_encoding(TOKEN_ENCODING)


def count_tokens(text: str) -> int:
    """The number of o200k_base tokens in a text."""
    return len(_encoding().encode(text, disallowed_special=()))


def _truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of text that is at most max_tokens tokens."""
    encoding = _encoding()
    tokens = encoding.encode(text, disallowed_special=())[:max_tokens]

    # A cut inside a multi-byte character leaves a partial byte sequence.
    prefix = encoding.decode_bytes(tokens).decode("utf-8", errors="ignore")
    while count_tokens(prefix) > max_tokens:
        tokens = tokens[:-1]
        prefix = encoding.decode_bytes(tokens).decode("utf-8", errors="ignore")
    return prefix


def _wants_json(
    messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
) -> bool:
    """Whether the request asks for a JSON reply."""
    response_format = params.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        return True
    return any(
        m.get("role") in ("system", "developer") and _JSON_WORD.search(message_text(m))
        for m in messages
    )


def _positive_int(params: Mapping[str, Any], name: str) -> int | None:
    """An integer parameter that must be at least 1 when given."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def offline_reply(
    model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
) -> OfflineReply:
    """What an offline model replies to a prompt.

    Args:
        model: ``extractive`` or ``echo``, with or without the ``offline/`` prefix.
        messages: The chat prompt.
        params: Request parameters; ``top_k``, ``max_tokens`` and
            ``response_format`` are read, the rest ignored.

    Raises:
        LookupError: For a model name the provider does not serve.
        ValueError: For a ``top_k`` or ``max_tokens`` that is not a positive integer.
    """
    name = model.removeprefix(f"{PROVIDER}/")
    if name == "extractive":
        text = extractive_answer(messages, _positive_int(params, "top_k") or 1)
        if _wants_json(messages, params):
            text = json.dumps({"answer": text}, ensure_ascii=False)
    elif name == "echo":
        users = [m for m in messages if m.get("role") == "user"]
        text = message_text(users[-1]) if users else ""
    else:
        raise LookupError(f"unknown offline model {model!r}; choose one of {MODELS}")

    max_tokens = _positive_int(params, "max_tokens")
    max_tokens = max_tokens or _positive_int(params, "max_completion_tokens")
    if max_tokens is not None and count_tokens(text) > max_tokens:
        return OfflineReply(_truncate(text, max_tokens), "length")
    return OfflineReply(text, "stop")


class TokenUsage(NamedTuple):
    """Tokens of one offline call, counted with o200k_base."""

    input_tokens: int
    output_tokens: int


def token_usage(messages: Sequence[Mapping[str, Any]], reply: str) -> TokenUsage:
    """Input tokens as litellm counts the chat for gpt-4o-mini, output of the reply."""
    import litellm

    input_tokens = litellm.token_counter(
        model=TOKEN_COUNT_MODEL, messages=list(messages)
    )
    return TokenUsage(input_tokens, count_tokens(reply))


def _provider_error(status_code: int, message: str) -> Exception:
    """litellm's error for a custom provider; it maps the status to its own classes."""
    from litellm.llms.custom_llm import CustomLLMError

    return CustomLLMError(status_code=status_code, message=message)  # type: ignore[no-untyped-call]


@cache
def _handler() -> CustomLLM:
    """The one litellm handler for the ``offline/`` provider in this process."""
    from litellm import ModelResponse
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk, Usage

    def reply_or_error(kwargs: Mapping[str, Any]) -> tuple[OfflineReply, TokenUsage]:
        messages = kwargs["messages"]
        try:
            reply = offline_reply(kwargs["model"], messages, kwargs["optional_params"])
        except LookupError as error:
            raise _provider_error(404, str(error)) from error
        except ValueError as error:
            raise _provider_error(400, str(error)) from error
        return reply, token_usage(messages, reply.text)

    class OfflineLLM(CustomLLM):
        """Serves ``offline/*`` models from this module's functions."""

        def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            reply, usage = reply_or_error(kwargs)

            response: ModelResponse = kwargs["model_response"]
            response.model = f"{PROVIDER}/{kwargs['model']}"
            response.created = int(time.time())
            response.choices[0].message.content = reply.text
            response.choices[0].finish_reason = reply.finish_reason
            response.usage = Usage(
                prompt_tokens=usage.input_tokens,
                completion_tokens=usage.output_tokens,
                total_tokens=usage.input_tokens + usage.output_tokens,
            )
            return response

        async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.completion(*args, **kwargs)

        def streaming(
            self, *args: Any, **kwargs: Any
        ) -> Iterator[GenericStreamingChunk]:
            reply, usage = reply_or_error(kwargs)
            yield {
                "text": reply.text,
                "tool_use": None,
                "is_finished": True,
                "finish_reason": reply.finish_reason,
                "usage": {
                    "prompt_tokens": usage.input_tokens,
                    "completion_tokens": usage.output_tokens,
                    "total_tokens": usage.input_tokens + usage.output_tokens,
                },
                "index": 0,
            }

        # An async generator, as litellm consumes it; the base class annotates
        # it as a coroutine.
        async def astreaming(  # type: ignore[override]
            self, *args: Any, **kwargs: Any
        ) -> AsyncIterator[GenericStreamingChunk]:
            for chunk in self.streaming(*args, **kwargs):
                yield chunk

    return OfflineLLM()


def _zero_price_entry() -> dict[str, Any]:
    """A litellm price-map entry for an offline model: every token costs 0.0 USD."""
    return {
        "litellm_provider": PROVIDER,
        "mode": "chat",
        "max_tokens": 1_000_000,
        "max_input_tokens": 1_000_000,
        "max_output_tokens": 1_000_000,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
    }


def register_offline_provider() -> None:
    """Make litellm serve the ``offline/`` models in this process.

    Adds the provider to ``litellm.custom_provider_map`` (keeping every other
    entry) and the models to litellm's price map at zero cost. Idempotent; a
    second call only checks that both are still in place. Imports litellm, so
    call it where litellm is needed anyway.

    Raises:
        ConfigError: When another handler already claims the ``offline``
            provider name in ``litellm.custom_provider_map``.
    """
    import litellm

    handler = _handler()
    entries = list(litellm.custom_provider_map)
    if not any(item.get("custom_handler") is handler for item in entries):
        if any(item.get("provider") == PROVIDER for item in entries):
            raise ConfigError(
                f"litellm.custom_provider_map already has a {PROVIDER!r} provider "
                "with another handler; remove it before registering llmbench's "
                "offline models"
            )
        litellm.custom_provider_map = [
            *entries,
            {"provider": PROVIDER, "custom_handler": handler},
        ]

    # Before the price map: registering an unknown provider's model prints noise.
    litellm.utils.custom_llm_setup()  # type: ignore[no-untyped-call]

    missing = [name for name in MODELS if name not in litellm.model_cost]
    if missing:
        litellm.register_model({name: _zero_price_entry() for name in missing})
        logger.debug("registered offline models %s at zero cost", missing)


@cache
def warm_up() -> None:
    """Pay, once per process, what the first offline call would otherwise pay.

    Loads the embedding model and the tokenizer and takes litellm through one
    echo call, so that no record's ``latency_s`` carries seconds of loading.
    """
    import litellm

    from llmbench.embeddings import embed

    register_offline_provider()
    embed(["warm up"])
    count_tokens("warm up")
    litellm.completion(
        model=ECHO_MODEL, messages=[{"role": "user", "content": "warm up"}]
    )
