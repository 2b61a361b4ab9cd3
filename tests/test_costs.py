"""Prices, estimates before a run and accounting after it.

Prices are read from litellm's bundled map in the tests too, never written
down here, so a map update cannot make the tests lie.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import numpy as np
import pandas as pd
import pytest
import tiktoken
from offline_runs import run_without_network

from llmbench import prices
from llmbench.costs import (
    accounting,
    call_cost,
    estimate,
    estimate_vs_actual,
    pareto_front,
    price_of,
    project,
    set_price,
)
from llmbench.errors import ConfigError, RunError
from llmbench.prices import Price, PriceBook, load_price_file
from llmbench.records import RECORD_COLUMNS, CallRecord, ChatRequest
from llmbench.tokens import TokenCounter

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MINI = "gpt-4o-mini"
HAIKU = "claude-haiku-4-5"
UNKNOWN = "acme-private-model-7"
BUNDLED_TOKENIZERS = Path(litellm.__file__).parent / "litellm_core_utils" / "tokenizers"


@pytest.fixture(autouse=True)
def fresh_prices() -> Iterator[None]:
    """Each test starts and ends with no Python overrides and nothing resolved."""
    prices.reset_prices()
    yield
    prices.reset_prices()


def map_entry(model: str) -> dict[str, Any]:
    """The raw entry of litellm's bundled price map."""
    assert model in litellm.model_cost, f"{model} is not in this litellm's map"
    entry: dict[str, Any] = litellm.model_cost[model]
    return entry


def map_cost(
    model: str, input_tokens: float, output_tokens: float, cached: float
) -> float:
    """A call's cost computed by hand from the map entry."""
    entry = map_entry(model)
    return (
        (input_tokens - cached) * entry["input_cost_per_token"]
        + cached * entry["cache_read_input_token_cost"]
        + output_tokens * entry["output_cost_per_token"]
    )


def request(
    case_id: str,
    model: str,
    content: str,
    *,
    version: str = "v1",
    params: dict[str, Any] | None = None,
    repeat: int = 0,
) -> ChatRequest:
    """A task request with a fixed system message."""
    return ChatRequest(
        case_id=case_id,
        model=model,
        messages=(
            {"role": "system", "content": "Answer from the context only."},
            {"role": "user", "content": content},
        ),
        params=params or {},
        repeat=repeat,
        prompt_name="qa",
        prompt_version=version,
    )


def frame_of(records: list[CallRecord]) -> pd.DataFrame:
    """Records as a run's DataFrame."""
    return pd.DataFrame([r.to_dict() for r in records], columns=list(RECORD_COLUMNS))


def record(model: str, **fields: Any) -> CallRecord:
    """A record of run r1 with the given fields."""
    base: dict[str, Any] = {
        "run_id": "r1",
        "case_id": "c1",
        "prompt_name": "qa",
        "prompt_version": "v1",
        "model": model,
        "repeat": 0,
    }
    return CallRecord(**{**base, **fields})


# Token counting


def test_token_count_matches_tiktoken_o200k_for_gpt_4o_mini(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(BUNDLED_TOKENIZERS))
    o200k = tiktoken.get_encoding("o200k_base")
    cl100k = tiktoken.get_encoding("cl100k_base")
    messages = (
        {"role": "system", "content": "The naïve café owner's résumé 東京"},
        {"role": "user", "content": "Привет, как дела? Всё хорошо."},
    )
    by_hand = 3 + sum(
        3 + len(o200k.encode(m["role"])) + len(o200k.encode(m["content"]))
        for m in messages
    )

    counted = TokenCounter().count(f"openai/{MINI}", messages)

    assert counted == by_hand
    assert len(o200k.encode(messages[1]["content"])) != len(
        cl100k.encode(messages[1]["content"])
    )


