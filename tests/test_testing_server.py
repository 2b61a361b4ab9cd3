"""The local OpenAI-compatible stub server: lifecycle, replies, faults, stats."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from pydantic import BaseModel, Field

from llmbench.errors import ConfigError
from llmbench.testing import LocalServer

pytest_plugins = ["llmbench.testing.fixtures"]

QUESTION = [{"role": "user", "content": "What is the capital of France ?"}]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One HTTP client for the module, blind to proxy settings."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


def post(
    http: httpx.Client,
    server: LocalServer,
    path: str,
    body: dict[str, Any],
    *,
    fault: str | None = None,
    timeout_s: float = 5.0,
) -> httpx.Response:
    """POST JSON to the server, optionally asking for a fault."""
    headers = {"X-Fault": fault} if fault else {}
    return http.post(
        server.base_url + path, json=body, headers=headers, timeout=timeout_s
    )


def chat(
    http: httpx.Client,
    server: LocalServer,
    messages: list[dict[str, str]],
    **extra: Any,
) -> Any:
    """A chat completion's JSON body, asserting a 200."""
    body = {"model": "m", "messages": messages, **extra}
    response = post(http, server, "/chat/completions", body)
    assert response.status_code == 200, response.text
    return response.json()


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_in_process_server_starts_and_stops_cleanly(http: httpx.Client) -> None:
    server = LocalServer.start()
    port = server.port

    health = http.get(server.url + "/healthz")
    server.stop()
    server.stop()

    assert health.json() == {"ok": True}
    assert server.base_url == f"http://127.0.0.1:{port}/v1"
    assert server.pid is None
    assert not server.running
    assert not port_is_open(port)
    assert "llmbench-stub-server" not in [t.name for t in threading.enumerate()]


def test_subprocess_server_starts_and_stops_cleanly(http: httpx.Client) -> None:
    with LocalServer.start(in_process=False, latency_s=0.01) as server:
        reply = chat(http, server, QUESTION)
        pid, port = server.pid, server.port

    assert reply["choices"][0]["message"]["content"].startswith("stub reply:")
    assert pid is not None and pid != os.getpid()
    assert not server.running
    assert not port_is_open(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_command_line_prints_base_url_first_and_takes_fault_flags(
    http: httpx.Client,
) -> None:
    command = [sys.executable, "-m", "llmbench.testing", "--fault", "500=1.0"]
    command += ["--exit-on-stdin-eof"]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdin is not None

    try:
        base_url = process.stdout.readline().strip()
        body = {"model": "m", "messages": QUESTION}
        response = http.post(base_url + "/chat/completions", json=body)
    finally:
        process.stdin.close()  # the server stops at the end of its stdin
        code = process.wait(timeout=10)
        process.stdout.close()

    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
    assert response.status_code == 500
    assert code == 0


def test_litellm_call_gets_the_reply_and_usage(local_server: LocalServer) -> None:
    import litellm

    local_server.configure(cached_fraction=0.5)
    messages = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "What is the capital of France ?"},
    ]

    response = asyncio.run(
        litellm.acompletion(
            model="openai/stub",
            messages=messages,
            api_base=local_server.base_url,
            api_key="sk-test",
            num_retries=0,
            max_retries=0,
        )
    )

    assert response.choices[0].message.content == (
        "stub reply: What is the capital of France ?"
    )
    assert response.model.endswith("stub")
    assert response.usage.prompt_tokens == 4 + 7
    assert response.usage.completion_tokens == 9
    assert response.usage.total_tokens == 20
    assert response.usage.prompt_tokens_details.cached_tokens == 5
    assert local_server.stats()["requests"]["chat"] == 1


def test_litellm_raises_rate_limit_error_on_429(local_server: LocalServer) -> None:
    import litellm

    local_server.configure(retry_after_s=0)

    with pytest.raises(litellm.RateLimitError):
        asyncio.run(
            litellm.acompletion(
                model="openai/stub",
                messages=QUESTION,
                api_base=local_server.base_url,
                api_key="sk-test",
                extra_headers={"X-Fault": "429"},
                num_retries=0,
                max_retries=0,
            )
        )

    assert local_server.stats()["faults"]["429"] == 1


