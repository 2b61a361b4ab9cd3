"""Cost report tables: the estimate per model, the budget's stop, savings, quality."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from llmbench import cost_tables
from llmbench.costs import estimate, project
from llmbench.datasets import load_dataset
from llmbench.errors import RunError
from llmbench.prices import price_of
from llmbench.records import RECORD_COLUMNS, CallRecord

MINI = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4-5"
UNKNOWN = "acme-private-model-7"


def frame_of(*records: CallRecord) -> pd.DataFrame:
    """Records as a run's DataFrame."""
    return pd.DataFrame([r.to_dict() for r in records], columns=list(RECORD_COLUMNS))


def record(model: str = MINI, **fields: Any) -> CallRecord:
    """A task record of run r1 on case c1, version v1."""
    base: dict[str, Any] = {
        "run_id": "r1",
        "case_id": "c1",
        "prompt_name": "qa_answer",
        "prompt_version": "v1",
        "model": model,
        "repeat": 0,
    }
    return CallRecord(**{**base, **fields})


def test_plan_requests_is_the_comparison_matrix() -> None:
    requests = cost_tables.plan_requests(
        "qa_answer",
        ["v1-no-context", "v4-top-passage"],
        [MINI, HAIKU],
        "qa_sample",
        repeats=2,
        limit=3,
        params={"api_base": "http://127.0.0.1:9/v1"},
    )

    assert len(requests) == 2 * 2 * 3 * 2
    assert {r.prompt_version for r in requests} == {"v1-no-context", "v4-top-passage"}
    assert len({r.case_id for r in requests}) == 3
    assert all(r.params["api_base"] == "http://127.0.0.1:9/v1" for r in requests)
    assert all(r.params["max_tokens"] == 128 for r in requests)


def test_estimate_by_model_sums_versions_and_adds_a_total_row() -> None:
    requests = cost_tables.plan_requests(
        "qa_answer", None, [MINI, HAIKU, UNKNOWN], "qa_sample", limit=2
    )
    planned = estimate(requests)

    table = cost_tables.estimate_by_model(planned).set_index("model")

    assert list(table.index) == [*sorted([MINI, HAIKU, UNKNOWN]), cost_tables.TOTAL]
    assert table.loc[MINI, "calls"] == 4 * 2
    mini_rows = [row for row in planned.rows if row.model == MINI]
    assert table.loc[MINI, "expected_usd"] == pytest.approx(
        sum(row.expected_usd or 0 for row in mini_rows)
    )
    assert math.isnan(table.loc[UNKNOWN, "expected_usd"])
    assert table.loc[cost_tables.TOTAL, "calls"] == len(requests)
    assert table.loc[cost_tables.TOTAL, "expected_usd"] == pytest.approx(
        planned.expected_usd
    )
    assert table.loc[cost_tables.TOTAL, "high_usd"] == pytest.approx(planned.high_usd)


def test_budget_outcome_counts_what_ran_and_what_did_not() -> None:
    frame = frame_of(
        record(cost_usd=0.002),
        record(case_id="c2", cost_usd=0.002, cache_hit=True),
        record(case_id="c3", status="not_run", error_type="budget"),
        record(case_id="c4", status="error", cost_usd=None),
    )

    (row,) = cost_tables.budget_outcome(frame).to_dict("records")

    assert (row["ok"], row["errors"], row["not_run"]) == (2, 1, 1)
    assert row["paid_usd"] == pytest.approx(0.002)
    assert row["cost_usd"] == pytest.approx(0.004)


def test_cache_savings_counts_both_caches() -> None:
    price = price_of(MINI)
    assert price is not None and price.cached_input_per_token_usd is not None
    paid = price.cost(1000, 100, cached_tokens=400)
    frame = frame_of(
        record(input_tokens=1000, output_tokens=100, cached_tokens=400, cost_usd=paid),
        record(case_id="c2", input_tokens=1000, output_tokens=100, cached_tokens=400,
               cost_usd=paid, cache_hit=True),
        record(UNKNOWN, input_tokens=10, cost_usd=None),
    )  # fmt: skip

    table = cost_tables.cache_savings(frame).set_index("model")

    mini = table.loc[MINI]
    discount = price.input_per_token_usd - price.cached_input_per_token_usd
    assert mini["paid_usd"] == pytest.approx(paid)
    assert mini["response_cache_saved_usd"] == pytest.approx(paid)
    assert mini["prompt_cache_saved_usd"] == pytest.approx(400 * discount)
    assert mini["without_caching_usd"] == pytest.approx(2 * paid + 400 * discount)
    assert mini["without_caching_usd"] == pytest.approx(price.cost(1000, 100) + paid)
    assert math.isnan(table.loc[UNKNOWN, "paid_usd"])
    assert math.isnan(table.loc[UNKNOWN, "without_caching_usd"])


