"""Cost tables and sentences for readers: money, counts, the budget's story."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from llmbench import cost_views
from llmbench.costs import estimate
from llmbench.errors import BudgetExceededError
from llmbench.records import RECORD_COLUMNS, CallRecord, ChatRequest
from llmbench.runs import RunResult

MINI = "openai/gpt-4o-mini"


def record(**fields: Any) -> CallRecord:
    """A task record of run r1 on gpt-4o-mini."""
    base: dict[str, Any] = {
        "run_id": "r1",
        "case_id": "c1",
        "prompt_name": "qa",
        "prompt_version": "v1",
        "model": MINI,
        "repeat": 0,
    }
    return CallRecord(**{**base, **fields})


def test_money_table_formats_usd_counts_and_percentages() -> None:
    frame = pd.DataFrame(
        {
            "model": [MINI, "acme"],
            "input_tokens": [12345.0, 7.0],
            "cost_usd": [0.000214, math.nan],
            "total_usd": [1234.5, 0.0],
            "relative_error": [0.25, -0.031],
            "tokens_basis": ["observed", "observed on x"],
        }
    )

    html = cost_views.money_table(
        frame, "Cost per model", percent=["relative_error"]
    ).to_html()

    assert "Cost per model" in html
    for shown in ("12,345", "$0.00021", "unknown", "$1,234.50", "$0", "+25%", "-3%"):
        assert shown in html
    assert "observed on x" in html


def test_estimate_markdown_states_the_range_and_every_assumption() -> None:
    requests = [
        ChatRequest("a", MINI, ({"role": "user", "content": "Q?"},)),
        ChatRequest("a", "acme-private-model-7", ({"role": "user", "content": "Q?"},)),
    ]
    planned = estimate(requests, output_tokens=10)

    text = cost_views.estimate_markdown(planned)

    assert text.startswith(r"**2 calls on 2 model(s): expected \$")
    assert "No price is known for acme-private-model-7" in text
    for sentence in planned.assumptions:
        assert f"- {sentence}" in text


def test_budget_markdown_tells_the_stop_and_the_resume() -> None:
    stopped = RunResult(
        "r1",
        [
            record(cost_usd=0.01),
            record(case_id="c2", status="not_run", error_type="budget"),
            record(case_id="c3", status="not_run", error_type="budget"),
        ],
    )
    error = BudgetExceededError(
        budget_usd=0.015, spent_usd=0.01, not_run=2, run_id="r1"
    )
    resumed = RunResult(
        "r2",
        [
            record(run_id="r2", cost_usd=0.01, cache_hit=True),
            record(run_id="r2", case_id="c2", cost_usd=0.02),
            record(run_id="r2", case_id="c3", cost_usd=0.02),
        ],
    )

    text = cost_views.budget_markdown(stopped, error, resumed)

    assert "after **1 of 3 calls**" in text
    assert "other 2 as `not_run`" in text
    assert "**1 calls came from the response cache**" in text
    assert r"remaining 2 were paid, \$0.040" in text
    assert r"Both runs together paid \$0.050" in text
    assert "$" not in text.replace(r"\$", "")


def test_budget_markdown_of_a_run_within_its_budget() -> None:
    run = RunResult("r1", [record(cost_usd=0.01)])

    text = cost_views.budget_markdown(run, None)

    assert text == r"Run `r1` finished within its budget: 1 calls, \$0.010 paid."


def test_spend_summary_keeps_judge_calls_apart_and_counts_savings() -> None:
    frame = pd.DataFrame(
        [
            r.to_dict()
            for r in (
                record(cost_usd=0.01, input_tokens=100),
                record(case_id="c2", cost_usd=0.01, cache_hit=True),
                record(kind="judge", cost_usd=0.002),
                record(case_id="c3", status="not_run"),
                record(model="acme-private-model-7", cost_usd=None),
            )
        ],
        columns=list(RECORD_COLUMNS),
    )

    text = cost_views.spend_summary(frame)

    assert "$0.010 paid for 3 task call(s) (1 from the response cache)" in text
    assert "$0.002 paid for 1 judge call(s)" in text
    assert "Saved $0.010 by llmbench's response cache" in text
    assert "1 call(s) not run" in text
    assert "1 call(s) went to models with no known price" in text


def test_text_table_prints_money_for_a_terminal() -> None:
    frame = pd.DataFrame({"model": ["m"], "calls": [3.0], "cost_usd": [2.5]})

    text = cost_views.text_table(frame)

    assert text.splitlines()[1].split() == ["m", "3", "$2.50"]
