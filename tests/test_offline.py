"""The offline provider, exercised through litellm's own completion path."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest
import tiktoken
from litellm.llms.custom_llm import CustomLLM
from offline_runs import run_without_network

from llmbench.errors import ConfigError
from llmbench.offline import (
    ECHO_MODEL,
    EXTRACTIVE_MODEL,
    NO_CONTEXT_ANSWER,
    PROVIDER,
    parse_prompt,
    register_offline_provider,
    split_sentences,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# litellm builds pydantic adapters for ReadOnly TypedDicts on its first call.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Items? .* (is|are) using the `ReadOnly` qualifier:UserWarning"
)

PASSAGES = (
    "The Eiffel Tower was completed in 1889 for the World's Fair. "
    "It is made of wrought iron.",
    "Honeybees communicate through a waggle dance. "
    "A colony can hold fifty thousand bees.",
    "The Great Barrier Reef lies off the coast of Queensland. "
    "It is the largest coral reef system in the world.",
)
QUESTION = "Which is the largest coral reef system in the world?"
ANSWER = "It is the largest coral reef system in the world."


def rag_messages(passages: tuple[str, ...], question: str = QUESTION) -> list[Any]:
    """A typical RAG prompt: numbered passages under a Context header."""
    numbered = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    context = f"Context:\n{numbered}\n\n" if passages else ""
    return [
        {"role": "system", "content": "Answer the question from the context."},
        {"role": "user", "content": f"{context}Question: {question}"},
    ]


def reply_text(response: Any) -> str:
    """The first choice's text."""
    return str(response.choices[0].message.content)


@pytest.fixture(autouse=True)
def offline_provider() -> None:
    """Register the provider (a no-op after the first test)."""
    register_offline_provider()