def test_token_counting_downloads_nothing(tmp_path: Path) -> None:
    script = """
        import json

        import llmbench
        from llmbench.tokens import TokenCounter

        counter = TokenCounter()
        messages = [{"role": "user", "content": "How many tokens is this?"}]
        models = [
            "gpt-4o-mini", "openai/gpt-4o-mini", "claude-haiku-4-5",
            "hosted_vllm/llama-3.1-8b-instruct", "replicate/meta/llama-2-70b",
            "deepseek/deepseek-chat", "gemini/gemini-2.5-flash",
            "text-davinci-003", "offline/extractive",
        ]
        counts = {m: counter.count(m, messages) for m in models}
        notes = counter.notes()
        print(json.dumps({"counts": counts, "notes": notes, "attempts": attempts}))
        """
    hf_home = tmp_path / "hf"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HF_HOME": str(hf_home),
        "LLMBENCH_STATE_DIR": str(tmp_path / "state"),
    }

    done = run_without_network(script, env=env)

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert all(count > 0 for count in result["counts"].values())
    assert "Falling back" not in done.stderr
    assert not hf_home.exists() or not any(hf_home.rglob("*"))
    assert any("llama-3.1-8b-instruct" in note for note in result["notes"])


def test_token_counter_counts_a_repeated_request_once() -> None:
    counter = TokenCounter()
    messages = ({"role": "user", "content": "Same prompt, every repeat."},)

    first = counter.count(MINI, messages)
    started = time.perf_counter()
    again = [counter.count(MINI, messages) for _ in range(1000)]
    elapsed = time.perf_counter() - started

    assert again == [first] * 1000
    assert elapsed < 0.5


# Prices


@pytest.mark.parametrize("model", [MINI, HAIKU])
def test_price_comes_from_litellm_map(model: str) -> None:
    entry = map_entry(model)

    price = price_of(model)

    assert price is not None
    assert price.source == "litellm"
    assert price.input_per_token_usd == entry["input_cost_per_token"]
    assert price.output_per_token_usd == entry["output_cost_per_token"]
    assert price.cached_input_per_token_usd == entry["cache_read_input_token_cost"]


def test_provider_prefix_resolves_to_the_same_entry() -> None:
    bare = price_of(MINI)

    prefixed = price_of(f"openai/{MINI}")
    anthropic = price_of(f"anthropic/{HAIKU}")

    assert prefixed == bare
    assert prefixed is not None and prefixed.key == MINI
    assert anthropic == price_of(HAIKU)


def test_call_cost_matches_litellm_cost_per_token() -> None:
    prompt_cost, completion_cost = litellm.cost_per_token(
        model=MINI,
        prompt_tokens=1200,
        completion_tokens=300,
        cache_read_input_tokens=500,
    )

    cost = call_cost(MINI, 1200, 300, cached_tokens=500)

    assert cost == pytest.approx(prompt_cost + completion_cost, rel=1e-12)


def test_cached_tokens_use_the_cached_price_or_else_the_input_price() -> None:
    book = PriceBook(overrides_file=Path("/nonexistent/prices.yaml"))
    no_cached_price = book.set_price(
        "my-model", input_per_mtok_usd=2.0, output_per_mtok_usd=8.0
    )

    mapped = call_cost(MINI, 1000, 50, cached_tokens=400)
    unmapped = no_cached_price.cost(1000, 50, cached_tokens=400)

    assert mapped == pytest.approx(map_cost(MINI, 1000, 50, 400))
    assert unmapped == pytest.approx(1000 * 2e-6 + 50 * 8e-6)


def test_file_override_wins_over_the_map(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        f"models:\n  {MINI}:\n    input_per_mtok_usd: 1.0\n"
        "    output_per_mtok_usd: 2.0\n    cached_input_per_mtok_usd: 0.5\n"
    )
    book = PriceBook(path)

    price = book.price_of(MINI)
    prefixed = book.price_of(f"openai/{MINI}")

    assert price == Price(1e-6, 2e-6, 5e-7, "override", MINI)
    assert prefixed == price


def test_python_override_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        f"models:\n  {MINI}: {{input_per_mtok_usd: 1, output_per_mtok_usd: 2}}\n"
    )
    book = PriceBook(path)
    book.price_of(MINI)

    book.set_price(MINI, input_per_mtok_usd=3.0, output_per_mtok_usd=4.0)

    price = book.price_of(MINI)
    assert price is not None
    assert (price.input_per_token_usd, price.output_per_token_usd) == (3e-6, 4e-6)


def test_set_price_gives_an_unknown_model_a_cost() -> None:
    before = call_cost(UNKNOWN, 1_000_000, 500_000)

    set_price(UNKNOWN, input_per_mtok_usd=1.0, output_per_mtok_usd=2.0)

    assert before is None
    assert call_cost(UNKNOWN, 1_000_000, 500_000) == pytest.approx(2.0)


