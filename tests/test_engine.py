"""The call engine through real HTTP: a local OpenAI-compatible server, litellm
and the direct route, the response cache, retries, budgets and resume."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmbench.config import state_dir
from llmbench.engine import Engine
from llmbench.errors import BudgetExceededError
from llmbench.limits import reservation_usd
from llmbench.records import ChatRequest
from llmbench.runs import load_run
from llmbench.testing import LocalServer

PRICED_MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer.start() as running:
        yield running


def ask(
    server: LocalServer,
    n: int,
    *,
    model: str = PRICED_MODEL,
    repeats: int = 1,
    **params: object,
) -> list[ChatRequest]:
    """`n` distinct questions, each repeated `repeats` times."""
    return [
        ChatRequest(
            case_id=f"case-{i}",
            model=model,
            messages=({"role": "user", "content": f"question number {i} please"},),
            params={"api_base": server.base_url, **params},
            repeat=r,
        )
        for i in range(n)
        for r in range(repeats)
    ]


def engine(**options: object) -> Engine:
    defaults: dict[str, object] = {"progress": False, "backoff_s": 0.01}
    return Engine(**(defaults | options))  # type: ignore[arg-type]


@pytest.mark.parametrize("route", ["litellm", "direct"])
def test_records_carry_tokens_cost_and_latency(server: LocalServer, route: str) -> None:
    import litellm

    requests = ask(server, 3, temperature=0)

    result = engine(route=route).run(requests)

    prices = litellm.model_cost["gpt-4o-mini"]
    for record in result.records:
        assert record.status == "ok", record.error_message
        assert record.output_text.startswith("stub reply: question number")
        # The stub counts whitespace-separated words: 4 in, 2 + 4 out.
        assert (record.input_tokens, record.output_tokens) == (4, 6)
        expected = (
            4 * prices["input_cost_per_token"] + 6 * prices["output_cost_per_token"]
        )
        assert record.cost_usd == pytest.approx(expected)
        assert record.latency_s > 0
        assert record.attempts == 1
    assert [r.case_id for r in result.records] == ["case-0", "case-1", "case-2"]
    assert server.stats()["requests"]["chat"] == 3


def test_second_run_is_served_from_cache_and_pays_nothing(server: LocalServer) -> None:
    requests = ask(server, 4, temperature=0)
    first = engine().run(requests)

    second = engine().run(requests)

    assert first.cache_hits == 0 and first.paid_usd > 0
    assert second.cache_hits == 4
    assert second.paid_usd == 0
    assert [r.output_text for r in second.records] == [
        r.output_text for r in first.records
    ]
    assert server.stats()["requests"]["chat"] == 4


def test_cache_miss_reasons_name_the_new_part(server: LocalServer) -> None:
    engine().run(ask(server, 2, temperature=0))

    warmer = engine().run(ask(server, 2, temperature=0.7))
    other_model = engine().run(ask(server, 2, model="openai/gpt-4o", temperature=0))
    sampled = engine().run(ask(server, 1, repeats=3, temperature=0.7))

    assert set(warmer.miss_reasons) == {"params changed: temperature"}
    assert set(other_model.miss_reasons) == {"new model"}
    # Repeat 0 was cached by `warmer`; each further repeat is its own call.
    assert sampled.cache_hits == 1
    assert set(sampled.miss_reasons) == {"new repeat index 1", "new repeat index 2"}


def test_repeats_share_one_answer_at_temperature_zero(server: LocalServer) -> None:
    engine(concurrency=1).run(ask(server, 1, repeats=3, temperature=0))

    assert server.stats()["requests"]["chat"] == 1


@pytest.mark.parametrize("fault", ["429", "500", "drop", "malformed"])
def test_retryable_failures_are_retried(server: LocalServer, fault: str) -> None:
    server.configure(fail_first=2, fail_first_fault=fault, retry_after_s=0.01)

    result = engine(route="direct").run(ask(server, 3, temperature=0))

    assert [r.status for r in result.records] == ["ok"] * 3
    assert [r.attempts for r in result.records] == [3] * 3


def test_rate_limits_honour_retry_after_through_litellm(server: LocalServer) -> None:
    server.configure(fail_first=1, fail_first_fault="429", retry_after_s=0.3)
    runner = engine(route="litellm", backoff_s=5.0)

    result = runner.run(ask(server, 2, temperature=0))

    assert [r.attempts for r in result.records] == [2, 2]
    assert runner.stats.rate_limited == 2
    # Retry-After (0.3 s), not the 5 s backoff, decided the wait.
    assert all(r.status == "ok" for r in result.records)


def test_client_errors_are_final_and_failures_are_recorded_not_raised(
    server: LocalServer,
) -> None:
    # The stub refuses streaming with a 400.
    requests = [*ask(server, 1, stream=True), *ask(server, 1, temperature=0)]

    result = engine(route="direct").run(requests)

    failed, fine = result.records
    assert (failed.status, failed.error_type, failed.attempts) == (
        "error",
        "HTTP 400",
        1,
    )
    assert "stream" in (failed.error_message or "")
    assert fine.status == "ok"


def test_errors_are_never_cached(server: LocalServer) -> None:
    server.configure(faults={"500": 1.0})
    failed = engine(max_retries=0).run(ask(server, 2, temperature=0))
    server.configure(faults={})

    again = engine().run(ask(server, 2, temperature=0))

    assert {r.status for r in failed.records} == {"error"}
    assert again.cache_hits == 0
    assert {r.status for r in again.records} == {"ok"}


def test_timeouts_are_retried_then_recorded(server: LocalServer) -> None:
    server.configure(faults={"timeout": 1.0}, hang_s=5.0)

    result = engine(timeout_s=0.2, max_retries=1).run(ask(server, 1, temperature=0))

    (record,) = result.records
    assert (record.status, record.error_type, record.attempts) == (
        "error",
        "Timeout",
        2,
    )
    assert record.latency_s >= 0.2  # the time the last attempt waited


def test_interrupted_run_resumes_without_paying_twice(server: LocalServer) -> None:
    server.configure(latency_s=0.1)
    requests = ask(server, 24, temperature=0)

    async def interrupted() -> None:
        task = asyncio.create_task(engine(concurrency=4).arun(requests, run_id="first"))
        await asyncio.sleep(0.35)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    saved = load_run("first")
    sent_before = server.stats()["requests"]["chat"]

    resumed = engine(concurrency=8).run(requests)

    done = {r.case_id for r in saved.records if r.status == "ok"}
    assert 0 < len(done) < 24
    assert resumed.cache_hits == len(done)
    assert {r.case_id for r in resumed.records if r.cache_hit} == done
    # Only the calls that had not finished are sent again.
    assert server.stats()["requests"]["chat"] - sent_before == 24 - len(done)


def test_budget_stops_the_run_and_saves_everything(server: LocalServer) -> None:
    requests = ask(server, 10, temperature=0, max_tokens=20)
    probe = engine(cache=False, store=False).run(requests[:1]).records[0]
    cost, reserved = probe.cost_usd or 0.0, reservation_usd(requests[0]) or 0.0
    # Two calls paid plus one reservation fit; a fourth would cross the line.
    budget = 2 * cost + reserved

    with pytest.raises(BudgetExceededError) as raised:
        engine(concurrency=1, budget_usd=budget).run(requests, run_id="capped")

    error = raised.value
    saved = load_run("capped")
    statuses = [r.status for r in saved.records]
    assert statuses.count("ok") == 3
    assert error.not_run == statuses.count("not_run") == 7
    assert error.spent_usd == pytest.approx(3 * cost)
    assert all(r.error_type == "budget" for r in saved.records if r.status == "not_run")

    finished = engine(budget_usd=1.0).run(requests)
    assert finished.cache_hits == 3
    assert finished.paid_usd == pytest.approx(7 * cost)


def test_sync_run_works_inside_a_running_event_loop(server: LocalServer) -> None:
    async def notebook_cell() -> int:
        return len(engine().run(ask(server, 2, temperature=0)).records)

    assert asyncio.run(notebook_cell()) == 2


def test_pacing_spaces_calls_per_model(server: LocalServer) -> None:
    import time

    started = time.perf_counter()
    engine(rpm=1200, cache=False).run(ask(server, 5, temperature=0))

    # 1,200 rpm is one start every 50 ms: five starts span at least 200 ms.
    assert time.perf_counter() - started >= 0.2


def test_secrets_never_reach_records_logs_or_cache(
    server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sealed_environment: Path,
) -> None:
    secret = "sk-test-0123456789abcdefSECRET"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    server.configure(fail_first=1, fail_first_fault="500")
    caplog.set_level(logging.DEBUG)

    for route in ("litellm", "direct"):
        engine(route=route, max_retries=0).run(ask(server, 1, temperature=0))

    written = "".join(
        path.read_text(errors="replace")
        for path in sealed_environment.rglob("*")
        if path.is_file()
    )
    assert secret not in written
    assert secret not in caplog.text


def test_records_file_holds_one_json_line_per_call(server: LocalServer) -> None:
    engine().run(ask(server, 3, temperature=0), run_id="lines")

    lines = (state_dir() / "runs" / "lines" / "records.jsonl").read_text().splitlines()
    meta = load_run("lines").meta
    assert sorted(json.loads(line)["case_id"] for line in lines) == [
        "case-0",
        "case-1",
        "case-2",
    ]
    assert (meta["calls"], meta["ok"], meta["requested"]) == (3, 3, 3)