def test_grading_requests_are_judge_calls_once_per_distinct_answer() -> None:
    dataset = load_dataset("qa_sample")
    first, second = dataset.cases[0], dataset.cases[1]
    frame = frame_of(
        record(case_id=first.case_id, output_text="100 degrees"),
        record(case_id=first.case_id, prompt_version="v2", output_text="100 degrees"),
        record(HAIKU, case_id=first.case_id, output_text="boiling"),
        record(case_id=second.case_id, output_text="Mars"),
        record(case_id=second.case_id, status="error", output_text=""),
    )

    requests = cost_tables.grading_requests(
        frame, dataset, MINI, params={"api_base": "http://127.0.0.1:9/v1"}
    )

    assert len(requests) == 3
    assert {r.kind for r in requests} == {"judge"}
    assert {r.model for r in requests} == {MINI}
    assert requests[0].metadata["graded_model"] == MINI
    assert requests[2].metadata["graded_model"] == MINI
    user = requests[0].messages[-1]["content"]
    assert first["question"] in user
    assert first["answer"] in user
    assert user.endswith("Answer: 100 degrees")
    assert requests[0].params["api_base"] == "http://127.0.0.1:9/v1"


def scores_frame() -> pd.DataFrame:
    """token_f1 of two versions on the offline model, two cases, two repeats."""
    rows = [
        ("v1", "c1", 0.0), ("v1", "c1", 0.2), ("v1", "c2", 0.4),
        ("v2", "c1", 0.8), ("v2", "c2", 0.6), ("v2", "c2", 0.6),
    ]  # fmt: skip
    return pd.DataFrame(
        [
            {
                "metric": "token_f1",
                "prompt_version": v,
                "model": "offline/extractive",
                "case_id": c,
                "score": s,
            }
            for v, c, s in rows
        ]
    )


def test_quality_is_the_mean_of_case_means() -> None:
    quality = cost_tables.quality_by_version(scores_frame(), "token_f1")

    by_version = quality.set_index("prompt_version")["quality"]
    assert by_version["v1"] == pytest.approx((0.1 + 0.4) / 2)
    assert by_version["v2"] == pytest.approx((0.8 + 0.6) / 2)
    with pytest.raises(RunError, match="token_f1"):
        cost_tables.quality_by_version(scores_frame(), "exact_match")


def test_cost_vs_quality_says_where_quality_comes_from_and_marks_the_front() -> None:
    runs = frame_of(
        record("offline/extractive", input_tokens=100, output_tokens=10),
        record("offline/extractive", prompt_version="v2", input_tokens=400,
               output_tokens=20),
    )  # fmt: skip
    projection = project(runs, [MINI, HAIKU, UNKNOWN, "offline/extractive"])
    quality = cost_tables.quality_by_version(scores_frame(), "token_f1")

    table = cost_tables.cost_vs_quality(projection, quality)

    rows = table.set_index(["prompt_version", "model"])
    assert rows.loc[("v1", MINI), "quality_basis"] == "measured on offline/extractive"
    assert rows.loc[("v1", "offline/extractive"), "quality_basis"] == (
        "measured on this model"
    )
    assert rows.loc[("v2", HAIKU), "quality"] == pytest.approx(0.7)
    # Free offline answers dominate every priced model; unknown prices never win.
    assert set(table.loc[table["pareto"], "model"]) == {"offline/extractive"}
    assert not rows.loc[("v2", UNKNOWN), "pareto"]

    best = cost_tables.cheapest_at_best_quality(table)
    assert best is not None
    assert (best["prompt_version"], best["model"]) == ("v2", "offline/extractive")


def test_cheapest_at_best_quality_breaks_ties_by_cost() -> None:
    table = pd.DataFrame(
        {
            "prompt_version": ["a", "b", "c"],
            "model": ["m1", "m2", "m3"],
            "projected_usd": [3.0, 1.0, 0.5],
            "quality": [0.9, 0.9, 0.4],
        }
    )

    best = cost_tables.cheapest_at_best_quality(table)

    assert best is not None and best["prompt_version"] == "b"
    assert cost_tables.cheapest_at_best_quality(table.iloc[0:0]) is None


def test_estimate_gaps_explain_input_output_and_prompt_cache() -> None:
    versus = pd.DataFrame(
        [
            {"model": MINI, "estimated_calls": 2, "actual_calls": 2,
             "estimated_input_tokens": 1200, "actual_input_tokens": 1000,
             "estimated_output_tokens": 100, "actual_output_tokens": 400,
             "relative_error": -0.25},
            {"model": UNKNOWN, "estimated_calls": 1, "actual_calls": 0,
             "estimated_input_tokens": 5, "actual_input_tokens": 0,
             "estimated_output_tokens": 5, "actual_output_tokens": 0,
             "relative_error": math.nan},
        ]
    )  # fmt: skip
    frame = frame_of(
        record(input_tokens=500, cached_tokens=250),
        record(case_id="c2", input_tokens=500),
        record(kind="judge", input_tokens=900, cached_tokens=900),
    )

    (sentence,) = cost_tables.estimate_gaps(versus, frame)

    assert sentence.startswith(f"{MINI}: estimate 25% below the actual cost")
    assert "input tokens 1,200 estimated, 1,000 actual (20% above)" in sentence
    assert "output tokens 100 estimated, 400 actual (75% below)" in sentence
    assert "25% of the input came from the prompt cache" in sentence


def test_runs_frame_joins_runs_and_refuses_unknown_ones() -> None:
    from llmbench.runs import RunStore

    for run_id in ("r1", "r2"):
        store = RunStore(run_id)
        store.append(record(run_id=run_id, cost_usd=0.001))
        store.close()

    frame = cost_tables.runs_frame(["r1", "r2"])

    assert list(frame["run_id"]) == ["r1", "r2"]
    with pytest.raises(RunError, match="nope"):
        cost_tables.runs_frame("nope")
    with pytest.raises(RunError, match="no run ids"):
        cost_tables.runs_frame([])