def test_sample_price_file_prices_models_the_map_lacks(tmp_path: Path) -> None:
    overrides = load_price_file(PROJECT_ROOT / "data" / "prices.yaml")
    map_only = PriceBook(tmp_path / "absent.yaml")

    names = sorted(overrides)

    assert "hosted_vllm/llama-3.1-8b-instruct" in names
    assert len(names) >= 2
    assert all(overrides[n].source == "override" for n in names)
    assert all(map_only.price_of(n) is None for n in names)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("{input_per_mtok_usd: -1, output_per_mtok_usd: 2}", "zero or more"),
        ("{input_per_mtok_usd: 1, output_per_mtok_usd: 2, per_hour: 3}", "per_hour"),
        ("{input_per_mtok_usd: 1}", "output_per_mtok_usd"),
        ("{input_per_mtok_usd: one, output_per_mtok_usd: 2}", "numbers"),
    ],
)
def test_bad_price_file_names_the_file_and_model(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(f"models:\n  my-model: {entry}\n")

    with pytest.raises(ConfigError) as caught:
        load_price_file(path)

    assert str(path) in str(caught.value)
    assert "my-model" in str(caught.value)
    assert complaint in str(caught.value)


def test_unknown_model_has_no_price_never_zero() -> None:
    price = price_of(UNKNOWN)

    cost = call_cost(UNKNOWN, 100, 10)

    assert price is None
    assert cost is None


def test_offline_models_cost_nothing() -> None:
    price = price_of("offline/extractive")

    cost = call_cost("offline/extractive", 5000, 500, cached_tokens=100)

    assert price is not None and price.source == "offline"
    assert cost == 0.0


def test_lookups_after_the_first_are_fast() -> None:
    models = [MINI, f"openai/{MINI}", UNKNOWN, "offline/echo"]
    for model in models:
        price_of(model)

    started = time.perf_counter()
    for _ in range(5000):
        for model in models:
            price_of(model)
    per_lookup_s = (time.perf_counter() - started) / 20_000

    assert per_lookup_s < 10e-6


# Estimates before a run


def test_estimate_counts_input_tokens_exactly() -> None:
    requests = [
        request(case, MINI, f"Context: case {case}. Question?", repeat=repeat)
        for case in ("a", "b")
        for repeat in (0, 1)
    ]
    by_litellm = sum(
        litellm.token_counter(model=MINI, messages=list(r.messages)) for r in requests
    )

    result = estimate(requests, output_tokens=100)

    (row,) = result.rows
    assert row.calls == 4
    assert row.input_tokens == by_litellm
    price = price_of(MINI)
    assert price is not None
    assert row.expected_usd == pytest.approx(price.cost(by_litellm, 400))


def test_estimate_ranges_are_ordered_for_every_basis() -> None:
    history = frame_of(
        [record(MINI, output_tokens=n, prompt_version="v0") for n in (5, 80)]
    )
    requests = [
        request("a", MINI, "Q one", version="v0"),
        request("a", MINI, "Q one", version="v1", params={"max_tokens": 300}),
        request("a", MINI, "Q one", version="v2"),
        request("a", HAIKU, "Q one", version="v2", params={"max_tokens": 40}),
    ]

    result = estimate(requests, history=history)

    assert {row.output_basis for row in result.rows} == {
        "history",
        "max_tokens",
        "default",
    }
    for row in result.rows:
        assert (
            row.output_tokens_low
            <= row.output_tokens_expected
            <= row.output_tokens_high
        )
        assert row.low_usd is not None and row.expected_usd is not None
        assert row.high_usd is not None
        assert row.low_usd <= row.expected_usd <= row.high_usd
    assert result.low_usd <= result.expected_usd <= result.high_usd
    assert result.calls == 4


def test_estimate_uses_mean_and_percentiles_of_earlier_runs() -> None:
    outputs = [10, 20, 30, 40, 100]
    history = frame_of(
        [record(MINI, output_tokens=n) for n in outputs]
        + [record(MINI, output_tokens=999, status="error")]
        + [record(HAIKU, output_tokens=5000)]
    )
    requests = [request(case, MINI, f"Question {case}") for case in "abc"]

    result = estimate(requests, history=history)

    (row,) = result.rows
    assert row.output_basis == "history"
    assert row.output_tokens_expected == pytest.approx(3 * 40)
    assert row.output_tokens_low == pytest.approx(3 * np.percentile(outputs, 10))
    assert row.output_tokens_high == pytest.approx(3 * np.percentile(outputs, 90))
    assert any("earlier call" in sentence for sentence in result.assumptions)


def test_estimate_without_history_uses_half_the_cap() -> None:
    requests = [request(c, MINI, "Q", params={"max_tokens": 200}) for c in "ab"]

    result = estimate(requests)

    (row,) = result.rows
    assert (row.output_tokens_low, row.output_tokens_expected) == (0, 200)
    assert row.output_tokens_high == 400
    assert any("50% of the cap" in sentence for sentence in result.assumptions)


def test_estimate_given_output_tokens_keeps_the_cap_as_high() -> None:
    requests = [request("a", MINI, "Q", params={"max_tokens": 300})]

    result = estimate(requests, output_tokens=50)

    (row,) = result.rows
    assert (row.output_tokens_low, row.output_tokens_expected) == (50, 50)
    assert row.output_tokens_high == 300


def test_estimate_lists_unknown_models_apart_from_the_totals() -> None:
    requests = [request("a", MINI, "Q"), request("a", UNKNOWN, "Q")]

    result = estimate(requests, output_tokens=10)

    priced = [row for row in result.rows if row.model == MINI]
    assert result.unknown_models == (UNKNOWN,)
    assert result.expected_usd == pytest.approx(priced[0].expected_usd)
    frame = result.to_frame()
    unknown_row = frame[frame["model"] == UNKNOWN].iloc[0]
    assert unknown_row["price_source"] == "unknown"
    assert math.isnan(unknown_row["expected_usd"])
    assert UNKNOWN in result.summary()
    assert "Assumptions:" in result.summary()


def test_estimate_of_offline_requests_is_zero() -> None:
    requests = [request("a", "offline/extractive", "Context: x. Q?")]

    result = estimate(requests)

    assert (result.low_usd, result.expected_usd, result.high_usd) == (0, 0, 0)
    assert result.rows[0].input_tokens > 0


# Accounting after a run


def accounting_frame() -> pd.DataFrame:
    """Seven calls: a paid one, a cache hit, an error, one not run, an unpriced
    one, and two judge calls."""
    return frame_of(
        [
            record(
                MINI,
                input_tokens=1000,
                output_tokens=100,
                cached_tokens=200,
                cost_usd=0.001,
            ),
            record(
                MINI,
                input_tokens=1000,
                output_tokens=100,
                cost_usd=0.001,
                cache_hit=True,
            ),
            record(MINI, status="error", cost_usd=0.0),
            record(MINI, status="not_run", cost_usd=None),
            record(UNKNOWN, input_tokens=500, output_tokens=50, cost_usd=None),
            record(
                MINI,
                kind="judge",
                prompt_version=None,
                input_tokens=300,
                output_tokens=20,
                cost_usd=0.0005,
            ),
            record(
                MINI,
                kind="judge",
                prompt_version=None,
                input_tokens=300,
                output_tokens=20,
                cost_usd=0.0005,
                cache_hit=True,
            ),
        ]
    )


def test_accounting_pays_misses_counts_savings_and_keeps_judges_apart() -> None:
    frame = accounting_frame()

    table = accounting(frame)

    assert list(table["kind"]) == ["task", "task", "judge"]
    assert list(table["model"]) == [UNKNOWN, MINI, MINI]
    mini = table.iloc[1]
    assert (mini["calls"], mini["errors"], mini["not_run"], mini["cache_hits"]) == (
        3,
        1,
        1,
        1,
    )
    assert (mini["input_tokens"], mini["output_tokens"], mini["cached_tokens"]) == (
        2000,
        200,
        200,
    )
    assert mini["cost_usd"] == pytest.approx(0.001)
    assert mini["saved_usd"] == pytest.approx(0.001)
    assert mini["unknown_price_calls"] == 0
    judge = table.iloc[2]
    assert (judge["calls"], judge["cost_usd"], judge["saved_usd"]) == (
        2,
        0.0005,
        0.0005,
    )


def test_accounting_shows_unknown_prices_as_unknown() -> None:
    frame = accounting_frame()

    table = accounting(frame, by=("model",))

    unknown = table[table["model"] == UNKNOWN].iloc[0]
    assert unknown["unknown_price_calls"] == 1
    assert math.isnan(unknown["cost_usd"])
    assert list(table.columns[:2]) == ["kind", "model"]


def test_accounting_names_a_missing_column() -> None:
    frame = accounting_frame().drop(columns="prompt_version")

    with pytest.raises(RunError, match="prompt_version"):
        accounting(frame)


def projection_frame() -> pd.DataFrame:
    """v1 ran twice on gpt-4o-mini, v2 once offline."""
    return frame_of(
        [
            record(MINI, input_tokens=1000, output_tokens=200, cost_usd=0.0),
            record(
                MINI,
                input_tokens=1400,
                output_tokens=400,
                cached_tokens=400,
                cost_usd=0.0,
            ),
            record(MINI, status="error", input_tokens=99_999),
            record(
                "offline/extractive",
                prompt_version="v2",
                input_tokens=600,
                output_tokens=100,
            ),
        ]
    )


def test_project_prices_observed_tokens_on_each_model() -> None:
    frame = projection_frame()

    table = project(frame, [MINI, HAIKU, UNKNOWN], per=1000)

    v1 = table[table["prompt_version"] == "v1"].set_index("model")
    assert v1.loc[MINI, "projected_usd"] == pytest.approx(
        1000 * map_cost(MINI, 1200, 300, 200)
    )
    assert v1.loc[HAIKU, "projected_usd"] == pytest.approx(
        1000 * map_cost(HAIKU, 1200, 300, 200)
    )
    assert v1.loc[MINI, "tokens_basis"] == "observed on this model"
    assert v1.loc[HAIKU, "tokens_basis"] == f"observed on {MINI}"
    assert v1.loc[MINI, "observed_calls"] == 2
    assert math.isnan(v1.loc[UNKNOWN, "projected_usd"])
    assert v1.loc[UNKNOWN, "price_source"] == "unknown"
    v2 = table[table["prompt_version"] == "v2"].set_index("model")
    assert v2.loc[MINI, "projected_usd"] == pytest.approx(
        1000 * map_cost(MINI, 600, 100, 0)
    )


def test_project_recounts_input_tokens_when_given_the_requests() -> None:
    frame = projection_frame()
    requests = [
        request("a", "offline/extractive", "Context: alpha. Q?", version="v2"),
        request(
            "b", "offline/extractive", "Context: beta gamma delta. Q?", version="v2"
        ),
    ]
    by_litellm = [
        litellm.token_counter(model=HAIKU, messages=list(r.messages)) for r in requests
    ]

    table = project(frame, [HAIKU], requests=requests)

    v2 = table[table["prompt_version"] == "v2"].iloc[0]
    assert v2["input_tokens"] == pytest.approx(sum(by_litellm) / 2)
    assert v2["tokens_basis"].startswith("input recounted")
    expected = 1000 * map_cost(HAIKU, sum(by_litellm) / 2, 100, 0)
    assert v2["projected_usd"] == pytest.approx(expected)


def test_pareto_front_on_a_known_set() -> None:
    frame = pd.DataFrame(
        {
            "cost": [1.0, 2.0, 2.0, 3.0, 0.5, float("nan"), 1.0],
            "quality": [0.5, 0.7, 0.6, 0.7, 0.2, 0.9, 0.5],
        },
        index=list("ABCDEFG"),
    )

    front = pareto_front(frame, "cost", "quality")

    assert list(front[front].index) == ["A", "B", "E", "G"]
    assert front.index.equals(frame.index)


def test_estimate_vs_actual_reports_the_relative_error() -> None:
    requests = [request(c, MINI, f"Question {c}") for c in "ab"]
    planned = estimate(requests, output_tokens=100)
    price = price_of(MINI)
    assert price is not None
    counts = [
        litellm.token_counter(model=MINI, messages=list(r.messages)) for r in requests
    ]
    frame = frame_of(
        [
            record(
                MINI,
                input_tokens=counts[0],
                output_tokens=250,
                cost_usd=price.cost(counts[0], 250),
            ),
            record(
                MINI,
                input_tokens=counts[1],
                output_tokens=50,
                cost_usd=price.cost(counts[1], 50),
                cache_hit=True,
            ),
            record(MINI, kind="judge", input_tokens=900, cost_usd=1.0),
        ]
    )
    actual = price.cost(sum(counts), 300)
    estimated = price.cost(sum(counts), 200)

    table = estimate_vs_actual(planned, frame)

    (row,) = table.to_dict("records")
    assert row["model"] == MINI
    assert (row["estimated_calls"], row["actual_calls"]) == (2, 2)
    assert row["estimated_input_tokens"] == row["actual_input_tokens"] == sum(counts)
    assert row["actual_usd"] == pytest.approx(actual)
    assert row["paid_usd"] == pytest.approx(price.cost(counts[0], 250))
    assert row["relative_error"] == pytest.approx((estimated - actual) / actual)
    assert not row["within_range"]


# A budget-stopped run, accounted for


def test_accounting_of_a_budget_stopped_run_pays_only_the_ok_calls() -> None:
    from llmbench.engine import Engine
    from llmbench.errors import BudgetExceededError
    from llmbench.limits import reservation_usd
    from llmbench.testing import LocalServer

    with LocalServer.start(cached_fraction=0.5) as server:
        requests = [
            request(
                f"c{i}",
                f"openai/{MINI}",
                f"question number {i}",
                params={
                    "api_base": server.base_url,
                    "temperature": 0,
                    "max_tokens": 20,
                },
            )
            for i in range(8)
        ]
        probe = Engine(cache=False, store=False, progress=False).run(requests[:1])
        cost = probe.records[0].cost_usd or 0.0
        budget = 2 * cost + (reservation_usd(requests[0]) or 0.0)
        capped = Engine(concurrency=1, budget_usd=budget, progress=False)

        with pytest.raises(BudgetExceededError) as raised:
            capped.run(requests, run_id="capped")

    frame = raised.value.result.to_frame()  # type: ignore[attr-defined]
    table = accounting(frame, by=("model",))

    (row,) = table.to_dict("records")
    ok = frame[frame["status"] == "ok"]
    assert (row["calls"], row["not_run"]) == (3, 5)
    assert row["not_run"] == raised.value.not_run
    assert row["cost_usd"] == pytest.approx(ok["cost_usd"].sum())
    assert row["cost_usd"] == pytest.approx(raised.value.spent_usd)
    assert row["input_tokens"] == ok["input_tokens"].sum()
    assert row["cached_tokens"] == ok["cached_tokens"].sum() > 0
    assert list(frame["status"]) == ["ok"] * 3 + ["not_run"] * 5
    assert set(frame.loc[frame["status"] == "not_run", "error_type"]) == {"budget"}


# Estimate vs actual on constructed runs


def test_estimate_vs_actual_per_model_on_a_constructed_run() -> None:
    mini_requests = [request(c, MINI, f"Question {c}?") for c in "abc"]
    haiku_requests = [request(c, HAIKU, f"Question {c}?") for c in "ab"]
    planned = estimate(
        [*mini_requests, *haiku_requests, request("z", UNKNOWN, "Q?")],
        output_tokens=40,
    )
    rows = {row.model: row for row in planned.rows}
    mini_price, haiku_price = price_of(MINI), price_of(HAIKU)
    assert mini_price is not None and haiku_price is not None
    mini_input = rows[MINI].input_tokens // 3
    haiku_input = rows[HAIKU].input_tokens // 2
    frame = frame_of(
        [
            record(
                MINI,
                case_id=c,
                input_tokens=mini_input,
                output_tokens=40,
                cost_usd=mini_price.cost(mini_input, 40),
            )
            for c in "abc"
        ]
        + [
            record(
                HAIKU,
                case_id=c,
                input_tokens=haiku_input,
                output_tokens=80,
                cost_usd=haiku_price.cost(haiku_input, 80),
            )
            for c in "ab"
        ]
        + [record(HAIKU, case_id="c", status="not_run", cost_usd=None)]
        + [record(UNKNOWN, case_id="z", input_tokens=9, output_tokens=9, cost_usd=None)]
    )

    table = estimate_vs_actual(planned, frame).set_index("model")

    mini = table.loc[MINI]
    assert mini["actual_calls"] == 3
    assert mini["relative_error"] == pytest.approx(0.0, abs=0.02)
    assert bool(mini["within_range"])
    haiku = table.loc[HAIKU]
    assert haiku["actual_calls"] == 2
    estimated = haiku_price.cost(2 * haiku_input, 80)
    actual = haiku_price.cost(2 * haiku_input, 160)
    assert haiku["relative_error"] == pytest.approx((estimated - actual) / actual)
    assert haiku["relative_error"] < 0
    assert not bool(haiku["within_range"])
    unknown = table.loc[UNKNOWN]
    assert math.isnan(unknown["estimated_usd"])
    assert math.isnan(unknown["actual_usd"])
    assert math.isnan(unknown["relative_error"])
