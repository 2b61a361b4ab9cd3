"""Prompt comparison: the matrix on the offline model and through the local
server, paired verdicts, summaries with intervals, flaky cases, and the
interactive explorer driven from Python."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from llmbench import compare_views as views
from llmbench.compare import Comparison, compare_prompts
from llmbench.engine import Engine
from llmbench.metrics import Judge
from llmbench.testing import LocalServer
from llmbench.widgets import ComparisonExplorer, explore

pytest_plugins = ["compare_fixtures"]

PRICED_MODEL = "openai/gpt-4o-mini"
CASES = 8  # in the shared offline comparison
V1, V2, V3, V4 = "v1-no-context", "v2-full-context", "v3-instructions", "v4-top-passage"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer.start() as running:
        yield running


def quiet_engine(**options: object) -> Engine:
    return Engine(progress=False, backoff_s=0.01, **options)  # type: ignore[arg-type]


# -- the comparison API on the offline model -----------------------------------


def test_the_full_context_version_beats_the_bare_question(
    offline_comparison: Comparison,
) -> None:
    result = offline_comparison.pairwise(V1, V2, metric="token_f1")

    assert result.mean_b > result.mean_a
    assert result.wins > result.losses
    assert result.significant
    assert result.verdict.startswith(f"{V2} scores higher than {V1} on ")
    assert "unlikely to be noise" in result.verdict


def test_pairwise_counts_add_up_to_the_cases(offline_comparison: Comparison) -> None:
    table = offline_comparison.pairwise_table()

    assert len(table) == 6  # 4 versions, 1 model: every unordered pair
    assert (table["wins"] + table["ties"] + table["losses"] == CASES).all()
    assert (table["low"] <= table["difference"]).all()
    assert (table["difference"] <= table["high"]).all()


def test_summary_has_a_row_per_version_and_model_with_ordered_intervals(
    offline_comparison: Comparison,
) -> None:
    summary = offline_comparison.summary()

    assert summary["prompt_version"].tolist() == [V1, V2, V3, V4]
    assert summary["model"].unique().tolist() == ["offline/extractive"]
    for metric in offline_comparison.metrics:
        assert (summary[f"{metric}_low"] <= summary[metric]).all()
        assert (summary[metric] <= summary[f"{metric}_high"]).all()
    assert (summary["calls"] == CASES).all()
    assert (summary["cost_usd"] == 0.0).all()
    assert summary.loc[summary["prompt_version"] == V3, "input_tokens"].item() > (
        summary.loc[summary["prompt_version"] == V4, "input_tokens"].item()
    )


def test_side_by_side_has_one_row_per_case(offline_comparison: Comparison) -> None:
    rows = offline_comparison.side_by_side(V1, V4)

    assert rows["case_id"].tolist() == offline_comparison.case_ids
    assert len(rows) == CASES
    assert rows["question"].str.len().gt(0).all()
    assert (rows["delta"] == rows["score_b"] - rows["score_a"]).all()
    assert rows["output_text_a"].str.startswith("I don't know").all()


def test_best_version_breaks_ties_on_the_cheaper_prompt(
    offline_comparison: Comparison,
) -> None:
    # v2 and v3 carry the same passages, so the extractive model answers alike;
    # v2 sends fewer input tokens.
    same = offline_comparison.pairwise(V2, V3)

    best = offline_comparison.best_version()
    best_of_two = offline_comparison.best_version(among=[V1, V4])

    assert same.ties == CASES
    assert best == V2
    assert best_of_two == V4
    assert offline_comparison.challenger(V1) == V2
    assert offline_comparison.challenger(V2) == V3  # the baseline is never B


def test_one_repeat_has_no_flaky_cases(offline_comparison: Comparison) -> None:
    assert offline_comparison.repeats == 1
    assert offline_comparison.flaky_cases().empty


# -- through the local OpenAI-compatible server ---------------------------------


def test_a_priced_model_through_the_server_has_a_cost(server: LocalServer) -> None:
    comparison = compare_prompts(
        "qa_answer",
        [V1, V2],
        [PRICED_MODEL],
        limit=3,
        params={"api_base": server.base_url},
        engine=quiet_engine(),
    )

    summary = comparison.summary()
    assert len(summary) == 2
    assert (summary["cost_usd"] > 0).all()
    assert (summary["errors"] == 0).all()
    assert server.stats()["requests"]["chat"] == 6
    # The fuller prompt costs more, per call, than the bare question.
    assert summary["cost_usd"].iloc[1] > summary["cost_usd"].iloc[0]


def test_repeats_at_temperature_find_flaky_cases(server: LocalServer) -> None:
    # One call at a time, so the scripted replies alternate between the repeats
    # of each case: right, then "I don't know".
    server.configure(replies=["100 degrees Celsius", "I don't know"])

    comparison = compare_prompts(
        "qa_answer",
        [V1, V2],
        ["openai/stub"],
        limit=2,
        repeats=2,
        params={"api_base": server.base_url, "temperature": 0.7},
        engine=quiet_engine(concurrency=1),
    )

    flaky = comparison.flaky_cases()
    explorer = explore(comparison, V1, V2)
    explorer.filter.value = "flaky"
    assert comparison.repeats == 2
    assert server.stats()["requests"]["chat"] == 8  # no repeat came from the cache
    assert not flaky.empty
    assert set(flaky["case_id"]) == {"gk-01"}
    assert set(flaky["prompt_version"]) == {V1, V2}
    assert (flaky["range"] == 1.0).all()
    assert explorer.case_ids == ["gk-01"]
    assert "repeats 1.00, 0.00" in explorer.view.value
    assert "gk-01" in views.flaky_table(comparison).to_html()


def test_a_judge_adds_llm_graded_metrics(server: LocalServer) -> None:
    judge = Judge("openai/judge-stub", api_base=server.base_url)

    comparison = compare_prompts(
        "qa_answer",
        [V2],
        limit=2,
        metrics=["token_f1", "faithfulness"],
        judge=judge,
        engine=quiet_engine(),
    )

    faithfulness = comparison.scores[comparison.scores["metric"] == "faithfulness"]
    assert len(faithfulness) == 2
    assert faithfulness["score"].notna().all(), faithfulness["detail"].tolist()
    assert judge.records and all(r.kind == "judge" for r in judge.records)
    assert not math.isnan(comparison.summary()["faithfulness"].item())


# -- the explorer --------------------------------------------------------------


def test_explorer_shows_the_first_case_of_the_two_versions(
    offline_comparison: Comparison,
) -> None:
    explorer = explore(offline_comparison)

    first = offline_comparison.case_ids[0]
    assert isinstance(explorer, ComparisonExplorer)
    assert explorer.case.value == first
    assert explorer.case_ids == offline_comparison.case_ids
    assert f"<strong>{first}</strong>" in explorer.view.value
    assert f"A: {V1}" in explorer.view.value
    assert f"B: {V2}" in explorer.view.value
    assert explorer.position.value == f"case 1 of {CASES}"
    assert explorer.previous.disabled


def test_explorer_follows_the_second_version_and_the_case(
    offline_comparison: Comparison,
) -> None:
    explorer = explore(offline_comparison)
    before = explorer.view.value
    third = offline_comparison.case_ids[2]

    explorer.version_b.value = V4
    after_version = explorer.view.value
    explorer.case.value = third
    after_case = explorer.view.value
    explorer.next.click()

    assert after_version != before
    assert f"B: {V4}" in after_version and f"B: {V2}" not in after_version
    assert f"<strong>{third}</strong>" in after_case
    question = offline_comparison.dataset.case(third)["question"]
    assert question.split()[0] in after_case
    assert explorer.position.value == f"case 4 of {CASES}"
    assert explorer.case.value == offline_comparison.case_ids[3]


def test_explorer_filters_to_the_losses_of_b(offline_comparison: Comparison) -> None:
    rows = offline_comparison.side_by_side(V2, V4)
    expected = rows.loc[rows["delta"] < 0, "case_id"].tolist()
    explorer = explore(offline_comparison, V2, V4)

    explorer.filter.value = "losses"
    shown = []
    for _ in expected:
        shown.append(explorer.case.value)
        assert "B loses" in explorer.view.value
        explorer.step(1)

    assert expected  # v4 drops passages, so it must lose some cases
    assert explorer.case_ids == expected
    assert shown == expected
    assert explorer.next.disabled


def test_explorer_says_so_when_no_case_matches(offline_comparison: Comparison) -> None:
    explorer = explore(offline_comparison, V2, V1)

    explorer.filter.value = "wins"

    assert explorer.case_ids == []
    assert explorer.case.value is None
    assert "No cases match" in explorer.view.value
    assert explorer.position.value == "0 cases"