def test_429_carries_retry_after(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.configure(retry_after_s=2.5)
    body = {"messages": QUESTION}

    response = post(http, local_server, "/chat/completions", body, fault="429")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["retry-after-ms"] == "2500"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_500_and_malformed_faults(
    local_server: LocalServer, http: httpx.Client
) -> None:
    body = {"messages": QUESTION}

    server_error = post(http, local_server, "/chat/completions", body, fault="500")
    malformed = post(http, local_server, "/chat/completions", body, fault="malformed")

    assert server_error.status_code == 500
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)


def test_dropped_connection_gets_no_response(
    local_server: LocalServer, http: httpx.Client
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(
            http,
            local_server,
            "/chat/completions",
            {"messages": QUESTION},
            fault="drop",
        )

    assert local_server.stats()["faults"]["drop"] == 1


def test_timeout_fault_hangs_past_the_client_timeout(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.configure(hang_s=5)
    started = time.perf_counter()

    with pytest.raises(httpx.ReadTimeout):
        post(
            http,
            local_server,
            "/chat/completions",
            {"messages": QUESTION},
            fault="timeout",
            timeout_s=0.3,
        )

    assert time.perf_counter() - started < 2
    assert local_server.stats()["faults"]["timeout"] == 1


def test_unknown_fault_header_is_refused(
    local_server: LocalServer, http: httpx.Client
) -> None:
    body = {"messages": QUESTION}

    unknown = post(http, local_server, "/chat/completions", body, fault="503")
    none = post(http, local_server, "/chat/completions", body, fault="none")

    assert unknown.status_code == 400
    assert "X-Fault must be one of" in unknown.json()["error"]["message"]
    assert none.status_code == 200


def test_random_faults_repeat_with_the_seed(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.configure(faults={"500": 0.3, "429": 0.2}, seed=7, retry_after_s=0)
    body = {"messages": QUESTION}

    first = [
        post(http, local_server, "/chat/completions", body).status_code
        for _ in range(30)
    ]
    local_server.reset()
    second = [
        post(http, local_server, "/chat/completions", body).status_code
        for _ in range(30)
    ]

    assert first == second
    assert {200, 429, 500} == set(first)
    stats = local_server.stats()
    assert stats["faults"]["500"] == first.count(500)
    assert stats["faults"]["429"] == first.count(429)


def test_fail_first_fails_each_message_n_times(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.configure(fail_first=2, fail_first_fault="500")

    statuses = {
        text: [
            post(
                http,
                local_server,
                "/chat/completions",
                {"messages": [{"role": "user", "content": text}]},
            ).status_code
            for _ in range(3)
        ]
        for text in ("first case", "second case")
    }

    assert statuses == {"first case": [500, 500, 200], "second case": [500, 500, 200]}


def test_streaming_is_refused_with_a_clear_message(
    local_server: LocalServer, http: httpx.Client
) -> None:
    body = {"messages": QUESTION, "stream": True}

    response = post(http, local_server, "/chat/completions", body)

    assert response.status_code == 400
    assert "stream" in response.json()["error"]["message"]
    assert local_server.stats()["bad_requests"] == 1


def test_scripted_replies_cycle_in_order(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.configure(replies=["one", "two"])

    texts = [
        chat(http, local_server, QUESTION)["choices"][0]["message"]["content"]
        for _ in range(3)
    ]

    assert texts == ["one", "two", "one"]


def test_scripted_mapping_answers_by_substring(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.configure(replies={"France": "Paris", "verdict": {"verdict": 0}})

    paris = chat(http, local_server, QUESTION)
    verdict = chat(
        http, local_server, [{"role": "user", "content": "give the verdict"}]
    )
    other = chat(http, local_server, [{"role": "user", "content": "hello"}])

    assert paris["choices"][0]["message"]["content"] == "Paris"
    assert json.loads(verdict["choices"][0]["message"]["content"]) == {"verdict": 0}
    assert other["choices"][0]["message"]["content"] == "stub reply: hello"


class Verdict(BaseModel):
    statement: str
    reason: str = Field(min_length=5)
    verdict: int = Field(ge=0, le=1)
    label: str = Field(json_schema_extra={"enum": ["supported", "unsupported"]})


class Verdicts(BaseModel):
    statements: list[Verdict]
    confidence: float
    note: str | None = None


def test_judge_mode_fits_a_schema_in_the_prompt(
    local_server: LocalServer, http: httpx.Client
) -> None:
    schema = Verdicts.model_json_schema()
    prompt = (
        "Judge each statement.\nPlease return the output in a JSON format that "
        f"complies with the following schema as specified in JSON Schema:\n"
        f"{json.dumps(schema)}Do not use single quotes.\n"
        'Example output: {"statements": []}'
    )

    reply = chat(http, local_server, [{"role": "user", "content": prompt}])

    content = json.loads(reply["choices"][0]["message"]["content"])
    jsonschema.validate(content, schema)
    assert content["statements"][0]["label"] == "supported"
    Verdicts.model_validate(content)


def test_judge_mode_follows_response_format(
    local_server: LocalServer, http: httpx.Client
) -> None:
    schema = Verdict.model_json_schema()
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "v", "schema": schema},
    }

    with_schema = chat(http, local_server, QUESTION, response_format=response_format)
    json_object = chat(
        http, local_server, QUESTION, response_format={"type": "json_object"}
    )

    jsonschema.validate(
        json.loads(with_schema["choices"][0]["message"]["content"]), schema
    )
    assert isinstance(json.loads(json_object["choices"][0]["message"]["content"]), dict)


def test_max_tokens_and_n_shape_the_choices(
    local_server: LocalServer, http: httpx.Client
) -> None:
    reply = chat(http, local_server, QUESTION, max_tokens=3, n=2)

    assert [c["message"]["content"] for c in reply["choices"]] == [
        "stub reply: What"
    ] * 2
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 6


def test_embeddings_are_deterministic_unit_vectors(
    local_server: LocalServer, http: httpx.Client
) -> None:
    texts = [
        "Paris is the capital of France",
        "the capital of France is Paris",
        "turtles",
    ]

    first = post(
        http, local_server, "/embeddings", {"model": "e", "input": texts}
    ).json()
    again = post(
        http, local_server, "/embeddings", {"model": "e", "input": texts[0]}
    ).json()

    vectors = [item["embedding"] for item in first["data"]]
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert again["data"][0]["embedding"] == vectors[0]
    assert sum(v * v for v in vectors[0]) == pytest.approx(1.0, abs=1e-4)
    same = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    assert same == pytest.approx(1.0, abs=1e-4)
    assert first["usage"]["prompt_tokens"] == 13


def test_stats_count_requests_and_reset(
    local_server: LocalServer, http: httpx.Client
) -> None:
    before = time.time()
    chat(http, local_server, QUESTION)
    chat(http, local_server, QUESTION)
    post(http, local_server, "/embeddings", {"input": "x"})
    models = http.get(local_server.base_url + "/models").json()

    stats = local_server.stats()
    local_server.reset()

    assert models["data"][0]["id"] == "stub"
    assert stats["requests"] == {"chat": 2, "embeddings": 1, "models": 1, "healthz": 0}
    assert stats["first_chat_at"] is not None and stats["last_chat_at"] is not None
    assert before <= stats["first_chat_at"] <= stats["last_chat_at"] <= time.time()
    assert stats["prompt_tokens"] == 14
    assert local_server.stats()["requests"]["chat"] == 0


def test_configure_sets_latency_and_rejects_unknown_settings(
    local_server: LocalServer, http: httpx.Client
) -> None:
    settings = local_server.configure(latency_s=0.2)
    started = time.perf_counter()
    chat(http, local_server, QUESTION)
    elapsed = time.perf_counter() - started

    assert settings.latency_s == 0.2
    assert elapsed >= 0.2
    with pytest.raises(ConfigError, match="unknown stub server setting"):
        local_server.configure(latency=1)
    with pytest.raises(ConfigError, match="fault"):
        LocalServer.start(faults={"503": 0.5})
