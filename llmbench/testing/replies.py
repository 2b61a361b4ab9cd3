"""What the stub server answers: reply text, JSON for judges, usage, embeddings.

Token counts are whitespace-separated words, not a real tokenizer: prompt tokens
are the words of every message's text content, completion tokens the words of
each returned choice. They are deterministic and cost nothing to compute, which
is what tests and benchmarks need; they are not what a provider would bill.
"""

from __future__ import annotations

import json
import math
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from llmbench.testing.settings import ServerSettings

#: How many words of the last user message the echo reply repeats.
ECHO_WORDS = 12

_WORD = re.compile(r"\w+")
_MAX_SCHEMA_DEPTH = 24


def message_text(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last ``user`` message, or "" when there is none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def count_words(text: str) -> int:
    """The stub's token count: whitespace-separated words."""
    return len(text.split())


def scripted_reply(settings: ServerSettings, user_text: str, turn: int) -> str | None:
    """The scripted reply for this request, or None when no script applies.

    Args:
        settings: The server settings holding the script.
        user_text: The last user message.
        turn: How many scripted-list replies were given before this one.
    """
    replies = settings.replies
    if isinstance(replies, list):
        return replies[turn % len(replies)]
    if isinstance(replies, dict):
        for key, reply in replies.items():
            if key in user_text:
                return reply if isinstance(reply, str) else json.dumps(reply)
    return None


def echo_reply(user_text: str) -> str:
    """The default reply: a fixed prefix and the first words of the user message."""
    words = user_text.split()[:ECHO_WORDS]
    return "stub reply: " + " ".join(words)


def wants_json(body: Mapping[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """Whether a request asks for JSON, and the JSON schema it gives, if any.

    A request asks for JSON when its ``response_format`` is ``json_object`` or
    ``json_schema``, or when a message carries a JSON schema in its text (as
    ragas and instructor put a pydantic schema in the prompt). System messages
    are searched first.
    """
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_schema":
        spec = response_format.get("json_schema") if response_format else None
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return True, schema if isinstance(schema, dict) else None

    messages = body.get("messages") or []
    ordered = sorted(messages, key=lambda m: m.get("role") != "system")
    for message in ordered:
        text = message_text(message.get("content"))
        if '"properties"' in text:
            schema = find_schema(text)
            if schema is not None:
                return True, schema
    return kind == "json_object", None


def find_schema(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` that looks like a JSON schema."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and ("properties" in value or "$defs" in value):
            return value
        start = text.find("{", end)
    return None


def schema_example(schema: Mapping[str, Any]) -> Any:
    """A value that fits `schema`, filled with plausible defaults.

    Required object fields are filled (optional ones left out), numbers are 1
    (moved into any minimum/maximum), strings ``"ok"``, booleans true, arrays
    hold one item (or ``minItems``), enums take their first value; ``$ref``
    into ``$defs``/``definitions``, ``anyOf``/``oneOf`` (first non-null
    branch) and ``allOf`` (merged) are followed.
    """
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _example(schema, defs, 0)


def _example(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> Any:
    """A value fitting one (sub)schema."""
    if depth > _MAX_SCHEMA_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        return _example({**target, **_without(schema, "$ref")}, defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            branches = schema[key]
            chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
            return _example({**_without(schema, key), **chosen}, defs, depth + 1)
    if schema.get("allOf"):
        merged = dict(_without(schema, "allOf"))
        for part in schema["allOf"]:
            merged.update(part)
        return _example(merged, defs, depth + 1)

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = (
            "object"
            if "properties" in schema
            else "array"
            if "items" in schema
            else "string"
        )

    if kind == "object":
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        return {
            name: _example(properties.get(name, {}), defs, depth + 1)
            for name in required
        }
    if kind == "array":
        items = schema.get("items")
        items = items if isinstance(items, dict) else {}
        count = max(1, schema.get("minItems", 1)) if depth < _MAX_SCHEMA_DEPTH else 0
        return [_example(items, defs, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema)


def _without(schema: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`schema` minus one key."""
    return {k: v for k, v in schema.items() if k != key}


def _number(schema: Mapping[str, Any], kind: str) -> int | float:
    """1, moved into the schema's bounds."""
    value: int | float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + 1
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        value = schema["exclusiveMaximum"] - 1
    return math.ceil(value) if kind == "integer" else value


def _string(schema: Mapping[str, Any]) -> str:
    """``"ok"``, stretched or cut to the schema's length limits."""
    text = "ok"
    minimum = schema.get("minLength", 0)
    if len(text) < minimum:
        text = text + "k" * (minimum - len(text))
    return text[: schema.get("maxLength", len(text))]


def chat_completion(
    body: Mapping[str, Any], reply: str, settings: ServerSettings, number: int
) -> dict[str, Any]:
    """An OpenAI-shaped chat completion answering `body` with `reply`.

    Args:
        body: The request's JSON body.
        reply: The text every choice carries (``n`` choices, default 1).
        settings: Settings deciding the reported cached tokens.
        number: A serial number that makes the completion id unique.
    """
    messages = body.get("messages") or []
    prompt_tokens = sum(count_words(message_text(m.get("content"))) for m in messages)

    finish_reason = "stop"
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    words = reply.split()
    if isinstance(max_tokens, int) and 0 < max_tokens < len(words):
        reply = " ".join(words[:max_tokens])
        words = words[:max_tokens]
        finish_reason = "length"

    n = body.get("n")
    n = n if isinstance(n, int) and n > 0 else 1
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": reply},
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        for i in range(n)
    ]

    completion_tokens = len(words) * n
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if settings.cached_fraction > 0:
        cached = int(prompt_tokens * settings.cached_fraction)
        usage["prompt_tokens_details"] = {"cached_tokens": cached}

    return {
        "id": f"chatcmpl-stub-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": choices,
        "usage": usage,
        "system_fingerprint": "llmbench-stub",
    }


def embed(text: str, dim: int) -> list[float]:
    """A unit vector of hashed words: texts sharing words point the same way.

    Each lowercased word adds +1 or -1 (both picked by its CRC-32) to one
    coordinate; the sum is normalized. Empty text gets the first unit vector.
    """
    vector = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        code = zlib.crc32(word.encode())
        vector[code % dim] += 1.0 if code & 0x80000000 else -1.0

    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0] = 1.0
        return vector
    return [round(v / norm, 6) for v in vector]


def embedding_inputs(raw: object) -> list[str]:
    """The texts of an embeddings request's ``input`` (token arrays as digits)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list):
        return [t if isinstance(t, str) else " ".join(map(str, t)) for t in raw]
    return [str(raw)]


def embeddings_response(
    body: Mapping[str, Any], settings: ServerSettings
) -> dict[str, Any]:
    """An OpenAI-shaped embeddings response for `body`."""
    texts = embedding_inputs(body.get("input", ""))
    dim = body.get("dimensions")
    if not isinstance(dim, int) or dim < 1:
        dim = settings.embedding_dim

    tokens = sum(count_words(t) for t in texts)
    data = [
        {"object": "embedding", "index": i, "embedding": embed(t, dim)}
        for i, t in enumerate(texts)
    ]
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "stub-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
