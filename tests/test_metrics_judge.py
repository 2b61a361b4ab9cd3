"""LLM-judged metrics end to end: ragas -> litellm -> the local stub server."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pandas as pd
import pytest

from llmbench.metrics import Judge, ascore, score
from llmbench.records import CallRecord
from llmbench.testing import LocalServer

QUESTION = "What is the capital of France?"
CASES = {
    f"c{i}": {
        "question": QUESTION,
        "answer": "Paris",
        "contexts": ["Paris is the capital of France.", "France is in Europe."],
    }
    for i in range(3)
}
#: ragas' faithfulness asks twice: split the answer into statements, then judge
#: each against the context. These replies make one of two statements supported.
FAITHFULNESS_SCRIPT = {
    "Break down each sentence": {
        "statements": ["Paris is the capital of France.", "Paris has a moon base."]
    },
    "judge the faithfulness of a series": {
        "statements": [
            {
                "statement": "Paris is the capital of France.",
                "reason": "stated",
                "verdict": 1,
            },
            {
                "statement": "Paris has a moon base.",
                "reason": "not stated",
                "verdict": 0,
            },
        ]
    },
}
SECRET = "sk-test-do-not-leak-1234"


def task_frame(n: int = 3) -> pd.DataFrame:
    """n task calls answering cases c0..c(n-1)."""
    return pd.DataFrame(
        [
            CallRecord(
                run_id="run-7",
                case_id=f"c{i}",
                prompt_name="qa",
                prompt_version="v2",
                model="offline/extractive",
                repeat=0,
                output_text="Paris is the capital of France. Paris has a moon base.",
            ).to_dict()
            for i in range(n)
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One stub server for the module; tests reset it and script its replies."""
    with LocalServer.start() as running:
        yield running


@pytest.fixture
def stub(server: LocalServer) -> LocalServer:
    server.configure(replies=None, faults={})
    server.reset()
    return server


def test_scripted_judge_gives_the_expected_score_and_counts_every_call(
    stub: LocalServer,
) -> None:
    stub.configure(replies=FAITHFULNESS_SCRIPT)
    judge = Judge(
        "openai/judge-stub",
        api_base=stub.base_url,
        api_key=SECRET,
        input_usd_per_million=2.0,
        output_usd_per_million=8.0,
        cache=False,  # the three cases ask the same questions
    )

    result = score(task_frame(), ["faithfulness"], CASES, judge=judge)

    assert result["score"].tolist() == [0.5, 0.5, 0.5]
    chat_calls = stub.stats()["requests"]["chat"]
    assert chat_calls == 6
    assert len(judge.records) == chat_calls
    first = judge.records[0]
    assert (first.kind, first.status, first.run_id) == ("judge", "ok", "run-7")
    assert {r.case_id for r in judge.records} == {"c0", "c1", "c2"}
    assert first.metadata == {
        "metric": "faithfulness",
        "scored_model": "offline/extractive",
    }
    assert first.input_tokens > 0 and first.output_tokens > 0
    expected_cost = sum(
        r.input_tokens * 2.0e-6 + r.output_tokens * 8.0e-6 for r in judge.records
    )
    assert judge.total_cost_usd == pytest.approx(expected_cost)
    assert SECRET not in repr(judge)
    assert SECRET not in judge.usage_frame().to_json()


def test_every_judge_metric_scores_through_litellm(stub: LocalServer) -> None:
    judge = Judge("openai/judge-stub", api_base=stub.base_url)
    names = [
        "faithfulness",
        "answer_relevancy",
        "answer_correctness",
        "factual_correctness",
        "llm_context_precision",
        "llm_context_recall",
    ]

    result = score(task_frame(1), names, CASES, judge=judge)

    assert result["metric"].tolist() == names
    assert result["score"].notna().all(), result[["metric", "detail"]]
    made = [r for r in judge.records if not r.cache_hit]
    assert len(made) == stub.stats()["requests"]["chat"]
    assert stub.stats()["requests"]["embeddings"] == 0  # embeddings stay offline


def test_judge_metrics_work_inside_a_running_event_loop(stub: LocalServer) -> None:
    stub.configure(replies=FAITHFULNESS_SCRIPT)
    judge = Judge("openai/judge-stub", api_base=stub.base_url)

    async def notebook_cell() -> tuple[pd.DataFrame, pd.DataFrame]:
        awaited = await ascore(task_frame(2), ["faithfulness"], CASES, judge=judge)
        blocking = score(task_frame(2), ["faithfulness"], CASES, judge=judge)
        return awaited, blocking

    awaited, blocking = asyncio.run(notebook_cell())

    assert awaited["score"].tolist() == [0.5, 0.5]
    assert blocking["score"].tolist() == [0.5, 0.5]
    assert len(judge.records) == 8


def test_unparseable_judge_replies_score_nan_with_a_reason(stub: LocalServer) -> None:
    stub.configure(replies=["this is not JSON at all"])
    judge = Judge("openai/judge-stub", api_base=stub.base_url)

    result = score(task_frame(1), ["faithfulness"], CASES, judge=judge)

    assert math.isnan(result["score"].iloc[0])
    assert result["detail"].iloc[0].startswith("judge failed:")
    assert len(judge.records) == stub.stats()["requests"]["chat"] >= 1


def test_judge_error_details_never_carry_the_key() -> None:
    judge = Judge("openai/judge-stub", api_base="http://127.0.0.1:9", api_key=SECRET)

    text = judge.scrub(
        f"401: Incorrect API key provided: {SECRET} (and sk-other-12345678)"
    )

    assert SECRET not in text
    assert "sk-other-12345678" not in text
    assert text.startswith("401: Incorrect API key provided: [redacted]")


def test_the_judge_can_come_from_the_environment(
    stub: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub.configure(replies=FAITHFULNESS_SCRIPT)
    monkeypatch.setenv("LLMBENCH_JUDGE_MODEL", "openai/env-judge")
    monkeypatch.setenv("LLMBENCH_JUDGE_API_BASE", stub.base_url)

    result = score(task_frame(1), ["faithfulness"], CASES)

    assert result["score"].tolist() == [0.5]
    assert stub.stats()["requests"]["chat"] == 2


def test_rescoring_replays_cached_verdicts_and_pays_nothing(stub: LocalServer) -> None:
    stub.configure(replies=FAITHFULNESS_SCRIPT)
    first = Judge(
        "openai/judge-stub", api_base=stub.base_url, input_usd_per_million=2.0
    )
    score(task_frame(1), ["faithfulness"], CASES, judge=first)
    sent = stub.stats()["requests"]["chat"]

    again = Judge(
        "openai/judge-stub", api_base=stub.base_url, input_usd_per_million=2.0
    )
    result = score(task_frame(1), ["faithfulness"], CASES, judge=again)

    assert result["score"].tolist() == [0.5]
    assert stub.stats()["requests"]["chat"] == sent == 2
    assert [r.cache_hit for r in again.records] == [True, True]
    assert [r.cost_usd for r in again.records] == [r.cost_usd for r in first.records]
    assert first.total_cost_usd and first.total_cost_usd > 0
    assert again.total_cost_usd == 0
