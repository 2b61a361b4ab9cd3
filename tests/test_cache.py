"""Cache keys: what makes two calls the same call."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmbench.cache import ResponseCache, cache_key, is_sampling
from llmbench.records import ChatRequest


def request(repeat: int = 0, **params: object) -> ChatRequest:
    return ChatRequest(
        case_id="c1",
        model="openai/gpt-4o-mini",
        messages=({"role": "user", "content": "hi"},),
        params=params,
        repeat=repeat,
    )


def test_sampling_is_temperature_above_zero_or_unset_or_several_samples() -> None:
    assert is_sampling({}) is True
    assert is_sampling({"temperature": 0.7}) is True
    assert is_sampling({"temperature": 0, "n": 3}) is True
    assert is_sampling({"temperature": 0}) is False


def test_repeats_share_a_key_only_when_not_sampling() -> None:
    assert cache_key(request(0, temperature=0)) == cache_key(request(4, temperature=0))
    assert cache_key(request(0, temperature=1)) != cache_key(request(1, temperature=1))


def test_every_output_param_is_in_the_key_and_transport_params_are_not() -> None:
    base = cache_key(request(temperature=0))

    assert cache_key(request(temperature=0, max_tokens=5)) != base
    assert cache_key(request(temperature=0, seed=1)) != base
    assert cache_key(request(temperature=0, timeout=3, num_retries=2)) == base
    assert cache_key(request(temperature=0, metadata={"x": 1})) == base


def test_credentials_never_enter_the_key_or_the_store(tmp_path: Path) -> None:
    secret = "sk-never-store-this-0123456789"
    key = cache_key(request(temperature=0, api_key=secret))
    cache = ResponseCache(tmp_path / "cache.sqlite")

    cache.put(key, {"output_text": "ok"})
    cache.close()

    assert key == cache_key(request(temperature=0))
    assert secret.encode() not in (tmp_path / "cache.sqlite").read_bytes()


def test_miss_reasons_name_the_first_difference(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put(cache_key(request(temperature=0.5)), {"output_text": "ok"})

    reasons = [
        cache.explain_miss(cache_key(request(1, temperature=0.5))),
        cache.explain_miss(cache_key(request(temperature=0.9))),
        cache.explain_miss(cache_key(request(temperature=0.5, max_tokens=9))),
    ]

    assert reasons == [
        "new repeat index 1",
        "params changed: temperature",
        "params changed: max_tokens",
    ]
    assert len(cache) == 1


def test_token_limits_are_not_mistaken_for_credentials() -> None:
    from llmbench.redact import is_secret_name

    assert not any(map(is_secret_name, ["max_tokens", "max_completion_tokens"]))
    assert all(
        map(is_secret_name, ["api_key", "HF_TOKEN", "auth_token", "Authorization"])
    )


def test_redaction_spares_ordinary_words_and_catches_named_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmbench.redact import redact

    monkeypatch.setenv("MISTRAL_KEY", "mistral-value-123456")

    assert redact("task-management and ask-questions") == (
        "task-management and ask-questions"
    )
    assert "mistral-value-123456" not in redact("key=mistral-value-123456")
    assert "sk-abcdef123456" not in redact("Bearer sk-abcdef123456")