@pytest.fixture
def litellm_problems() -> Iterator[list[logging.LogRecord]]:
    """Warnings and errors litellm logs; its loggers do not propagate to root."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(name) for name in ("LiteLLM", "LiteLLM Router")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)


def test_completion_answers_with_the_context_sentence_closest_to_the_question() -> None:
    response = litellm.completion(
        model=EXTRACTIVE_MODEL, messages=rag_messages(PASSAGES)
    )

    assert reply_text(response) == ANSWER
    assert response.choices[0].finish_reason == "stop"


def test_acompletion_gives_the_same_reply_as_completion() -> None:
    messages = rag_messages(PASSAGES)

    sync = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages)
    run = litellm.acompletion(model=EXTRACTIVE_MODEL, messages=messages)
    asynchronous = asyncio.run(run)

    assert reply_text(asynchronous) == reply_text(sync) == ANSWER
    assert asynchronous.usage.prompt_tokens == sync.usage.prompt_tokens


def test_usage_equals_an_independent_tiktoken_count() -> None:
    messages = rag_messages(PASSAGES)
    encoding = tiktoken.get_encoding("o200k_base")

    response = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages)

    # OpenAI's chat framing: 3 tokens per message plus 3 to prime the reply.
    expected_input = 3 + sum(
        3 + len(encoding.encode(m["role"])) + len(encoding.encode(m["content"]))
        for m in messages
    )
    expected_output = len(encoding.encode(reply_text(response)))
    assert response.usage.prompt_tokens == expected_input
    assert response.usage.completion_tokens == expected_output
    assert response.usage.total_tokens == expected_input + expected_output


def test_cost_is_zero_everywhere_litellm_computes_it(
    litellm_problems: list[logging.LogRecord],
) -> None:
    response = litellm.completion(
        model=EXTRACTIVE_MODEL, messages=rag_messages(PASSAGES)
    )

    assert litellm.completion_cost(response) == 0.0
    assert response._hidden_params["response_cost"] == 0.0
    assert litellm.cost_per_token(
        model=EXTRACTIVE_MODEL, prompt_tokens=1000, completion_tokens=1000
    ) == (0.0, 0.0)
    assert litellm.cost_per_token(
        model=ECHO_MODEL, prompt_tokens=10, completion_tokens=10
    ) == (0.0, 0.0)
    assert litellm_problems == []


def test_without_context_the_model_says_it_does_not_know() -> None:
    messages = [{"role": "user", "content": "What is the capital of Australia?"}]

    response = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages)

    assert reply_text(response) == NO_CONTEXT_ANSWER


def test_replies_are_deterministic_whatever_the_sampling_settings() -> None:
    messages = rag_messages(PASSAGES, "What do honeybees do to communicate?")

    replies = {
        reply_text(
            litellm.completion(
                model=EXTRACTIVE_MODEL, messages=messages, temperature=1.0, seed=seed
            )
        )
        for seed in range(5)
    }

    assert replies == {"Honeybees communicate through a waggle dance."}


def test_max_tokens_cuts_the_reply_to_that_many_tokens() -> None:
    messages = rag_messages(PASSAGES)

    full = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages)
    cut = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages, max_tokens=4)

    assert cut.usage.completion_tokens == 4
    assert cut.choices[0].finish_reason == "length"
    assert reply_text(full).startswith(reply_text(cut))
    assert len(reply_text(cut)) < len(reply_text(full))


def test_a_cut_never_splits_a_character() -> None:
    # o200k_base spells each of these rare characters with two tokens.
    messages = [{"role": "user", "content": "龘靐齉 are rare characters"}]

    full = litellm.completion(model=ECHO_MODEL, messages=messages)
    cut = litellm.completion(model=ECHO_MODEL, messages=messages, max_tokens=3)

    assert reply_text(cut) == "龘"
    assert reply_text(full).startswith(reply_text(cut))
    assert cut.usage.completion_tokens == 2


def test_top_k_answers_with_that_many_sentences_best_first() -> None:
    response = litellm.completion(
        model=EXTRACTIVE_MODEL, messages=rag_messages(PASSAGES), top_k=2
    )

    text = reply_text(response)
    assert text.startswith(ANSWER)
    assert len(split_sentences(text)) == 2


@pytest.mark.parametrize(
    ("params", "system"),
    [
        ({"response_format": {"type": "json_object"}}, "Answer from the context."),
        ({}, "Reply in JSON with one key, answer."),
    ],
)
def test_a_request_for_json_gets_an_answer_object(
    params: dict[str, Any], system: str
) -> None:
    messages = rag_messages(PASSAGES)
    messages[0]["content"] = system

    response = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages, **params)

    assert json.loads(reply_text(response)) == {"answer": ANSWER}


def test_echo_replies_with_the_last_user_message() -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "say this back"},
    ]

    response = litellm.completion(model=ECHO_MODEL, messages=messages)

    assert reply_text(response) == "say this back"


@pytest.mark.parametrize(
    "messages",
    [
        [
            {
                "role": "user",
                "content": f"<context>\n{PASSAGES[2]}\n</context>\n\n{QUESTION}",
            }
        ],
        [
            {"role": "system", "content": f"Use these documents:\n{PASSAGES[2]}"},
            {"role": "user", "content": QUESTION},
        ],
        [
            {
                "role": "user",
                "content": f"[1] {PASSAGES[0]}\n[2] {PASSAGES[2]}\n\n{QUESTION}",
            }
        ],
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Contexts: {PASSAGES[2]}"},
                    {"type": "text", "text": f"Query: {QUESTION}"},
                ],
            }
        ],
    ],
    ids=["tags", "system-header", "numbered-passages", "content-parts"],
)
def test_each_context_convention_is_recognized(messages: list[Any]) -> None:
    parts = parse_prompt(messages)

    response = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages)

    assert parts.question == QUESTION
    assert reply_text(response) == ANSWER


def test_prompt_versions_that_carry_different_context_answer_differently() -> None:
    versions = {
        "no-context": rag_messages(()),
        "full-context": rag_messages(PASSAGES),
        # a retriever whose top-1 passage misses the answer
        "top-1-wrong": rag_messages(PASSAGES[:1]),
        "top-1-right": rag_messages(PASSAGES[2:]),
    }

    answers = {
        name: reply_text(litellm.completion(model=EXTRACTIVE_MODEL, messages=m))
        for name, m in versions.items()
    }

    correct = {name: "largest coral reef" in text for name, text in answers.items()}
    assert answers["no-context"] == NO_CONTEXT_ANSWER
    assert correct == {
        "no-context": False,
        "full-context": True,
        "top-1-wrong": False,
        "top-1-right": True,
    }
    assert answers["top-1-wrong"] != answers["no-context"]


def test_streaming_yields_the_same_reply() -> None:
    messages = rag_messages(PASSAGES)

    chunks = litellm.completion(model=EXTRACTIVE_MODEL, messages=messages, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert text == ANSWER


def test_bad_requests_raise_litellm_errors() -> None:
    messages = rag_messages(PASSAGES)

    with pytest.raises(litellm.NotFoundError, match="unknown offline model"):
        litellm.completion(model="offline/oracle", messages=messages)
    with pytest.raises(litellm.BadRequestError, match="top_k"):
        litellm.completion(model=EXTRACTIVE_MODEL, messages=messages, top_k=0)


def test_registering_again_is_cheap_and_keeps_other_providers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = {"provider": "elsewhere", "custom_handler": CustomLLM()}
    monkeypatch.setattr(litellm, "custom_provider_map", [other])

    register_offline_provider()
    handler = litellm.custom_provider_map[-1]["custom_handler"]
    register_offline_provider()

    providers = [item["provider"] for item in litellm.custom_provider_map]
    assert providers == ["elsewhere", PROVIDER]
    assert litellm.custom_provider_map[-1]["custom_handler"] is handler


def test_a_foreign_handler_for_the_offline_name_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    foreign = {"provider": PROVIDER, "custom_handler": CustomLLM()}
    monkeypatch.setattr(litellm, "custom_provider_map", [foreign])

    with pytest.raises(ConfigError, match="already has"):
        register_offline_provider()


def test_a_hundred_async_calls_answer_the_same() -> None:
    messages = rag_messages(PASSAGES)

    async def hundred_calls() -> set[str]:
        replies = [
            await litellm.acompletion(model=EXTRACTIVE_MODEL, messages=messages)
            for _ in range(100)
        ]
        return {reply.choices[0].message.content for reply in replies}

    assert len(asyncio.run(hundred_calls())) == 1


def run_isolated(script: str) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a fresh interpreter from the project root."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_importing_the_module_loads_no_heavy_library() -> None:
    done = run_isolated(
        """
        import sys
        import llmbench.offline
        heavy = ("litellm", "tiktoken", "wordllama", "numpy")
        print(sorted(name for name in heavy if name in sys.modules))
        """
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_call_works_with_the_network_blocked() -> None:
    done = run_without_network(
        f"""
        import llmbench
        from llmbench.offline import register_offline_provider
        register_offline_provider()

        import litellm
        response = litellm.completion(
            model="offline/extractive", messages={rag_messages(PASSAGES)!r}
        )
        print(len(attempts), response.usage.completion_tokens)
        print(response.choices[0].message.content)
        """
    )

    assert done.returncode == 0, done.stderr
    counts, text = done.stdout.strip().split("\n")
    assert counts.split()[0] == "0"
    assert int(counts.split()[1]) > 0
    assert text == ANSWER
